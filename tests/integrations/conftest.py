"""Fixtures for the integrations tests (the LiteLLM ones live in ``tests/fixtures/litellm.py``)."""
# pytest only accepts ``pytest_plugins`` in the root conftest, so import the shared fixtures by name here
# (they stay usable by other apps through ``pytest_plugins = ["tests.fixtures.litellm"]`` at the root).
from tests.fixtures.litellm import (  # noqa: F401
    black_hole_url,
    fast_retries,
    litellm_client,
    litellm_double,
    litellm_double_server,
    refused_url,
)
