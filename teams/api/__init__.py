"""REST API of ``teams``."""
