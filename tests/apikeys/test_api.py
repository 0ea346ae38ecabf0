"""API contract: scoping (404 for other users' keys), roles, settings, pagination and query counts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import services
from apikeys.models import ApiKey, ApiKeyModel, ApiKeySettings, KeyStatus
from litemaas.models import AuditEvent
from tests.apikeys.conftest import subscribe

URL = "/api/v1/api-keys"
SETTINGS_URL = "/api/v1/admin/settings/api-key-limits"


@pytest.fixture
def others_key(litellm, other_user, chat_model):
    subscribe(other_user, chat_model)
    return services.apikey_create(user=other_user, actor=other_user, model_ids=["gpt-test"], name="theirs").key


@pytest.mark.django_db
def test_another_users_key_is_404_on_every_route(others_key, user_client, litellm):
    base = f"{URL}/{others_key.pk}"
    assert user_client.get(base).status_code == 404
    assert user_client.patch(base, {"name": "mine"}, format="json").status_code == 404
    assert user_client.delete(base).status_code == 404
    for action in ("rotate", "block", "unblock", "revoke", "reset-spend"):
        assert user_client.post(f"{base}/{action}", {}, format="json").status_code == 404, action
    assert user_client.get(f"{URL}/not-a-uuid").status_code == 404
    others_key.refresh_from_db()
    assert others_key.status == KeyStatus.ACTIVE and others_key.name == "theirs"
    # Page routes too.
    from django.test import Client

    web = Client()
    web.force_login(user_client.handler._force_user)
    assert web.get(f"/api-keys/{others_key.pk}/").status_code == 404
    assert web.post(f"/api-keys/{others_key.pk}/revoke").status_code == 404


@pytest.mark.django_db
def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code in (401, 403)
    assert api_client.get(SETTINGS_URL).status_code in (401, 403)


@pytest.mark.django_db
def test_settings_api_readonly_admin_reads_only_admin_writes(readonly_admin_client, admin_client, user_client):
    assert readonly_admin_client.get(SETTINGS_URL).status_code == 200
    assert user_client.get(SETTINGS_URL).status_code == 403
    body = {"max_max_budget": "50", "default_max_budget": "10", "max_expiry_days": 90, "default_expiry_days": 30,
            "default_budget_duration": "monthly", "max_active_keys_per_user": 5}
    assert readonly_admin_client.put(SETTINGS_URL, body, format="json").status_code == 403
    response = admin_client.put(SETTINGS_URL, body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["never_expires_allowed"] is False and data["default_budget_duration"] == "30d"
    assert AuditEvent.objects.filter(action="apikey.settings_update").count() == 1
    bad = admin_client.put(SETTINGS_URL, {"default_max_budget": "100", "max_max_budget": "50"}, format="json")
    assert bad.status_code == 400 and "default_max_budget" in bad.json()["error"]["details"]["fields"]


@pytest.mark.django_db
def test_admin_user_key_routes(litellm, admin_client, readonly_admin_client, user, chat_model):
    subscribe(user, chat_model)
    base = f"/api/v1/admin/users/{user.pk}/api-keys"
    created = admin_client.post(base, {"name": "svc", "model_ids": ["gpt-test"]}, format="json")
    assert created.status_code == 201
    key_id = created.json()["id"]
    assert readonly_admin_client.get(base).json()["count"] == 1
    assert readonly_admin_client.get(f"{base}/{key_id}").status_code == 200
    for method, path in (("post", base), ("patch", f"{base}/{key_id}"), ("delete", f"{base}/{key_id}"),
                         ("post", f"{base}/{key_id}/block"), ("post", f"{base}/{key_id}/reset-spend")):
        assert getattr(readonly_admin_client, method)(path, {"name": "x", "model_ids": ["gpt-test"]},
                                                      format="json").status_code == 403, path
    assert admin_client.patch(f"{base}/{key_id}", {"max_budget": "99"}, format="json").status_code == 200
    assert admin_client.post(f"{base}/{key_id}/block").json()["status"] == "blocked"
    assert admin_client.post(f"{base}/{key_id}/unblock").json()["status"] == "active"
    assert admin_client.post(f"{base}/{key_id}/reset-spend").status_code == 200
    assert admin_client.post(f"{base}/{key_id}/revoke").json()["status"] == "revoked"
    assert admin_client.delete(f"{base}/{key_id}").status_code == 200
    key = ApiKey.objects.get(pk=key_id)
    assert key.deleted_at is not None
    audit = dict(AuditEvent.objects.filter(target_id=key_id).values_list("action", "actor__role"))
    for action in ("apikey.create", "apikey.update", "apikey.block", "apikey.unblock", "apikey.reset_spend",
                   "apikey.revoke", "apikey.delete"):
        assert audit[action] == "admin", action


@pytest.mark.django_db
def test_user_cannot_use_admin_routes(user_client, other_user):
    assert user_client.get(f"/api/v1/admin/users/{other_user.pk}/api-keys").status_code == 403


@pytest.mark.django_db
def test_list_is_paginated_with_one_spend_call_and_bounded_queries(litellm, subscribed, user_client):
    for i in range(12):
        key = ApiKey.objects.create(user=subscribed, name=f"k{i}", key_alias=f"k{i}_0000000{i % 10}{i}",
                                    alias_suffix="00000000", token_hash=f"{i:064d}", key_prefix="sk-ltm-abcd",
                                    last4="wxyz", status=KeyStatus.ACTIVE, max_budget=Decimal("1"))
        ApiKeyModel.objects.create(key=key, model_id="gpt-test")
        ApiKeyModel.objects.create(key=key, model_id="embed-test")
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get(f"{URL}?page_size=5")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 12 and len(body["results"]) == 5 and body["next"]
    assert len(queries) <= 6, [q["sql"] for q in queries]
    assert len(litellm.calls_to("/key/list")) == 1
    # A second view of the page is served from the spend cache (no LiteLLM call per key or per view).
    user_client.get(f"{URL}?page_size=5&page=2")
    assert len(litellm.calls_to("/key/list")) == 1
    assert not litellm.calls_to("/key/info")


@pytest.mark.django_db
def test_list_still_works_when_litellm_is_down(litellm, subscribed, user_client):
    services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="a")
    from django.core.cache import cache

    cache.clear()
    litellm.set_fault("down")
    response = user_client.get(URL)
    assert response.status_code == 200
    assert response.json()["results"][0]["spend_available"] is False


@pytest.mark.django_db
def test_playground_keys_are_never_listed(litellm, subscribed, user_client):
    services.apikey_create_playground(user=subscribed, model_id="gpt-test")
    assert user_client.get(URL).json()["count"] == 0


@pytest.mark.django_db
def test_apikey_settings_load_is_a_singleton(db):
    assert ApiKeySettings.load().pk == ApiKeySettings.load().pk == 1
    assert ApiKeySettings.load().max_active_keys_per_user == 10
