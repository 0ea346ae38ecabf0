"""REST API of ``subscriptions``."""
