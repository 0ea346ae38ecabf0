"""Contract: every limit field can be set and cleared (``limits.py`` knows how; this proves it works)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrations.litellm.client import hash_key
from integrations.litellm.errors import LiteLLMEnterpriseRequired
from tests.contract.conftest import new_key_value

pytestmark = pytest.mark.contract

USER_LIMITS = {"max_budget": 10.0, "budget_duration": "30d", "tpm_limit": 100, "rpm_limit": 10}
TEAM_LIMITS = {"max_budget": 10.0, "soft_budget": 5.0, "budget_duration": "30d", "tpm_limit": 100, "rpm_limit": 10}
KEY_LIMITS = {"max_budget": 10.0, "soft_budget": 5.0, "budget_duration": "30d", "tpm_limit": 100, "rpm_limit": 10,
              "max_parallel_requests": 2, "model_rpm_limit": {"m": 5}, "model_tpm_limit": {"m": 50}}


@pytest.mark.parametrize("field", sorted(USER_LIMITS))
def test_user_limit_is_set_and_cleared(litellm_target, field):
    client, user_id = litellm_target.client, str(uuid.uuid4())
    client.user_create(user_id=user_id, **USER_LIMITS)
    assert getattr(client.user_get(user_id), field) == USER_LIMITS[field]
    client.user_update(user_id, **{field: None})
    user = client.user_get(user_id)
    assert getattr(user, field) is None
    others = {k: v for k, v in USER_LIMITS.items() if k != field}
    assert {k: getattr(user, k) for k in others} == others


def test_user_rate_limits_ignore_null_which_is_why_the_sentinel_exists(litellm_target):
    client, user_id = litellm_target.client, str(uuid.uuid4())
    client.user_create(user_id=user_id, tpm_limit=100)
    litellm_target.raw("POST", "/user/update", json={"user_id": user_id, "tpm_limit": None})
    assert client.user_get(user_id).tpm_limit == 100


@pytest.mark.parametrize("field", sorted(TEAM_LIMITS))
def test_team_limit_is_set_and_cleared(litellm_target, field):
    client, team_id = litellm_target.client, str(uuid.uuid4())
    client.team_create(team_id=team_id, team_alias="limits", **TEAM_LIMITS)
    assert getattr(client.team_get(team_id), field) == TEAM_LIMITS[field]
    client.team_update(team_id, **{field: None})
    assert getattr(client.team_get(team_id), field) is None


@pytest.mark.parametrize("field", sorted(KEY_LIMITS))
def test_key_limit_is_set_and_cleared(litellm_target, field):
    client, secret = litellm_target.client, new_key_value()
    client.key_generate(key=secret, models=["m"], **KEY_LIMITS)
    assert getattr(client.key_get(secret), field) == KEY_LIMITS[field]
    client.key_update(secret, **{field: None})
    key = client.key_get(secret)
    assert getattr(key, field) is None
    others = {k: v for k, v in KEY_LIMITS.items() if k != field}
    assert {k: getattr(key, k) for k in others} == others


def test_key_expiry_is_set_moved_and_cleared(litellm_target):
    client, secret = litellm_target.client, new_key_value()
    soon = datetime.now(UTC) + timedelta(days=3)
    client.key_generate(key=secret, models=["m"], expires=soon)
    assert abs((client.key_get(secret).expires - soon).total_seconds()) < 60
    later = soon + timedelta(days=30)
    client.key_update(secret, expires=later)
    assert abs((client.key_get(secret).expires - later).total_seconds()) < 60
    litellm_target.raw("POST", "/key/update", json={"key": hash_key(secret), "expires": None})
    assert client.key_get(secret).expires is not None  # "expires": null is ignored …
    client.key_update(secret, expires=None)
    assert client.key_get(secret).expires is None  # … "duration": null clears it


def test_per_model_budgets_need_enterprise_and_clearing_them_does_not(litellm_target):
    client, secret = litellm_target.client, new_key_value()
    budget = {"m": {"budget_limit": 1.0, "time_period": "30d"}}
    with pytest.raises(LiteLLMEnterpriseRequired):
        client.key_generate(key=secret, models=["m"], model_max_budget=budget)
    client.key_generate(key=secret, models=["m"])
    with pytest.raises(LiteLLMEnterpriseRequired):
        client.key_update(secret, model_max_budget=budget)
    client.key_update(secret, model_max_budget=None)
    assert client.key_get(secret).model_max_budget is None
