"""LiteLLM's part of ``/health/ready`` and of the admin status page.

``ok``: liveness answered and the breaker is OK. ``degraded``: the breaker is BROKEN (no call is made) or
in RECOVERY. ``down``: not configured, or liveness failed. The readiness view treats anything but ``ok`` as
*degraded* for the portal as a whole: users can still browse, read usage and manage their account.
The probe uses its own short timeout and no retries, and its result is cached for a few seconds, so a
readiness probe every few seconds never piles up on a hung LiteLLM.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Final

from django.conf import settings
from django.core.cache import cache

from integrations.litellm.breaker import BROKEN, OK
from integrations.litellm.client import get_litellm_client
from integrations.litellm.errors import LiteLLMError, LiteLLMNotConfigured

logger = logging.getLogger(__name__)

HEALTH_CACHE_SECONDS: Final = 5
VERSION_CACHE_SECONDS: Final = 3600


def litellm_health(*, use_cache: bool = True, include_version: bool = False,
                   include_breaker_details: bool = False) -> dict[str, Any]:
    """Return ``{"status", "latency_ms", "version", "breaker", "configured", ...}``; never raises.

    ``include_version`` asks LiteLLM (authenticated readiness) instead of using the last known version.
    """
    try:
        client = get_litellm_client()
    except LiteLLMNotConfigured:
        return {"status": "down", "configured": False, "latency_ms": None, "version": None, "breaker": OK,
                "error": "LITELLM_API_URL is not set"}
    cache_key = f"litellm:health:{client.base_url}"
    if use_cache:
        cached = _cache_get(cache_key)
        if isinstance(cached, dict):
            return cached
    breaker = client.breaker
    snapshot = breaker.snapshot() if breaker is not None else {"state": OK}
    result: dict[str, Any] = {"configured": True, "url": client.base_url,
                              "public_url": getattr(settings, "LITELLM_PUBLIC_URL", "") or client.base_url,
                              "breaker": snapshot["state"], "latency_ms": None, "version": None}
    if include_breaker_details:
        result["breaker_details"] = snapshot
    timeout = float(getattr(settings, "LITELLM_HEALTH_TIMEOUT_SECONDS", 2.0))
    version_key = f"litellm:version:{client.base_url}"
    if snapshot["state"] == BROKEN:
        # While BROKEN nobody calls LiteLLM; the probe would only add load and latency.
        result.update(status="degraded", version=_cache_get(version_key),
                      error=f"circuit breaker open; retry in {snapshot.get('retry_in_seconds', 0)}s")
    else:
        started = time.perf_counter()
        try:
            client.liveness(timeout=timeout)
            result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result["status"] = "ok" if snapshot["state"] == OK else "degraded"
            version = _cache_get(version_key)
            if include_version:
                version = client.readiness(timeout=timeout).version or version
                _cache_set(version_key, version, VERSION_CACHE_SECONDS)
            result["version"] = version
        except LiteLLMError as exc:
            result.update(status="down", error=exc.code,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1))
        except Exception as exc:  # noqa: BLE001 - a health probe reports, it never raises
            logger.warning("LiteLLM health probe failed: %s", type(exc).__name__)
            result.update(status="down", error=type(exc).__name__)
    _cache_set(cache_key, result, HEALTH_CACHE_SECONDS)
    return result


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - health must work with the cache down
        return None


def _cache_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001 - health must work with the cache down
        logger.debug("cache unavailable for %s", key)
