"""The key pages: list, create (secret shown once, no-store), detail with snippets, playground session."""
from __future__ import annotations

import pytest
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey, KeyStatus, KeyType


@pytest.fixture
def web(subscribed):
    client = Client()
    client.force_login(subscribed)
    return client


@pytest.mark.django_db
def test_create_page_shows_the_secret_once(litellm, web, settings):
    settings.LITELLM_PUBLIC_URL = "https://llm.example.com"
    assert web.get("/api-keys/new").status_code == 200
    response = web.post("/api-keys/new", {"name": "from the page", "model_ids": ["gpt-test", "embed-test"],
                                          "expiry": "30", "max_budget": "2", "budget_duration": "30d"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    html = response.content.decode()
    secret = next(part for part in html.split('"') if part.startswith("sk-ltm-") and len(part) > 30)
    assert key.token_hash in litellm.state.keys
    assert "https://llm.example.com/v1/embeddings" in html and "/v1/chat/completions" in html
    detail = web.get(f"/api-keys/{key.pk}/")
    assert detail.status_code == 200 and secret not in detail.content.decode()
    assert key.masked in web.get("/api-keys/").content.decode()


@pytest.mark.django_db
def test_create_page_shows_errors_and_litellm_outage(litellm, web):
    assert web.post("/api-keys/new", {"name": "", "model_ids": []}).status_code == 422
    litellm.set_fault("down")
    response = web.post("/api-keys/new", {"name": "x", "model_ids": ["gpt-test"], "expiry": "never"})
    assert response.status_code == 422 and "not created" in response.content.decode()


@pytest.mark.django_db
def test_list_page_says_spend_unavailable_when_litellm_is_down(litellm, web, subscribed):
    services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="a")
    from django.core.cache import cache

    cache.clear()
    litellm.set_fault("down")
    response = web.get("/api-keys/")
    assert response.status_code == 200 and "spend unavailable" in response.content.decode()


@pytest.mark.django_db
def test_detail_actions_and_edit(litellm, web, subscribed):
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="a",
                                 tpm_limit=10).key
    assert web.post(f"/api-keys/{key.pk}/block").status_code == 302
    key.refresh_from_db()
    assert key.status == KeyStatus.BLOCKED
    web.post(f"/api-keys/{key.pk}/unblock")
    edit = web.post(f"/api-keys/{key.pk}/edit", {"name": "b", "model_ids": ["gpt-test"], "expiry": "keep",
                                                 "tpm_limit": ""})
    assert edit.status_code == 302
    key.refresh_from_db()
    assert key.name == "b" and key.tpm_limit is None
    assert litellm.state.keys[key.token_hash]["tpm_limit"] is None
    rotated = web.post(f"/api-keys/{key.pk}/rotate", {"grace_hours": "1"})
    assert rotated.status_code == 200 and "no-store" in rotated["Cache-Control"]
    assert web.post(f"/api-keys/{key.pk}/delete").status_code == 302


@pytest.mark.django_db
def test_playground_mints_a_short_lived_key(litellm, web, subscribed, settings):
    settings.LITELLM_PUBLIC_URL = "https://llm.example.com"
    page = web.get("/playground/")
    assert page.status_code == 200 and "gpt-test" in page.content.decode()
    assert "embed-test" not in page.content.decode()  # chat models only
    response = web.post("/playground/session", {"model": "gpt-test"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    key = ApiKey.objects.get(key_type=KeyType.PLAYGROUND)
    remote = litellm.state.keys[key.token_hash]
    assert data["key"].startswith("sk-") and data["base_url"] == "https://llm.example.com"
    assert remote["models"] == ["gpt-test"] and remote["max_budget"] == 0.5
    assert remote["metadata"]["tags"] == ["playground"] and remote["expires"]
    assert data["input_cost_per_token"]
    assert web.post("/playground/session", {"model": "embed-test"}).status_code == 400
    for _ in range(4):
        web.post("/playground/session", {"model": "gpt-test"})
    live = ApiKey.objects.filter(key_type=KeyType.PLAYGROUND, status=KeyStatus.ACTIVE).count()
    assert live <= settings.PLAYGROUND_MAX_LIVE_KEYS


@pytest.mark.django_db
def test_settings_page_roles(web, readonly_admin, admin_user):
    assert web.get("/api-keys/settings").status_code == 404
    ro = Client()
    ro.force_login(readonly_admin)
    assert ro.get("/api-keys/settings").status_code == 200
    assert ro.post("/api-keys/settings", {"max_active_keys_per_user": 3}).status_code == 403
    admin = Client()
    admin.force_login(admin_user)
    assert admin.post("/api-keys/settings", {"max_active_keys_per_user": 3, "max_expiry_days": 60}).status_code == 302


@pytest.mark.django_db
def test_django_admin_lists_keys_and_revokes_through_the_service(litellm, subscribed, admin_user):
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="a").key
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/apikeys/apikey/").status_code == 200
    page = admin.get(f"/admin/apikeys/apikey/{key.pk}/change/")
    assert page.status_code == 200 and key.token_hash not in page.content.decode()
    response = admin.post("/admin/apikeys/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED
