"""LiteLLM errors: one base, split by "try again later" (unavailable) versus "LiteLLM said no" (rejected).

The API exception handler renders every ``ApplicationError`` as ``{"error": {...}}`` with its status, so
these classes carry only a human message, a stable code and safe ``details``. Nothing here ever holds the
master key: reasons copied from LiteLLM go through :func:`scrub` first.
"""
from __future__ import annotations

import ast
import re
from typing import Any

from litemaas.exceptions import ApplicationError, ServiceUnavailableError, UpstreamRejectedError

# Anything that looks like a LiteLLM key (master or virtual) is masked before it reaches a message,
# a log line or a response; LiteLLM itself masks most of them, but not every error path does.
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")
_MAX_REASON_CHARS = 500


def scrub(text: str, *secrets: str) -> str:
    """Return ``text`` with the given secrets and anything shaped like an ``sk-`` key masked, truncated."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    text = _KEY_PATTERN.sub("sk-****", text)
    return text[:_MAX_REASON_CHARS]


def reason_from_body(body: Any) -> str:
    """Extract LiteLLM's own reason from an error body (``detail`` or ``error.message``), or "".

    LiteLLM 1.103.7 answers in three shapes: ``{"error": {"message": ...}}`` (often with the message
    being the ``repr`` of a dict such as ``"{'error': 'Team id = ... already exists.'}"``),
    ``{"detail": {"error": ...}}`` and FastAPI's ``{"detail": [{"msg": ...}]}`` for 422s.
    """
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    if isinstance(detail, str):
        return _unwrap(detail)
    if isinstance(detail, dict):
        inner = detail.get("error") or detail.get("message")
        return _unwrap(str(inner)) if inner else ""
    if isinstance(detail, list):
        msgs = [str(item.get("msg", "")) for item in detail if isinstance(item, dict)]
        return "; ".join(m for m in msgs if m)
    error = body.get("error")
    if isinstance(error, dict):
        return _unwrap(str(error.get("message") or ""))
    if isinstance(error, str):
        return _unwrap(error)
    return ""


def _unwrap(message: str) -> str:
    # LiteLLM wraps HTTPException details with str(dict); parse that literal (never eval) to get the text.
    stripped = message.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return stripped
        if isinstance(value, dict):
            inner = value.get("error") or value.get("message")
            if isinstance(inner, str):
                return inner
    return stripped


class LiteLLMError(ApplicationError):
    """Base of every LiteLLM failure."""

    status_code = 502
    default_code = "litellm_error"
    default_message = "LiteLLM could not complete the request."


class LiteLLMUnavailable(LiteLLMError, ServiceUnavailableError):
    """LiteLLM could not be reached or did not answer sensibly (timeout, refused/reset, 5xx, 429, HTML,
    malformed JSON, or the circuit breaker is open). Retryable; nothing was changed as far as we know."""

    status_code = 503
    default_code = "litellm_unavailable"
    default_message = "LiteLLM is unavailable right now; nothing was changed. Try again in a minute."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None,
                 retry_after: int = 30, retry_after_hint: float | None = None) -> None:
        super().__init__(message, code=code, details=details, retry_after=retry_after)
        # Seconds LiteLLM asked us to wait (its Retry-After header), used by the retry policy.
        self.retry_after_hint = retry_after_hint


class LiteLLMNotConfigured(LiteLLMUnavailable):
    """``LITELLM_API_URL`` is empty: there is no LiteLLM to talk to."""

    default_code = "litellm_not_configured"
    default_message = "LiteLLM is not configured for this portal; nothing was changed."


class LiteLLMRejected(LiteLLMError, UpstreamRejectedError):
    """LiteLLM answered with a 4xx (or a 500 that is really a licence refusal): retrying will not help.

    ``status`` is LiteLLM's HTTP status and ``reason`` its own message; both are also in ``details``.
    """

    status_code = 502
    default_code = "litellm_rejected"
    default_message = "LiteLLM rejected the request."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None,
                 status: int = 400, reason: str = "", endpoint: str = "") -> None:
        merged = {"status": status, "reason": reason, "endpoint": endpoint}
        if isinstance(details, dict):
            merged.update(details)
        super().__init__(message or (f"LiteLLM rejected the request: {reason}" if reason else None),
                         code=code, details=merged)
        self.status = status
        self.reason = reason
        self.endpoint = endpoint


class LiteLLMNotFound(LiteLLMRejected):
    """The object does not exist in LiteLLM (404, or a 400 whose message says so)."""

    default_code = "litellm_not_found"


class LiteLLMAlreadyExists(LiteLLMRejected):
    """The object already exists in LiteLLM (409, or a 400 whose message or type says so)."""

    default_code = "litellm_already_exists"


class LiteLLMEnterpriseRequired(LiteLLMRejected):
    """The feature needs a LiteLLM Enterprise licence (LiteLLM answers 400 or even 500 for this)."""

    default_code = "litellm_enterprise_required"
