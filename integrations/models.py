"""Models owned by ``integrations``."""
