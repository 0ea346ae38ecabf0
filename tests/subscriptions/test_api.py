"""REST contract: paths, error shape, scoping (404), RBAC on every admin route, anonymous catalogue,
bulk actions with partial failures and bounded query counts on lists."""
from __future__ import annotations

import uuid

import pytest

from subscriptions.models import Subscription
from subscriptions.models import SubscriptionStatus as S
from tests.factories import UserFactory
from tests.subscriptions.conftest import deployment, make_model, make_subscription

pytestmark = pytest.mark.django_db

ADMIN_FIELDS = {"api_base", "backend_model_name", "litellm_model_id", "encrypted_api_key", "tpm", "rpm",
                "litellm_metadata", "has_api_key"}


def test_anonymous_catalogue_hides_admin_fields(api_client):
    make_model("RedHatAI/gpt-oss-120b", description="big")
    make_model("hidden", availability="unavailable")
    response = api_client.get("/api/v1/models")
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["id"] == "RedHatAI/gpt-oss-120b" and item["access_state"] == "available"
    assert not ADMIN_FIELDS & item.keys()
    assert item["input_cost_per_million"] == "1.000000" and item["currency"] == "USD"
    detail = api_client.get("/api/v1/models/RedHatAI/gpt-oss-120b")
    assert detail.status_code == 200 and not ADMIN_FIELDS & detail.json().keys()
    assert api_client.get("/api/v1/models/hidden").status_code == 404


def test_catalogue_filters_and_access_state(user_client, user):
    open_model = make_model("chat-a", provider="openai", supports_vision=True)
    make_model("embed-b", provider="acme", model_type="embeddings")
    restricted = make_model("secret-c", restricted=True)
    make_subscription(user, open_model, S.ACTIVE)
    assert [m["id"] for m in user_client.get("/api/v1/models?provider=acme").json()["results"]] == ["embed-b"]
    assert [m["id"] for m in user_client.get("/api/v1/models?capability=vision").json()["results"]] == ["chat-a"]
    assert [m["id"] for m in user_client.get("/api/v1/models?search=secret").json()["results"]] == ["secret-c"]
    states = {m["id"]: m["access_state"] for m in user_client.get("/api/v1/models").json()["results"]}
    assert states == {"chat-a": "subscribed", "embed-b": "available", "secret-c": "restricted"}
    make_subscription(user, restricted, S.DENIED, status_reason="no")
    assert user_client.get("/api/v1/models/secret-c").json()["access_state"] == "denied"


def test_catalogue_list_query_count_is_bounded(user_client, user, django_assert_max_num_queries):
    for i in range(30):
        make_subscription(user, make_model(f"m{i}"), S.ACTIVE)
    with django_assert_max_num_queries(6):
        response = user_client.get("/api/v1/models?page_size=50")
    assert response.json()["count"] == 30


