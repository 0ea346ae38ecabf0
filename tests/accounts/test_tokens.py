"""Personal access tokens: the services, the selector and token authentication."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PersonalAccessToken
from accounts.selectors import token_list_for_user
from accounts.token_services import token_create, token_revoke
from litemaas.exceptions import PermissionDeniedError, ValidationFailed
from litemaas.models import AuditEvent
from tests.litemaas.assertions import assert_error

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    return APIClient(headers={"Authorization": f"Bearer {secret}"})


# --- services ---------------------------------------------------------------------------------------------

def test_create_returns_a_prefixed_secret_and_stores_only_its_hash(user):
    token, secret = token_create(user=user, name="ci", scope="read-write", expires_in_days=None)

    assert secret.startswith("ltm_") and len(secret) > 40
    stored = PersonalAccessToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:12]
    assert secret not in json.dumps({f.name: str(getattr(stored, f.name)) for f in stored._meta.fields})
    assert stored.expires_at is None


def test_create_sets_expiry_from_days(user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=30)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_create_audits_without_the_secret(user):
    token, secret = token_create(user=user, name="ci", scope="read", expires_in_days=7)

    event = AuditEvent.objects.get(action="token.create")
    assert event.actor == user
    assert (event.target_type, event.target_id) == ("token", str(token.pk))
    assert event.metadata["scope"] == "read" and event.metadata["prefix"] == token.prefix
    assert secret not in json.dumps(event.metadata)
    assert token.token_hash not in json.dumps(event.metadata)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
    ],
)
def test_create_rejects_invalid_input(user, kwargs, field):
    args = {"name": "ci", "scope": "read", "expires_in_days": None} | kwargs
    with pytest.raises(ValidationFailed) as excinfo:
        token_create(user=user, **args)
    assert field in excinfo.value.details["fields"]
    assert not PersonalAccessToken.objects.exists()


def test_create_respects_the_configured_maximum_lifetime(user, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 10
    with pytest.raises(ValidationFailed):
        token_create(user=user, name="ci", scope="read", expires_in_days=11)


def test_create_refuses_a_deactivated_user(user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    with pytest.raises(PermissionDeniedError):
        token_create(user=user, name="ci", scope="read", expires_in_days=None)


def test_revoke_is_idempotent_and_audited_once(user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=None)

    token_revoke(token=token, actor=user)
    token_revoke(token=token, actor=user)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", target_id=str(token.pk)).count() == 1


def test_list_for_user_hides_revoked_and_other_peoples_tokens(user, other_user):
    mine, _ = token_create(user=user, name="mine", scope="read", expires_in_days=None)
    gone, _ = token_create(user=user, name="gone", scope="read", expires_in_days=None)
    token_create(user=other_user, name="theirs", scope="read", expires_in_days=None)
    token_revoke(token=gone, actor=user)

    assert list(token_list_for_user(user)) == [mine]


# --- authentication ---------------------------------------------------------------------------------------

def test_valid_token_authenticates_and_records_last_use(user):
    token, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)

    response = bearer(secret).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == user.username
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(user, django_assert_num_queries):
    _, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    client = bearer(secret)
    client.get("/api/v1/me")
    with django_assert_num_queries(1):  # the token lookup only, no UPDATE
        client.get("/api/v1/me")


def test_expired_token_is_401(user):
    _, secret = token_create(user=user, name="ci", scope="read", expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = bearer(secret).get("/api/v1/me")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_401(user):
    token, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    token_revoke(token=token, actor=user)
    assert_error(bearer(secret).get("/api/v1/me"), 401, "authentication_failed")


def test_unknown_token_is_401_in_the_error_shape(db):
    assert_error(bearer("ltm_" + "x" * 43).get("/api/v1/me"), 401, "authentication_failed")


def test_foreign_bearer_credential_is_401_not_anonymous(db):
    assert_error(bearer("sk-1234567890").get("/api/v1/me"), 401, "authentication_failed")


def test_deactivated_owner_token_is_401(user):
    _, secret = token_create(user=user, name="ci", scope="read-write", expires_in_days=None)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(bearer(secret).get("/api/v1/me"), 401, "authentication_failed")


def test_read_only_token_may_read(user):
    _, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    assert bearer(secret).get("/api/v1/tokens").status_code == 200


def test_read_only_token_writing_is_403(user):
    _, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    client = bearer(secret)

    assert_error(client.post("/api/v1/tokens", {"name": "more"}), 403, "token_read_only")
    assert_error(client.patch("/api/v1/me", {"full_name": "X"}), 403, "token_read_only")
    assert PersonalAccessToken.objects.count() == 1


def test_read_write_token_may_write_without_csrf(user):
    _, secret = token_create(user=user, name="ci", scope="read-write", expires_in_days=None)
    response = bearer(secret).patch("/api/v1/me", {"full_name": "Script Person"})
    assert response.status_code == 200
    assert response.json()["full_name"] == "Script Person"


@pytest.mark.urls("tests.litemaas.urls")
def test_read_only_token_cannot_write_even_where_a_view_drops_the_scope_permission(admin_user):
    _, read_secret = token_create(user=admin_user, name="ro", scope="read", expires_in_days=None)
    _, write_secret = token_create(user=admin_user, name="rw", scope="read-write", expires_in_days=None)

    assert_error(bearer(read_secret).post("/api/v1/test/admin-only"), 403, "token_read_only")
    assert bearer(write_secret).post("/api/v1/test/admin-only").status_code == 200
