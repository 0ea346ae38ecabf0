"""Django admin registrations for ``usage``."""
