"""The reconciler (reliability.md §2.8, scenarios 15–19): drift classes × strategies, safety rails, API, page."""
from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import Notification
from apikeys import services as key_services
from apikeys.models import ApiKey, KeyStatus
from integrations import outbox
from integrations.double.state import iso
from integrations.models import DriftItem, Outbox, SyncRun
from integrations.reconcile import reconcile_run
from integrations.reconcile.runner import LOCK_KEY
from litemaas.models import AuditEvent
from tests.apikeys.conftest import make_model, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):
    from integrations.litellm.client import get_litellm_client

    _mirror_teams()  # with the normal timeouts (setup must not be flaky on a busy machine)
    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_READ_TIMEOUT_SECONDS = 2
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000
    settings.SYNC_RECONCILE_GRACE_SECONDS = 0
    settings.SYNC_ORPHAN_GRACE_SECONDS = 3600
    settings.SYNC_MAX_DESTRUCTIVE_SHARE = 0.5
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


def _mirror_teams() -> None:
    """LiteLLM starts with the portal's teams (the Default Team comes from a data migration)."""
    from integrations.reconcile.actions import push_team_state
    from teams.models import Team

    for team_id in Team.objects.values_list("pk", flat=True):
        push_team_state(team_id=team_id)


@pytest.fixture
def subscribed(user):
    for model_id, kind in (("gpt-test", "chat"), ("embed-test", "embeddings")):
        subscribe(user, make_model(model_id, kind))
    return user


def _key(user, name="ci", **limits):
    return key_services.apikey_create(user=user, actor=user, model_ids=["gpt-test", "embed-test"], name=name,
                                      **limits).key


@pytest.fixture
def keys(litellm, subscribed):
    """Four healthy keys (so one destructive action stays under the 50 % cap)."""
    return [_key(subscribed, name=f"k{i}", max_budget=Decimal("5"), tpm_limit=100) for i in range(4)]


def _drift(run: SyncRun) -> dict[str, int]:
    return run.counts.get("drift", {})


def _items(cls: str) -> list[DriftItem]:
    return list(DriftItem.objects.filter(drift_class=cls).order_by("id"))


def test_clean_state_reports_no_drift_and_counts_foreign_keys(keys, litellm):
    litellm.state.keys["f" * 64] = {**copy.deepcopy(litellm.state.keys[keys[0].token_hash]), "token": "f" * 64,
                                    "metadata": {}, "key_alias": "admin-made"}
    run = reconcile_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert _drift(run) == {}
    assert run.counts["keys"]["foreign"] == 1 and run.counts["keys"]["portal"] == 4
    assert run.counts["duration_seconds"] >= 0


def test_revoked_in_portal_but_usable_in_litellm_is_blocked_and_deleted_with_a_security_alert(
        keys, litellm, admin_user):
    """Scenario 16."""
    key = keys[0]
    saved = copy.deepcopy(litellm.state.keys[key.token_hash])
    key_services.apikey_revoke(key=key, actor=None)
    litellm.state.keys[key.token_hash] = saved  # e.g. restored from a LiteLLM backup
    run = reconcile_run()
    assert _drift(run) == {"revoked_usable": 1}
    assert key.token_hash not in litellm.state.keys
    assert [c["path"] for c in litellm.calls[-2:]] == ["/key/block", "/key/delete"]
    assert _items("revoked_usable")[0].status == DriftItem.Status.REPAIRED
    assert Notification.objects.filter(user=admin_user, kind="sync.alert", level="danger").exists()
    assert AuditEvent.objects.filter(action="sync.delete_key", target_id=str(key.pk)).exists()


def test_expired_key_that_litellm_still_accepts_is_deleted(keys, litellm):
    key = keys[0]
    ApiKey.objects.filter(pk=key.pk).update(status=KeyStatus.EXPIRED)
    assert _drift(reconcile_run()) == {"revoked_usable": 1}
    assert key.token_hash not in litellm.state.keys


