"""Fixtures of the teams tests: the LiteLLM double with quick failures, teams made through the services."""
from __future__ import annotations

import pytest

from tests.fixtures.litellm import (  # noqa: F401 - re-exported fixtures
    fast_retries,
    litellm_double,
    litellm_double_server,
)


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):  # noqa: F811
    """The double, one attempt per call, a breaker that never opens (failure tests stay fast)."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_READ_TIMEOUT_SECONDS = 0.5
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000
    settings.NOTIFICATION_EMAIL_ENABLED = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


@pytest.fixture
def make_team(litellm, admin_user):
    """``make_team(owner, name=..., **limits)``: a team created by an admin through the service."""
    from teams import services

    def make(owner=None, name="Research", **limits):
        return services.team_create(actor=admin_user, owner=owner or admin_user, name=name, **limits)

    return make
