"""Integrations: the LiteLLM client, the LiteLLM double, sync runs, the outbox and the reconciler."""
