"""API views of ``teams``: scoped querysets from selectors, one service call per write."""
