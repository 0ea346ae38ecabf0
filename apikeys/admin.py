"""Django admin registrations for ``apikeys``."""
