"""Outbound webhooks (budget alerts): JSON POST, HMAC-SHA256 signature, explicit timeout, bounded retries.

The receiver verifies ``X-Litemaas-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact request body
under the shared secret; the body carries ``sent_at`` (so stale replays can be refused) and
``X-Litemaas-Delivery`` identifies a delivery across retries (so duplicates can be dropped).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Litemaas-Signature"
EVENT_HEADER: Final = "X-Litemaas-Event"
DELIVERY_HEADER: Final = "X-Litemaas-Delivery"
# Backoff between attempts inside one delivery (seconds); the alert job retries across runs.
BACKOFF_SECONDS: Final = (0.5, 2.0, 5.0)
# Statuses worth another attempt (the receiver may be restarting); any other 4xx is final.
_RETRYABLE: Final = frozenset({408, 425, 429, 500, 502, 503, 504})

_session = requests.Session()


@dataclass(frozen=True)
class WebhookResult:
    """Outcome of one delivery: ``ok``, the attempts made, the last HTTP status and a short error."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=`` + hex HMAC-SHA256 under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Constant-time check of a signature header (for receivers and tests)."""
    return hmac.compare_digest(sign(body, secret), header or "")


def url_is_allowed(url: str) -> bool:
    """http(s) only; private, loopback and link-local addresses only when
    ``BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE`` (an SSRF guard: users choose these URLs)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if getattr(settings, "BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE", False):
        return True
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return False
    return True


def webhook_post(*, url: str, secret: str, event: str, payload: dict[str, Any], delivery_id: str = "",
                 attempts: int | None = None, timeout: float | None = None,
                 sleep: Any = time.sleep) -> WebhookResult:
    """POST ``payload`` as JSON to ``url`` signed with ``secret``; retry timeouts, connection errors and
    408/425/429/5xx up to ``attempts`` times (``BUDGET_ALERT_WEBHOOK_ATTEMPTS``) with a short backoff.

    Never raises for HTTP or network failures (the result says what happened); redirects are not
    followed. Idempotent on the receiver's side only if it de-duplicates on ``X-Litemaas-Delivery``.
    """
    attempts = attempts or int(getattr(settings, "BUDGET_ALERT_WEBHOOK_ATTEMPTS", 3))
    timeout = timeout or float(getattr(settings, "BUDGET_ALERT_WEBHOOK_TIMEOUT_SECONDS", 5))
    if not url_is_allowed(url):
        return WebhookResult(ok=False, attempts=0, error="URL not allowed (scheme or private address).")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "litemaas-webhooks/1",
               EVENT_HEADER: event, DELIVERY_HEADER: delivery_id, SIGNATURE_HEADER: sign(body, secret or "")}
    status: int | None = None
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            response = _session.post(url, data=body, headers=headers, timeout=(min(timeout, 3.0), timeout),
                                     allow_redirects=False)
            status = response.status_code
            if 200 <= status < 300:
                return WebhookResult(ok=True, attempts=attempt, status=status)
            error = f"HTTP {status}"
            if status not in _RETRYABLE:
                return WebhookResult(ok=False, attempts=attempt, status=status, error=error)
        except requests.RequestException as exc:
            error = type(exc).__name__
        if attempt < attempts:
            sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
    logger.info("webhook delivery failed after %s attempts: %s", attempts, error)
    return WebhookResult(ok=False, attempts=attempts, status=status, error=error)