def test_subscribe_cancel_and_review_flow(user_client, user, key_cascade):
    make_model("open")
    response = user_client.post("/api/v1/subscriptions", {"model_id": "open"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "active"
    sub_id = response.json()["id"]
    again = user_client.post("/api/v1/subscriptions", {"model_id": "open"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_subscribed"
    cancelled = user_client.post(f"/api/v1/subscriptions/{sub_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "inactive"
    assert user_client.get("/api/v1/subscriptions").json()["count"] == 0  # inactive hidden by default
    assert user_client.get("/api/v1/subscriptions?status=inactive").json()["count"] == 1
    bad = user_client.post(f"/api/v1/subscriptions/{sub_id}/request-review")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_transition"
    assert set(bad.json()["error"]) == {"code", "message", "details", "request_id"}


def test_user_sees_denial_reason(user_client, user):
    sub = make_subscription(user, make_model(restricted=True), S.DENIED, status_reason="Ask your manager")
    body = user_client.get(f"/api/v1/subscriptions/{sub.pk}").json()
    assert body["status_reason"] == "Ask your manager"
    response = user_client.post(f"/api/v1/subscriptions/{sub.pk}/request-review", {"reason": "pls"}, format="json")
    assert response.json()["status"] == "pending"


def test_owner_cannot_set_status_directly(user_client, user):
    sub = make_subscription(user, make_model(restricted=True), S.PENDING)
    assert user_client.patch(f"/api/v1/subscriptions/{sub.pk}", {"status": "active"}, format="json").status_code == 405
    assert user_client.post(f"/api/v1/admin/subscriptions/{sub.pk}/status", {"status": "active"},
                            format="json").status_code == 403
    sub.refresh_from_db()
    assert sub.status == S.PENDING


def test_someone_elses_subscription_is_404(user_client, other_user):
    sub = make_subscription(other_user, make_model(), S.ACTIVE)
    for method, path in (("get", ""), ("post", "/cancel"), ("post", "/request-review")):
        response = getattr(user_client, method)(f"/api/v1/subscriptions/{sub.pk}{path}")
        assert response.status_code == 404, path
    assert user_client.get(f"/api/v1/subscriptions/{uuid.uuid4()}").status_code == 404


def test_subscribe_validation_error_shape(user_client):
    response = user_client.post("/api/v1/subscriptions", {}, format="json")
    assert response.status_code == 400
    assert "model_id" in response.json()["error"]["details"]["fields"]
    assert user_client.post("/api/v1/subscriptions", {"model_id": "nope"}, format="json").status_code == 404


def test_anonymous_cannot_use_subscriptions(api_client):
    assert api_client.get("/api/v1/subscriptions").status_code in (401, 403)


def _admin_routes(sub_id, model_id="m"):
    return [
        ("get", "/api/v1/admin/models", None, True),
        ("get", f"/api/v1/admin/models/{model_id}", None, True),
        ("get", "/api/v1/admin/sync-runs", None, True),
        ("get", "/api/v1/admin/subscriptions", None, True),
        ("get", f"/api/v1/admin/subscriptions/{sub_id}", None, True),
        ("post", "/api/v1/admin/models", {"id": "x"}, False),
        ("patch", f"/api/v1/admin/models/{model_id}", {"description": "d"}, False),
        ("delete", f"/api/v1/admin/models/{model_id}", None, False),
        ("post", "/api/v1/admin/models/test", {}, False),
        ("post", "/api/v1/admin/models/sync", {}, False),
        ("post", "/api/v1/admin/subscriptions/approve", {"subscription_ids": [str(sub_id)]}, False),
        ("post", "/api/v1/admin/subscriptions/deny", {"subscription_ids": [str(sub_id)], "reason": "r"}, False),
        ("post", f"/api/v1/admin/subscriptions/{sub_id}/status", {"status": "active"}, False),
        ("delete", f"/api/v1/admin/subscriptions/{sub_id}", None, False),
    ]


@pytest.mark.parametrize("index", range(14))
def test_admin_routes_rbac(index, user, user_client, readonly_admin_client, api_client):
    sub = make_subscription(user, make_model("m", restricted=True), S.PENDING)
    method, path, body, is_read = _admin_routes(sub.pk)[index]
    call = lambda client: getattr(client, method)(path, body, format="json")  # noqa: E731
    assert call(api_client).status_code in (401, 403)
    assert call(user_client).status_code == 403
    readonly = call(readonly_admin_client)
    assert readonly.status_code == (200 if is_read else 403), readonly.content
    sub.refresh_from_db()
    assert sub.status == S.PENDING


def test_admin_model_crud_over_the_api(admin_client, litellm):
    body = {"id": "org/llama", "backend_model_name": "llama", "api_base": "http://provider.test/v1",
            "api_key": "sk-secret", "input_cost_per_million": "2", "output_cost_per_million": "4"}
    created = admin_client.post("/api/v1/admin/models", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["input_cost_per_token"] == "0.000002000000000"
    assert created.json()["has_api_key"] is True and "sk-secret" not in created.content.decode()
    assert admin_client.get("/api/v1/admin/models/org/llama").json()["api_base"] == "http://provider.test/v1"
    updated = admin_client.patch("/api/v1/admin/models/org/llama", {"rpm": 3}, format="json")
    assert updated.status_code == 200 and updated.json()["rpm"] == 3
    assert admin_client.delete("/api/v1/admin/models/org/llama").status_code == 204
    assert admin_client.get("/api/v1/admin/models/org/llama").status_code == 404


def test_admin_model_create_validation_and_litellm_errors(admin_client, litellm):
    bad = admin_client.post("/api/v1/admin/models", {"id": "has space"}, format="json")
    assert bad.status_code == 400 and {"id", "backend_model_name", "api_base"} <= bad.json()["error"]["details"]["fields"].keys()
    body = {"id": "m", "backend_model_name": "b", "api_base": "http://provider.test/v1"}
    litellm.fail["/model/new"] = (503, {"error": {"message": "down"}})
    down = admin_client.post("/api/v1/admin/models", body, format="json")
    assert down.status_code == 503 and down.headers["Retry-After"]


def test_admin_sync_endpoint_and_sync_runs(admin_client, readonly_admin_client, litellm):
    litellm.deployments = [deployment("a")]
    response = admin_client.post("/api/v1/admin/models/sync", {}, format="json")
    assert response.status_code == 200 and response.json()["created"] == 1
    runs = readonly_admin_client.get("/api/v1/admin/sync-runs").json()["results"]
    assert runs[0]["status"] == "succeeded" and runs[0]["kind"] == "models"


def test_bulk_approve_reports_partial_failures(admin_client, user, other_user):
    model = make_model("r", restricted=True)
    pending = make_subscription(user, model, S.PENDING)
    active = make_subscription(other_user, make_model("o"), S.ACTIVE)
    missing = uuid.uuid4()
    response = admin_client.post("/api/v1/admin/subscriptions/approve",
                                 {"subscription_ids": [str(pending.pk), str(active.pk), str(missing)],
                                  "reason": "ok"}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert body["successful"] == [str(pending.pk)]
    assert {f["id"]: f["code"] for f in body["failed"]} == {str(active.pk): "invalid_transition",
                                                           str(missing): "not_found"}
    pending.refresh_from_db()
    assert pending.status == S.ACTIVE and pending.status_reason == "ok"


def test_bulk_deny_requires_reason_and_strips_keys(admin_client, user, key_cascade):
    sub = make_subscription(user, make_model("r", restricted=True), S.PENDING)
    no_reason = admin_client.post("/api/v1/admin/subscriptions/deny", {"subscription_ids": [str(sub.pk)]},
                                  format="json")
    assert no_reason.status_code == 400
    denied = admin_client.post("/api/v1/admin/subscriptions/deny",
                               {"subscription_ids": [str(sub.pk)], "reason": "Not now"}, format="json")
    assert denied.json()["successful"] == [str(sub.pk)]
    assert key_cascade and key_cascade[0][1]["model_id"] == "r"


def test_admin_status_change_and_delete(admin_client, user, key_cascade):
    sub = make_subscription(user, make_model("m"), S.ACTIVE)
    same = admin_client.post(f"/api/v1/admin/subscriptions/{sub.pk}/status", {"status": "active"}, format="json")
    assert same.status_code == 400 and same.json()["error"]["code"] == "invalid_transition"
    moved = admin_client.post(f"/api/v1/admin/subscriptions/{sub.pk}/status", {"status": "pending"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "pending"
    detail = admin_client.get(f"/api/v1/admin/subscriptions/{sub.pk}").json()
    assert detail["history"][0]["new_status"] == "pending"
    assert admin_client.delete(f"/api/v1/admin/subscriptions/{sub.pk}", {"reason": "cleanup"},
                               format="json").status_code == 204
    assert not Subscription.objects.exists()


def test_admin_queue_filters_and_query_count(readonly_admin_client, django_assert_max_num_queries):
    model = make_model("r", restricted=True)
    other = make_model("o")
    for _ in range(20):
        make_subscription(UserFactory(), model, S.PENDING, status_changed_by=UserFactory())
    make_subscription(UserFactory(), other, S.ACTIVE)
    with django_assert_max_num_queries(6):
        response = readonly_admin_client.get("/api/v1/admin/subscriptions?status=pending&model=r")
    assert response.json()["count"] == 20
    assert readonly_admin_client.get("/api/v1/admin/subscriptions?status=active").json()["count"] == 1
    assert readonly_admin_client.get("/api/v1/admin/subscriptions?status=bogus").status_code == 400


def test_admin_models_list_query_count(readonly_admin_client, django_assert_max_num_queries):
    for i in range(25):
        make_model(f"m{i}")
    with django_assert_max_num_queries(5):
        assert readonly_admin_client.get("/api/v1/admin/models").json()["count"] == 25
