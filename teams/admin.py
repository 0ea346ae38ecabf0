"""Django admin registrations for ``teams``."""
