"""Teams: CRUD and membership rights, LiteLLM mirroring (including failures), the Default Team and IdP
group mappings, admin users and bulk limits, read-only admins.

Changes after a team's creation reach LiteLLM through the outbox: delivered after commit (the tests run the
on-commit callbacks with ``django_capture_on_commit_callbacks``), or by the sweep once LiteLLM is back."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from integrations import outbox
from integrations.models import Outbox
from litemaas.models import AuditEvent
from teams import services
from teams.models import DEFAULT_TEAM_ID, Membership, Team, TeamGroupMapping, TeamRole
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _later(seconds: int = 60):
    """Past the outbox's first backoff (≤ SYNC_OUTBOX_BACKOFF_BASE_SECONDS)."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def _remote_members(litellm, team) -> set[str]:
    return {m["user_id"] for m in litellm.state.teams[str(team.pk)]["members_with_roles"]}


def test_admin_creates_team_mirrored_to_litellm_with_limits(litellm, admin_client, user):
    body = {"name": "Research", "owner_id": str(user.pk), "max_budget": "500", "budget_duration": "30d",
            "tpm_limit": 1000, "rpm_limit": 60}
    response = admin_client.post("/api/v1/teams", body, format="json")
    assert response.status_code == 201, response.json()
    team = Team.objects.get(pk=response.json()["id"])
    remote = litellm.state.teams[str(team.pk)]
    assert remote["team_alias"] == "Research" and remote["max_budget"] == 500.0
    assert remote["budget_duration"] == "30d" and remote["tpm_limit"] == 1000 and remote["rpm_limit"] == 60
    assert str(user.pk) in {m["user_id"] for m in remote["members_with_roles"]}
    assert Membership.objects.get(team=team, user=user).role == TeamRole.OWNER


