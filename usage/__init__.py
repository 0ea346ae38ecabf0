"""Usage: daily usage facts ingested from LiteLLM, analytics, exports and budgets."""
