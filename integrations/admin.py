"""Django admin registrations for ``integrations``."""
