"""Models owned by ``teams``."""
