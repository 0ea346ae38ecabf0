"""API views of ``integrations``: scoped querysets from selectors, one service call per write."""
