"""Contract: health, model deployments, users and teams behave the same on the double and on LiteLLM."""
from __future__ import annotations

import uuid

import pytest

from integrations.litellm.errors import LiteLLMAlreadyExists, LiteLLMNotFound
from tests.contract.conftest import unique

pytestmark = pytest.mark.contract


def test_liveness_and_version(litellm_target):
    assert litellm_target.client.liveness().alive
    assert litellm_target.client.readiness().version


def test_model_deployment_lifecycle_with_a_portal_chosen_id(litellm_target):
    client, model_id = litellm_target.client, unique("dep")
    params = {"model": "openai/contract-backend", "api_base": "http://127.0.0.1:9/v1", "api_key": "sk-backend-x",
              "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
    created = client.model_create(model_name=unique("contract-model"), litellm_params=params,
                                  model_info={"db_model": True, "max_tokens": 1024}, model_id=model_id)
    assert created.id == model_id and created.model_info.max_tokens == 1024
    assert created.litellm_params.api_base == "http://127.0.0.1:9/v1"  # read back in clear, not the encrypted echo
    assert any(m.id == model_id for m in client.model_list())
    again = client.model_create(model_name=created.model_name, litellm_params=params, model_id=model_id)
    assert again.id == model_id  # LiteLLM answers 500 for the duplicate id; the client confirms it exists
    assert sum(m.id == model_id for m in client.model_list()) == 1
    assert client.model_update(model_id, litellm_params={"rpm": 7}).litellm_params.rpm == 7
    assert client.model_delete(model_id) is True
    assert client.model_delete(model_id) is False
    assert client.model_get(model_id) is None
    with pytest.raises(LiteLLMNotFound):
        client.model_update(model_id, litellm_params={"rpm": 1})


def test_model_update_needs_patch(litellm_target):
    reply = litellm_target.raw("POST", "/model/whatever/update", json={})
    assert reply.status_code == 405


def test_unknown_user_is_absent_then_created_once(litellm_target):
    client, user_id = litellm_target.client, str(uuid.uuid4())
    team_id = str(uuid.uuid4())
    client.team_create(team_id=team_id, team_alias="contract")
    assert client.user_get(user_id) is None
    email = f"{user_id[:8]}@contract.example"
    user = client.user_create(user_id=user_id, user_email=email, user_alias="c", teams=[team_id, str(uuid.uuid4())],
                              max_budget=3, tpm_limit=5)
    assert (user.user_role, user.max_budget, user.tpm_limit) == ("internal_user", 3.0, 5)
    assert user.teams == [team_id]  # the unknown team id was dropped silently
    assert client.user_get(user_id).teams == [team_id]
    with pytest.raises(LiteLLMAlreadyExists):
        client.user_create(user_id=user_id)
    with pytest.raises(LiteLLMAlreadyExists):  # e-mails are unique on /user/new, case-insensitively
        client.user_create(user_id=str(uuid.uuid4()), user_email=email.upper())


def test_user_update_creates_an_unknown_user_without_a_role(litellm_target):
    client, user_id = litellm_target.client, str(uuid.uuid4())
    client.user_update(user_id, max_budget=1)
    user = client.user_get(user_id)
    assert user is not None and user.user_role is None and user.max_budget == 1.0


def test_team_lifecycle_and_membership(litellm_target):
    client, team_id, user_id = litellm_target.client, str(uuid.uuid4()), str(uuid.uuid4())
    assert client.team_get(team_id) is None
    with pytest.raises(LiteLLMNotFound):
        client.team_update(team_id, max_budget=1)
    with pytest.raises(LiteLLMNotFound):
        client.team_member_add(team_id, user_id)
    team = client.team_create(team_id=team_id, team_alias="contract", max_budget=5, tpm_limit=10)
    assert (team.team_alias, team.max_budget, team.tpm_limit, team.models) == ("contract", 5.0, 10, [])
    with pytest.raises(LiteLLMAlreadyExists):
        client.team_create(team_id=team_id, team_alias="contract")
    client.user_create(user_id=user_id)
    assert client.team_member_add(team_id, user_id) is True
    assert client.team_member_add(team_id, user_id) is False
    assert user_id in client.team_get(team_id).member_ids
    assert team_id in client.user_get(user_id).teams
    assert client.team_member_delete(team_id, user_id) is True
    assert client.team_member_delete(team_id, user_id) is False
    assert client.team_update(team_id, team_alias="renamed").team_alias == "renamed"


def test_member_add_creates_an_unknown_user(litellm_target):
    client, team_id, user_id = litellm_target.client, str(uuid.uuid4()), str(uuid.uuid4())
    client.team_create(team_id=team_id, team_alias="contract")
    client.team_member_add(team_id, user_id)
    assert client.user_get(user_id).user_role == "internal_user"
