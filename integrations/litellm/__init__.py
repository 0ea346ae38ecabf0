"""The LiteLLM client package: typed client, errors, breaker, limits and metrics.

Import the client with ``from integrations.litellm.client import get_litellm_client``; errors from
``integrations.litellm.errors``. Nothing outside ``integrations`` talks HTTP to LiteLLM.
"""
