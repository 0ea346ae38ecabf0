"""REST API of ``apikeys``."""