def test_stale_provisioning_row_is_deleted_remotely_and_marked_failed(keys, litellm, settings):
    key = keys[0]
    old = timezone.now() - timedelta(seconds=settings.APIKEY_PROVISIONING_GRACE_SECONDS + 60)
    ApiKey.objects.filter(pk=key.pk).update(status=KeyStatus.PROVISIONING, created_at=old)
    run = reconcile_run()
    assert _drift(run) == {"provisioning_stale": 1}
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.FAILED
    assert key.token_hash not in litellm.state.keys


def test_key_deleted_directly_in_litellm_is_marked_broken_and_the_owner_notified(keys, litellm, subscribed):
    """Scenario 15."""
    from litemaas.metrics import probe_sync_runs

    key = keys[0]
    del litellm.state.keys[key.token_hash]
    run = reconcile_run()
    assert _drift(run) == {"active_missing": 1}
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.BROKEN
    assert Notification.objects.filter(user=subscribed, kind="apikey.broken").exists()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in probe_sync_runs(timezone.now())}
    assert samples[("litemaas_sync_drift", (("class", "active_missing"), ("kind", "reconcile")))] == 1
    assert ("litemaas_sync_last_success_timestamp_seconds", (("kind", "reconcile"),)) in samples


def test_unknown_portal_key_is_reported_in_dry_run_then_blocked_after_the_grace(keys, litellm):
    """Scenario 17 (dry run first, then live)."""
    orphan = {**copy.deepcopy(litellm.state.keys[keys[0].token_hash]), "token": "a" * 64,
              "metadata": {"portal_key_id": "00000000-0000-0000-0000-00000000dead"},
              "created_at": iso(timezone.now() - timedelta(hours=2))}
    fresh = {**orphan, "token": "b" * 64, "created_at": iso(timezone.now())}
    litellm.state.keys.update({"a" * 64: orphan, "b" * 64: fresh})
    dry = reconcile_run(dry_run=True)
    assert dry.dry_run and _drift(dry) == {"unknown_portal_key": 1} and dry.counts["keys"]["in_grace"] == 1
    assert litellm.state.keys["a" * 64]["blocked"] in (None, False)
    live = reconcile_run()
    assert _drift(live) == {"unknown_portal_key": 1}
    assert litellm.state.keys["a" * 64]["blocked"] is True
    assert litellm.state.keys["b" * 64]["blocked"] in (None, False)  # still within the grace


@pytest.mark.parametrize("strategy", ["portal_wins", "litellm_wins", "report_only"])
def test_key_limits_edited_in_litellm_follow_the_key_strategy(keys, litellm, settings, strategy,
                                                             django_capture_on_commit_callbacks):
    """Scenario 18, per strategy."""
    settings.SYNC_STRATEGY_KEYS = strategy
    key = keys[0]
    litellm.state.keys[key.token_hash].update(max_budget=50.0, tpm_limit=999)
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile_run()
    assert _drift(run) == {"key_differs": 1}
    item = _items("key_differs")[0]
    assert item.details["fields"]["max_budget"] == {"portal": 5.0, "litellm": 50.0}
    key.refresh_from_db()
    remote = litellm.state.keys[key.token_hash]
    if strategy == "portal_wins":
        assert remote["max_budget"] == 5.0 and remote["tpm_limit"] == 100
        assert Outbox.objects.get(object_id=str(key.pk), operation="key.push").status == Outbox.Status.DONE
    elif strategy == "litellm_wins":
        assert key.max_budget == Decimal("50") and key.tpm_limit == 999
        assert AuditEvent.objects.filter(action="apikey.update", target_id=str(key.pk)).exists()
    else:
        assert remote["max_budget"] == 50.0 and key.max_budget == Decimal("5")
        assert item.status == DriftItem.Status.OPEN and not Outbox.objects.filter(operation="key.push").exists()
    assert AuditEvent.objects.filter(action="sync.reconcile").exists()
    # Converged (or, report_only, reported again): a second run never acts twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = reconcile_run()
    assert _drift(again) == ({"key_differs": 1} if strategy == "report_only" else {})
    assert again.counts["actions"] == {}


