"""Contract: model traffic with a virtual key shows up as spend and in daily activity, all pages merged."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrations.litellm.client import hash_key
from tests.contract.conftest import new_key_value, poll

pytestmark = pytest.mark.contract


def chat_until(target, secret: str, status: int) -> dict | None:
    """The error body once a chat with ``secret`` answers ``status`` (a Response is falsy on 4xx)."""
    reply = target.chat(secret)
    return reply.json() if reply.status_code == status else None


def today_window() -> tuple:
    today = datetime.now(UTC).date()
    return today - timedelta(days=1), today + timedelta(days=1)


def test_spend_and_daily_activity_for_a_key(litellm_target):
    client, user_id, secret = litellm_target.client, str(uuid.uuid4()), new_key_value()
    client.user_create(user_id=user_id)
    client.key_generate(key=secret, models=[litellm_target.chat_model], user_id=user_id)
    for _ in range(2):
        reply = litellm_target.chat(secret)
        assert reply.status_code == 200
        assert reply.json()["usage"]["total_tokens"] > 0
    start, end = today_window()

    def rows():
        activity = client.daily_activity(start_date=start, end_date=end, api_key=secret)
        mine = [r for r in activity.rows if r.api_key_hash == hash_key(secret)]
        return mine if sum(r.api_requests for r in mine) >= 2 else None

    [row] = poll(rows)
    assert row.model == litellm_target.chat_model  # the public model name (model_groups), not openai/…
    assert row.user_id == user_id
    assert (row.successful_requests, row.prompt_tokens, row.completion_tokens) == (2, 22, 14)
    assert row.spend == pytest.approx(2 * (11 * 1e-6 + 7 * 2e-6))
    assert poll(lambda: client.key_get(secret).spend > 0)


def test_all_pages_merge_to_the_same_rows(litellm_target):
    client, user_id = litellm_target.client, str(uuid.uuid4())
    client.user_create(user_id=user_id)
    secrets = [new_key_value() for _ in range(3)]
    for secret in secrets:
        client.key_generate(key=secret, models=[litellm_target.chat_model], user_id=user_id)
        assert litellm_target.chat(secret).status_code == 200
    start, end = today_window()

    def complete():
        activity = client.daily_activity(start_date=start, end_date=end, user_id=user_id)
        return activity if len(activity.rows) == 3 else None

    whole = poll(complete)
    paged = client.daily_activity(start_date=start, end_date=end, user_id=user_id, page_size=1)
    assert paged.pages >= 3
    assert paged.rows == whole.rows
    assert paged.totals.api_requests == whole.totals.api_requests == 3


def test_streaming_ends_with_a_usage_chunk_when_asked(litellm_target):
    secret = new_key_value()
    litellm_target.client.key_generate(key=secret, models=[litellm_target.chat_model])
    reply = litellm_target.chat(secret, stream=True, stream_options={"include_usage": True})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]).startswith("pong")
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_an_exhausted_budget_is_refused_with_429(litellm_target):
    client, secret = litellm_target.client, new_key_value()
    client.key_generate(key=secret, models=[litellm_target.chat_model], max_budget=0.00001)
    assert litellm_target.chat(secret).status_code == 200  # 2.5e-5 spent: over the budget afterwards
    refused = poll(lambda: chat_until(litellm_target, secret, 429), timeout=30, every=1)
    assert refused["error"]["type"] == "budget_exceeded"


def test_an_expired_key_is_refused_with_401(litellm_target):
    secret = new_key_value()
    litellm_target.client.key_generate(key=secret, models=[litellm_target.chat_model], expires=datetime.now(UTC))
    refused = poll(lambda: chat_until(litellm_target, secret, 401), timeout=15, every=0.5)
    assert refused["error"]["type"] == "expired_key"
