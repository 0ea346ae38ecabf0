"""Liveness and readiness probes.

``/health/live`` answers as long as the process serves requests (no dependency is checked, so a database
outage never makes Kubernetes restart healthy pods). ``/health/ready`` checks the database, the cache and
LiteLLM; LiteLLM being down or its breaker open makes the portal *degraded*, not unready, because users
can still browse, read usage and manage their account.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database and cache work (LiteLLM may be degraded), 503 otherwise."""
    checks = {"database": _check_database(), "cache": _check_cache(), "litellm": _check_litellm()}
    failed = any(check["status"] == "down" for name, check in checks.items() if name != "litellm")
    degraded = checks["litellm"]["status"] != "ok"
    status = "down" if failed else ("degraded" if degraded else "ok")
    return JsonResponse({"status": status, "checks": checks}, status=503 if failed else 200)


def _timed(probe: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure instead of raising
        logger.warning("readiness probe failed: %s", type(exc).__name__)
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_database() -> dict[str, Any]:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(probe)


def _check_cache() -> dict[str, Any]:
    def probe() -> None:
        key = f"health:{uuid.uuid4().hex}"
        cache.set(key, "1", 10)
        if cache.get(key) != "1":
            raise RuntimeError("cache round trip failed")
        cache.delete(key)

    return _timed(probe)


def _check_litellm() -> dict[str, Any]:
    try:
        from integrations.health import litellm_health
    except ImportError:
        return {"status": "unknown"}
    return litellm_health()
