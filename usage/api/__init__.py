"""REST API of ``usage``."""
