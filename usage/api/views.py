"""API views of ``usage``: scoped querysets from selectors, one service call per write."""
