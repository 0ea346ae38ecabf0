"""The transactional outbox (reliability.md §2.6, scenarios 7–9): durable, ordered, at-least-once."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from apikeys import services as key_services
from apikeys.models import ApiKey, KeyStatus
from integrations import outbox
from integrations.models import Outbox
from litemaas.models import AuditEvent
from tests.apikeys.conftest import make_model, subscribe

KEYS_URL = "/api/v1/api-keys"


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):
    """The double with quick failure (one attempt, short timeouts, breaker out of the way)."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_READ_TIMEOUT_SECONDS = 2
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


@pytest.fixture
def subscribed(user):
    for model_id, kind in (("gpt-test", "chat"), ("embed-test", "embeddings")):
        subscribe(user, make_model(model_id, kind))
    return user


@pytest.fixture
def key(litellm, subscribed):
    return key_services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test", "embed-test"],
                                      name="ci", max_budget=Decimal("5")).key


def _later(seconds: int = 3600):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


@pytest.mark.django_db
def test_revoke_writes_an_outbox_entry_in_the_same_transaction_and_delivers_it(key, litellm, user_client):
    response = user_client.post(f"{KEYS_URL}/{key.pk}/revoke", {"reason": "done"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    entry = Outbox.objects.get(object_type="apikey", object_id=str(key.pk))
    assert entry.operation == "key.revoke" and entry.status == Outbox.Status.DONE and entry.attempts == 1
    assert entry.payload == {"token_hash": key.token_hash, "delete": False}  # hash only, never the secret
    assert key.token_hash not in litellm.state.keys


@pytest.mark.django_db
def test_revoke_while_litellm_is_down_takes_effect_within_one_sweep_after_recovery(key, litellm, user_client):
    """Scenario 7."""
    litellm.set_fault("down")
    response = user_client.post(f"{KEYS_URL}/{key.pk}/revoke", format="json")
    assert response.status_code == 202 and response.json()["status"] == "revoking"
    entry = Outbox.objects.get(object_id=str(key.pk))
    assert entry.status == Outbox.Status.FAILED and entry.attempts == 1 and entry.last_error
    assert outbox.outbox_open_object_ids(object_type="apikey") == {str(key.pk)}  # "pending sync"
    litellm.clear_fault()
    with _later(60):  # past the first backoff (≤ base seconds)
        assert outbox.outbox_sweep()["done"] == 1
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED and key.token_hash not in litellm.state.keys
    assert Outbox.objects.get(pk=entry.pk).status == Outbox.Status.DONE


@pytest.mark.django_db
def test_broker_down_while_revoking_the_sweep_delivers(key, litellm, user_client,
                                                       django_capture_on_commit_callbacks):
    """Scenario 8: the on_commit enqueue fails (Redis down), the request still succeeds, the sweep delivers."""
    from integrations import tasks

    litellm.set_fault("down")
    with mock.patch.object(tasks.deliver_outbox, "delay", side_effect=ConnectionError("redis down")), \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = user_client.post(f"{KEYS_URL}/{key.pk}/revoke", format="json")
    assert response.status_code == 202 and callbacks  # the enqueue ran and failed quietly
    litellm.clear_fault()
    with _later(60):
        outbox.outbox_sweep()
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.REVOKED
    assert key.token_hash not in litellm.state.keys


@pytest.mark.django_db
def test_worker_killed_mid_delivery_is_redelivered_after_the_lease_and_takes_effect_once(key, litellm):
    """Scenario 9: claimed (in flight), LiteLLM already applied it, then the worker died before marking done."""
    with mock.patch.object(outbox, "_enqueue_delivery"):
        ApiKey.objects.filter(pk=key.pk).update(status=KeyStatus.REVOKING)
        entry = outbox.outbox_enqueue(object_type="apikey", object_id=key.pk, operation="key.revoke",
                                      payload={"token_hash": key.token_hash})
    now = timezone.now()
    Outbox.objects.filter(pk=entry.pk).update(**outbox._claim_fields(now))  # the dead worker's claim
    litellm.state.keys.pop(key.token_hash)  # …and its effect in LiteLLM
    assert outbox.outbox_sweep()["claimed"] == 0  # lease still running: nobody else touches it
    with _later(600):
        assert outbox.outbox_sweep()["done"] == 1
    entry.refresh_from_db()
    assert entry.status == Outbox.Status.DONE and entry.attempts == 2
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.REVOKED
    assert len(litellm.calls_to("/key/delete")) == 1  # the redelivery's delete of an absent key = done


@pytest.mark.django_db
def test_an_older_update_never_overtakes_a_revoke_and_is_superseded(key, litellm):
    with mock.patch.object(outbox, "_enqueue_delivery"):
        update = outbox.outbox_enqueue(object_type="apikey", object_id=key.pk, operation="key.push")
        in_flight = outbox.outbox_enqueue(object_type="apikey", object_id=key.pk, operation="key.unblock")
        Outbox.objects.filter(pk=in_flight.pk).update(status=Outbox.Status.PENDING)
    # The first update is in flight elsewhere; the second waits behind it.
    Outbox.objects.filter(pk=update.pk).update(**outbox._claim_fields(timezone.now()))
    assert outbox.outbox_deliver(entry_id=in_flight.pk) == "skipped"  # not first in line
    key_services.apikey_revoke(key=key, actor=None)  # supersedes the waiting unblock, waits behind the push
    statuses = dict(Outbox.objects.filter(object_id=str(key.pk)).values_list("operation", "status"))
    assert statuses == {"key.push": "in_flight", "key.unblock": "superseded", "key.revoke": "pending"}
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.REVOKING
    # The in-flight push finishes (or its lease ends): then the revoke goes, and nothing runs after it.
    with _later(600):
        counts = outbox.outbox_sweep()
        counts2 = outbox.outbox_sweep()
    assert counts["done"] + counts2["done"] == 2
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.REVOKED
    ops = [c["path"] for c in litellm.calls if c["path"].startswith("/key/") and c["method"] == "POST"]
    assert ops.index("/key/delete") == len(ops) - 1 and "/key/unblock" not in ops


@pytest.mark.django_db
def test_rejection_goes_dead_at_once_alerts_admins_and_can_be_retried(key, litellm, admin_user, admin_client,
                                                                      readonly_admin_client):
    from accounts.models import Notification

    with mock.patch.object(outbox, "_enqueue_delivery"):
        entry = outbox.outbox_enqueue(object_type="apikey", object_id=key.pk, operation="key.block",
                                      payload={"token_hash": key.token_hash})
    litellm.set_fault("error", status=400, count=1)
    assert outbox.outbox_deliver(entry_id=entry.pk) == "dead"
    entry.refresh_from_db()
    assert entry.status == Outbox.Status.DEAD
    assert Notification.objects.filter(user=admin_user, kind="sync.outbox_dead").exists()
    assert AuditEvent.objects.filter(action="outbox.dead", target_id=str(key.pk)).exists()
    listed = admin_client.get("/api/v1/admin/outbox", {"status": "dead"}).json()
    assert [row["id"] for row in listed["results"]] == [entry.pk]
    assert readonly_admin_client.post(f"/api/v1/admin/outbox/{entry.pk}/retry").status_code == 403
    response = admin_client.post(f"/api/v1/admin/outbox/{entry.pk}/retry")
    assert response.status_code == 200, response.json()
    outbox.outbox_sweep()
    assert Outbox.objects.get(pk=entry.pk).status == Outbox.Status.DONE
    assert litellm.state.keys[key.token_hash]["blocked"] is True
    assert admin_client.post("/api/v1/admin/outbox/999999/retry").status_code == 404


@pytest.mark.django_db
def test_repeated_unavailability_backs_off_and_dies_after_max_attempts(key, litellm, settings, admin_user):
    settings.SYNC_OUTBOX_MAX_ATTEMPTS = 3
    with mock.patch.object(outbox, "_enqueue_delivery"):
        entry = outbox.outbox_enqueue(object_type="apikey", object_id=key.pk, operation="key.block",
                                      payload={"token_hash": key.token_hash})
    litellm.set_fault("down")
    assert outbox.outbox_deliver(entry_id=entry.pk) == "failed"
    entry.refresh_from_db()
    first_delay = (entry.next_attempt_at - entry.updated_at).total_seconds()
    assert 0 < first_delay <= settings.SYNC_OUTBOX_BACKOFF_BASE_SECONDS
    assert outbox.outbox_deliver(entry_id=entry.pk) == "skipped"  # backing off
    with _later(3600):
        assert outbox.outbox_sweep()["failed"] == 1
    with _later(7200):
        assert outbox.outbox_sweep()["dead"] == 1
    assert Outbox.objects.get(pk=entry.pk).attempts == 3


@pytest.mark.django_db
def test_model_removal_is_an_outbox_entry_delivered_after_commit(key, litellm, subscribed,
                                                                 django_capture_on_commit_callbacks):
    litellm.set_fault("down")
    with django_capture_on_commit_callbacks(execute=True):
        key_services.apikey_remove_model_for_user(user=subscribed, model_id="embed-test", reason="denied")
    entry = Outbox.objects.get(object_id=str(key.pk), operation="key.sync")
    assert entry.status == Outbox.Status.FAILED and ApiKey.objects.get(pk=key.pk).remote_sync_pending
    litellm.clear_fault()
    with _later(60):
        outbox.outbox_sweep()
    assert litellm.state.keys[key.token_hash]["models"] == ["gpt-test"]
    assert not ApiKey.objects.get(pk=key.pk).remote_sync_pending


@pytest.mark.django_db
def test_user_change_recorded_with_a_user_sync_entry_reaches_litellm_after_an_outage(
        litellm, user, django_capture_on_commit_callbacks):
    from django.db import transaction

    litellm.set_fault("down")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        user.max_budget, user.tpm_limit, user.litellm_sync_state = Decimal("42"), 1000, "pending"
        user.save(update_fields=["max_budget", "tpm_limit", "litellm_sync_state"])
        outbox.outbox_enqueue(object_type="user", object_id=user.pk, operation="user.sync")
    assert outbox.outbox_open_object_ids(object_type="user") == {str(user.pk)}
    litellm.clear_fault()
    with _later(60):
        assert outbox.outbox_sweep()["done"] == 1
    remote = litellm.state.users[str(user.pk)]
    assert remote["max_budget"] == 42.0 and remote["tpm_limit"] == 1000
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"


@pytest.mark.django_db
def test_enqueue_refuses_unknown_operations(db):
    with pytest.raises(ValueError):
        outbox.outbox_enqueue(object_type="apikey", object_id="x", operation="key.explode")
