"""Contract: virtual keys, addressed by SHA-256, as the portal creates and manages them."""
from __future__ import annotations

import uuid

import pytest

from integrations.litellm.client import hash_key
from integrations.litellm.errors import LiteLLMNotFound, LiteLLMRejected
from tests.contract.conftest import new_key_value, poll, unique

pytestmark = pytest.mark.contract


@pytest.fixture
def owner(litellm_target) -> str:
    user_id = str(uuid.uuid4())
    litellm_target.client.user_create(user_id=user_id)
    return user_id


def test_key_lifecycle_by_hash(litellm_target, owner):
    client, secret = litellm_target.client, new_key_value()
    token = hash_key(secret)
    key = client.key_generate(key=secret, models=[litellm_target.chat_model], user_id=owner, key_alias=unique("alias"),
                              metadata={"portal_key_id": "pk-1"}, max_budget=5)
    assert key.token == token and key.user_id == owner and key.metadata["portal_key_id"] == "pk-1"
    fetched = client.key_get(token)
    assert (fetched.token, fetched.models, fetched.max_budget) == (token, [litellm_target.chat_model], 5.0)
    assert client.key_get_self(secret).key_alias == key.key_alias
    assert litellm_target.chat(secret).status_code == 200
    updated = client.key_update(token, key_alias=unique("renamed"), max_budget=6)
    assert updated.max_budget == 6.0
    assert client.key_block(token).blocked is True
    assert client.key_block(token).blocked is True  # idempotent
    assert poll(lambda: litellm_target.chat(secret).status_code == 401, timeout=10)
    assert client.key_unblock(token).blocked is False
    assert poll(lambda: litellm_target.chat(secret).status_code == 200, timeout=10)
    assert client.key_reset_spend(token).spend == 0
    assert client.key_delete([token]).deleted == [token]
    assert client.key_delete([token]).deleted == []
    with pytest.raises(LiteLLMNotFound):
        client.key_update(token, max_budget=1)  # /key/info may still answer from cache; updates do not


def test_a_duplicate_generate_answers_200_and_changes_nothing(litellm_target, owner):
    secret = new_key_value()
    litellm_target.client.key_generate(key=secret, models=["first"], user_id=owner, max_budget=3)
    reply = litellm_target.raw("POST", "/key/generate", json={"key": secret, "models": ["second"], "max_budget": 9})
    assert reply.status_code == 200 and reply.json()["models"] == ["second"]  # the echo lies
    stored = litellm_target.client.key_get(hash_key(secret))
    assert (stored.models, stored.max_budget) == (["first"], 3.0)


def test_metadata_is_replaced_wholesale_but_the_client_keeps_per_model_limits(litellm_target, owner):
    client, secret = litellm_target.client, new_key_value()
    client.key_generate(key=secret, models=["m"], user_id=owner, metadata={"portal_key_id": "p", "a": 1},
                        model_rpm_limit={"m": 5})
    client.key_update(secret, metadata={"portal_key_id": "p", "b": 2})
    key = client.key_get(secret)
    assert key.metadata.get("a") is None and key.metadata["b"] == 2
    assert key.model_rpm_limit == {"m": 5}


def test_invalid_key_values_are_rejected(litellm_target):
    for bad in ("sk-short", f"nosk-{uuid.uuid4().hex}"):
        with pytest.raises(LiteLLMRejected) as exc:
            litellm_target.client.key_generate(key=bad, models=["m"])
        assert exc.value.status == 400


def test_model_access_and_unknown_keys(litellm_target, owner):
    secret = new_key_value()
    litellm_target.client.key_generate(key=secret, models=["not-the-chat-model"], user_id=owner)
    denied = litellm_target.chat(secret)
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "key_model_access_denied"
    assert litellm_target.chat(new_key_value()).status_code == 401


def test_key_list_pages_through_a_users_keys(litellm_target, owner):
    tokens = {litellm_target.client.key_generate(key=new_key_value(), models=["m"], user_id=owner).token
              for _ in range(3)}
    listed = litellm_target.client.key_list(user_id=owner, page_size=2)
    assert {k.token for k in listed} == tokens


def test_admin_calls_need_the_master_key(litellm_target, owner):
    secret = new_key_value()
    litellm_target.client.key_generate(key=secret, models=["m"], user_id=owner)
    assert litellm_target.raw("GET", "/model/info", key="not-a-key").status_code == 401
    assert litellm_target.raw("POST", "/user/new", key=secret, json={"user_id": str(uuid.uuid4())}).status_code in (
        401, 403)
