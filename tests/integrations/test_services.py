"""Provisioning LiteLLM users and teams: create-or-update, idempotency, sync state, never blocking login."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from integrations.litellm.errors import LiteLLMRejected, LiteLLMUnavailable
from integrations.litellm.limits import UNLIMITED_SENTINEL
from integrations.services import (
    DEFAULT_TEAM_ID,
    ensure_litellm_team,
    ensure_litellm_user,
    litellm_users_provision_pending,
    provision_user_after_login,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRITES = ("/user/new", "/user/update", "/team/new", "/team/update", "/team/member_add")


def writes(double) -> list[str]:
    return [c["path"] for c in double.calls if c["path"] in WRITES]


def test_ensure_litellm_user_creates_the_user_in_the_default_team(litellm_double, user):
    user.max_budget, user.budget_duration, user.tpm_limit, user.rpm_limit = Decimal("25.5000"), "30d", 1000, None
    user.save()
    info = ensure_litellm_user(user)
    remote = litellm_double.state.users[str(user.pk)]
    assert remote["user_role"] == "internal_user"
    assert remote["user_email"] == user.email and remote["user_alias"] == user.username
    assert (remote["max_budget"], remote["budget_duration"], remote["tpm_limit"]) == (25.5, "30d", 1000)
    assert remote["rpm_limit"] is None
    assert info.teams == [DEFAULT_TEAM_ID]
    assert str(user.pk) in {m["user_id"] for m in litellm_double.state.teams[DEFAULT_TEAM_ID]["members_with_roles"]}
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced" and user.litellm_synced_at is not None and user.litellm_last_error == ""


def test_ensure_litellm_user_is_idempotent(litellm_double, user):
    ensure_litellm_user(user)
    first = writes(litellm_double)
    ensure_litellm_user(user)
    assert writes(litellm_double) == first  # the second run reads and finds nothing to change
    # One user of ours; LiteLLM's own default_user_id joined when the Default Team was created.
    assert set(litellm_double.state.users) == {str(user.pk), "default_user_id"}


def test_ensure_litellm_user_updates_drift_and_clears_limits(litellm_double, user):
    user.tpm_limit, user.max_budget = 100, Decimal("5")
    user.save()
    ensure_litellm_user(user)
    user.tpm_limit, user.max_budget, user.email = None, None, "new@example.com"
    user.save()
    info = ensure_litellm_user(user)
    remote = litellm_double.state.users[str(user.pk)]
    assert remote["tpm_limit"] == UNLIMITED_SENTINEL and info.tpm_limit is None  # null is ignored for users
    assert remote["max_budget"] is None
    assert remote["user_email"] == "new@example.com"


def test_an_admin_is_never_a_proxy_admin_and_a_legacy_one_is_demoted(litellm_double, admin_user):
    litellm_double.state.user_new({"user_id": str(admin_user.pk), "user_role": "proxy_admin"})
    ensure_litellm_user(admin_user)
    assert litellm_double.state.users[str(admin_user.pk)]["user_role"] == "internal_user"


def test_an_existing_user_outside_the_default_team_is_added(litellm_double, user):
    litellm_double.state.user_new({"user_id": str(user.pk), "user_role": "internal_user"})
    ensure_litellm_user(user)
    assert DEFAULT_TEAM_ID in litellm_double.state.users[str(user.pk)]["teams"]


def test_an_email_taken_by_another_litellm_user_does_not_block_provisioning(litellm_double, user):
    litellm_double.state.user_new({"user_id": "someone-else", "user_email": user.email.upper()})
    ensure_litellm_user(user)
    assert litellm_double.state.users[str(user.pk)]["user_email"] is None
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"


def test_litellm_down_leaves_the_user_pending_and_raises(litellm_double, fast_retries, user):
    litellm_double.set_fault("error", status=503)
    with pytest.raises(LiteLLMUnavailable):
        ensure_litellm_user(user)
    user.refresh_from_db()
    assert user.litellm_sync_state == "pending"
    assert "unavailable" in user.litellm_last_error


def test_a_rejection_is_recorded_as_error_with_litellms_reason(litellm_double, user):
    litellm_double.state.team_new({"team_id": DEFAULT_TEAM_ID, "team_alias": "Default Team", "max_budget": 10000,
                                   "tpm_limit": 50000, "rpm_limit": 1000})
    user.budget_duration = "bogus"  # LiteLLM refuses it

    def reject(body):
        return 400, {"error": {"message": "{'error': \"Invalid budget_duration 'bogus'.\"}", "code": "400"}}

    litellm_double.state.user_new = reject
    try:
        with pytest.raises(LiteLLMRejected):
            ensure_litellm_user(user)
    finally:
        del litellm_double.state.user_new
    user.refresh_from_db()
    assert user.litellm_sync_state == "error"
    assert "Invalid budget_duration" in user.litellm_last_error


def test_not_configured_leaves_users_pending(settings, user):
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = ""
    get_litellm_client.cache_clear()
    with pytest.raises(LiteLLMUnavailable):
        ensure_litellm_user(user)
    user.refresh_from_db()
    assert user.litellm_sync_state == "pending"


def test_provision_after_login_never_raises_and_is_quick_when_litellm_hangs(black_hole_url, settings, user):
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = black_hole_url
    settings.LITELLM_LOGIN_TIMEOUT_SECONDS = 0.3
    get_litellm_client.cache_clear()
    started = time.monotonic()
    provision_user_after_login(user)
    assert time.monotonic() - started < 1.0
    user.refresh_from_db()
    assert user.litellm_sync_state == "pending"
    get_litellm_client.cache_clear()


def test_provision_after_login_swallows_unexpected_errors(litellm_double, user, monkeypatch):
    import integrations.services as services

    monkeypatch.setattr(services, "_upsert_user", lambda *a, **k: 1 / 0)
    provision_user_after_login(user)  # no exception


def test_provision_after_login_provisions_and_then_skips_synced_users(litellm_double, user):
    provision_user_after_login(user)
    assert str(user.pk) in litellm_double.state.users
    calls = len(litellm_double.calls)
    provision_user_after_login(user)
    assert len(litellm_double.calls) == calls


def test_the_pending_sweep_provisions_and_stops_at_the_first_outage(litellm_double, fast_retries):
    users = UserFactory.create_batch(3)
    assert all(u.litellm_sync_state == "pending" for u in users)
    litellm_double.set_fault("error", status=503)
    assert litellm_users_provision_pending()["pending"] == 1
    assert litellm_double.state.users == {}
    litellm_double.clear_fault()
    from integrations.litellm.client import get_litellm_client

    get_litellm_client().breaker.reset()
    assert litellm_users_provision_pending() == {"synced": 3, "pending": 0, "error": 0, "skipped": 0}
    assert litellm_users_provision_pending()["synced"] == 0


def test_the_pending_sweep_is_single_flight(litellm_double):
    from django.core.cache import cache

    cache.add("litellm:provision-pending:lock", 1, 60)
    assert litellm_users_provision_pending()["skipped"] == 1


def test_the_beat_task_runs_the_sweep(litellm_double, user):
    from integrations.tasks import provision_pending_users, provision_user

    assert provision_pending_users.name == "litemaas.integrations.provision_pending_users"
    assert provision_pending_users.max_retries == 0 and provision_user.max_retries == 5
    provision_pending_users.delay()
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"


def test_ensure_litellm_team_creates_updates_and_clears(litellm_double):
    team_id = "b0000000-0000-4000-8000-000000000002"
    ensure_litellm_team(team_id, team_alias="ML", max_budget=Decimal("100"), tpm_limit=10, models=["m1"])
    assert litellm_double.state.teams[team_id]["max_budget"] == 100.0
    before = writes(litellm_double)
    ensure_litellm_team(team_id, team_alias="ML", max_budget=Decimal("100"), tpm_limit=10, models=["m1"])
    assert writes(litellm_double) == before
    team = ensure_litellm_team(team_id, team_alias="ML team", max_budget=None, tpm_limit=None, models=["m1"])
    assert (team.team_alias, team.max_budget, team.tpm_limit) == ("ML team", None, None)
