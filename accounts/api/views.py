"""API views of ``accounts``: scoped querysets from selectors, one service call per write."""
