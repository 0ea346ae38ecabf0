"""Each client method: the request it sends (method, path, header, body) and how it parses LiteLLM's reply."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import responses
from responses import matchers

from integrations.litellm.client import LiteLLMClient, hash_key
from integrations.litellm.errors import (
    LiteLLMAlreadyExists,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from integrations.litellm.limits import UNLIMITED_SENTINEL
from tests.integrations import payloads as p

AUTH = matchers.header_matcher({"x-litellm-api-key": p.MASTER})


@pytest.fixture
def client(fast_retries) -> LiteLLMClient:
    return LiteLLMClient(base_url=p.BASE, master_key=p.MASTER, connect_timeout=1, read_timeout=2)


def sent(call_index: int = -1) -> dict:
    body = responses.calls[call_index].request.body
    return json.loads(body) if body else {}


@responses.activate
def test_liveness_accepts_the_json_string_of_recent_litellm(client):
    responses.get(f"{p.BASE}/health/liveness", json="I'm alive!")
    assert client.liveness().alive


@responses.activate
def test_liveness_accepts_plain_text_and_old_json_objects(client):
    responses.get(f"{p.BASE}/health/liveness", body="I'm alive!", content_type="text/plain")
    responses.get(f"{p.BASE}/health/liveness", json={"status": "healthy", "db": "connected"})
    assert client.liveness().alive
    assert client.liveness().alive


@responses.activate
def test_readiness_reads_the_version_and_falls_back_on_old_releases(client):
    responses.get(f"{p.BASE}/health/readiness/details", status=404, json={"detail": "Not Found"})
    responses.get(f"{p.BASE}/health/readiness", json={"status": "healthy", "db": "connected", "litellm_version": "1.74.0"})
    assert client.readiness().version == "1.74.0"


@responses.activate
def test_model_list_parses_deployments_and_keeps_unknown_params(client):
    responses.get(f"{p.BASE}/model/info", json=p.MODEL_INFO, match=[AUTH])
    [model] = client.model_list()
    assert model.model_name == "fake-gpt"
    assert model.id.startswith("a4e84320")
    assert model.litellm_params.input_cost_per_token == 1e-06
    assert model.litellm_params.model_dump()["use_in_pass_through"] is False


@responses.activate
def test_model_list_treats_no_model_list_loaded_as_empty(client):
    responses.get(f"{p.BASE}/model/info", status=500,
                  json={"error": {"message": "LLM Model List not loaded in. Make sure you passed models"}})
    assert client.model_list() == []


@responses.activate
def test_model_create_sends_the_chosen_id_and_rereads_the_deployment(client):
    responses.post(f"{p.BASE}/model/new", json=p.MODEL_NEW)
    responses.get(f"{p.BASE}/model/info", json={"data": [{**p.MODEL_INFO["data"][0], "model_name": "probe-m1",
                                                          "model_info": {"id": "m-1"}}]},
                  match=[matchers.query_param_matcher({"litellm_model_id": "m-1"})])
    created = client.model_create(model_name="probe-m1", litellm_params={"model": "openai/x"}, model_id="m-1")
    assert created.id == "m-1"
    assert created.litellm_params.api_base == "http://127.0.0.1:18180/v1"  # not the encrypted echo
    assert sent(0) == {"model_name": "probe-m1", "litellm_params": {"model": "openai/x"}, "model_info": {"id": "m-1"}}


@responses.activate
def test_model_update_patches_and_delete_tolerates_a_missing_model(client):
    responses.patch(f"{p.BASE}/model/m-1/update", json=p.MODEL_NEW)
    responses.get(f"{p.BASE}/model/info", json={"data": [{**p.MODEL_INFO["data"][0], "model_info": {"id": "m-1"}}]})
    responses.post(f"{p.BASE}/model/delete", status=400, json={"error": {
        "message": "{'error': 'Model with id=m-1 not found in db'}", "type": "auth_error", "code": "400"}})
    assert client.model_update("m-1", litellm_params={"rpm": 5}).id == "m-1"
    assert sent(0) == {"litellm_params": {"rpm": 5}}
    assert client.model_delete("m-1") is False
    with pytest.raises(LiteLLMNotFound):
        client.model_delete("m-1", missing_ok=False)


@responses.activate
def test_user_get_parses_user_keys_and_maps_the_sentinel_to_no_limit(client):
    responses.get(f"{p.BASE}/user/info", json=p.USER_INFO, match=[AUTH, matchers.query_param_matcher({"user_id": p.USER_ID})])
    user = client.user_get(p.USER_ID)
    assert user.teams == [p.TEAM_ID]
    assert user.tpm_limit is None  # 2147483647 = "no limit"
    assert user.rpm_limit == 10
    assert user.keys[0].token == p.TOKEN


@responses.activate
def test_user_get_is_none_for_404_and_for_the_old_empty_reply(client):
    responses.get(f"{p.BASE}/user/info", status=404, json=p.USER_NOT_FOUND)
    responses.get(f"{p.BASE}/user/info", json={"user_id": p.USER_ID, "user_info": None, "keys": [], "teams": []})
    assert client.user_get(p.USER_ID) is None
    assert client.user_get(p.USER_ID) is None


@responses.activate
def test_user_create_sends_internal_user_without_key_and_409_is_already_exists(client):
    responses.post(f"{p.BASE}/user/new", json=p.USER_NEW)
    responses.post(f"{p.BASE}/user/new", status=409, json=p.USER_EXISTS)
    user = client.user_create(user_id=p.USER_ID, user_email="a@b.c", user_alias="alice", teams=[p.TEAM_ID],
                              max_budget=10, tpm_limit=None, rpm_limit=10, budget_duration="30d")
    assert user.teams == [p.TEAM_ID]
    assert sent(0) == {"user_id": p.USER_ID, "user_role": "internal_user", "auto_create_key": False,
                       "teams": [p.TEAM_ID], "user_email": "a@b.c", "user_alias": "alice", "max_budget": 10,
                       "budget_duration": "30d", "rpm_limit": 10}
    with pytest.raises(LiteLLMAlreadyExists) as exc:
        client.user_create(user_id=p.USER_ID)
    assert exc.value.reason == f"User with id {p.USER_ID} already exists"
    assert len(responses.calls) == 2  # a 4xx is never retried


def test_user_role_proxy_admin_is_refused_before_any_call(client):
    with pytest.raises(ValueError):
        client.user_create(user_id=p.USER_ID, user_role="proxy_admin")
    with pytest.raises(ValueError):
        client.user_update(p.USER_ID, user_role="proxy_admin")


@responses.activate
def test_user_update_clears_limits_the_way_litellm_honours(client):
    responses.post(f"{p.BASE}/user/update", json={"user_id": p.USER_ID, "data": p.USER_INFO["user_info"]})
    client.user_update(p.USER_ID, max_budget=None, budget_duration=None, tpm_limit=None, rpm_limit=None)
    assert sent() == {"user_id": p.USER_ID, "max_budget": None, "budget_duration": None,
                      "tpm_limit": UNLIMITED_SENTINEL, "rpm_limit": UNLIMITED_SENTINEL}


@responses.activate
def test_team_calls(client):
    responses.get(f"{p.BASE}/team/info", json=p.TEAM_INFO)
    responses.get(f"{p.BASE}/team/info", status=404, json=p.TEAM_NOT_FOUND)
    responses.post(f"{p.BASE}/team/new", json=p.TEAM)
    responses.post(f"{p.BASE}/team/new", status=400, json=p.TEAM_EXISTS)
    responses.post(f"{p.BASE}/team/update", json={"team_id": p.TEAM_ID, "data": p.TEAM})
    team = client.team_get(p.TEAM_ID)
    assert team.member_ids == {"default_user_id", p.USER_ID}
    assert client.team_get(p.TEAM_ID) is None
    client.team_create(team_id=p.TEAM_ID, team_alias="Default Team", max_budget=10000, tpm_limit=None)
    assert sent() == {"team_id": p.TEAM_ID, "team_alias": "Default Team", "models": [], "max_budget": 10000}
    with pytest.raises(LiteLLMAlreadyExists):  # 400 + "already exists": the documented message fallback
        client.team_create(team_id=p.TEAM_ID, team_alias="x")
    client.team_update(p.TEAM_ID, tpm_limit=None, soft_budget=None)
    assert sent() == {"team_id": p.TEAM_ID, "tpm_limit": None, "soft_budget": None}


@responses.activate
def test_team_list_reads_the_bare_list_and_older_wrappers(client):
    responses.get(f"{p.BASE}/team/list", json=p.TEAM_LIST, match=[AUTH, matchers.query_param_matcher({})])
    responses.get(f"{p.BASE}/team/list", json={"teams": p.TEAM_LIST})
    (team,) = client.team_list()
    assert (team.team_id, team.spend, team.member_ids) == (p.TEAM_ID, 2.5e-05, {"default_user_id", p.USER_ID})
    assert [t.team_id for t in client.team_list()] == [p.TEAM_ID]


@responses.activate
def test_team_reset_spend_verifies_by_reading_the_team_back(client):
    responses.post(f"{p.BASE}/team/update", json={"team_id": p.TEAM_ID, "data": {**p.TEAM, "spend": 3.0}})
    responses.get(f"{p.BASE}/team/info", json={**p.TEAM_INFO, "team_info": {**p.TEAM, "spend": 0.0}})
    assert client.team_reset_spend(p.TEAM_ID).spend == 0
    assert sent(0) == {"team_id": p.TEAM_ID, "spend": 0}


@responses.activate
def test_team_reset_spend_reports_a_proxy_that_ignores_it(client):
    # 1.103.7: /team/update has no "spend" field, answers 200 and leaves the spend alone.
    responses.post(f"{p.BASE}/team/update", json={"team_id": p.TEAM_ID, "data": {**p.TEAM, "spend": 3.0}})
    responses.get(f"{p.BASE}/team/info", json={**p.TEAM_INFO, "team_info": {**p.TEAM, "spend": 3.0}})
    with pytest.raises(LiteLLMRejected) as exc:
        client.team_reset_spend(p.TEAM_ID)
    assert exc.value.code == "team_spend_reset_unsupported" and not isinstance(exc.value, LiteLLMNotFound)


@responses.activate
def test_team_reset_spend_of_an_unknown_team_is_not_found(client):
    responses.post(f"{p.BASE}/team/update", status=404, json=p.TEAM_NOT_FOUND)
    with pytest.raises(LiteLLMNotFound):
        client.team_reset_spend(p.TEAM_ID)
    assert len(responses.calls) == 1


@responses.activate
def test_team_reset_spend_is_retried_when_litellm_is_unavailable(client):
    responses.post(f"{p.BASE}/team/update", status=503, json={"error": {"message": "busy"}})
    responses.post(f"{p.BASE}/team/update", json={"team_id": p.TEAM_ID, "data": p.TEAM})
    responses.get(f"{p.BASE}/team/info", json=p.TEAM_INFO)
    assert client.team_reset_spend(p.TEAM_ID).team_id == p.TEAM_ID
    assert [c.request.method for c in responses.calls] == ["POST", "POST", "GET"]


@responses.activate
def test_user_list_walks_every_page_in_a_stable_order(client):
    base = {"page_size": "2", "sort_by": "user_id", "sort_order": "asc"}
    responses.get(f"{p.BASE}/user/list", json=p.user_list_page(1, 2, 3, ["u-a", "u-b"]),
                  match=[AUTH, matchers.query_param_matcher({**base, "page": "1"})])
    # A user created between the two reads (sorting before u-b) shifts u-b onto page 2 as well: it is kept
    # once, and no user that existed when the walk started is skipped.
    responses.get(f"{p.BASE}/user/list", json=p.user_list_page(2, 2, 4, ["u-b", "u-c"]),
                  match=[matchers.query_param_matcher({**base, "page": "2"})])
    users = client.user_list(page_size=2)
    assert [u.user_id for u in users] == ["u-a", "u-b", "u-c"]
    assert users[0].teams == [p.TEAM_ID] and users[0].keys == []
    assert len(responses.calls) == 2


@responses.activate
def test_user_list_of_an_empty_proxy_is_one_call(client):
    responses.get(f"{p.BASE}/user/list", json=p.user_list_page(1, 100, 0, []))
    assert client.user_list() == []
    assert responses.calls[0].request.params["page_size"] == "100"
    assert len(responses.calls) == 1


def test_user_list_refuses_a_page_size_litellm_would_refuse(client):
    for size in (0, 101):
        with pytest.raises(ValueError):
            client.user_list(page_size=size)


@responses.activate
def test_user_list_with_an_unparseable_reply_is_a_bad_response(client):
    responses.get(f"{p.BASE}/user/list", json={"data": []})
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.user_list()
    assert exc.value.code == "litellm_bad_response"


@responses.activate
def test_team_membership_is_idempotent(client):
    responses.post(f"{p.BASE}/team/member_add", json=p.TEAM)
    responses.post(f"{p.BASE}/team/member_add", status=400, json=p.MEMBER_ALREADY)
    responses.post(f"{p.BASE}/team/member_delete", json=p.TEAM)
    responses.post(f"{p.BASE}/team/member_delete", status=400, json=p.MEMBER_NOT_IN_TEAM)
    assert client.team_member_add(p.TEAM_ID, p.USER_ID) is True
    assert sent() == {"team_id": p.TEAM_ID, "member": [{"user_id": p.USER_ID, "role": "user"}]}
    assert client.team_member_add(p.TEAM_ID, p.USER_ID) is False
    assert client.team_member_delete(p.TEAM_ID, p.USER_ID) is True
    assert client.team_member_delete(p.TEAM_ID, p.USER_ID) is False


@responses.activate
def test_key_set_team_sends_only_the_team_by_hash(client):
    responses.post(f"{p.BASE}/key/update", json={**p.KEY_ROW, "team_id": p.TEAM_ID}, match=[AUTH])
    responses.post(f"{p.BASE}/key/update", json=p.KEY_ROW)
    responses.post(f"{p.BASE}/key/update", json=p.KEY_ROW)
    key = client.key_set_team(p.KEY, p.TEAM_ID)
    assert (key.token, key.team_id) == (p.TOKEN, p.TEAM_ID)
    assert sent() == {"key": p.TOKEN, "team_id": p.TEAM_ID}  # the secret never leaves with an update
    assert client.key_set_team(p.TOKEN, None).team_id is None
    assert sent() == {"key": p.TOKEN, "team_id": None}
    client.key_set_team(p.TOKEN, "")
    assert sent() == {"key": p.TOKEN, "team_id": None}


@responses.activate
def test_key_set_team_refusals_are_final(client):
    responses.post(f"{p.BASE}/key/update", status=403, json=p.KEY_NOT_A_TEAM_MEMBER)
    responses.post(f"{p.BASE}/key/update", status=404, json=p.TEAM_NOT_IN_DB)
    with pytest.raises(LiteLLMRejected) as exc:
        client.key_set_team(p.TOKEN, p.TEAM_ID)
    assert exc.value.status == 403 and "not a member" in exc.value.reason
    with pytest.raises(LiteLLMNotFound):
        client.key_set_team(p.TOKEN, p.TEAM_ID)
    assert len(responses.calls) == 2  # a 4xx is never retried


@responses.activate
def test_key_set_team_is_retried_when_litellm_is_unavailable(client):
    responses.post(f"{p.BASE}/key/update", status=502, json={"error": {"message": "bad gateway"}})
    responses.post(f"{p.BASE}/key/update", json={**p.KEY_ROW, "team_id": p.TEAM_ID})
    assert client.key_set_team(p.TOKEN, p.TEAM_ID).team_id == p.TEAM_ID
    assert len(responses.calls) == 2


@responses.activate
def test_key_generate_sends_the_secret_once_and_parses_limits_from_their_real_places(client):
    responses.post(f"{p.BASE}/key/generate", json=p.KEY_ROW)
    key = client.key_generate(key=p.KEY, models=["fake-gpt"], user_id=p.USER_ID, key_alias="probe",
                              metadata={"portal_key_id": "abc"}, max_budget=5, soft_budget=4,
                              model_rpm_limit={"fake-gpt": 5}, expires=None)
    body = sent()
    assert body["key"] == p.KEY and body["models"] == ["fake-gpt"] and "duration" not in body
    assert body["model_rpm_limit"] == {"fake-gpt": 5}
    assert key.token == p.TOKEN == hash_key(p.KEY)
    assert key.soft_budget == 4.0  # from litellm_budget_table
    assert key.model_rpm_limit == {"fake-gpt": 5}  # from metadata
    assert "sk-probe" not in repr(key)


def test_key_generate_and_update_refuse_an_empty_model_list(client):
    with pytest.raises(ValueError):
        client.key_generate(key=p.KEY, models=[])
    with pytest.raises(ValueError):
        client.key_update(p.TOKEN, models=[])


@responses.activate
def test_key_get_by_hash_reads_nested_and_flat_shapes(client):
    responses.get(f"{p.BASE}/key/info", json=p.KEY_INFO_NESTED, match=[matchers.query_param_matcher({"key": p.TOKEN})])
    responses.get(f"{p.BASE}/key/info", json=p.KEY_INFO_FLAT)
    responses.get(f"{p.BASE}/key/info", status=404, json=p.KEY_NOT_FOUND)
    nested = client.key_get(p.KEY)  # the secret is hashed before it is sent
    flat = client.key_get(p.TOKEN)
    assert nested == flat
    assert nested.token == p.TOKEN and nested.expires == datetime(2026, 12, 23, 8, 39, 33, 105744, tzinfo=UTC)
    assert client.key_get(p.TOKEN) is None


@responses.activate
def test_key_get_self_authenticates_as_the_virtual_key(client):
    responses.get(f"{p.BASE}/key/info", json=p.KEY_INFO_NESTED, match=[matchers.header_matcher({"x-litellm-api-key": p.KEY})])
    assert client.key_get_self(p.KEY).token == p.TOKEN


@responses.activate
def test_key_update_carries_over_per_model_limits_when_metadata_changes(client):
    responses.get(f"{p.BASE}/key/info", json=p.KEY_INFO_NESTED)
    responses.post(f"{p.BASE}/key/update", json=p.KEY_ROW)
    expires = datetime.now(UTC) + timedelta(days=2)
    client.key_update(p.TOKEN, metadata={"portal_key_id": "abc", "note": "x"}, max_budget=None, expires=expires)
    body = sent()
    assert body["key"] == p.TOKEN
    assert body["metadata"] == {"portal_key_id": "abc", "note": "x", "model_rpm_limit": {"fake-gpt": 5},
                                "model_tpm_limit": {"fake-gpt": 50}}
    assert body["max_budget"] is None
    assert body["duration"].endswith("s") and 172790 <= int(body["duration"][:-1]) <= 172801


@responses.activate
def test_key_delete_block_unblock_and_reset_spend(client):
    responses.post(f"{p.BASE}/key/delete", json={"deleted_keys": [p.TOKEN]})
    responses.post(f"{p.BASE}/key/delete", status=404, json=p.NO_KEYS_FOUND)
    responses.post(f"{p.BASE}/key/block", json={**p.KEY_ROW, "blocked": True})
    responses.post(f"{p.BASE}/key/unblock", json=p.KEY_ROW)
    responses.post(f"{p.BASE}/key/update", json=p.KEY_ROW)
    assert client.key_delete([p.KEY]).deleted == [p.TOKEN]
    assert sent() == {"keys": [p.TOKEN]}
    assert client.key_delete([p.TOKEN]).deleted == []
    assert client.key_block(p.TOKEN).blocked is True
    assert client.key_unblock(p.TOKEN).blocked is False
    client.key_reset_spend(p.TOKEN)
    assert sent() == {"key": p.TOKEN, "spend": 0}


@responses.activate
def test_key_list_fetches_every_page(client):
    row = {k: v for k, v in p.KEY_ROW.items() if k != "key"}
    responses.get(f"{p.BASE}/key/list", json={"keys": [row], "total_count": 2, "current_page": 1, "total_pages": 2},
                  match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)])
    responses.get(f"{p.BASE}/key/list", json={"keys": [{**row, "token": "b" * 64}], "total_count": 2,
                                              "current_page": 2, "total_pages": 2},
                  match=[matchers.query_param_matcher({"page": "2", "user_id": p.USER_ID}, strict_match=False)])
    keys = client.key_list(user_id=p.USER_ID)
    assert [k.token for k in keys] == [p.TOKEN, "b" * 64]


@responses.activate
def test_daily_activity_merges_a_day_split_across_pages(client):
    day = "2026-11-23"
    responses.get(f"{p.BASE}/user/daily/activity", json=p.activity_page(1, 2, [(day, "fake-gpt", p.TOKEN, 1, 2.5e-5)]),
                  match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)])
    responses.get(f"{p.BASE}/user/daily/activity",
                  json=p.activity_page(2, 2, [(day, "fake-gpt", p.TOKEN, 2, 5e-5), (day, "other", "c" * 64, 1, 0.0)]),
                  match=[matchers.query_param_matcher({"page": "2"}, strict_match=False)])
    activity = client.daily_activity(start_date=date(2026, 11, 23), end_date=date(2026, 11, 23), api_key=None)
    assert activity.pages == 2
    assert [(r.model, r.api_key_hash, r.api_requests) for r in activity.rows] == [
        ("fake-gpt", p.TOKEN, 3), ("other", "c" * 64, 1)]
    assert activity.rows[0].spend == pytest.approx(7.5e-5)
    assert activity.rows[0].user_id == p.USER_ID
    assert activity.totals.api_requests == 4
    assert responses.calls[0].request.params["page_size"] == "1000"


@responses.activate
def test_daily_activity_falls_back_to_models_on_releases_without_groups(client):
    page = p.activity_page(1, 1, [("2026-11-23", "fake-gpt", p.TOKEN, 1, 1.0)])
    breakdown = page["results"][0]["breakdown"]
    breakdown["models"] = breakdown.pop("model_groups")
    responses.get(f"{p.BASE}/user/daily/activity", json=page)
    activity = client.daily_activity(start_date=date(2026, 11, 23), end_date=date(2026, 11, 23), api_key=p.KEY)
    assert activity.rows[0].model == "fake-gpt"
    assert responses.calls[0].request.params["api_key"] == p.TOKEN


def test_client_repr_never_shows_the_master_key(client):
    assert p.MASTER not in repr(client)
    assert p.MASTER not in repr(client._transport)