def test_blocked_in_portal_unblocked_in_litellm_is_never_adopted(keys, litellm, settings,
                                                                django_capture_on_commit_callbacks):
    settings.SYNC_STRATEGY_KEYS = "litellm_wins"
    key = key_services.apikey_block(key=keys[0], actor=None, reason="leak")
    litellm.state.keys[key.token_hash]["blocked"] = False
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_run()
    assert litellm.state.keys[key.token_hash]["blocked"] is True
    assert ApiKey.objects.get(pk=key.pk).status == KeyStatus.BLOCKED


@pytest.fixture
def synced_user(litellm, user):
    from integrations.services import ensure_litellm_user

    user.max_budget, user.tpm_limit = Decimal("10"), 500
    user.save(update_fields=["max_budget", "tpm_limit"])
    ensure_litellm_user(user)
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"
    return user


@pytest.mark.parametrize("strategy", ["portal_wins", "litellm_wins", "report_only"])
def test_user_budget_edited_in_litellm_follows_the_user_strategy(synced_user, litellm, settings, strategy,
                                                                django_capture_on_commit_callbacks):
    settings.SYNC_STRATEGY_USERS = strategy
    litellm.state.users[str(synced_user.pk)]["max_budget"] = 99.0
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile_run()
    assert _drift(run).get("user_differs") == 1
    synced_user.refresh_from_db()
    remote = litellm.state.users[str(synced_user.pk)]["max_budget"]
    expected = {"portal_wins": (10.0, Decimal("10")), "litellm_wins": (99.0, Decimal("99")),
                "report_only": (99.0, Decimal("10"))}[strategy]
    assert (remote, synced_user.max_budget) == expected


