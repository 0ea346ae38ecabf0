"""Edit, block, revoke, delete, reset spend, rotate, expiry and model removal."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, KeyStatus, KeyType
from litemaas.models import AuditEvent

URL = "/api/v1/api-keys"


@pytest.fixture
def created(litellm, subscribed):
    return services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test", "embed-test"],
                                  name="ci", max_budget=Decimal("5"), tpm_limit=100, rpm_limit=10,
                                  soft_budget=Decimal("4"), budget_duration="daily", max_parallel_requests=2,
                                  expires_at=timezone.now() + timedelta(days=10))


@pytest.mark.django_db
def test_clearing_limits_really_clears_them_in_litellm(created, litellm, user_client):
    key = created.key
    response = user_client.patch(f"{URL}/{key.pk}", {
        "max_budget": None, "tpm_limit": None, "rpm_limit": None, "soft_budget": None, "budget_duration": None,
        "max_parallel_requests": None, "expires_at": None}, format="json")
    assert response.status_code == 200, response.json()
    remote = litellm.state.keys[key.token_hash]
    assert remote["max_budget"] is None and remote["tpm_limit"] is None and remote["rpm_limit"] is None
    assert remote["budget_duration"] is None and remote["max_parallel_requests"] is None
    assert remote["_soft_budget"] is None and remote["expires"] is None
    key.refresh_from_db()
    assert key.max_budget is None and key.tpm_limit is None and key.expires_at is None


@pytest.mark.django_db
def test_rename_keeps_alias_consistent_and_models_follow_subscriptions(created, litellm, user_client, chat_model):
    key = created.key
    response = user_client.patch(f"{URL}/{key.pk}", {"name": "Renamed key", "model_ids": ["gpt-test"]},
                                 format="json")
    assert response.status_code == 200, response.json()
    key.refresh_from_db()
    assert key.key_alias == f"Renamed-key_{key.alias_suffix}"
    assert litellm.state.keys[key.token_hash]["key_alias"] == key.key_alias
    assert litellm.state.keys[key.token_hash]["models"] == ["gpt-test"]
    refused = user_client.patch(f"{URL}/{key.pk}", {"model_ids": ["not-subscribed"]}, format="json")
    assert refused.status_code == 400


@pytest.mark.django_db
def test_edit_while_litellm_down_changes_nothing(created, litellm, user_client):
    litellm.set_fault("down")
    response = user_client.patch(f"{URL}/{created.key.pk}", {"name": "new"}, format="json")
    assert response.status_code == 503
    created.key.refresh_from_db()
    assert created.key.name == "ci"


@pytest.mark.django_db
def test_block_unblock_and_reset_spend(created, litellm, user_client):
    key = created.key
    litellm.state.keys[key.token_hash]["spend"] = 3.5
    assert user_client.post(f"{URL}/{key.pk}/block", {"reason": "leak?"}, format="json").json()["status"] == "blocked"
    assert litellm.state.keys[key.token_hash]["blocked"] is True
    assert user_client.post(f"{URL}/{key.pk}/unblock").json()["status"] == "active"
    assert litellm.state.keys[key.token_hash]["blocked"] is False
    response = user_client.post(f"{URL}/{key.pk}/reset-spend")
    assert response.status_code == 200 and response.json()["spend"] in ("0", "0.0", "0.000000")
    assert litellm.state.keys[key.token_hash]["spend"] == 0
    actions = set(AuditEvent.objects.filter(target_id=str(key.pk)).values_list("action", flat=True))
    assert {"apikey.block", "apikey.unblock", "apikey.reset_spend"} <= actions


@pytest.mark.django_db
def test_revoke_is_immediate_and_durable_when_litellm_is_down(created, litellm, user_client, settings,
                                                              django_capture_on_commit_callbacks):
    key = created.key
    litellm.set_fault("down")
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(f"{URL}/{key.pk}/revoke", {"reason": "lost laptop"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "revoking"
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKING and key.revoke_attempts >= 1
    # The portal no longer accepts it anywhere (e.g. /keys/self).
    from rest_framework.test import APIClient

    self_call = APIClient().get("/api/v1/keys/self", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert self_call.status_code == 401
    assert services.apikeys_retry_revocations() == 0  # still down
    litellm.clear_fault()
    assert services.apikeys_retry_revocations() == 1
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED and key.revoked_at is not None
    assert key.token_hash not in litellm.state.keys
    # Idempotent: revoking again is fine.
    assert user_client.post(f"{URL}/{key.pk}/revoke").status_code == 200


@pytest.mark.django_db
def test_revoke_task_has_bounded_retries_then_the_sweep_takes_over(created, litellm):
    from apikeys.tasks import revoke_apikey

    assert revoke_apikey.max_retries is not None
    ApiKey.objects.filter(pk=created.key.pk).update(status=KeyStatus.REVOKING)
    litellm.set_fault("down")
    revoke_apikey.apply(args=[str(created.key.pk)])  # eager: no inline retry loop, returns
    litellm.clear_fault()
    revoke_apikey.apply(args=[str(created.key.pk)])
    assert ApiKey.objects.get(pk=created.key.pk).status == KeyStatus.REVOKED


@pytest.mark.django_db
def test_delete_keeps_a_tombstone_for_usage_history(created, litellm, user_client):
    key = created.key
    response = user_client.delete(f"{URL}/{key.pk}")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    key.refresh_from_db()
    assert key.deleted_at is not None and key.token_hash  # hash kept for usage mapping
    assert user_client.get(f"{URL}/{key.pk}").status_code == 404
    assert user_client.get(URL).json()["count"] == 0
    assert key.token_hash not in litellm.state.keys


@pytest.mark.django_db
def test_rotation_grace_with_controlled_time(created, litellm, user_client):
    old = created.key
    response = user_client.post(f"{URL}/{old.pk}/rotate", {"grace_hours": 2}, format="json")
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    new = ApiKey.objects.get(pk=response.json()["id"])
    assert new.rotated_from_id == old.pk and new.user_id == old.user_id
    assert new.max_budget == old.max_budget and new.tpm_limit == old.tpm_limit
    assert new.budget_duration == old.budget_duration and new.expires_at == old.expires_at
    assert sorted(lk.model_id for lk in new.model_links.all()) == ["embed-test", "gpt-test"]
    remote_new = litellm.state.keys[new.token_hash]
    assert remote_new["user_id"] == str(old.user_id) and remote_new["key_alias"].startswith("ci_")
    assert remote_new["max_budget"] == 5.0
    assert old.token_hash in litellm.state.keys  # still valid during the grace
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert services.apikeys_revoke_rotated_after_grace() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        assert services.apikeys_revoke_rotated_after_grace() == 1
    old.refresh_from_db()
    assert old.status == KeyStatus.REVOKED and old.token_hash not in litellm.state.keys
    assert new.token_hash in litellm.state.keys
    assert user_client.post(f"{URL}/{old.pk}/rotate", {"grace_hours": 30}, format="json").status_code == 400


@pytest.mark.django_db
def test_rotation_with_zero_grace_revokes_the_old_key_now(created, litellm, user_client):
    response = user_client.post(f"{URL}/{created.key.pk}/rotate", {"grace_hours": 0}, format="json")
    assert response.status_code == 201
    created.key.refresh_from_db()
    assert created.key.status == KeyStatus.REVOKED


@pytest.mark.django_db
def test_expiry_sweep_marks_expired_and_revokes_playground_keys(created, litellm, subscribed):
    playground = services.apikey_create_playground(user=subscribed, model_id="gpt-test")
    assert playground.key.key_type == KeyType.PLAYGROUND
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        services.apikeys_expire_due()
    created.key.refresh_from_db()
    playground.key.refresh_from_db()
    assert created.key.status == KeyStatus.EXPIRED
    assert playground.key.status == KeyStatus.REVOKED
    assert playground.key.token_hash not in litellm.state.keys


@pytest.mark.django_db
def test_removing_models_never_sends_an_empty_list(created, litellm, subscribed, django_capture_on_commit_callbacks):
    key = created.key
    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_remove_model_for_user(user=subscribed, model_id="embed-test", reason="denied")
    assert litellm.state.keys[key.token_hash]["models"] == ["gpt-test"]
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE and not key.remote_sync_pending
    with django_capture_on_commit_callbacks(execute=True):
        services.apikey_remove_model_for_user(user=subscribed, model_id="gpt-test", reason="Subscription denied")
    key.refresh_from_db()
    assert key.status == KeyStatus.BLOCKED and key.status_reason == "Subscription denied"
    remote = litellm.state.keys[key.token_hash]
    assert remote["blocked"] is True and remote["models"] == ["gpt-test"]  # blocked, never models: []
    for call in litellm.calls_to("/key/update"):
        assert call["body"].get("models", ["x"]) != []


@pytest.mark.django_db
def test_model_removal_while_litellm_is_down_is_applied_later(created, litellm, subscribed,
                                                              django_capture_on_commit_callbacks):
    litellm.set_fault("down")
    with django_capture_on_commit_callbacks(execute=True):
        services.apikeys_remove_model_everywhere(model_id="gpt-test", reason="model deleted")
    key = ApiKey.objects.get(pk=created.key.pk)
    assert key.remote_sync_pending and [lk.model_id for lk in key.model_links.all()] == ["embed-test"]
    assert sorted(litellm.state.keys[key.token_hash]["models"]) == ["embed-test", "gpt-test"]
    litellm.clear_fault()
    assert services.apikeys_sync_pending() == 1
    assert litellm.state.keys[key.token_hash]["models"] == ["embed-test"]
    assert not ApiKey.objects.get(pk=key.pk).remote_sync_pending


@pytest.mark.django_db
def test_key_self_authenticates_with_the_litellm_key(created, litellm, api_client):
    litellm.state.keys[created.key.token_hash]["spend"] = 1.25
    response = api_client.get("/api/v1/keys/self", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["source"] == "litellm" and sorted(body["models"]) == ["embed-test", "gpt-test"]
    assert Decimal(body["remaining_budget"]) == Decimal("3.75") and body["tpm_limit"] == 100
    assert body["budget_reset_at"] is not None
    litellm.set_fault("down")
    fallback = api_client.get("/api/v1/keys/self", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert fallback.status_code == 200 and fallback.json()["source"] == "portal"
    assert Decimal(fallback.json()["spend"]) == Decimal("1.25")
    assert api_client.get("/api/v1/keys/self", HTTP_AUTHORIZATION="Bearer sk-ltm-wrong").status_code == 401
    assert api_client.get("/api/v1/keys/self").status_code == 401
