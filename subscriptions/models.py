"""Models owned by ``subscriptions``."""
