"""LiteLLM in /health/ready, the admin status endpoint and page, and how LiteLLM errors reach API clients."""
from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.health import litellm_health
from integrations.litellm.client import get_litellm_client
from integrations.litellm.errors import LiteLLMNotFound, LiteLLMRejected, LiteLLMUnavailable
from litemaas.api.exception_handler import exception_handler
from tests.fixtures.litellm import DOUBLE_MASTER_KEY

STATUS_URL = "/api/v1/admin/litellm/status"


def trip_breaker() -> None:
    breaker = get_litellm_client().breaker
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()


def test_health_is_ok_when_litellm_answers(litellm_double):
    health = litellm_health(use_cache=False)
    assert health["status"] == "ok" and health["breaker"] == "OK" and health["latency_ms"] is not None


def test_health_is_down_when_litellm_does_not_answer(litellm_double):
    litellm_double.set_fault("down")
    assert litellm_health(use_cache=False)["status"] == "down"


def test_health_is_degraded_without_calling_litellm_while_the_breaker_is_open(litellm_double):
    trip_breaker()
    calls = len(litellm_double.calls)
    health = litellm_health(use_cache=False)
    assert health["status"] == "degraded" and health["breaker"] == "BROKEN"
    assert len(litellm_double.calls) == calls


def test_health_without_configuration_is_down(settings):
    settings.LITELLM_API_URL = ""
    get_litellm_client.cache_clear()
    assert litellm_health() == {"status": "down", "configured": False, "latency_ms": None, "version": None,
                                "breaker": "OK", "error": "LITELLM_API_URL is not set"}


@pytest.mark.django_db
def test_ready_stays_200_and_degraded_while_the_breaker_is_open(litellm_double, client):
    trip_breaker()
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["checks"]["litellm"]["breaker"] == "BROKEN"


@pytest.mark.django_db
def test_status_endpoint_reports_version_latency_and_breaker(litellm_double, admin_client):
    response = admin_client.get(STATUS_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"] == "1.103.7-double" and body["url"] == litellm_double.url
    assert body["breaker_details"]["failure_threshold"] == 5
    assert DOUBLE_MASTER_KEY not in response.content.decode()


@pytest.mark.django_db
def test_status_endpoint_is_for_admins_and_readonly_admins_only(litellm_double, readonly_admin_client, user_client,
                                                                api_client):
    assert readonly_admin_client.get(STATUS_URL).status_code == 200
    assert user_client.get(STATUS_URL).status_code == 403
    assert api_client.get(STATUS_URL).status_code in (401, 403)


@pytest.mark.django_db
def test_status_page_renders_for_readonly_admins_and_refuses_users(litellm_double, client, readonly_admin, user):
    url = reverse("integrations:litellm-status")
    client.force_login(readonly_admin)
    response = client.get(url)
    assert response.status_code == 200
    assert b"1.103.7-double" in response.content
    assert DOUBLE_MASTER_KEY.encode() not in response.content
    client.force_login(user)
    assert client.get(url).status_code == 403


def test_unavailable_becomes_503_with_retry_after_and_a_human_message():
    response = exception_handler(LiteLLMUnavailable(retry_after=17), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.data["error"]["code"] == "litellm_unavailable"
    assert response.data["error"]["message"] == (
        "LiteLLM is unavailable right now; nothing was changed. Try again in a minute.")


def test_rejected_becomes_502_with_litellms_reason():
    error = LiteLLMNotFound(status=404, reason="Key not found.", endpoint="/key/update")
    response = exception_handler(error, {})
    assert response.status_code == 502
    assert response.data["error"]["code"] == "litellm_not_found"
    assert response.data["error"]["details"] == {"status": 404, "reason": "Key not found.", "endpoint": "/key/update"}
    assert isinstance(error, LiteLLMRejected)
