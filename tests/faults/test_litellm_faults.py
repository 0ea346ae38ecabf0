"""LiteLLM down, hung, slow, rate-limited, answering HTML or malformed JSON, during every operation that
talks to it: key creation (API and page), revocation, subscription changes that cascade into keys, model
sync and usage ingestion.

Each case asserts (1) a clear error (503 + Retry-After JSON, 202 "queued" for durable operations, or a
readable page message), (2) a bounded request time, measured (< ``REQUEST_BOUND_SECONDS``), and (3) nothing
lost or duplicated: portal and LiteLLM state compared before and after, then repaired by the sweep /
reconciler once LiteLLM recovers.

Scenarios (reliability.md §5): 1 (down during create), 2 (accepts then hangs), 7 (revoke while down),
12 (retry policy: 429/5xx retried within the budget, 4xx never), 14 (HTML / malformed answers).
The faults marked ``slow`` repeat the same assertions for the less common fault types.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apikeys import services as key_services
from apikeys.models import ApiKey, KeyStatus
from integrations.models import Outbox
from tests.faults.conftest import (
    LITELLM_FAULTS,
    drain_outbox,
    heal,
    key_snapshot,
    make_model,
    stopwatch,
)

KEYS_URL = "/api/v1/api-keys"
# A representative fault of each family runs in the fast suite; the rest run with ``-m slow``.
FAST = {"down-refused", "hung-blackhole", "html-502", "malformed-json"}
FAULT_PARAMS = [pytest.param(name, marks=() if name in FAST else pytest.mark.slow) for name in LITELLM_FAULTS]


def settle(fault: str) -> None:
    """Let requests the double is still sleeping on (``slow``) finish before comparing its state."""
    if fault.startswith("slow"):
        time.sleep(3.2)


def assert_503(response) -> None:
    assert response.status_code == 503, response.content[:500]
    assert int(response["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"].startswith("litellm_") and error["message"] and error["request_id"]
    assert "Traceback" not in response.content.decode()


def _create(client, **extra):
    return client.post(KEYS_URL, {"name": "laptop", "model_ids": ["gpt-test", "embed-test"], **extra}, format="json")


# ---------------------------------------------------------------------------------------------------------
# Key creation (scenarios 1, 2, 14)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_key_create_under_fault_is_503_and_leaves_no_key_anywhere(fault, litellm, subscribed, user_client):
    """Scenarios 1, 2, 14: a create that LiteLLM cannot confirm fails clearly, within the bound, and never
    leaves a usable key in either system; after recovery the cleanup sweep removes anything LiteLLM kept, and
    the same request then creates exactly one key."""
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"key create (API) / {fault}"):
        response = _create(user_client)
    assert_503(response)
    key = ApiKey.objects.get()
    assert key.status in (KeyStatus.FAILED, KeyStatus.PROVISIONING)  # never active, never shown
    heal(litellm)
    settle(fault)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        key_services.apikeys_cleanup_provisioning()
    key.refresh_from_db()
    assert key.status == KeyStatus.FAILED
    assert not litellm.state.keys, "an orphan key was left in LiteLLM"

    response = _create(user_client)
    assert response.status_code == 201, response.json()
    assert ApiKey.objects.filter(status=KeyStatus.ACTIVE).count() == 1
    assert list(litellm.state.keys) == [ApiKey.objects.get(status=KeyStatus.ACTIVE).token_hash]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["down-refused", "hung-blackhole", "html-502"])
def test_key_create_page_under_fault_shows_a_readable_message(fault, litellm, subscribed, client, user):
    """Scenarios 1, 14 on the page: the form comes back with a message, no secret, no stack trace."""
    client.force_login(user)
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"key create (page) / {fault}"):
        response = client.post("/api-keys/new", {"name": "laptop", "model_ids": ["gpt-test"], "expiry": "never"})
    body = response.content.decode()
    assert response.status_code in (422, 503), response.status_code
    assert "unavailable" in body.lower() or "not created" in body.lower()
    assert "sk-ltm-" not in body and "Traceback" not in body
    assert not ApiKey.objects.filter(status=KeyStatus.ACTIVE).exists()


# ---------------------------------------------------------------------------------------------------------
# Revocation (scenario 7)
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_revoke_under_fault_is_queued_and_takes_effect_once_after_recovery(fault, litellm, subscribed, user_client):
    """Scenario 7: revoking while LiteLLM fails answers 202 "revoking" within the bound; the portal stops
    honouring the key at once; the outbox entry survives and the sweep deletes the key in LiteLLM after
    recovery (one entry, done; nothing left in LiteLLM)."""
    created = key_services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="k")
    key = created.key
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"key revoke / {fault}"):
        response = user_client.post(f"{KEYS_URL}/{key.pk}/revoke", {"reason": "lost"}, format="json")
    assert response.status_code in (200, 202), response.content[:300]
    key.refresh_from_db()
    if fault != "commit-then-hang" or response.status_code == 202:
        assert key.status in (KeyStatus.REVOKING, KeyStatus.REVOKED)
    heal(litellm)
    settle(fault)
    drain_outbox()
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED
    assert key.token_hash not in litellm.state.keys
    entries = Outbox.objects.filter(object_type="apikey", object_id=str(key.pk), operation="key.revoke")
    assert [e.status for e in entries] == [Outbox.Status.DONE]


# ---------------------------------------------------------------------------------------------------------
# Subscription changes that cascade into keys
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["down-refused", "hung-blackhole", "malformed-json"])
def test_cancel_and_deny_cascade_while_litellm_fails_reach_litellm_after_recovery(
        fault, litellm, subscribed, user_client, admin_client):
    """Scenarios 7, 14 for cascades: cancelling one subscription and an admin denying the other answer at
    once (the portal is the source of truth); the key loses the models locally, is blocked when none is left,
    and LiteLLM converges after recovery — never ``models: []`` (which LiteLLM reads as "all models")."""
    from subscriptions.models import Subscription

    key = key_services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test", "embed-test"],
                                     name="k").key
    before = key_snapshot(litellm)
    gpt = Subscription.objects.get(user=subscribed, model_id="gpt-test")
    embed = Subscription.objects.get(user=subscribed, model_id="embed-test")
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"subscription cancel (cascade) / {fault}"):
        response = user_client.post(f"/api/v1/subscriptions/{gpt.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "inactive"
    with stopwatch(f"subscription deny (cascade) / {fault}"):
        response = admin_client.post("/api/v1/admin/subscriptions/deny",
                                     {"subscription_ids": [str(embed.pk)], "reason": "policy"}, format="json")
    assert response.status_code == 200, response.json()
    key.refresh_from_db()
    assert key.status == KeyStatus.BLOCKED and not key.model_links.exists()
    assert key_snapshot(litellm)["litellm"] == before["litellm"]  # LiteLLM not reached yet
    heal(litellm)
    drain_outbox()
    remote = litellm.state.keys[key.token_hash]
    assert remote.get("blocked") is True
    assert remote.get("models"), "models: [] would grant every model"
    assert not Outbox.objects.exclude(status__in=[Outbox.Status.DONE, Outbox.Status.SUPERSEDED]).exists()


@pytest.mark.django_db
def test_approve_needs_no_litellm_and_works_while_it_is_down(litellm, user, admin_client):
    """Approving changes only the portal (keys get the model when the user edits them): LiteLLM being down
    must not block it."""
    from subscriptions.models import Subscription

    sub = Subscription.objects.create(user=user, model=make_model("secret-model", restricted=True), status="pending")
    LITELLM_FAULTS["down-refused"](litellm)
    with stopwatch("subscription approve / down-refused"):
        response = admin_client.post("/api/v1/admin/subscriptions/approve",
                                     {"subscription_ids": [str(sub.pk)]}, format="json")
    assert response.status_code == 200, response.json()
    sub.refresh_from_db()
    assert sub.status == "active"


# ---------------------------------------------------------------------------------------------------------
# Model sync
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_model_sync_under_fault_is_503_changes_nothing_and_recovers(fault, litellm, admin_client):
    """Scenario 14 for the catalogue: a failed sync is a 503 with Retry-After and a failed SyncRun, the
    catalogue is untouched (no model marked unavailable because LiteLLM "listed nothing"); after recovery the
    sync mirrors LiteLLM exactly once, and re-running it changes nothing."""
    from integrations.models import SyncRun
    from subscriptions.models import LlmModel

    litellm.state.seed_models()
    make_model("demo-chat")
    before = list(LlmModel.objects.order_by("pk").values_list("pk", "availability"))
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"model sync / {fault}"):
        response = admin_client.post("/api/v1/admin/models/sync", {}, format="json")
    assert_503(response)
    assert list(LlmModel.objects.order_by("pk").values_list("pk", "availability")) == before
    assert SyncRun.objects.filter(kind=SyncRun.Kind.MODELS).latest("started_at").status == SyncRun.Status.FAILED
    heal(litellm)
    settle(fault)
    assert admin_client.post("/api/v1/admin/models/sync", {}, format="json").status_code == 200
    assert admin_client.post("/api/v1/admin/models/sync", {}, format="json").status_code == 200
    assert sorted(LlmModel.objects.values_list("pk", flat=True)) == ["demo-chat", "demo-embed"]


# ---------------------------------------------------------------------------------------------------------
# Usage ingestion
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_usage_refresh_under_fault_is_503_writes_nothing_and_recovers_without_duplicates(
        fault, litellm, subscribed, admin_client):
    """Usage ingestion while LiteLLM fails: 503 + Retry-After, no partial rows; after recovery the pull is
    idempotent (running it twice stores each fact once)."""
    from usage.models import DailyUsage

    key = key_services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="k").key
    litellm.state.record_usage(token=key.token_hash, model_group="gpt-test", provider_model="gpt-test",
                               prompt_tokens=10, completion_tokens=5, spend=0.25, success=True,
                               day=timezone.now().date())
    LITELLM_FAULTS[fault](litellm)
    with stopwatch(f"usage refresh / {fault}"):
        response = admin_client.post("/api/v1/admin/usage/refresh")
    assert_503(response)
    assert not DailyUsage.objects.exists()
    heal(litellm)
    settle(fault)
    for _ in range(2):
        response = admin_client.post("/api/v1/admin/usage/refresh")
        assert response.status_code == 200, response.json()
    assert DailyUsage.objects.count() == 1
    assert DailyUsage.objects.get().key_id == key.pk
