"""Models owned by ``apikeys``."""
