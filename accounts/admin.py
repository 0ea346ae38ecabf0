"""Django admin registrations for ``accounts``."""
