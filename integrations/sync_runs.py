"""Start and finish ``SyncRun`` rows (the only writers of that model), plus the admin listing selector."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from integrations.models import SyncRun


def sync_run_start(*, kind: str, actor: Any = None, dry_run: bool = False) -> SyncRun:
    """Record that a sync of ``kind`` has started and return its row (status ``running``).

    Runs outside any caller transaction on purpose (autocommit), so a crash later still leaves a trace.
    Raises ``ValueError`` for an unknown kind. Not idempotent: every call adds a row.
    """
    if kind not in SyncRun.Kind.values:
        raise ValueError(f"unknown sync kind {kind!r}")
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return SyncRun.objects.create(kind=kind, actor=actor_obj, dry_run=dry_run)


def sync_run_finish(*, run: SyncRun, status: str, counts: dict[str, Any] | None = None, error: str = "") -> SyncRun:
    """Close ``run`` with its final ``status`` (succeeded / failed / aborted), counts and error text.

    Raises ``ValueError`` for ``running`` or an unknown status. Idempotent for the same arguments.
    """
    if status not in SyncRun.Status.values or status == SyncRun.Status.RUNNING:
        raise ValueError(f"invalid final status {status!r}")
    run.status = status
    run.counts = counts or {}
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "error", "finished_at"])
    return run


def sync_run_list(*, kind: str | None = None) -> QuerySet[SyncRun]:
    """Every sync run, newest first, optionally of one kind (admin read; callers check the role)."""
    queryset = SyncRun.objects.select_related("actor")
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset
