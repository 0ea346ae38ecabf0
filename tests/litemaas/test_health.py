"""Liveness, readiness and the Prometheus endpoint, all reachable without signing in."""
from __future__ import annotations

import pytest

from litemaas import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def litellm_ok(monkeypatch):
    monkeypatch.setattr(health, "_check_litellm", lambda: {"status": "ok"})


def test_live_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_is_ok_when_database_cache_and_litellm_work(client, litellm_ok):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["cache"]["status"] == "ok"


def test_ready_is_degraded_not_down_when_litellm_is_unavailable(client, monkeypatch):
    monkeypatch.setattr(health, "_check_litellm", lambda: {"status": "down", "error": "breaker open"})
    response = client.get("/health/ready")
    assert response.status_code == 200 and response.json()["status"] == "degraded"


def test_ready_is_503_when_the_cache_fails(client, litellm_ok, monkeypatch):
    def broken_set(*args, **kwargs):
        raise ConnectionError("redis gone")

    monkeypatch.setattr(health.cache, "set", broken_set)
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["checks"]["cache"] == {"status": "down", "error": "ConnectionError"}


def test_ready_is_503_when_the_database_fails(client, litellm_ok, monkeypatch):
    def broken_probe():
        return {"status": "down", "error": "OperationalError"}

    monkeypatch.setattr(health, "_check_database", broken_probe)
    assert client.get("/health/ready").status_code == 503


def test_ready_reports_litellm_through_the_integration_probe(client):
    # Wired to integrations.health.litellm_health when present; "unknown" otherwise. Never raises.
    status = client.get("/health/ready").json()["checks"]["litellm"]["status"]
    assert status in {"ok", "degraded", "down", "unknown"}


def test_metrics_are_served_to_prometheus_without_login(client):
    client.get("/health/live")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_total_by_method" in response.content
