"""Creating keys: the secret exists once, the hash is LiteLLM's, only active subscriptions, ceilings,
and no orphan whatever LiteLLM does."""
from __future__ import annotations

import hashlib
import io
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey, ApiKeySettings, KeyStatus
from apikeys.services import create as create_service
from litemaas.models import AuditEvent
from tests.apikeys.conftest import make_model, subscribe

URL = "/api/v1/api-keys"


def _create(client, **extra):
    body = {"name": "My laptop", "model_ids": ["gpt-test"], **extra}
    return client.post(URL, body, format="json")


@pytest.mark.django_db
def test_create_returns_secret_once_and_stores_only_its_sha256(litellm, subscribed, user_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = _create(user_client, model_ids=["gpt-test", "embed-test"], max_budget="5.00", tpm_limit=1000,
                       budget_duration="monthly")
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["key"]
    assert secret.startswith("sk-ltm-") and len(secret) >= 40
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(pk=body["id"])
    assert key.status == KeyStatus.ACTIVE
    # The portal's identifier is LiteLLM's token: plain SHA-256 hex of the key.
    assert key.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.token_hash in litellm.state.keys
    remote = litellm.state.keys[key.token_hash]
    assert remote["user_id"] == str(subscribed.pk)
    assert sorted(remote["models"]) == ["embed-test", "gpt-test"]
    assert remote["metadata"]["portal_key_id"] == str(key.pk)
    assert remote["key_alias"] == key.key_alias and key.key_alias.startswith("My-laptop_")
    assert remote["budget_duration"] == "30d" and remote["max_budget"] == 5.0
    assert body["masked_key"] == f"{secret[:11]}…{secret[-4:]}"

    # Nowhere else: database dump, logs, audit rows, later responses.
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert secret not in dump.getvalue()
    assert secret[11:-4] not in dump.getvalue()
    assert secret not in caplog.text
    assert not any(secret in str(e.metadata) for e in AuditEvent.objects.all())
    assert AuditEvent.objects.filter(action="apikey.create", target_id=str(key.pk), success=True).exists()
    for path in (URL, f"{URL}/{key.pk}", "/api-keys/", f"/api-keys/{key.pk}/"):
        if path.startswith("/api/"):
            page = user_client.get(path)
            text = page.content.decode()
        else:
            from django.test import Client

            web = Client()
            web.force_login(subscribed)
            text = web.get(path).content.decode()
        assert secret not in text, path


@pytest.mark.django_db
def test_create_refuses_models_without_an_active_subscription(litellm, user, user_client, chat_model):
    subscribe(user, chat_model, status="pending")
    response = _create(user_client)
    assert response.status_code == 400
    assert "model_ids" in response.json()["error"]["details"]["fields"]
    assert ApiKey.objects.count() == 0 and not litellm.state.keys


@pytest.mark.django_db
def test_create_validation_error_shape(litellm, subscribed, user_client):
    response = user_client.post(URL, {"name": "", "model_ids": []}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and {"name", "model_ids"} <= set(error["details"]["fields"])


@pytest.mark.django_db
def test_admin_defaults_apply_and_ceilings_are_enforced(litellm, subscribed, user_client):
    ApiKeySettings.objects.update_or_create(pk=1, defaults={
        "default_max_budget": Decimal("3"), "max_max_budget": Decimal("10"), "default_tpm_limit": 500,
        "max_tpm_limit": 1000, "default_expiry_days": 30, "max_expiry_days": 90})
    over = _create(user_client, max_budget="20")
    assert over.status_code == 400 and "max_budget" in over.json()["error"]["details"]["fields"]
    unlimited = _create(user_client, max_budget=None)
    assert unlimited.status_code == 400
    never = _create(user_client, expires_at=None)
    assert never.status_code == 400 and "expires_at" in never.json()["error"]["details"]["fields"]
    too_far = _create(user_client, expires_in_days=365)
    assert too_far.status_code == 400

    ok = _create(user_client)
    assert ok.status_code == 201, ok.json()
    key = ApiKey.objects.get(pk=ok.json()["id"])
    assert key.max_budget == Decimal("3") and key.tpm_limit == 500
    assert timedelta(days=29) < key.expires_at - timezone.now() <= timedelta(days=30)
    # Ceilings also apply to edits.
    edit = user_client.patch(f"{URL}/{key.pk}", {"tpm_limit": 5000}, format="json")
    assert edit.status_code == 400 and "tpm_limit" in edit.json()["error"]["details"]["fields"]
    assert litellm.state.keys[key.token_hash]["tpm_limit"] == 500


@pytest.mark.django_db
def test_active_key_limit_per_user(litellm, subscribed, user_client):
    ApiKeySettings.objects.update_or_create(pk=1, defaults={"max_active_keys_per_user": 2})
    assert _create(user_client).status_code == 201
    assert _create(user_client).status_code == 201
    third = _create(user_client)
    assert third.status_code == 400 and "limit" in str(third.json()["error"]["details"])


@pytest.mark.django_db
def test_per_model_budget_is_refused_with_a_clear_message(litellm, subscribed, user_client):
    response = _create(user_client, model_limits={"gpt-test": {"max_budget": "1", "budget_duration": "daily"}})
    assert response.status_code == 400
    assert "Enterprise" in str(response.json()["error"])
    assert not litellm.state.keys


@pytest.mark.django_db
def test_per_model_budget_enabled_but_litellm_refuses_leaves_nothing(litellm, subscribed, user_client, settings):
    settings.APIKEY_PER_MODEL_BUDGET_ENABLED = True
    response = _create(user_client, model_limits={"gpt-test": {"max_budget": "1"}})
    assert response.status_code == 400 and "Enterprise" in response.json()["error"]["message"]
    assert ApiKey.objects.get().status == KeyStatus.FAILED
    assert not litellm.state.keys


@pytest.mark.django_db
def test_per_model_rate_limits_reach_litellm(litellm, subscribed, user_client):
    response = _create(user_client, model_limits={"gpt-test": {"tpm_limit": 100, "rpm_limit": 5}})
    assert response.status_code == 201, response.json()
    key = ApiKey.objects.get()
    metadata = litellm.state.keys[key.token_hash]["metadata"]
    assert metadata["model_tpm_limit"] == {"gpt-test": 100} and metadata["model_rpm_limit"] == {"gpt-test": 5}


@pytest.mark.django_db
def test_litellm_down_at_create_is_503_and_leaves_no_key(litellm, subscribed, user_client):
    litellm.set_fault("error", status=503)
    response = _create(user_client)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "not created" in response.json()["error"]["message"]
    litellm.clear_fault()
    key = ApiKey.objects.get()
    assert key.status in (KeyStatus.FAILED, KeyStatus.PROVISIONING)
    assert not litellm.state.keys
    assert user_client.get(URL).json()["count"] in (0, 1)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        services.apikeys_cleanup_provisioning()
    key.refresh_from_db()
    assert key.status == KeyStatus.FAILED
    assert not litellm.state.keys


@pytest.mark.django_db
def test_litellm_hangs_after_storing_the_key_no_orphan(litellm, subscribed, user_client):
    # LiteLLM stores the key and never answers /key/generate (our read timeout fires); later calls work.
    litellm.set_fault("hang", delay=5, count=1, paths=["/key/generate"])
    response = _create(user_client)
    assert response.status_code == 503
    key = ApiKey.objects.get()
    assert key.token_hash not in litellm.state.keys  # deleted by hash right away
    assert key.status == KeyStatus.FAILED


@pytest.mark.django_db
def test_litellm_down_for_create_and_cleanup_then_recovers(litellm, subscribed, user_client):
    # Stored, then the proxy disappears: neither the answer nor the immediate delete get through.
    litellm.set_fault("hang", delay=5, count=1, paths=["/key/generate"])
    original = create_service._best_effort_remote_delete
    create_service._best_effort_remote_delete = lambda key: False
    try:
        assert _create(user_client).status_code == 503
    finally:
        create_service._best_effort_remote_delete = original
    key = ApiKey.objects.get()
    assert key.status == KeyStatus.PROVISIONING and key.token_hash in litellm.state.keys
    litellm.set_fault("down")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert services.apikeys_cleanup_provisioning() == 0  # still down: retried next minute
        litellm.clear_fault()
        assert services.apikeys_cleanup_provisioning() == 1
    key.refresh_from_db()
    assert key.status == KeyStatus.FAILED and key.token_hash not in litellm.state.keys


@pytest.mark.django_db
def test_crash_between_generate_and_activation_is_cleaned_up(litellm, subscribed, monkeypatch):
    real = create_service._remote_generate

    def generate_then_crash(**kwargs):
        real(**kwargs)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(create_service, "_remote_generate", generate_then_crash)
    with pytest.raises(RuntimeError):
        services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="x")
    key = ApiKey.objects.get()
    assert key.status == KeyStatus.PROVISIONING and key.token_hash in litellm.state.keys
    assert services.apikeys_cleanup_provisioning() == 0  # inside the grace: a slow create may still finish
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        assert services.apikeys_cleanup_provisioning() == 1
    key.refresh_from_db()
    assert key.status == KeyStatus.FAILED and not litellm.state.keys


@pytest.mark.django_db
def test_admin_creates_for_user_beyond_ceilings(litellm, admin_client, user, chat_model):
    subscribe(user, chat_model)
    ApiKeySettings.objects.update_or_create(pk=1, defaults={"max_max_budget": Decimal("1")})
    response = admin_client.post(f"/api/v1/admin/users/{user.pk}/api-keys",
                                 {"name": "for you", "model_ids": ["gpt-test"], "max_budget": "50"}, format="json")
    assert response.status_code == 201, response.json()
    key = ApiKey.objects.get()
    assert key.user == user and key.created_by.role == "admin"
    assert AuditEvent.objects.filter(action="apikey.create", metadata__on_behalf=True).exists()


@pytest.mark.django_db
def test_secret_format_is_accepted_by_litellm_rules():
    from apikeys.keygen import build_alias, mint_secret

    minted = mint_secret()
    assert minted.secret.startswith("sk-") and len(minted.secret) >= 16
    assert minted.secret not in repr(minted)
    assert build_alias("  Héllo wörld!! / prod  ", "abcd1234") == "H-llo-w-rld-prod_abcd1234"
    assert build_alias("", "abcd1234") == "api-key_abcd1234"
    assert make_model  # imported helper used elsewhere
