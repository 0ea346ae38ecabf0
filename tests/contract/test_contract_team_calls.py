"""Contract: moving keys between teams, resetting a team's spend, and listing every team and user."""
from __future__ import annotations

import uuid

import pytest

from integrations.litellm.errors import LiteLLMNotFound, LiteLLMRejected
from tests.contract.conftest import new_key_value, poll, unique

pytestmark = pytest.mark.contract


@pytest.fixture
def member_key(litellm_target):
    """A team, a user who is a member of it, and a key of that user on the chat model (in no team)."""
    client, team_id, user_id = litellm_target.client, str(uuid.uuid4()), str(uuid.uuid4())
    client.team_create(team_id=team_id, team_alias=unique("contract-team"))
    client.user_create(user_id=user_id)
    client.team_member_add(team_id, user_id)
    secret = new_key_value()
    key = client.key_generate(key=secret, models=[litellm_target.chat_model], user_id=user_id)
    return team_id, user_id, secret, key.token


def test_key_set_team_moves_the_key_and_none_clears_it(litellm_target, member_key):
    client, (team_id, _, _, token) = litellm_target.client, member_key
    assert client.key_set_team(token, team_id).team_id == team_id
    assert client.key_get(token).team_id == team_id
    assert client.key_set_team(token, team_id).team_id == team_id  # idempotent
    assert client.key_set_team(token, None).team_id is None
    assert client.key_get(token).team_id is None
    assert client.key_set_team(token, None).team_id is None


def test_key_set_team_is_validated_on_a_change_of_team(litellm_target, member_key):
    client, (team_id, user_id, _, token) = litellm_target.client, member_key
    stranger_team = str(uuid.uuid4())
    client.team_create(team_id=stranger_team, team_alias=unique("contract-other"))
    with pytest.raises(LiteLLMRejected) as exc:  # the key's owner is not a member of that team
        client.key_set_team(token, stranger_team)
    assert exc.value.status == 403 and "not a member" in exc.value.reason
    narrow_team = str(uuid.uuid4())
    client.team_create(team_id=narrow_team, team_alias=unique("contract-narrow"), models=["some-other-model"])
    client.team_member_add(narrow_team, user_id)
    with pytest.raises(LiteLLMRejected) as exc:  # the team does not allow the key's model
        client.key_set_team(token, narrow_team)
    assert exc.value.status == 403
    with pytest.raises(LiteLLMNotFound):  # an unknown team: 404, like an unknown key
        client.key_set_team(token, str(uuid.uuid4()))
    with pytest.raises(LiteLLMNotFound):
        client.key_set_team("0" * 64, team_id)
    assert client.key_get(token).team_id is None  # nothing changed


def test_team_update_ignores_spend_so_a_team_reset_is_reported_unsupported(litellm_target, member_key):
    client, (team_id, _, secret, token) = litellm_target.client, member_key
    assert client.team_reset_spend(team_id).spend == 0  # nothing spent yet: nothing to reset
    client.key_set_team(token, team_id)
    assert litellm_target.chat(secret).status_code == 200
    spent = poll(lambda: client.team_get(team_id).spend)
    reply = litellm_target.raw("POST", "/team/update", json={"team_id": team_id, "spend": 0})
    assert reply.status_code == 200 and reply.json()["data"]["spend"] == spent  # 200, spend untouched
    with pytest.raises(LiteLLMRejected) as exc:
        client.team_reset_spend(team_id)
    assert exc.value.code == "team_spend_reset_unsupported"
    assert client.team_get(team_id).spend == spent
    with pytest.raises(LiteLLMNotFound):
        client.team_reset_spend(str(uuid.uuid4()))


def test_team_list_is_one_unpaged_list_with_memberships_and_keys(litellm_target, member_key):
    client, (team_id, user_id, _, token) = litellm_target.client, member_key
    client.key_set_team(token, team_id)
    other = client.team_create(team_id=str(uuid.uuid4()), team_alias=unique("contract-list")).team_id
    teams = {t.team_id: t for t in client.team_list()}
    assert {team_id, other} <= teams.keys()
    assert user_id in teams[team_id].member_ids and "default_user_id" in teams[other].member_ids
    reply = litellm_target.raw("GET", "/team/list", params={"page": 1, "page_size": 1})
    rows = reply.json()
    assert reply.status_code == 200 and isinstance(rows, list) and len(rows) >= 2  # paging params are ignored
    row = next(r for r in rows if r["team_id"] == team_id)
    assert [k["token"] for k in row["keys"]] == [token]
    assert {m["user_id"] for m in row["team_memberships"]} >= {user_id}
    aliases = [r["team_alias"] or "" for r in rows]
    assert aliases == sorted(aliases)


def test_user_list_pages_through_every_user(litellm_target):
    client = litellm_target.client
    client.team_create(team_id=str(uuid.uuid4()), team_alias=unique("contract-users"))
    created = {str(uuid.uuid4()) for _ in range(3)}
    for user_id in created:
        client.user_create(user_id=user_id)
    users = client.user_list(page_size=10)
    ids = [u.user_id for u in users]
    assert created <= set(ids) and len(ids) == len(set(ids))
    assert "default_user_id" in ids  # the master key's user, made a member of every new team
    reply = litellm_target.raw("GET", "/user/list")
    body = reply.json()
    assert reply.status_code == 200 and body.keys() >= {"users", "total", "page", "page_size", "total_pages"}
    assert (body["page"], body["page_size"]) == (1, 25) and body["total"] >= len(ids)
    assert body["total_pages"] == -(-body["total"] // 25)
    assert all("key_count" in u and "keys" not in u for u in body["users"])
    newest = [u["created_at"] for u in body["users"]]
    assert newest == sorted(newest, reverse=True)  # default order: created_at desc
    for params in ({"page_size": 101}, {"page": 0}):
        assert litellm_target.raw("GET", "/user/list", params=params).status_code == 422
