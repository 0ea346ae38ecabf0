"""API views of ``subscriptions``: scoped querysets from selectors, one service call per write."""
