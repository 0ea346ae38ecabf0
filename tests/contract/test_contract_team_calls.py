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


def _membership_row(target, team_id: str, user_id: str) -> dict:
    reply = target.raw("GET", "/team/info", params={"team_id": team_id})
    assert reply.status_code == 200
    return next(m for m in reply.json()["team_memberships"] if m["user_id"] == user_id)


def test_team_member_update_sets_a_cap_that_litellm_enforces_and_null_clears(litellm_target, member_key):
    client, (team_id, user_id, secret, token) = litellm_target.client, member_key
    client.key_set_team(token, team_id)
    # Below one chat's cost (2.5e-5): the first call passes (nothing spent yet), later ones hit the cap.
    limits = client.team_member_update(team_id, user_id, max_budget_in_team=1e-5, rpm_limit=1000)
    assert (limits.team_id, limits.user_id, limits.max_budget_in_team, limits.rpm_limit) == (team_id, user_id, 1e-5,
                                                                                            1000)
    row = _membership_row(litellm_target, team_id, user_id)
    assert row["litellm_budget_table"]["max_budget"] == 1e-5 and row["litellm_budget_table"]["rpm_limit"] == 1000
    assert litellm_target.chat(secret).status_code == 200

    def refusal() -> dict | None:
        reply = litellm_target.chat(secret)  # (a Response is falsy for a 4xx: return its body)
        return reply.json()["error"] if reply.status_code == 429 else None

    error = poll(refusal)  # the real proxy writes spend in batches (0.5–6 s)
    assert error["type"] == "budget_exceeded" and "TeamMember=" in error["message"]
    poll(lambda: _membership_row(litellm_target, team_id, user_id)["spend"])  # enforced before it is written
    # Merge-patch: an omitted field stays, an explicit null clears.
    client.team_member_update(team_id, user_id, tpm_limit=5000)
    table = _membership_row(litellm_target, team_id, user_id)["litellm_budget_table"]
    assert (table["max_budget"], table["tpm_limit"], table["rpm_limit"]) == (1e-5, 5000, 1000)
    assert client.team_member_update(team_id, user_id, max_budget_in_team=None).max_budget_in_team is None
    assert _membership_row(litellm_target, team_id, user_id)["litellm_budget_table"]["max_budget"] is None
    assert litellm_target.chat(secret).status_code == 200


def test_team_member_update_quirks_unknown_team_and_non_member(litellm_target, member_key):
    client, (team_id, _, _, _) = litellm_target.client, member_key
    with pytest.raises(LiteLLMNotFound):  # 400 "Team id=… does not exist in db"
        client.team_member_update(str(uuid.uuid4()), str(uuid.uuid4()), max_budget_in_team=1)
    stranger = str(uuid.uuid4())
    # No membership check: a non-member gets a budget row (callers send members only).
    assert client.team_member_update(team_id, stranger, max_budget_in_team=2).max_budget_in_team == 2
    assert _membership_row(litellm_target, team_id, stranger)["litellm_budget_table"]["max_budget"] == 2
    assert stranger not in client.team_get(team_id).member_ids
    reply = litellm_target.raw("POST", "/team/member_update", json={"team_id": team_id, "user_id": stranger,
                                                                   "role": "admin"})
    assert reply.status_code == 400 and "premium" in str(reply.json())  # team admins need a licence


def test_team_spend_has_no_scoped_reset_route(litellm_target, member_key):
    team_id = member_key[0]
    assert litellm_target.raw("POST", f"/team/{team_id}/reset_spend", json={}).status_code == 404
    reply = litellm_target.raw("POST", "/team/update", json={"team_id": team_id,
                                                            "budget_reset_at": "2020-01-01T00:00:00Z"})
    assert reply.status_code == 200 and reply.json()["data"]["budget_reset_at"] is None  # not a field either


def test_v2_team_list_pages_teams_with_spend_and_no_key_rows(litellm_target, member_key):
    client, (team_id, _, secret, token) = litellm_target.client, member_key
    client.key_set_team(token, team_id)
    created = {team_id} | {client.team_create(team_id=str(uuid.uuid4()), team_alias=unique("contract-v2"),
                                              max_budget=5, budget_duration="30d").team_id for _ in range(2)}
    teams = client.team_list_paged(page_size=2)
    ids = [t.team_id for t in teams]
    assert created <= set(ids) and len(ids) == len(set(ids))
    budgeted = [t for t in teams if t.team_id in created and t.max_budget == 5]
    assert len(budgeted) == 2 and all(t.budget_reset_at is not None and t.budget_duration == "30d" for t in budgeted)
    assert litellm_target.chat(secret).status_code == 200
    poll(lambda: next(t for t in client.team_list_paged() if t.team_id == team_id).spend)
    body = litellm_target.raw("GET", "/v2/team/list", params={"page_size": 2}).json()
    assert body.keys() >= {"teams", "total", "page", "page_size", "total_pages"} and len(body["teams"]) <= 2
    assert all("keys" not in t and "keys_count" in t and "members_count" in t for t in body["teams"])
    assert litellm_target.raw("GET", "/v2/team/list", params={"page_size": 101}).status_code == 422


def test_user_list_rows_carry_spend_budget_and_reset_time(litellm_target, member_key):
    client, (_, user_id, secret, _) = litellm_target.client, member_key
    client.user_update(user_id, max_budget=7, budget_duration="30d")
    assert litellm_target.chat(secret).status_code == 200
    row = poll(lambda: next((u for u in client.user_list() if u.user_id == user_id and u.spend > 0), None))
    assert row.max_budget == 7 and row.budget_duration == "30d" and row.budget_reset_at is not None
