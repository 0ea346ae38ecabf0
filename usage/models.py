"""Models owned by ``usage``."""
