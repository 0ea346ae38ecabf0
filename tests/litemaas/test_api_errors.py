"""Every failure an API client can meet has the same JSON shape, a request id and no stack trace."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.litemaas.assertions import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.litemaas.urls")]


def test_unknown_api_url_is_json_404(user_client, settings):
    settings.DEBUG = False
    assert_error(user_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_api_url_is_json_404_for_anonymous_callers_too(api_client):
    assert_error(api_client.get("/api/v2/anything"), 404, "not_found")


def test_wrong_method_is_405(user_client):
    error = assert_error(user_client.put("/api/v1/me", {}), 405, "method_not_allowed")
    assert "PUT" in error["message"]


def test_anonymous_call_is_401_with_www_authenticate(api_client):
    response = api_client.get("/api/v1/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_forbidden_is_403(user_client):
    assert_error(user_client.get("/api/v1/admin/audit-events"), 403, "permission_denied")


def test_serializer_validation_is_400_with_field_details(user_client):
    error = assert_error(user_client.post("/api/v1/tokens", {"scope": "everything"}), 400, "validation_error")
    assert set(error["details"]["fields"]) == {"name", "scope"}
    assert all(isinstance(messages, list) for messages in error["details"]["fields"].values())


def test_malformed_json_is_400(user_client):
    response = user_client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_unsupported_media_type_is_415(user_client):
    assert_error(user_client.post("/api/v1/tokens", data="name=x", content_type="text/plain"), 415)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("validation", 400, "validation_error"),
        ("transition", 400, "invalid_transition"),
        ("not-found", 404, "not_found"),
        ("denied", 403, "permission_denied"),
        ("conflict", 409, "conflict"),
        ("upstream", 502, "upstream_rejected"),
        ("unavailable", 503, "service_unavailable"),
    ],
)
def test_application_errors_keep_their_status_and_code(user_client, kind, status, code):
    assert_error(user_client.get(f"/api/v1/test/app-error/{kind}"), status, code)


def test_application_error_details_are_passed_through(user_client):
    error = assert_error(user_client.get("/api/v1/test/app-error/validation"), 400)
    assert error["details"] == {"fields": {"name": ["Too short."]}}


def test_service_unavailable_sends_retry_after(user_client):
    response = user_client.get("/api/v1/test/app-error/unavailable")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "17"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("http404", 404, "not_found"), ("permission", 403, "permission_denied"), ("validation", 400, "validation_error")],
)
def test_django_exceptions_in_api_views_use_the_same_shape(user_client, kind, status, code):
    error = assert_error(user_client.get(f"/api/v1/test/django-error/{kind}"), status, code)
    if kind == "validation":
        assert error["details"]["fields"] == {"when": ["Not a date."]}


def test_throttled_request_is_429_with_retry_after(user_client):
    assert user_client.get("/api/v1/test/throttled").status_code == 200
    response = user_client.get("/api/v1/test/throttled")
    error = assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert error["details"]["retry_after_seconds"] == int(response["Retry-After"])


def test_unhandled_exception_in_api_view_is_generic_500_without_traceback(user_client, caplog):
    with caplog.at_level("ERROR"):
        response = user_client.get("/api/v1/test/crash")
    error = assert_error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    # The details go to the log instead, with the traceback.
    assert any(record.exc_info for record in caplog.records if record.name == "litemaas.api.exception_handler")
    assert error["request_id"]


def test_unhandled_exception_outside_drf_uses_the_json_500_handler(user, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/api/v1/test/plain-crash")
    assert_error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()


def test_error_body_echoes_the_callers_request_id():
    client = APIClient(headers={"X-Request-ID": "req-abc.123"})
    response = client.get("/api/v1/me")
    error = assert_error(response, 401)
    assert error["request_id"] == "req-abc.123"