def test_create_when_litellm_down_is_503_and_creates_nothing(litellm, admin_client):
    litellm.set_fault("error", status=503)
    response = admin_client.post("/api/v1/teams", {"name": "Ops"}, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "litellm_unavailable"
    assert not Team.objects.filter(name="Ops").exists()


def test_update_sends_only_changes_and_survives_litellm_down_until_one_sweep(
        litellm, make_team, admin_user, django_capture_on_commit_callbacks):
    team = make_team(max_budget=Decimal("100"), budget_duration="30d")
    reset_before = litellm.state.teams[str(team.pk)]["budget_reset_at"]
    with django_capture_on_commit_callbacks(execute=True):
        services.team_update(team=team, actor=admin_user, tpm_limit=500)
    update = litellm.calls_to("/team/update")[-1]["body"]
    assert update == {"team_id": str(team.pk), "tpm_limit": 500}  # budget_duration not re-sent
    assert reset_before
    team.refresh_from_db()
    assert team.litellm_sync_state == "synced" and team.budget_reset_at
    # LiteLLM down: the change is saved and pending (no 503), and nothing is lost.
    litellm.set_fault("error", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        services.team_update(team=team, actor=admin_user, max_budget=Decimal("50"))
    team.refresh_from_db()
    assert team.max_budget == Decimal("50") and team.litellm_sync_state == "pending"
    assert litellm.state.teams[str(team.pk)]["max_budget"] == 100.0
    entry = Outbox.objects.get(object_type="team", object_id=str(team.pk), operation="team.sync",
                               status=Outbox.Status.FAILED)
    assert entry.payload == {"fields": ["max_budget"]}
    litellm.clear_fault()
    with _later():
        assert outbox.outbox_sweep()["done"] == 1
    team.refresh_from_db()
    assert litellm.state.teams[str(team.pk)]["max_budget"] == 50.0 and team.litellm_sync_state == "synced"


def test_member_cannot_add_members_and_other_team_is_404(litellm, make_team, user, other_user):
    team = make_team(owner=other_user)
    services.team_member_add(team=team, user=user, actor=other_user)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    third = UserFactory()
    response = client.post(f"/api/v1/teams/{team.pk}/members", {"user_id": str(third.pk)}, format="json")
    assert response.status_code == 403
    assert not Membership.objects.filter(team=team, user=third).exists()
    hidden = make_team(owner=other_user, name="Hidden")
    assert client.get(f"/api/v1/teams/{hidden.pk}").status_code == 404
    assert client.get(f"/api/v1/teams/{hidden.pk}/members").status_code == 404
    assert client.patch(f"/api/v1/teams/{hidden.pk}", {"name": "x"}, format="json").status_code == 404
    listed = [t["id"] for t in client.get("/api/v1/teams").json()["results"]]
    assert str(team.pk) in listed and str(hidden.pk) not in listed


def test_owner_adds_and_removes_members_in_litellm_too(litellm, make_team, user, other_user,
                                                     django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    team = make_team(owner=user)
    assert str(user.pk) in _remote_members(litellm, team)  # the owner, with the synchronous create
    client = APIClient()
    client.force_authenticate(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/teams/{team.pk}/members",
                               {"username": other_user.username, "role": "admin"}, format="json")
    assert response.status_code == 201, response.json()
    assert str(other_user.pk) in _remote_members(litellm, team)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/teams/{team.pk}/members/{other_user.pk}").status_code == 204
    assert str(other_user.pk) not in _remote_members(litellm, team)
    assert set(Outbox.objects.filter(object_id=str(team.pk)).values_list("operation", "status")) == {
        ("team.member_add", Outbox.Status.DONE), ("team.member_delete", Outbox.Status.DONE)}
    assert not Membership.objects.filter(team=team, user=other_user).exists()
    # The last owner cannot leave the team ownerless.
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{user.pk}").status_code == 400


def test_member_add_and_remove_while_litellm_is_down_are_delivered_in_order_after_it_returns(
        litellm, make_team, user, other_user, django_capture_on_commit_callbacks):
    team = make_team(owner=user)
    litellm.set_fault("error", status=503, paths=["/team/member_add", "/team/member_delete"])
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.team_member_add(team=team, user=other_user, actor=user)
    assert Membership.objects.filter(team=team, user=other_user).exists()  # saved, no 503
    assert str(other_user.pk) not in _remote_members(litellm, team)
    entry = Outbox.objects.get(object_id=str(team.pk), operation="team.member_add", status=Outbox.Status.FAILED)
    assert entry.payload == {"user_id": str(other_user.pk)}
    litellm.clear_fault()
    with _later():
        assert outbox.outbox_sweep()["done"] == 1
    assert str(other_user.pk) in _remote_members(litellm, team)
    # Removal while down: saved at once, delivered by one sweep once LiteLLM is back.
    litellm.set_fault("error", status=503, paths=["/team/member_delete"])
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_remove(membership=membership, actor=user)
    assert not Membership.objects.filter(team=team, user=other_user).exists()
    assert str(other_user.pk) in _remote_members(litellm, team)
    litellm.clear_fault()
    with _later(120):
        assert outbox.outbox_sweep()["done"] == 1
    assert str(other_user.pk) not in _remote_members(litellm, team)


def test_member_handlers_are_idempotent(litellm, make_team, user, other_user):
    """Adding a member LiteLLM already has, or removing one it does not list, is done (a redelivery)."""
    team = make_team(owner=user)
    for operation in ("team.member_add", "team.member_add"):  # the owner is already a LiteLLM member
        entry = outbox.outbox_enqueue(object_type="team", object_id=team.pk, operation=operation,
                                      payload={"user_id": str(user.pk)}, deliver=False)
        assert outbox.outbox_deliver(entry_id=entry.pk) == "done"
    entry = outbox.outbox_enqueue(object_type="team", object_id=team.pk, operation="team.member_delete",
                                  payload={"user_id": str(other_user.pk)}, deliver=False)
    assert outbox.outbox_deliver(entry_id=entry.pk) == "done"  # never a member: nothing to remove
    # A delete whose user is a portal member again is skipped (the re-add is what counts).
    entry = outbox.outbox_enqueue(object_type="team", object_id=team.pk, operation="team.member_delete",
                                  payload={"user_id": str(user.pk)}, deliver=False)
    assert outbox.outbox_deliver(entry_id=entry.pk) == "done"
    assert str(user.pk) in _remote_members(litellm, team)
    # A team LiteLLM lost is re-created from the portal row, members included.
    del litellm.state.teams[str(team.pk)]
    entry = outbox.outbox_enqueue(object_type="team", object_id=team.pk, operation="team.member_add",
                                  payload={"user_id": str(user.pk)}, deliver=False)
    assert outbox.outbox_deliver(entry_id=entry.pk) == "done"
    assert str(user.pk) in _remote_members(litellm, team)


def test_rename_by_owner_but_limits_only_by_admin(litellm, make_team, user, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    team = make_team(owner=user)
    client = APIClient()
    client.force_authenticate(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch(f"/api/v1/teams/{team.pk}", {"name": "Renamed"}, format="json").status_code == 200
    assert litellm.state.teams[str(team.pk)]["team_alias"] == "Renamed"
    assert client.patch(f"/api/v1/teams/{team.pk}", {"max_budget": "9999"}, format="json").status_code == 403


def test_archive_refused_for_default_team_and_archived_team_disappears(litellm, make_team, admin_client, user):
    from teams.services import team_ensure_default_membership

    team_ensure_default_membership(user=user)
    assert admin_client.delete(f"/api/v1/teams/{DEFAULT_TEAM_ID}").status_code == 400
    team = make_team(owner=user)
    assert admin_client.delete(f"/api/v1/teams/{team.pk}").json()["status"] == "archived"
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    ids = [t["id"] for t in client.get("/api/v1/teams").json()["results"]]
    assert ids == [str(DEFAULT_TEAM_ID)]


def test_login_hook_joins_default_team_applies_defaults_and_group_mappings(litellm, make_team, settings):
    from accounts.services import provision_after_login

    settings.DEFAULT_USER_MAX_BUDGET = Decimal("25")
    newcomer = UserFactory(groups_from_idp=["ml-team"])
    team = make_team(name="ML")
    TeamGroupMapping.objects.create(group="ml-team", team=team, role=TeamRole.MEMBER)
    provision_after_login(newcomer)
    newcomer.refresh_from_db()
    assert Membership.objects.filter(team_id=DEFAULT_TEAM_ID, user=newcomer).exists()
    assert newcomer.max_budget == Decimal("25")
    assert litellm.state.users[str(newcomer.pk)]["max_budget"] == 25.0
    assert Membership.objects.get(team=team, user=newcomer).source == "idp"
    # Leaving the group removes the mapped membership at the next login (manual ones stay).
    newcomer.groups_from_idp = []
    newcomer.save(update_fields=["groups_from_idp"])
    provision_after_login(newcomer)
    assert not Membership.objects.filter(team=team, user=newcomer).exists()
    assert Membership.objects.filter(team_id=DEFAULT_TEAM_ID, user=newcomer).exists()


def test_readonly_admin_reads_everything_and_changes_nothing(litellm, make_team, readonly_admin_client, user):
    team = make_team(owner=user)
    assert readonly_admin_client.get("/api/v1/admin/teams").status_code == 200
    assert readonly_admin_client.get(f"/api/v1/admin/teams/{team.pk}").status_code == 200
    assert readonly_admin_client.get("/api/v1/admin/users").status_code == 200
    assert readonly_admin_client.get(f"/api/v1/admin/users/{user.pk}").status_code == 200
    writes = [
        readonly_admin_client.post("/api/v1/teams", {"name": "X"}, format="json"),
        readonly_admin_client.patch(f"/api/v1/teams/{team.pk}", {"max_budget": "1"}, format="json"),
        readonly_admin_client.post(f"/api/v1/teams/{team.pk}/members", {"user_id": str(user.pk)}, format="json"),
        readonly_admin_client.patch(f"/api/v1/admin/users/{user.pk}", {"max_budget": "1"}, format="json"),
        readonly_admin_client.post(f"/api/v1/admin/users/{user.pk}/reset-spend"),
        readonly_admin_client.post(f"/api/v1/admin/teams/{team.pk}/reset-spend"),
        readonly_admin_client.post("/api/v1/admin/users/bulk-limits", {"max_budget": "1"}, format="json"),
    ]
    assert [r.status_code for r in writes] == [403] * len(writes)
    user.refresh_from_db()
    assert user.max_budget is None


def test_admin_sets_user_limits_saved_then_pushed_and_kept_while_litellm_is_down(
        litellm, admin_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(f"/api/v1/admin/users/{user.pk}",
                                      {"max_budget": "42", "tpm_limit": 900, "budget_duration": "7d"}, format="json")
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert user.max_budget == Decimal("42") and user.tpm_limit == 900 and user.litellm_sync_state == "synced"
    remote = litellm.state.users[str(user.pk)]
    assert remote["max_budget"] == 42.0 and remote["tpm_limit"] == 900 and remote["budget_duration"] == "7d"
    entry = Outbox.objects.get(object_type="user", object_id=str(user.pk))
    assert entry.operation == "user.sync" and entry.status == Outbox.Status.DONE
    # LiteLLM down: 200 with the change saved and the user pending (no 503), nothing lost.
    litellm.set_fault("error", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(f"/api/v1/admin/users/{user.pk}", {"max_budget": "1"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["litellm_sync_state"] == "pending" and response.json()["max_budget"] == "1.0000"
    user.refresh_from_db()
    assert user.max_budget == Decimal("1") and user.litellm_sync_state == "pending"
    assert litellm.state.users[str(user.pk)]["max_budget"] == 42.0
    litellm.clear_fault()
    with _later():
        assert outbox.outbox_sweep()["done"] == 1
    user.refresh_from_db()
    assert litellm.state.users[str(user.pk)]["max_budget"] == 1.0 and user.litellm_sync_state == "synced"


def test_bulk_limits_reports_each_user_and_survives_partial_litellm_failure(
        litellm, admin_client, admin_user, django_capture_on_commit_callbacks):
    users = [UserFactory(username=f"bulk{i}") for i in range(3)]
    # The first user's LiteLLM read fails once (usernames are processed in order: admin*, bulk0, ...).
    everyone = sorted([admin_user, *users], key=lambda u: u.username)
    first = everyone[0]
    litellm.set_fault("error", status=503, count=1, paths=["/user/info"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/admin/users/bulk-limits", {"max_budget": "7", "rpm_limit": 30},
                                     format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    # Every user is saved; each one's LiteLLM push is on its way (delivered after commit, here after the reply).
    assert body["total"] == 4 and body["failed"] == 0 and body["updated"] == 4
    assert body["litellm_sync"] == {"synced": 0, "pending": 4, "error": 0}
    assert [(r["user_id"], r["status"], r["litellm_sync_state"]) for r in body["results"]] == [
        (str(u.pk), "updated", "pending") for u in everyone]
    for u in everyone:
        u.refresh_from_db()
        assert u.max_budget == Decimal("7") and u.rpm_limit == 30
        if u.pk == first.pk:  # its delivery met the failure: still pending, nothing lost
            assert u.litellm_sync_state == "pending"
            assert litellm.state.users.get(str(u.pk), {}).get("rpm_limit") != 30
        else:
            assert u.litellm_sync_state == "synced" and litellm.state.users[str(u.pk)]["rpm_limit"] == 30
    with _later():
        assert outbox.outbox_sweep()["done"] == 1
    first.refresh_from_db()
    assert first.litellm_sync_state == "synced" and litellm.state.users[str(first.pk)]["max_budget"] == 7.0
    # A second run changes nobody.
    again = admin_client.post("/api/v1/admin/users/bulk-limits", {"max_budget": "7", "rpm_limit": 30},
                              format="json").json()
    assert again["unchanged"] == 4 and again["updated"] == 0


def test_admin_user_list_filters(admin_client):
    UserFactory(username="alice", role="admin-readonly")
    UserFactory(username="bob", is_active=False)
    names = lambda r: [u["username"] for u in r.json()["results"]]  # noqa: E731
    assert names(admin_client.get("/api/v1/admin/users?q=ali")) == ["alice"]
    assert "alice" in names(admin_client.get("/api/v1/admin/users?role=admin-readonly"))
    assert names(admin_client.get("/api/v1/admin/users?status=inactive")) == ["bob"]


def test_reset_user_spend_and_team_spend_unsupported_is_reported(litellm, make_team, admin_client, user):
    from integrations.services import ensure_litellm_user

    ensure_litellm_user(user)
    litellm.state.users[str(user.pk)]["spend"] = 12.5
    assert admin_client.post(f"/api/v1/admin/users/{user.pk}/reset-spend").status_code == 200
    assert litellm.state.users[str(user.pk)]["spend"] == 0
    team = make_team(owner=user)
    litellm.state.teams[str(team.pk)]["spend"] = 3.0
    response = admin_client.post(f"/api/v1/admin/teams/{team.pk}/reset-spend")
    # The double, like LiteLLM 1.103.7, has no team spend reset: LiteLLM did not fail, the proxy cannot do it.
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "team_spend_reset_unsupported" and "budget period" in error["message"]
    assert litellm.state.teams[str(team.pk)]["spend"] == 3.0
    assert not AuditEvent.objects.filter(action="team.reset_spend").exists()
    litellm.state.teams[str(team.pk)]["spend"] = 0.0  # nothing to reset: fine
    assert admin_client.post(f"/api/v1/admin/teams/{team.pk}/reset-spend").status_code == 200


def test_team_page_disables_spend_reset_with_an_explanation(litellm, make_team, client, admin_user):
    team = make_team(max_budget=Decimal("10"), budget_duration="30d")
    litellm.state.teams[str(team.pk)]["spend"] = 2.0
    client.force_login(admin_user)
    response = client.get(f"/teams/{team.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "LiteLLM cannot reset a team's spend" in page and "Next reset:" in page
    assert f"/teams/{team.pk}/reset-spend" not in page
    response = client.post(f"/teams/{team.pk}/reset-spend", follow=True)  # a stale page still posts it
    assert response.status_code == 200 and "LiteLLM cannot reset a team" in response.content.decode()


def test_member_cap_is_pushed_to_litellm_on_add_and_change(litellm, make_team, user, other_user,
                                                           django_capture_on_commit_callbacks):
    team = make_team(owner=other_user)
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.team_member_add(team=team, user=user, actor=other_user, max_budget="5")
    assert litellm.state.member_budgets[(str(team.pk), str(user.pk))]["max_budget"] == 5.0
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_update(membership=membership, actor=other_user, max_budget="7.5")
    assert litellm.state.member_budgets[(str(team.pk), str(user.pk))]["max_budget"] == 7.5
    calls = litellm.calls_to("/team/member_update")
    assert [c["body"] for c in calls][-1] == {"team_id": str(team.pk), "user_id": str(user.pk),
                                               "max_budget_in_team": 7.5}
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_update(membership=membership, actor=other_user, max_budget=None)
    assert litellm.state.member_budgets[(str(team.pk), str(user.pk))]["max_budget"] is None
    with django_capture_on_commit_callbacks(execute=True):  # a role change alone sends no cap
        services.team_member_update(membership=membership, actor=other_user, role=TeamRole.ADMIN)
    assert len(litellm.calls_to("/team/member_update")) == 3
    # No cap on add: nothing sent.
    third = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_add(team=team, user=third, actor=other_user)
    assert len(litellm.calls_to("/team/member_update")) == 3


def test_member_cap_waits_in_the_outbox_while_litellm_is_down(litellm, make_team, user, other_user,
                                                              django_capture_on_commit_callbacks):
    team = make_team(owner=other_user)
    litellm.set_fault("error", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_add(team=team, user=user, actor=other_user, max_budget="3")
    assert (str(team.pk), str(user.pk)) not in litellm.state.member_budgets
    litellm.clear_fault()
    with _later(3600):
        outbox.outbox_sweep()
        outbox.outbox_sweep()
    assert str(user.pk) in _remote_members(litellm, team)
    assert litellm.state.member_budgets[(str(team.pk), str(user.pk))]["max_budget"] == 3.0
    entries = Outbox.objects.filter(object_type="team", object_id=str(team.pk)).order_by("sequence")
    assert [e.operation for e in entries][-2:] == ["team.member_add", "team.member_cap"]
    assert all(e.status == Outbox.Status.DONE for e in entries)


def test_repairing_a_team_litellm_lost_restores_member_caps(litellm, make_team, user, other_user,
                                                            django_capture_on_commit_callbacks):
    team = make_team(owner=other_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.team_member_add(team=team, user=user, actor=other_user, max_budget="4")
    del litellm.state.teams[str(team.pk)]
    litellm.state.member_budgets.clear()
    services.team_sync_to_litellm(team=team)
    assert str(user.pk) in _remote_members(litellm, team)
    assert litellm.state.member_budgets[(str(team.pk), str(user.pk))]["max_budget"] == 4.0


def test_user_creates_own_team_with_zero_budget_up_to_the_limit(litellm, user_client, user, settings):
    settings.TEAM_MAX_OWNED_PER_USER = 2
    for name in ("Alpha", "Beta"):
        response = user_client.post("/api/v1/teams", {"name": name, "description": "ours"}, format="json")
        assert response.status_code == 201, response.json()
        team = Team.objects.get(pk=response.json()["id"])
        assert team.max_budget == Decimal(0) and litellm.state.teams[str(team.pk)]["max_budget"] == 0.0
        assert Membership.objects.get(team=team, user=user).role == TeamRole.OWNER
    teams_before = len(litellm.state.teams)
    response = user_client.post("/api/v1/teams", {"name": "Gamma"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "team_owner_limit" and error["details"] == {"limit": 2, "owned": 2}
    assert "2" in error["message"] and len(litellm.state.teams) == teams_before  # LiteLLM never called
    # An archived team no longer counts.
    admin = UserFactory(role="admin")
    services.team_archive(team=Team.objects.get(name="Alpha"), actor=admin)
    assert user_client.post("/api/v1/teams", {"name": "Gamma"}, format="json").status_code == 201


def test_self_service_create_refuses_admin_fields_and_can_be_switched_off(litellm, user_client, other_user, settings):
    settings.TEAM_MAX_OWNED_PER_USER = 5
    for body in ({"name": "Rich", "max_budget": "1000"}, {"name": "Fast", "tpm_limit": 100},
                 {"name": "Picky", "allowed_models": ["m"]}, {"name": "Gift", "owner_id": str(other_user.pk)}):
        response = user_client.post("/api/v1/teams", body, format="json")
        assert response.status_code == 403, body
        assert response.json()["error"]["code"] == "admin_required"
    settings.TEAM_MAX_OWNED_PER_USER = 0  # users cannot create teams
    response = user_client.post("/api/v1/teams", {"name": "Any"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "team_create_disabled"
    assert not Team.objects.exclude(pk=DEFAULT_TEAM_ID).exists()


def test_admins_are_not_limited_even_on_behalf_of_a_user(litellm, admin_client, user, settings):
    settings.TEAM_MAX_OWNED_PER_USER = 1
    for name in ("One", "Two"):
        response = admin_client.post("/api/v1/teams", {"name": name, "owner_id": str(user.pk), "max_budget": "50"},
                                     format="json")
        assert response.status_code == 201
    assert services.teams_owned_count(user=user) == 2
    assert services.team_create_allowance(user=user) == {"allowed": False, "limit": 1, "owned": 2}


def test_create_team_page_shows_the_limit_and_a_readable_form_error(litellm, client, user, settings):
    settings.TEAM_MAX_OWNED_PER_USER = 1
    client.force_login(user)
    page = client.get("/teams/").content.decode()
    assert "Create a team" in page and "You own 0 of at most 1 active teams" in page
    response = client.post("/teams/new", {"name": "Mine", "description": "d"})
    team = Team.objects.get(name="Mine")
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.pk}/"
    page = client.get("/teams/").content.decode()
    assert "You own 1 active teams; the most one user may own is 1" in page and 'action="/teams/new"' not in page
    response = client.post("/teams/new", {"name": "More", "description": "x"})
    body = response.content.decode()
    assert response.status_code == 409 and "The team was not created." in body
    assert "the most one user may own (1)" in body and 'value="More"' not in body  # no form once at the limit
    settings.TEAM_MAX_OWNED_PER_USER = 2
    response = client.post("/teams/new", {"name": "mine", "description": "kept"})
    body = response.content.decode()
    assert response.status_code == 400 and "Another active team has this name." in body and 'value="kept"' in body
    settings.TEAM_MAX_OWNED_PER_USER = 0
    assert "Create a team" not in client.get("/teams/").content.decode()


def test_pages_render(litellm, make_team, client, admin_user, user):
    team = make_team(owner=user)
    client.force_login(admin_user)
    for url in ("/teams/", f"/teams/{team.pk}/", "/admin-teams/", "/admin-users/?q=user",
                f"/admin-users/{user.pk}/?tab=profile", f"/admin-users/{user.pk}/?tab=limits",
                f"/admin-users/{user.pk}/?tab=keys", f"/admin-users/{user.pk}/?tab=subscriptions",
                "/settings/notifications"):
        assert client.get(url).status_code == 200, url
    client.force_login(user)
    assert client.get("/admin-users/").status_code == 404
