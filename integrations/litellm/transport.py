"""The HTTP core of the LiteLLM client: one attempt (timeouts, status → error mapping), retries, breaker.

Kept apart from ``client.py`` (the one-method-per-endpoint surface) so each file stays readable. Every
outcome of an attempt is one of: a parsed JSON body, ``LiteLLMUnavailable`` (retryable) or
``LiteLLMRejected`` (final). The master key is only ever put in a request header.
"""
from __future__ import annotations

import hashlib
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from pydantic import ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from integrations.litellm import metrics
from integrations.litellm.breaker import CircuitBreaker
from integrations.litellm.errors import (
    LiteLLMAlreadyExists,
    LiteLLMEnterpriseRequired,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
    reason_from_body,
    scrub,
)

logger = logging.getLogger("integrations.litellm")

# Backoff between attempts: 0.25 s, 0.5 s, 1 s … capped at 2 s, plus up to 0.25 s of jitter so that
# processes retrying after the same outage do not hit LiteLLM in lockstep.
BACKOFF_INITIAL_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 2.0
BACKOFF_JITTER_SECONDS = 0.25
# A retry attempt never gets less read time than this, even when the total budget is almost spent.
MIN_ATTEMPT_READ_SECONDS = 1.0
# Retry-After sent to *our* API clients when LiteLLM gave none.
DEFAULT_RETRY_AFTER_SECONDS = 30

# Fallback classification by message, for the 400s where LiteLLM gives no telling status (documented in
# docs/litellm-contract-notes.md): /team/member_add "already in team", /team/new "already exists",
# /model/delete "not found in db", /team/member_delete "User not found in team", /key/delete "No keys found".
_ALREADY_EXISTS_TYPES = {"team_member_already_in_team"}
_ALREADY_EXISTS_PHRASES = ("already exists", "already in team")
_NOT_FOUND_PHRASES = ("not found", "does not exist", "doesn't exist", "no keys found")
_ENTERPRISE_PHRASES = ("enterprise license", "litellm enterprise", "enterprise user")


