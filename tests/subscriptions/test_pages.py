"""Server-rendered pages: they render, act through services with CSRF-protected POSTs, show readable
errors, and enforce admin / read-only admin rights."""
from __future__ import annotations

import pytest
from django.test import Client

from subscriptions.models import Subscription
from subscriptions.models import SubscriptionStatus as S
from tests.subscriptions.conftest import deployment, make_model, make_subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_web(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def readonly_web(readonly_admin):
    client = Client()
    client.force_login(readonly_admin)
    return client


def test_catalogue_and_detail_render_without_admin_fields(web, user):
    make_model("RedHatAI/gpt-oss", description="Open weights", api_base="http://secret-backend.internal")
    page = web.get("/models/?q=gpt")
    assert page.status_code == 200 and b"RedHatAI/gpt-oss" in page.content
    assert b"secret-backend" not in page.content
    detail = web.get("/models/RedHatAI/gpt-oss")
    assert detail.status_code == 200 and b"Subscribe" in detail.content and b"secret-backend" not in detail.content
    assert Client().get("/models/").status_code == 200  # public catalogue


def test_subscribe_and_cancel_from_pages(web, user, key_cascade):
    make_model("m")
    response = web.post("/subscriptions/new", {"model_id": "m"}, follow=True)
    assert b"Subscribed to m" in response.content
    sub = Subscription.objects.get(user=user)
    assert web.post(f"/subscriptions/{sub.pk}/cancel", follow=True).status_code == 200
    sub.refresh_from_db()
    assert sub.status == S.INACTIVE


def test_page_shows_readable_error_and_denial_reason(web, user):
    sub = make_subscription(user, make_model("m", restricted=True), S.DENIED, status_reason="Budget frozen")
    listing = web.get("/subscriptions/")
    assert b"Budget frozen" in listing.content
    make_subscription(user, make_model("n"), S.ACTIVE)
    error = web.post("/subscriptions/new", {"model_id": "n"}, follow=True)
    assert b"already have a subscription" in error.content
    assert sub.status == S.DENIED


def test_admin_pages_rbac(web, readonly_web, admin_web, user):
    sub = make_subscription(user, make_model("m", restricted=True), S.PENDING)
    for path in ("/manage/models/", "/manage/subscriptions/", "/manage/models/edit/m"):
        assert web.get(path).status_code == 403
        assert readonly_web.get(path).status_code == 200
        assert admin_web.get(path).status_code == 200
    response = readonly_web.post("/manage/subscriptions/bulk", {"subscription_ids": [sub.pk], "action": "approve"})
    assert response.status_code == 403
    sub.refresh_from_db()
    assert sub.status == S.PENDING


def test_admin_queue_bulk_actions_show_results(admin_web, user, key_cascade):
    sub = make_subscription(user, make_model("m", restricted=True), S.PENDING)
    page = admin_web.get("/manage/subscriptions/")
    assert str(sub.pk).encode() in page.content
    missing_reason = admin_web.post("/manage/subscriptions/bulk", {"subscription_ids": [sub.pk], "action": "deny"},
                                    follow=True)
    assert b"reason is required" in missing_reason.content
    done = admin_web.post("/manage/subscriptions/bulk",
                          {"subscription_ids": [sub.pk], "action": "approve", "reason": "ok"}, follow=True)
    assert b"1 succeeded" in done.content
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE


def test_admin_models_page_create_sync_and_edit(admin_web, litellm):
    litellm.deployments = [deployment("synced")]
    assert b"Sync finished" in admin_web.post("/manage/models/sync", follow=True).content
    created = admin_web.post("/manage/models/", {"id": "new/model", "backend_model_name": "b",
                                                 "api_base": "http://provider.test/v1", "model_type": "chat",
                                                 "input_cost_per_million": "1.5", "restricted": "on"}, follow=True)
    assert b"created in LiteLLM" in created.content
    edit = admin_web.get("/manage/models/edit/new/model")
    assert edit.status_code == 200 and b'value="1.5"' in edit.content
    saved = admin_web.post("/manage/models/edit/new/model", {
        "provider": "openai", "backend_model_name": "b", "api_base": "http://provider.test/v1",
        "model_type": "chat", "input_cost_per_million": "1.5", "description": "Hello"}, follow=True)
    assert b"saved" in saved.content
    invalid = admin_web.post("/manage/models/", {"id": "x y"})
    assert invalid.status_code == 400


def test_model_test_fragment(admin_web):
    response = admin_web.post("/manage/models/test", {"api_base": "not a url", "backend_model_name": "x"})
    assert response.status_code == 200 and b"probe-result" in response.content
