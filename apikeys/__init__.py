"""API keys: LiteLLM virtual keys owned by users, their limits and lifecycle."""