def test_user_missing_in_litellm_is_recreated(synced_user, litellm, django_capture_on_commit_callbacks):
    del litellm.state.users[str(synced_user.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile_run()
    assert _drift(run).get("user_missing") == 1
    assert litellm.state.users[str(synced_user.pk)]["max_budget"] == 10.0


@pytest.mark.parametrize("strategy", ["portal_wins", "report_only"])
def test_team_missing_or_different_follows_the_team_strategy(litellm, settings, strategy,
                                                             django_capture_on_commit_callbacks):
    from teams.models import Team

    settings.SYNC_STRATEGY_TEAMS = strategy
    team = Team.objects.create(name="Data science", max_budget=Decimal("100"), tpm_limit=1000)
    litellm.state.team_new({"team_id": str(team.pk), "team_alias": "Data science", "max_budget": 7.0,
                            "tpm_limit": 1000})
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile_run()
    assert _drift(run).get("team_differs") == 1
    remote = litellm.state.teams[str(team.pk)]["max_budget"]
    assert remote == (100.0 if strategy == "portal_wins" else 7.0)


def test_team_edited_in_litellm_is_adopted_under_litellm_wins(litellm, settings,
                                                              django_capture_on_commit_callbacks):
    from teams.models import Team

    settings.SYNC_STRATEGY_TEAMS = "litellm_wins"
    make_model("gpt-test")
    team = Team.objects.create(name="Data science", max_budget=Decimal("100"), tpm_limit=1000)
    litellm.state.team_new({"team_id": str(team.pk), "team_alias": "Data science (LiteLLM)", "max_budget": 7.0,
                            "tpm_limit": 50, "budget_duration": "7d", "models": ["gpt-test"]})
    calls = len(litellm.calls)
    with django_capture_on_commit_callbacks(execute=True):
        run = reconcile_run()
    assert _drift(run).get("team_differs") == 1 and run.counts["actions"] == {"adopt_team": 1}
    assert _items("team_differs")[0].status == DriftItem.Status.REPAIRED
    team.refresh_from_db()
    assert (team.name, team.max_budget, team.tpm_limit, team.budget_duration, team.allowed_models) == (
        "Data science (LiteLLM)", Decimal("7"), 50, "7d", ["gpt-test"])
    # Adopted, not pushed: LiteLLM keeps its values and only read calls went out.
    assert litellm.state.teams[str(team.pk)]["max_budget"] == 7.0
    assert all(c["method"] == "GET" for c in litellm.calls[calls:])
    assert not Outbox.objects.filter(object_type="team", object_id=str(team.pk)).exists()
    event = AuditEvent.objects.get(action="team.limits_adopted", target_id=str(team.pk))
    assert event.metadata["changes"]["max_budget"] == "7.0000" and event.metadata["skipped"] == {}
    assert AuditEvent.objects.filter(action="sync.adopt_team", target_id=str(team.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        again = reconcile_run()
    assert _drift(again) == {} and again.counts["actions"] == {}


def test_team_adoption_keeps_what_the_portal_cannot_take_and_reports_it(litellm, settings):
    from teams.models import Team

    settings.SYNC_STRATEGY_TEAMS = "litellm_wins"
    Team.objects.create(name="Taken")
    team = Team.objects.create(name="Ops", max_budget=Decimal("100"), soft_budget=Decimal("80"), rpm_limit=10)
    litellm.state.team_new({"team_id": str(team.pk), "team_alias": "Taken", "max_budget": 50.0, "rpm_limit": 99,
                            "models": ["not-in-the-catalogue"]})
    run = reconcile_run()
    assert _drift(run).get("team_differs") == 1
    item = _items("team_differs")[0]
    assert item.status == DriftItem.Status.FAILED
    assert "team_alias" in item.error and "models" in item.error and "max_budget" in item.error
    team.refresh_from_db()
    assert (team.name, team.max_budget, team.rpm_limit, team.allowed_models) == ("Ops", Decimal("100"), 99, [])


def test_dry_run_changes_nothing(keys, litellm, settings, subscribed):
    settings.SYNC_DRY_RUN = True
    saved = copy.deepcopy(litellm.state.keys[keys[0].token_hash])
    key_services.apikey_revoke(key=keys[0], actor=None)
    litellm.state.keys[keys[0].token_hash] = saved
    del litellm.state.keys[keys[1].token_hash]
    litellm.state.keys[keys[2].token_hash]["max_budget"] = 77.0
    before_state = copy.deepcopy(litellm.state.keys)
    before_rows = list(ApiKey.objects.order_by("pk").values_list("pk", "status", "max_budget"))
    before_outbox = Outbox.objects.count()
    calls = len(litellm.calls)
    run = reconcile_run(dry_run=False)  # the setting wins over the flag
    assert run.dry_run and _drift(run) == {"revoked_usable": 1, "active_missing": 1, "key_differs": 1}
    assert litellm.state.keys == before_state
    assert list(ApiKey.objects.order_by("pk").values_list("pk", "status", "max_budget")) == before_rows
    assert Outbox.objects.count() == before_outbox
    assert all(c["method"] == "GET" for c in litellm.calls[calls:])
    assert set(DriftItem.objects.values_list("status", flat=True)) == {DriftItem.Status.OPEN}


def test_empty_litellm_trips_the_destructive_cap_and_nothing_is_touched(keys, litellm, settings, admin_user):
    """Scenario 17's "empty LiteLLM" case: every key would be marked broken → abort."""
    settings.SYNC_MAX_DESTRUCTIVE_SHARE = 0.2
    litellm.state.keys.clear()
    run = reconcile_run()
    assert run.status == SyncRun.Status.ABORTED and "nothing was changed" in run.error
    assert _drift(run) == {"active_missing": 4}
    assert set(ApiKey.objects.values_list("status", flat=True)) == {KeyStatus.ACTIVE}
    assert Notification.objects.filter(user=admin_user, kind="sync.alert").exists()
    # The admin reviews one item and repairs it by hand: the cap does not apply to a reviewed item.
    item = _items("active_missing")[0]
    from integrations.reconcile import drift_repair

    assert drift_repair(item_id=item.pk, actor=admin_user).status == DriftItem.Status.REPAIRED
    assert ApiKey.objects.filter(status=KeyStatus.BROKEN).count() == 1


def test_overlapping_runs_do_nothing_twice(keys, litellm, django_capture_on_commit_callbacks):
    """Scenario 19: a run holding the lock makes the next one exit at once; a later run finds nothing to do
    (changes already on their way are pending sync, not drift)."""
    from django.core.cache import cache

    cache.add(LOCK_KEY, 1, 60)
    assert reconcile_run() is None
    cache.delete(LOCK_KEY)
    litellm.state.keys[keys[0].token_hash]["max_budget"] = 50.0
    with mock.patch.object(outbox, "_enqueue_delivery"):  # the first run's push is still queued
        first = reconcile_run()
        second = reconcile_run()
    assert first.counts["actions"] == {"push_key": 1}
    assert second.counts["actions"] == {} and second.counts["keys"]["pending_sync"] == 1
    assert Outbox.objects.filter(operation="key.push").count() == 1
    outbox.outbox_sweep()
    assert litellm.state.keys[keys[0].token_hash]["max_budget"] == 5.0


def test_litellm_down_records_a_failed_run(keys, litellm):
    litellm.set_fault("down")
    run = reconcile_run()
    assert run.status == SyncRun.Status.FAILED and "could not be listed" in run.error


def test_revoking_key_without_an_outbox_entry_is_requeued(keys, litellm):
    ApiKey.objects.filter(pk=keys[0].pk).update(status=KeyStatus.REVOKING)
    run = reconcile_run()
    assert _drift(run) == {"revoke_unfinished": 1}
    assert ApiKey.objects.get(pk=keys[0].pk).status == KeyStatus.REVOKED  # usable → delivered at once


# -- API and page --------------------------------------------------------------------------------------------
def test_drift_api_reconcile_api_and_repair_api(keys, litellm, admin_client, readonly_admin_client, user_client,
                                                settings, django_capture_on_commit_callbacks):
    settings.SYNC_STRATEGY_KEYS = "report_only"
    litellm.state.keys[keys[0].token_hash]["tpm_limit"] = 1
    assert readonly_admin_client.post("/api/v1/admin/sync/reconcile", {"dry_run": True}, format="json"
                                      ).status_code == 403
    assert user_client.get("/api/v1/admin/sync/drift").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/admin/sync/reconcile", {"dry_run": False}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["queued"] is True  # the run starts after commit (a task; eager here)
    assert SyncRun.objects.get(kind="reconcile").status == SyncRun.Status.SUCCEEDED
    report = readonly_admin_client.get("/api/v1/admin/sync/drift").json()
    assert report["count"] == 1 and report["results"][0]["drift_class"] == "key_differs"
    item_id = report["results"][0]["id"]
    assert readonly_admin_client.post(f"/api/v1/admin/sync/drift/{item_id}/repair").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        repaired = admin_client.post(f"/api/v1/admin/sync/drift/{item_id}/repair")
    assert repaired.status_code == 200, repaired.json()
    assert repaired.json()["action"] == "push_key"
    assert litellm.state.keys[keys[0].token_hash]["tpm_limit"] == 100
    assert admin_client.post("/api/v1/admin/sync/drift/999999/repair").status_code == 404
    assert readonly_admin_client.get("/api/v1/admin/outbox").status_code == 200


def test_reconcile_api_refuses_while_a_run_is_in_progress(admin_client, litellm):
    from django.core.cache import cache

    cache.add(LOCK_KEY, 1, 60)
    response = admin_client.post("/api/v1/admin/sync/reconcile", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"]


def test_admin_sync_page_shows_runs_drift_and_outbox(keys, litellm, client, readonly_admin, admin_user, user):
    del litellm.state.keys[keys[0].token_hash]
    reconcile_run(dry_run=True)
    client.force_login(readonly_admin)
    page = client.get("/admin-tools/sync/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "active_missing" in body and 'data-testid="sync-outbox"' in body and "Run now" not in body
    assert client.post("/admin-tools/sync/", {"action": "reconcile"}).status_code == 403
    client.force_login(admin_user)
    item = _items("active_missing")[0]
    response = client.post("/admin-tools/sync/", {"action": "repair", "item_id": item.pk})
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=keys[0].pk).status == KeyStatus.BROKEN
    client.force_login(user)
    assert client.get("/admin-tools/sync/").status_code == 403
