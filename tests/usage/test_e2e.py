"""End to end: chat calls with a real portal key against the LiteLLM double show up after ingestion, with
numbers equal to the double's own records."""
from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from apikeys import services as apikey_services
from tests.apikeys.conftest import make_model, subscribe
from usage import services
from usage.models import DailyUsage


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_RETRY_ATTEMPTS = 1
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


@pytest.mark.django_db
def test_chat_calls_appear_after_ingestion_with_the_doubles_numbers(litellm, user, other_user, user_client,
                                                                    admin_client):
    model = make_model("gpt-test")
    litellm.state.model_new({"model_name": "gpt-test", "litellm_params": {
        "model": "openai/gpt-test", "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}})
    subscribe(user, model)
    subscribe(other_user, model)
    mine = apikey_services.apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="mine")
    theirs = apikey_services.apikey_create(user=other_user, actor=other_user, model_ids=["gpt-test"], name="theirs")
    for secret, calls in ((mine.secret, 3), (theirs.secret, 1)):
        for _ in range(calls):
            reply = requests.post(f"{litellm.url}/v1/chat/completions", timeout=5,
                                  headers={"Authorization": f"Bearer {secret}"},
                                  json={"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})
            assert reply.status_code == 200, reply.text
    expected = [r for r in litellm.state.spend_rows if r["api_key"] == mine.key.token_hash]
    assert len(expected) == 3

    result = services.usage_ingest()

    assert result.run.status == "succeeded"
    row = DailyUsage.objects.get(key_id=mine.key.pk)
    assert row.user_id == user.pk and row.model_id == "gpt-test"
    assert row.requests == len(expected) == row.successful_requests
    assert row.prompt_tokens == sum(r["prompt_tokens"] for r in expected)
    assert row.completion_tokens == sum(r["completion_tokens"] for r in expected)
    assert row.spend == Decimal(repr(sum(r["spend"] for r in expected))).quantize(Decimal("1e-10"))
    body = user_client.get("/api/v1/usage/analytics").json()
    assert body["totals"]["requests"] == 3  # only mine
    assert body["totals"]["prompt_tokens"] == row.prompt_tokens
    platform = admin_client.get("/api/v1/admin/usage/analytics").json()
    assert platform["totals"]["requests"] == 4 and platform["totals"]["active_users"] == 2
    assert platform["totals"]["spend"] == pytest.approx(sum(r["spend"] for r in litellm.state.spend_rows))
