"""REST API of ``integrations``."""
