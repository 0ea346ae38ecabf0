"""Fixtures of the apikeys tests: the LiteLLM double, catalogue models and active subscriptions."""
from __future__ import annotations

import pytest

from tests.fixtures.litellm import (  # noqa: F401 - re-exported fixtures
    fast_retries,
    litellm_double,
    litellm_double_server,
)


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):  # noqa: F811
    """The double with quick failure: one attempt, short read timeout (so "hang" tests stay fast)."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_READ_TIMEOUT_SECONDS = 0.5
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


def make_model(model_id: str, model_type: str = "chat"):
    from decimal import Decimal

    from subscriptions.models import LlmModel

    return LlmModel.objects.create(id=model_id, model_type=model_type, provider="openai",
                                   input_cost_per_token=Decimal("0.000001"),
                                   output_cost_per_token=Decimal("0.000002"))


def subscribe(user, model, status: str = "active"):
    from subscriptions.models import Subscription

    return Subscription.objects.create(user=user, model=model, status=status)


@pytest.fixture
def chat_model(db):
    return make_model("gpt-test")


@pytest.fixture
def embed_model(db):
    return make_model("embed-test", "embeddings")


@pytest.fixture
def subscribed(user, chat_model, embed_model):
    """``user`` holds active subscriptions to both models."""
    subscribe(user, chat_model)
    subscribe(user, embed_model)
    return user
