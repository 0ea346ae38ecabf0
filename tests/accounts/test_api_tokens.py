"""Contract of /api/v1/tokens: list, create (secret shown once), revoke; scoping and CSRF."""
from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import PersonalAccessToken
from accounts.token_services import token_create
from litemaas.models import AuditEvent
from tests.factories import UserFactory
from tests.litemaas.assertions import assert_error

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"


def test_list_shows_only_my_live_tokens_without_secrets(user_client, user, other_user):
    mine, _ = token_create(user=user, name="laptop", scope="read", expires_in_days=None)
    token_create(user=other_user, name="theirs", scope="read", expires_in_days=None)

    response = user_client.get(TOKENS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    [item] = body["results"]
    assert item["id"] == str(mine.pk) and item["prefix"] == mine.prefix
    assert set(item) == {"id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "is_expired"}


def test_list_is_paginated_with_a_bounded_number_of_queries(user_client, user, django_assert_max_num_queries):
    for number in range(5):
        token_create(user=user, name=f"t{number}", scope="read", expires_in_days=None)
    with django_assert_max_num_queries(2):  # count + page
        response = user_client.get(TOKENS, {"page_size": 2})
    body = response.json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["next"]


def test_create_returns_the_secret_once_and_forbids_caching(user_client, user):
    response = user_client.post(TOKENS, {"name": "ci", "scope": "read-write", "expires_in_days": 30})

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["token"].startswith("ltm_") and body["prefix"] == body["token"][:12]
    assert body["scope"] == "read-write" and body["expires_at"]
    token = PersonalAccessToken.objects.get(pk=body["id"])
    assert token.user == user
    # The secret never appears again.
    listed = user_client.get(TOKENS).json()["results"][0]
    assert "token" not in listed
    assert AuditEvent.objects.filter(action="token.create", actor=user).count() == 1


def test_create_defaults_to_a_read_only_token_without_expiry(user_client):
    body = user_client.post(TOKENS, {"name": "ci"}).json()
    assert body["scope"] == "read" and body["expires_at"] is None


def test_created_token_works_for_api_calls(user_client, user):
    secret = user_client.post(TOKENS, {"name": "ci"}).json()["token"]
    client = APIClient(headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/me").json()["id"] == str(user.pk)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "ci", "scope": "admin"}, "scope"),
        ({"name": "ci", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ci", "expires_in_days": 10_000}, "expires_in_days"),
        ({"name": "ci", "user": "someone-else"}, "user"),
    ],
)
def test_create_rejects_invalid_input_with_field_errors(user_client, payload, field):
    error = assert_error(user_client.post(TOKENS, payload), 400, "validation_error")
    assert field in error["details"]["fields"]
    assert not PersonalAccessToken.objects.exists()


def test_revoke_my_token(user_client, user):
    token, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)

    response = user_client.delete(f"{TOKENS}/{token.pk}")

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", actor=user, target_id=str(token.pk)).exists()
    assert APIClient(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me").status_code == 401


def test_revoking_another_users_token_is_404(user_client, other_user):
    theirs, _ = token_create(user=other_user, name="theirs", scope="read", expires_in_days=None)

    assert_error(user_client.delete(f"{TOKENS}/{theirs.pk}"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoking_an_already_revoked_or_unknown_token_is_404(user_client, user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    user_client.delete(f"{TOKENS}/{token.pk}")

    assert_error(user_client.delete(f"{TOKENS}/{token.pk}"), 404)
    assert_error(user_client.delete(f"{TOKENS}/{uuid.uuid4()}"), 404)
    assert_error(user_client.delete(f"{TOKENS}/not-a-uuid"), 404)


def test_a_token_can_revoke_itself(user):
    token, secret = token_create(user=user, name="ci", scope="read-write", expires_in_days=None)
    client = APIClient(headers={"Authorization": f"Bearer {secret}"})
    assert client.delete(f"{TOKENS}/{token.pk}").status_code == 204
    assert client.get(TOKENS).status_code == 401


def test_anonymous_callers_get_401(api_client):
    assert_error(api_client.get(TOKENS), 401, "not_authenticated")
    assert_error(api_client.post(TOKENS, {"name": "x"}), 401, "not_authenticated")


def test_session_writes_need_the_csrf_token(settings):
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    error = assert_error(client.post(TOKENS, {"name": "ci"}), 403, "permission_denied")
    assert "CSRF" in error["message"]

    csrf_secret = "a1" * 16  # Django accepts the unmasked 32-character secret in the header
    client.cookies[settings.CSRF_COOKIE_NAME] = csrf_secret
    response = client.post(TOKENS, {"name": "ci"}, headers={"X-CSRFToken": csrf_secret})
    assert response.status_code == 201
