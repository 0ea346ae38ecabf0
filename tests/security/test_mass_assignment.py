"""Mass assignment (BOPLA, ASVS 8.2.3): members cannot set protected fields through any write they can make.

Each write an ordinary member (alice, or carol as team admin) may send is repeated with hostile extra fields
(owner, user, team, budget, role, status, is_staff, spend, key_hash, ...). The request may succeed (the field
ignored) or be refused with 400, never applied: the protected columns of every pre-existing row stay as they
were, and any row the request creates belongs to the caller with server-chosen values.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.security.conftest import RESTRICTED_MODEL_2, World

HOSTILE_FIELDS = ("owner", "owner_id", "user", "user_id", "team", "budget", "max_budget_override", "role",
                  "status", "is_staff", "is_superuser", "is_admin", "spend", "key_hash", "token_hash", "created_by",
                  "id")

# (name, method, path template, legitimate body, actor). Bodies are JSON for /api/, forms otherwise.
WRITES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("me", "PATCH", "/api/v1/me", {"full_name": "Alice A"}, "alice"),
    ("token create", "POST", "/api/v1/tokens", {"name": "ci", "scope": "read", "expires_in_days": 7}, "alice"),
    ("subscribe", "POST", "/api/v1/subscriptions", {"model_id": "gpt-spare"}, "alice"),
    ("subscribe restricted", "POST", "/api/v1/subscriptions", {"model_id": RESTRICTED_MODEL_2}, "bob"),
    ("request review", "POST", "/api/v1/subscriptions/{pending}/request-review", {"reason": "please"}, "alice"),
    ("cancel", "POST", "/api/v1/subscriptions/{sub}/cancel", {}, "alice"),
    ("key create", "POST", "/api/v1/api-keys", {"name": "k", "model_ids": ["gpt-sec"]}, "alice"),
    ("key update", "PATCH", "/api/v1/api-keys/{key}", {"name": "renamed"}, "alice"),
    ("key block", "POST", "/api/v1/api-keys/{key}/block", {"reason": "x"}, "alice"),
    ("key revoke", "POST", "/api/v1/api-keys/{key}/revoke", {"reason": "x"}, "alice"),
    ("key rotate", "POST", "/api/v1/api-keys/{key}/rotate", {}, "alice"),
    ("key reset spend", "POST", "/api/v1/api-keys/{key}/reset-spend", {}, "alice"),
    ("notification prefs", "PUT", "/api/v1/notification-preferences", {"thresholds": [50, 90]}, "alice"),
    ("team update by team admin", "PATCH", "/api/v1/teams/{team_a}", {"description": "x"}, "carol"),
    ("member update by team admin", "PATCH", "/api/v1/teams/{team_a}/members/{alice_id}", {"max_budget": "5"},
     "carol"),
    ("member add by team admin", "POST", "/api/v1/teams/{team_a}/members", {"username": "bob"}, "carol"),
    ("banner dismiss", "POST", "/api/v1/banners/{banner}/dismiss", {}, "alice"),
    ("key create page", "POST", "/api-keys/new", {"name": "k", "model_ids": "gpt-sec", "expiry": "30"}, "alice"),
    ("key edit page", "POST", "/api-keys/{key}/edit", {"name": "k2", "model_ids": "gpt-sec", "expiry": "keep"},
     "alice"),
    ("subscribe page", "POST", "/subscriptions/new", {"model_id": "gpt-spare"}, "alice"),
    ("token page", "POST", "/tokens/", {"name": "ci", "scope": "read", "expires_in_days": "7"}, "alice"),
]


def hostile_values(world: World) -> dict[str, Any]:
    bob = world.users["bob"]
    return {"owner": str(bob.pk), "owner_id": str(bob.pk), "user": str(bob.pk), "user_id": str(bob.pk),
            "team": str(world.teams["B"].pk), "budget": "999999", "max_budget_override": "999999", "role": "owner",
            "status": "active", "is_staff": True, "is_superuser": True, "is_admin": True, "spend": "-100",
            "key_hash": "0" * 64, "token_hash": "0" * 64, "created_by": str(bob.pk),
            "id": "00000000-0000-4000-8000-000000000001"}


def protected_state() -> dict[str, dict[Any, tuple]]:
    """The columns no member may set, for every row, keyed by primary key."""
    from accounts.models import PersonalAccessToken, User
    from apikeys.models import ApiKey
    from subscriptions.models import Subscription
    from teams.models import Membership, Team

    return {
        "user": {u.pk: (u.role, u.is_staff, u.is_superuser, u.is_active, u.max_budget, u.tpm_limit, u.rpm_limit)
                 for u in User.objects.all()},
        "key": {k.pk: (k.user_id, k.team_id, k.token_hash, k.spend, k.created_by_id) for k in ApiKey.objects.all()},
        "subscription": {s.pk: (s.user_id, s.model_id) for s in Subscription.objects.all()},
        "token": {t.pk: (t.user_id, t.token_hash) for t in PersonalAccessToken.objects.all()},
        "team": {t.pk: (t.status, t.spend, t.max_budget, t.name) for t in Team.objects.all()},
        "membership": {m.pk: (m.user_id, m.team_id, m.role) for m in Membership.objects.all()},
    }


def _fill(world: World, template: str) -> str:
    alice = world.objects["alice"]
    return template.format(pending=alice["pending"].pk, sub=alice["sub"].pk, key=alice["key"].pk,
                           team_a=world.teams["A"].pk, alice_id=world.users["alice"].pk, banner=world.banner.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("name,method,path,body,actor", WRITES, ids=[w[0] for w in WRITES])
def test_members_cannot_mass_assign_protected_fields(world: World, name, method, path, body, actor) -> None:
    from apikeys.models import ApiKey
    from subscriptions.models import Subscription

    client = Client()
    client.force_login(world.users[actor])
    url = _fill(world, path)
    hostile = {**body, **hostile_values(world)}
    before = protected_state()
    if url.startswith("/api/"):
        response = client.generic(method, url, json.dumps(hostile), content_type="application/json")
    else:
        response = client.post(url, {k: (str(v) if not isinstance(v, str) else v) for k, v in hostile.items()})
    assert response.status_code < 500, response.content[:300]
    # Applied or refused (400; 403 when the hostile value is itself a privilege the caller lacks), never 5xx.
    assert response.status_code in (200, 201, 202, 204, 302, 400, 403, 422), (response.status_code,
                                                                              response.content[:300])
    after = protected_state()
    if name == "key reset spend":  # resetting the spend is what this write does
        _drop_column(before["key"], 3), _drop_column(after["key"], 3)
    for table, rows in before.items():
        for pk, values in rows.items():
            assert after[table].get(pk) == values, f"{name}: {table} {pk} changed: {values} -> {after[table].get(pk)}"
        for pk in set(after[table]) - set(rows):
            _assert_created_row_is_callers(world, actor, table, pk, after[table][pk])
    # Whatever the request created or changed, no hostile value was applied.
    me = world.users[actor]
    me.refresh_from_db()
    assert me.role == ("user" if actor in ("alice", "bob", "carol") else me.role)
    assert not me.is_staff and not me.is_superuser
    assert not ApiKey.objects.filter(token_hash="0" * 64).exists()
    assert not ApiKey.objects.filter(spend=Decimal("-100")).exists()
    assert not Subscription.objects.filter(user=world.users["bob"], model_id="gpt-spare").exists()
    assert not Subscription.objects.filter(model_id__in=["gpt-restricted", RESTRICTED_MODEL_2],
                                           status="active").exists()


def _drop_column(rows: dict[Any, tuple], index: int) -> None:
    for pk, values in rows.items():
        rows[pk] = values[:index] + values[index + 1:]


def _assert_created_row_is_callers(world: World, actor: str, table: str, pk: Any, values: tuple) -> None:
    user = world.users[actor]
    if table == "key":
        user_id, team_id, token_hash, spend, created_by = values
        assert user_id == user.pk and team_id is None and token_hash != "0" * 64 and spend in (None, 0)
        assert created_by in (None, user.pk)
    elif table in ("subscription", "token"):
        assert values[0] == user.pk
    elif table == "membership":
        m_user, m_team, role = values
        assert role != "owner", "a team admin granted ownership"
        assert m_team == world.teams["A"].pk
    elif table == "team":
        raise AssertionError("a member created a team")
    assert str(pk) != "00000000-0000-4000-8000-000000000001", "the client chose the primary key"
