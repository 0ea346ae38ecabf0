"""A circuit breaker for LiteLLM whose state lives in the Django cache, so every process agrees.

States (named as in Sentry's ``circuit_breaker2`` to avoid the open/closed confusion):

- ``OK``: calls go through. Each ``LiteLLMUnavailable`` increments a counter that lives for
  ``LITELLM_BREAKER_WINDOW_SECONDS`` from the first failure; reaching ``LITELLM_BREAKER_FAILURE_THRESHOLD``
  trips the breaker. 4xx answers never count: they prove LiteLLM is up.
- ``BROKEN``: every call raises ``LiteLLMUnavailable`` at once (no network), with ``Retry-After`` set to
  the rest of the cooldown, for ``LITELLM_BREAKER_COOLDOWN_SECONDS``.
- ``RECOVERY``: after the cooldown one trial call at a time is let through (a short cache lock stops a
  thundering herd); ``LITELLM_BREAKER_RECOVERY_SUCCESSES`` successes close it, one failure re-trips it.

If the cache itself fails, the breaker *fails open* (lets traffic through, guarded by the client's
timeouts) and stops touching the cache for a few seconds, so a Redis outage never blocks LiteLLM calls
and never adds a socket timeout to every call.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from django.core.cache import BaseCache, cache

from integrations.litellm import metrics
from integrations.litellm.errors import LiteLLMUnavailable

logger = logging.getLogger(__name__)

OK: Final = "OK"
BROKEN: Final = "BROKEN"
RECOVERY: Final = "RECOVERY"

# After a cache error, skip the cache (fail open) for this long in this process, so a hung Redis costs
# one socket timeout per process per period rather than one per call.
STORAGE_RETRY_SECONDS: Final = 10.0
# The stored state outlives any cooldown; it is only a safety net so abandoned keys disappear eventually.
STATE_TTL_SECONDS: Final = 24 * 3600

T = TypeVar("T")


class CircuitBreaker:
    """Cache-backed breaker shared by all processes that use the same cache and ``name``."""

    def __init__(self, *, name: str, failure_threshold: int, window_seconds: float, cooldown_seconds: float,
                 recovery_successes: int, trial_timeout_seconds: float, store: BaseCache | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.window_seconds = window_seconds
        self.cooldown_seconds = cooldown_seconds
        self.recovery_successes = recovery_successes
        self.trial_timeout_seconds = trial_timeout_seconds
        self._store = store
        self._clock = clock
        self._storage_down_until = 0.0
        prefix = f"litellm:breaker:{name}"
        self._state_key = f"{prefix}:state"
        self._failures_key = f"{prefix}:failures"
        self._successes_key = f"{prefix}:successes"
        self._trial_key = f"{prefix}:trial"

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r})"

    # -- public API ------------------------------------------------------------------------------------

    def state(self) -> str:
        """The effective state (a BROKEN breaker past its cooldown reads as RECOVERY). Never raises."""
        stored = self._safe(lambda c: c.get(self._state_key), None)
        state = self._effective(stored)
        metrics.BREAKER_STATE.set(metrics.STATE_VALUES[state])
        return state

    def before_call(self) -> None:
        """Raise ``LiteLLMUnavailable`` at once while BROKEN (or while another process runs the
        RECOVERY trial); otherwise return. Fails open on cache errors."""
        stored = self._safe(lambda c: c.get(self._state_key), None)
        state = self._effective(stored)
        metrics.BREAKER_STATE.set(metrics.STATE_VALUES[state])
        if state == OK:
            return
        if state == RECOVERY:
            # cache.add is atomic in Redis and LocMem: exactly one caller wins the trial slot.
            if self._safe(lambda c: c.add(self._trial_key, 1, timeout=self.trial_timeout_seconds), True):
                return
        metrics.BREAKER_REJECTIONS.inc()
        raise LiteLLMUnavailable(code="litellm_breaker_open", retry_after=self._retry_after(stored),
                                 details={"breaker": state})

    def record_failure(self) -> None:
        """Count one ``LiteLLMUnavailable``; trip when the threshold is reached (or at once in RECOVERY)."""
        state = self._effective(self._safe(lambda c: c.get(self._state_key), None))
        if state == RECOVERY:
            self._trip("trial call failed")
        elif state == OK:
            failures = self._incr(self._failures_key, self.window_seconds)
            if failures >= self.failure_threshold:
                self._trip(f"{failures} failures within {self.window_seconds:g}s")

    def record_success(self) -> None:
        """Note a call that reached LiteLLM; in RECOVERY enough of them close the breaker."""
        state = self._effective(self._safe(lambda c: c.get(self._state_key), None))
        if state != RECOVERY:
            return  # OK: failures expire with their window; nothing to write on the hot path.
        successes = self._incr(self._successes_key, STATE_TTL_SECONDS)
        self._safe(lambda c: c.delete(self._trial_key), None)
        if successes >= self.recovery_successes:
            self._safe(lambda c: c.delete_many([self._state_key, self._failures_key, self._successes_key]), None)
            self._transition(OK, f"{successes} successful trial calls")

    def snapshot(self) -> dict[str, Any]:
        """State, failure count and, when BROKEN, seconds until RECOVERY (for health and admin pages)."""
        stored = self._safe(lambda c: c.get(self._state_key), None)
        state = self._effective(stored)
        return {
            "state": state,
            "failures": int(self._safe(lambda c: c.get(self._failures_key), 0) or 0),
            "retry_in_seconds": self._retry_after(stored) if state == BROKEN else 0,
            "failure_threshold": self.failure_threshold,
            "window_seconds": self.window_seconds,
            "cooldown_seconds": self.cooldown_seconds,
            "storage_ok": self._clock() >= self._storage_down_until,
        }

    def reset(self) -> None:
        """Forget everything (tests and the admin "reset" action). Idempotent."""
        keys = [self._state_key, self._failures_key, self._successes_key, self._trial_key]
        self._safe(lambda c: c.delete_many(keys), None)
        self._storage_down_until = 0.0

    # -- internals -------------------------------------------------------------------------------------

    def _effective(self, stored: Any) -> str:
        if not isinstance(stored, dict):
            return OK
        if stored.get("state") == BROKEN:
            return BROKEN if self._clock() < float(stored.get("until", 0)) else RECOVERY
        return OK

    def _retry_after(self, stored: Any) -> int:
        if isinstance(stored, dict) and stored.get("state") == BROKEN:
            return max(1, math.ceil(float(stored.get("until", 0)) - self._clock()))
        return max(1, math.ceil(self.trial_timeout_seconds))

    def _trip(self, why: str) -> None:
        until = self._clock() + self.cooldown_seconds
        self._safe(lambda c: c.set(self._state_key, {"state": BROKEN, "until": until}, timeout=STATE_TTL_SECONDS),
                   None)
        self._safe(lambda c: c.delete_many([self._failures_key, self._successes_key, self._trial_key]), None)
        self._transition(BROKEN, why)

    def _transition(self, to: str, why: str) -> None:
        metrics.BREAKER_TRANSITIONS.labels(to=to).inc()
        metrics.BREAKER_STATE.set(metrics.STATE_VALUES[to])
        logger.warning("LiteLLM circuit breaker %s -> %s (%s)", self.name, to, why)

    def _incr(self, key: str, ttl: float) -> int:
        def op(c: BaseCache) -> int:
            c.add(key, 0, timeout=ttl)  # starts the window; no-op when the counter exists
            try:
                return int(c.incr(key) or 0)
            except ValueError:  # expired between add and incr
                c.add(key, 1, timeout=ttl)
                return 1

        return self._safe(op, 0)

    def _safe(self, op: Callable[[BaseCache], T], default: T) -> T:
        if self._clock() < self._storage_down_until:
            return default
        try:
            return op(self._store or cache)
        except Exception:  # noqa: BLE001 - any cache failure must fail open, never break the call
            self._storage_down_until = self._clock() + STORAGE_RETRY_SECONDS
            metrics.BREAKER_STORAGE_ERRORS.inc()
            logger.warning("LiteLLM breaker storage failed; failing open for %ss", STORAGE_RETRY_SECONDS,
                           exc_info=True)
            return default
