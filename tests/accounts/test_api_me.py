"""Contract of /api/v1/me: the caller's profile; only name and preferences are writable."""
from __future__ import annotations

from decimal import Decimal

import pytest

from litemaas.models import AuditEvent
from tests.litemaas.assertions import assert_error

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def test_get_returns_the_callers_profile(user_client, user):
    user.max_budget = Decimal("25.5")
    user.rpm_limit = 60
    user.save(update_fields=["max_budget", "rpm_limit"])

    body = user_client.get(ME).json()

    assert body["id"] == str(user.pk)
    assert body["username"] == user.username and body["email"] == user.email
    assert body["full_name"] == user.full_name
    assert body["role"] == "user" and body["roles"] == ["user"]
    assert body["is_active"] is True and body["date_joined"]
    assert body["limits"] == {"max_budget": "25.5000", "budget_duration": "", "tpm_limit": None, "rpm_limit": 60}
    assert body["litellm"] == {"sync_state": "pending", "synced_at": None}


def test_admin_roles_include_the_lower_roles(admin_client):
    assert admin_client.get(ME).json()["roles"] == ["admin", "admin-readonly", "user"]


def test_patch_changes_name_and_preferences(user_client, user):
    response = user_client.patch(
        ME, {"full_name": "Ada Lovelace", "preferred_language": "fr", "preferred_theme": "dark"}
    )

    assert response.status_code == 200
    assert response.json()["full_name"] == "Ada Lovelace"
    user.refresh_from_db()
    assert (user.full_name, user.preferred_language, user.preferred_theme) == ("Ada Lovelace", "fr", "dark")
    event = AuditEvent.objects.get(action="user.profile_update")
    assert event.metadata == {"changed": ["full_name", "preferred_language", "preferred_theme"]}


def test_patch_without_a_change_writes_no_audit_event(user_client, user):
    user_client.patch(ME, {"full_name": user.full_name})
    assert not AuditEvent.objects.filter(action="user.profile_update").exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"role": "admin"},
        {"is_staff": True},
        {"max_budget": "1000000"},
        {"is_active": False},
        {"username": "root"},
        {"full_name": "Sneaky", "role": "admin"},
    ],
)
def test_patch_refuses_fields_a_user_may_not_set(user_client, user, payload):
    error = assert_error(user_client.patch(ME, payload, format="json"), 400, "validation_error")

    forbidden = set(payload) - {"full_name"}
    assert set(error["details"]["fields"]) == forbidden
    user.refresh_from_db()
    assert user.role == "user" and not user.is_staff and user.max_budget is None
    assert user.full_name != "Sneaky"


@pytest.mark.parametrize(
    "payload", [{"preferred_theme": "neon"}, {"preferred_language": "xx"}, {"full_name": "x" * 256}]
)
def test_patch_validates_values(user_client, payload):
    error = assert_error(user_client.patch(ME, payload), 400, "validation_error")
    assert set(error["details"]["fields"]) == set(payload)


def test_anonymous_gets_401(api_client):
    assert_error(api_client.get(ME), 401)
    assert_error(api_client.patch(ME, {"full_name": "x"}), 401)
