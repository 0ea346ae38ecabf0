"""The one way to write an audit event (``audit_record``), used by every app's services."""
from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from litemaas.logging import current_request_id
from litemaas.models import AuditEvent

logger = logging.getLogger("litemaas.audit")

# Keys whose values must never reach the audit trail, whatever a caller passes by mistake.
_SECRET_MARKERS = ("secret", "password", "token", "key_value", "api_key", "authorization", "master_key")


def audit_record(
    *,
    action: str,
    actor: Any = None,
    target_type: str = "",
    target_id: Any = "",
    success: bool = True,
    error: str = "",
    metadata: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one audit event and return it.

    ``actor`` is a user or ``None`` (system). Metadata keys that look like secrets are replaced by
    ``"[redacted]"``. IP and user agent come from ``request`` when given. Not idempotent: every call adds a row.
    """
    clean = _redact(metadata or {})
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent.objects.create(
        actor=actor_obj,
        actor_label=getattr(actor_obj, "username", "") if actor_obj else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        success=success,
        error=error[:2000],
        metadata=clean,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request is not None else ""),
        request_id=current_request_id(),
    )
    logger.info("audit %s", action, extra={"audit_action": action, "target_type": target_type,
                                           "target_id": str(target_id or ""), "success": success})
    return event


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address as seen by Django (``REMOTE_ADDR``; the proxy header is trusted only via settings)."""
    return request.META.get("REMOTE_ADDR") or None


def _redact(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: ("[redacted]" if any(marker in str(key).lower() for marker in _SECRET_MARKERS) else _redact(value))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_redact(item) for item in data]
    return data
