"""Django admin registrations for ``subscriptions``."""
