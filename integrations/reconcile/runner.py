"""One reconcile run: list LiteLLM, snapshot the portal, classify drift, apply the strategies, record it all.

Level-triggered like a Kubernetes controller: whatever caused the drift, a run converges it, and running it
twice does nothing twice (objects with a change already in the outbox are "pending sync", not drift; every
action is idempotent). Single-flight through ``litemaas.locks``. Safety rails: dry-run (setting or per
run), and an abort when more than ``SYNC_MAX_DESTRUCTIVE_SHARE`` of the keys would be blocked or marked
broken (a wrong URL or an empty LiteLLM database must not wipe anything).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from integrations.litellm.errors import LiteLLMError
from integrations.models import DriftItem, Outbox, SyncRun
from integrations.reconcile import classify as c
from integrations.reconcile import strategies as s
from integrations.reconcile.actions import RepairError, execute
from integrations.sync_runs import sync_run_finish, sync_run_start
from litemaas.audit import audit_record
from litemaas.locks import single_flight

logger = logging.getLogger(__name__)

LOCK_KEY: Final = "integrations:reconcile:lock"


def reconcile_is_running() -> bool:
    """True while a run holds the single-flight lock."""
    try:
        return bool(cache.get(LOCK_KEY))
    except Exception:  # noqa: BLE001 - no cache: assume not
        return False


def reconcile_run(*, actor: Any = None, dry_run: bool | None = None) -> SyncRun | None:
    """Run the reconciler once; return its ``SyncRun`` or None when another run holds the lock.

    ``dry_run`` None means the ``SYNC_DRY_RUN`` setting (a True setting cannot be overridden by a run).
    Never raises for LiteLLM errors: the run is recorded ``failed`` with the error. Idempotent.
    """
    dry = bool(settings.SYNC_DRY_RUN or dry_run)
    with single_flight(LOCK_KEY, timeout=settings.SYNC_RECONCILE_LOCK_SECONDS) as acquired:
        if not acquired:
            logger.info("reconcile skipped: another run is in progress")
            return None
        return _run(actor=actor, dry_run=dry)


def _run(*, actor: Any, dry_run: bool) -> SyncRun:
    from integrations.litellm.client import get_litellm_client

    run = sync_run_start(kind=SyncRun.Kind.RECONCILE, actor=actor, dry_run=dry_run)
    clock = time.monotonic()
    started = timezone.now()
    counts: dict[str, Any] = {"dry_run": dry_run, "strategies": {k: s.strategy_for(k) for k in ("apikey", "user",
                                                                                                 "team")}}
    try:
        client = get_litellm_client()
        remote_keys = client.key_list()
        remote_users = client.user_list()
        remote_teams = client.team_list()
        counts["litellm_models"] = len(client.model_list())
    except LiteLLMError as exc:
        counts["duration_seconds"] = round(time.monotonic() - clock, 3)
        return sync_run_finish(run=run, status=SyncRun.Status.FAILED, counts=counts,
                               error=f"LiteLLM could not be listed: {exc.code}: {exc.message}")
    now = timezone.now()
    key_counts = c.KeyCounts()
    portal_keys = _portal_keys()
    drifts = list(c.classify_keys(
        portal_keys=portal_keys, remote_keys=remote_keys, pending=_open_ids("apikey"), now=now,
        started=started, grace=timedelta(seconds=settings.SYNC_RECONCILE_GRACE_SECONDS),
        orphan_grace=timedelta(seconds=settings.SYNC_ORPHAN_GRACE_SECONDS),
        provisioning_grace=timedelta(seconds=settings.APIKEY_PROVISIONING_GRACE_SECONDS), counts=key_counts))
    drifts += list(c.classify_principals(object_type="user", portal_rows=_portal_users(), remote_rows=remote_users,
                                         pending=_open_ids("user")))
    drifts += list(c.classify_principals(object_type="team", portal_rows=_portal_teams(), remote_rows=remote_teams,
                                         pending=_open_ids("team")))
    counts["keys"] = vars(key_counts)
    counts["users"] = {"litellm": len(remote_users)}
    counts["teams"] = {"litellm": len(remote_teams)}
    counts["drift"] = dict(Counter(d.drift_class for d in drifts))
    counts["drift_total"] = len(drifts)

    planned = [(d, s.action_for(d)) for d in drifts]
    destructive = sum(1 for d in drifts if d.drift_class in c.DESTRUCTIVE)
    live = (sum(1 for k in portal_keys if k.status in ("active", "blocked"))
            + sum(1 for d in drifts if d.drift_class == c.UNKNOWN_PORTAL_KEY))
    counts["destructive"] = destructive
    aborted = ""
    if destructive and destructive > settings.SYNC_MAX_DESTRUCTIVE_SHARE * max(live, 1):
        aborted = (f"{destructive} of {live} keys would be blocked or marked broken (more than "
                   f"{settings.SYNC_MAX_DESTRUCTIVE_SHARE:.0%}): nothing was changed. Check LITELLM_API_URL and "
                   "the LiteLLM database, then repair items one by one or raise SYNC_MAX_DESTRUCTIVE_SHARE.")

    actions: Counter[str] = Counter()
    errors: list[str] = []
    items: list[DriftItem] = []
    for drift, action in planned:
        item = DriftItem(run=run, object_type=drift.object_type, object_id=drift.object_id[:64],
                         drift_class=drift.drift_class, severity=drift.severity, action=action,
                         details=drift.details, detected_at=now)
        if dry_run or aborted or action == s.REPORT:
            items.append(item)
            continue
        try:
            item.status = execute(action=action, drift=drift, actor=actor)
            item.resolved_at = timezone.now() if item.status == DriftItem.Status.REPAIRED else None
            actions[action] += 1
        except (RepairError, LiteLLMError, Exception) as exc:  # noqa: BLE001 - one item must not stop the run
            item.status, item.error = DriftItem.Status.FAILED, str(exc)[:2000]
            errors.append(f"{drift.drift_class} {drift.object_id}: {exc}")
            logger.warning("reconcile action %s on %s failed: %s", action, drift.object_id, exc)
        items.append(item)
    with transaction.atomic():
        DriftItem.objects.filter(status__in=(DriftItem.Status.OPEN, DriftItem.Status.QUEUED,
                                             DriftItem.Status.FAILED)).exclude(run=run).update(
            status=DriftItem.Status.SUPERSEDED, resolved_at=now)
        DriftItem.objects.bulk_create(items, batch_size=1000)
    counts["actions"] = dict(actions)
    counts["errors"] = len(errors)
    counts["duration_seconds"] = round(time.monotonic() - clock, 3)
    status = SyncRun.Status.ABORTED if aborted else SyncRun.Status.SUCCEEDED
    run = sync_run_finish(run=run, status=status, counts=counts, error=aborted or "\n".join(errors[:50]))
    audit_record(action="sync.reconcile", actor=actor, target_type="syncrun", target_id=run.pk,
                 success=not aborted, error=aborted[:500],
                 metadata={"dry_run": dry_run, "drift": counts["drift"], "actions": counts["actions"]})
    _alert_admins(run, drifts, aborted=aborted, dry_run=dry_run)
    return run


def _open_ids(object_type: str) -> set[str]:
    return set(Outbox.objects.filter(object_type=object_type, status__in=Outbox.OPEN_STATUSES)
               .values_list("object_id", flat=True).distinct())


def _portal_keys() -> list[c.PortalKey]:
    """Every key the reconciler judges, in two bulk queries (keys, then their model links)."""
    from apikeys.models import ApiKey, ApiKeyModel

    statuses = ("provisioning", "active", "blocked", "revoking", "revoked", "expired", "failed")
    links: dict[str, list[tuple[str, int | None, int | None]]] = {}
    for key_id, model_id, tpm, rpm in ApiKeyModel.objects.filter(key__status__in=statuses).values_list(
            "key_id", "model_id", "tpm_limit", "rpm_limit").iterator(chunk_size=5000):
        links.setdefault(str(key_id), []).append((model_id, tpm, rpm))
    fields = ("pk", "token_hash", "status", "user_id", "created_at", "expires_at", "max_budget", "soft_budget",
              "budget_duration", "tpm_limit", "rpm_limit", "max_parallel_requests", "remote_sync_pending")
    result = []
    # Revoked/failed keys older than 90 days are settled history: LiteLLM deleted them long ago.
    cutoff = timezone.now() - timedelta(days=90)
    queryset = ApiKey.objects.filter(status__in=statuses).exclude(status__in=("revoked", "failed"),
                                                                   updated_at__lt=cutoff)
    for row in queryset.values_list(*fields).iterator(chunk_size=5000):
        key_id = str(row[0])
        own = links.get(key_id, [])
        result.append(c.PortalKey(
            id=key_id, token_hash=row[1], status=row[2], user_id=str(row[3]), created_at=row[4], expires_at=row[5],
            max_budget=row[6], soft_budget=row[7], budget_duration=row[8], tpm_limit=row[9], rpm_limit=row[10],
            max_parallel_requests=row[11], remote_sync_pending=row[12], models=tuple(m for m, _, _ in own),
            model_tpm=tuple((m, t) for m, t, _ in own if t is not None),
            model_rpm=tuple((m, r) for m, _, r in own if r is not None)))
    return result


def _portal_users() -> list[c.PortalLimits]:
    from accounts.models import User

    rows = User.objects.filter(is_active=True, litellm_sync_state="synced").values_list(
        "pk", "max_budget", "budget_duration", "tpm_limit", "rpm_limit")
    return [c.PortalLimits(id=str(pk), max_budget=mb, budget_duration=bd or "", tpm_limit=tpm, rpm_limit=rpm)
            for pk, mb, bd, tpm, rpm in rows.iterator(chunk_size=5000)]


def _portal_teams() -> list[c.PortalLimits]:
    try:
        from teams.models import Team
    except ImportError:  # pragma: no cover - the teams app is always installed
        return []
    rows = Team.objects.filter(status="active").values_list("pk", "name", "max_budget", "budget_duration",
                                                            "tpm_limit", "rpm_limit", "allowed_models")
    return [c.PortalLimits(id=str(pk), alias=name, max_budget=mb, budget_duration=bd or "", tpm_limit=tpm,
                           rpm_limit=rpm, models=tuple(models or ()))
            for pk, name, mb, bd, tpm, rpm, models in rows]


def _alert_admins(run: SyncRun, drifts: list[c.Drift], *, aborted: str, dry_run: bool) -> None:
    from accounts.models import User
    from accounts.notifications import notification_create

    security = [d for d in drifts if d.severity == "security"]
    if not aborted and not security:
        return
    if aborted:
        title, level = "LiteLLM reconcile aborted: too many destructive changes", "danger"
        body = aborted
    else:
        title, level = f"LiteLLM security drift: {len(security)} key(s)", "danger"
        kinds = Counter(d.drift_class for d in security)
        body = ("The reconciler found keys usable in LiteLLM that the portal revoked, or portal-managed keys it "
                f"does not know: {dict(kinds)}. " + ("Dry run: nothing was changed." if dry_run else
                                                     "They were blocked and deleted / blocked."))
    from django.urls import NoReverseMatch, reverse

    try:
        link = reverse("integrations:admin-sync")
    except NoReverseMatch:
        link = ""
    for admin in User.objects.filter(role="admin", is_active=True):
        notification_create(user=admin, kind="sync.alert", title=title, body=body, level=level, link=link)


# ---------------------------------------------------------------------------------------------------------
# One-click repair
# ---------------------------------------------------------------------------------------------------------
def drift_repair(*, item_id: int, actor: Any, request: Any = None) -> DriftItem:
    """Admin: apply the repair of one open drift item now (the strategy's action; ``portal_wins`` for
    report-only items). Bypasses dry-run and the destructive cap on purpose: it is one reviewed item.

    Raises ``NotFoundError``, ``InvalidTransition`` (item not open/failed), ``ConflictError`` (the action
    failed; its error is on the item). Audited. Idempotent (a repaired item is returned unchanged)."""
    from litemaas.exceptions import ConflictError, InvalidTransition, NotFoundError

    item = DriftItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NotFoundError("No such drift item.")
    if item.status in (DriftItem.Status.REPAIRED, DriftItem.Status.QUEUED):
        return item
    if item.status not in (DriftItem.Status.OPEN, DriftItem.Status.FAILED):
        raise InvalidTransition("This drift item is no longer current; run the reconciler again.")
    drift = c.Drift(item.object_type, item.object_id, item.drift_class, dict(item.details))
    action = s.repair_action(drift)
    try:
        item.status = execute(action=action, drift=drift, actor=actor)
    except Exception as exc:  # noqa: BLE001 - shown on the report
        item.status, item.error = DriftItem.Status.FAILED, str(exc)[:2000]
        item.save(update_fields=["status", "error"])
        audit_record(action="sync.repair", actor=actor, target_type=item.object_type, target_id=item.object_id,
                     success=False, error=item.error[:500], metadata={"drift_item": item.pk, "action": action},
                     request=request)
        raise ConflictError(f"The repair failed: {item.error[:300]}") from None
    item.action, item.error = action, ""
    item.resolved_at = timezone.now() if item.status == DriftItem.Status.REPAIRED else None
    item.save(update_fields=["status", "action", "error", "resolved_at"])
    audit_record(action="sync.repair", actor=actor, target_type=item.object_type, target_id=item.object_id,
                 metadata={"drift_item": item.pk, "action": action}, request=request)
    return item


def drift_current() -> Any:
    """The current drift report: open, queued and failed items of the latest runs (admin read)."""
    return DriftItem.objects.filter(status__in=(DriftItem.Status.OPEN, DriftItem.Status.QUEUED,
                                                DriftItem.Status.FAILED)).select_related("run")


def reconcile_enqueue(*, actor: Any, dry_run: bool) -> None:
    """Admin "run now": queue a reconcile run after commit. Raises ``ConflictError`` while a run is in
    progress (single-flight). Not idempotent (each call queues a run; an overlapping one exits at once)."""
    from litemaas.exceptions import ConflictError

    if reconcile_is_running():
        raise ConflictError("A reconcile run is already in progress; wait for it to finish.")
    audit_record(action="sync.reconcile_requested", actor=actor, target_type="syncrun", target_id="",
                 metadata={"dry_run": dry_run})
    actor_id = str(actor.pk) if getattr(actor, "pk", None) else None
    transaction.on_commit(lambda: _send_reconcile(actor_id, dry_run))


def _send_reconcile(actor_id: str | None, dry_run: bool) -> None:
    from integrations.tasks import reconcile as reconcile_task

    try:
        reconcile_task.delay(actor_id, dry_run)
    except Exception:  # noqa: BLE001 - broker down: the next scheduled run still comes
        logger.warning("could not enqueue the reconcile run; the beat schedule runs it later")
