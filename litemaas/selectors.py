"""Read operations of the project app: the audit trail, scoped to the acting user."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from litemaas.models import AuditEvent


def audit_event_list(
    *,
    user: Any,
    actor_id: UUID | None = None,
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    success: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events visible to ``user``, newest first, narrowed by the given filters.

    Admins and read-only admins see every event; anyone else sees only the events they caused. ``since``
    is inclusive and ``until`` exclusive, so consecutive windows never count an event twice.
    """
    events = AuditEvent.objects.all()
    if not getattr(user, "is_readonly_admin", False):
        events = events.filter(actor=user) if getattr(user, "is_authenticated", False) else events.none()
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if success is not None:
        events = events.filter(success=success)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-id")