class Transport:
    """Sends requests to one LiteLLM base URL with timeouts, bounded retries and a shared breaker."""

    def __init__(self, *, base_url: str, master_key: str, connect_timeout: float, read_timeout: float,
                 retry_attempts: int, retry_max_wait: float, retry_after_cap: float,
                 breaker: CircuitBreaker | None, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._master_key = master_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retry_attempts = max(1, retry_attempts)
        self.retry_max_wait = retry_max_wait
        self.retry_after_cap = retry_after_cap
        self.breaker = breaker
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "litemaas"})

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    # -- one logical call ------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, endpoint: str, params: Mapping[str, Any] | None = None,
             body: Any = None, retry: bool = True, api_key: str | None = None, allow_text: bool = False,
             confirm: Callable[[], Any] | None = None, use_breaker: bool = True,
             timeout: tuple[float, float] | None = None) -> Any:
        """Make one logical call and return the decoded JSON body (or text when ``allow_text``).

        Retries ``LiteLLMUnavailable`` only, when ``retry`` is set, within ``retry_attempts`` and the
        ``retry_max_wait`` budget. ``confirm`` (for calls made idempotent by a caller-chosen id) runs
        before each retry and returns the body of the object if the earlier attempt already created it.
        Raises ``LiteLLMUnavailable`` (incl. breaker open) or ``LiteLLMRejected``.
        """
        if use_breaker and self.breaker is not None:
            try:
                self.breaker.before_call()
            except LiteLLMUnavailable:
                metrics.CALLS.labels(endpoint=endpoint, outcome="breaker_open").inc()
                raise
        started = time.monotonic()
        retryer = Retrying(
            stop=stop_after_attempt(self.retry_attempts if retry else 1) | stop_before_delay(self.retry_max_wait),
            wait=self._wait,
            retry=retry_if_exception_type(LiteLLMUnavailable),
            reraise=True,
            before_sleep=lambda state: self._before_sleep(state, method, endpoint),
        )
        result: Any = None
        try:
            for attempt in retryer:
                with attempt:
                    found = confirm() if (confirm is not None and attempt.retry_state.attempt_number > 1) else None
                    if found is not None:
                        result = found
                    else:
                        result = self.send(method, path, endpoint=endpoint, params=params, body=body,
                                           api_key=api_key, allow_text=allow_text,
                                           timeout=timeout or self._attempt_timeout(started))
        except LiteLLMUnavailable as exc:
            metrics.CALLS.labels(endpoint=endpoint, outcome="unavailable").inc()
            if use_breaker and self.breaker is not None:
                self.breaker.record_failure()
            logger.warning("LiteLLM %s %s unavailable: %s %s", method, endpoint, exc.code,
                           exc.details.get("problem", ""))
            raise
        except LiteLLMRejected as exc:
            metrics.CALLS.labels(endpoint=endpoint, outcome="rejected").inc()
            if use_breaker and self.breaker is not None:
                self.breaker.record_success()  # a 4xx proves LiteLLM is up
            logger.info("LiteLLM %s %s rejected (%s): %s", method, endpoint, exc.status, exc.reason)
            raise
        metrics.CALLS.labels(endpoint=endpoint, outcome="ok").inc()
        if use_breaker and self.breaker is not None:
            self.breaker.record_success()
        return result

    def _attempt_timeout(self, started: float) -> tuple[float, float]:
        # The first attempt gets the configured timeouts; a retry only what is left of the total budget,
        # so a hung LiteLLM costs about one read timeout, not attempts × timeout.
        elapsed = time.monotonic() - started
        if elapsed < 0.001:
            return (self.connect_timeout, self.read_timeout)
        remaining = max(self.retry_max_wait - elapsed, MIN_ATTEMPT_READ_SECONDS)
        read = min(self.read_timeout, remaining)
        return (min(self.connect_timeout, read), read)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "retry_after_hint", None)
        if hint:
            return min(float(hint), self.retry_after_cap)
        # Same formula as tenacity's wait_exponential_jitter, written out because its first parameter was
        # renamed (initial → multiplier) across the tenacity versions pyproject allows.
        exponential = BACKOFF_INITIAL_SECONDS * 2 ** (state.attempt_number - 1)
        return min(exponential, BACKOFF_MAX_SECONDS) + random.uniform(0, BACKOFF_JITTER_SECONDS)

    def _before_sleep(self, state: RetryCallState, method: str, endpoint: str) -> None:
        metrics.RETRIES.labels(endpoint=endpoint).inc()
        exc = state.outcome.exception() if state.outcome else None
        logger.warning("LiteLLM %s %s attempt %d failed (%s); retrying in %.2fs", method, endpoint,
                       state.attempt_number, getattr(exc, "code", type(exc).__name__),
                       state.next_action.sleep if state.next_action else 0.0)

    # -- one HTTP attempt ------------------------------------------------------------------------------

    def send(self, method: str, path: str, *, endpoint: str, params: Mapping[str, Any] | None = None,
             body: Any = None, api_key: str | None = None, allow_text: bool = False,
             timeout: tuple[float, float] | None = None) -> Any:
        """One HTTP attempt, no retry and no breaker; returns the decoded body or raises a LiteLLMError."""
        headers = {"x-litellm-api-key": api_key or self._master_key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            # Redirects are refused: following one would forward the master key header to another host.
            response = self.session.request(method, self.base_url + path, params=params, json=body,
                                            headers=headers, allow_redirects=False,
                                            timeout=timeout or (self.connect_timeout, self.read_timeout))
        except requests.Timeout as exc:
            raise self._unavailable(endpoint, "timeout") from exc
        except requests.RequestException as exc:
            raise self._unavailable(endpoint, "connection_error", type(exc).__name__) from exc
        finally:
            metrics.ATTEMPT_LATENCY.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        return self._decode(response, endpoint, allow_text)

    def _decode(self, response: requests.Response, endpoint: str, allow_text: bool) -> Any:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "").lower()
        is_html = "html" in content_type or response.text.lstrip()[:1] == "<"
        try:
            body: Any = None if is_html else response.json()
            is_json = not is_html
        except ValueError:
            body, is_json = None, False
        if status >= 500 or status == 429:
            reason = self._scrub(reason_from_body(body)) if is_json else ""
            if is_json and any(p in reason.lower() for p in _ENTERPRISE_PHRASES):
                # LiteLLM answers 500 when a feature needs its licence; retrying cannot help.
                raise LiteLLMEnterpriseRequired(status=status, reason=reason, endpoint=endpoint)
            hint = _retry_after_seconds(response.headers.get("Retry-After"))
            raise self._unavailable(endpoint, f"http_{status}", reason, retry_after_hint=hint, status=status)
        if 300 <= status < 400:
            raise self._unavailable(endpoint, "redirect", status=status)
        if not is_json:
            if allow_text and status == 200 and not is_html:
                return response.text
            raise self._unavailable(endpoint, "html_body" if is_html else "malformed_body", status=status)
        if status >= 400:
            raise self._rejected(status, body, endpoint)
        return body

    def _rejected(self, status: int, body: Any, endpoint: str) -> LiteLLMRejected:
        reason = self._scrub(reason_from_body(body))
        error = body.get("error") if isinstance(body, dict) else None
        err_type = error.get("type") if isinstance(error, dict) else None
        low = reason.lower()
        cls: type[LiteLLMRejected] = LiteLLMRejected
        if any(p in low for p in _ENTERPRISE_PHRASES):
            cls = LiteLLMEnterpriseRequired
        elif status == 404:
            cls = LiteLLMNotFound
        elif status == 409:
            cls = LiteLLMAlreadyExists
        elif status == 400 and (err_type in _ALREADY_EXISTS_TYPES or any(p in low for p in _ALREADY_EXISTS_PHRASES)):
            cls = LiteLLMAlreadyExists
        elif status == 400 and any(p in low for p in _NOT_FOUND_PHRASES):
            cls = LiteLLMNotFound
        return cls(status=status, reason=reason, endpoint=endpoint)

    def _unavailable(self, endpoint: str, problem: str, reason: str = "", *, status: int | None = None,
                     retry_after_hint: float | None = None) -> LiteLLMUnavailable:
        details: dict[str, Any] = {"endpoint": endpoint, "problem": problem}
        if status is not None:
            details["status"] = status
        if reason:
            details["reason"] = reason
        retry_after = math.ceil(retry_after_hint) if retry_after_hint else DEFAULT_RETRY_AFTER_SECONDS
        return LiteLLMUnavailable(details=details, retry_after=max(1, retry_after),
                                  retry_after_hint=retry_after_hint)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._master_key)


def _retry_after_seconds(value: str | None) -> float | None:
    # Only the delta-seconds form; LiteLLM never sends the HTTP-date form.
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def hash_key(secret: str) -> str:
    """SHA-256 hex of a virtual key: LiteLLM's ``token`` and the portal's stored identifier."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_of(key_or_token: str) -> str:
    """The hash to address a key by (a secret ``sk-…`` is hashed, a hash is passed through)."""
    return hash_key(key_or_token) if key_or_token.startswith("sk-") else key_or_token


def parse_reply(endpoint: str, build: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a typed constructor on a reply; a shape we cannot parse becomes ``litellm_bad_response``."""
    # A 200 whose body does not have the shape we rely on is as useless as a 502, and retrying it will
    # not help either: report it as unavailable with a distinct code.
    try:
        return build(*args, **kwargs)
    except (ValidationError, TypeError, KeyError, AttributeError, ValueError) as exc:
        raise LiteLLMUnavailable(code="litellm_bad_response",
                                 details={"endpoint": endpoint, "problem": type(exc).__name__}) from exc
