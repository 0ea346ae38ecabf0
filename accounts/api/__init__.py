"""REST API of ``accounts``."""
