"""API views of ``apikeys``: scoped querysets from selectors, one service call per write."""
