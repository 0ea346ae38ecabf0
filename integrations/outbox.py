"""The transactional outbox: durable, ordered, at-least-once delivery of portal changes to LiteLLM.

A service that changes something LiteLLM must learn about calls :func:`outbox_enqueue` *inside its own
transaction*; the entry commits (or rolls back) with the business change. After commit a Celery task tries
to deliver it at once; if that enqueue fails (broker down), the worker dies, or LiteLLM is down, the beat
sweep (:func:`outbox_sweep`, every 30 s) picks it up. Nothing is lost while LiteLLM, Redis or the worker is
down: the row is in the portal's database.

Rules:

* Per object, only the oldest open entry (lowest ``sequence``) may be delivered, so an older update can never
  overtake a revoke. A revoke/delete makes the object's older *waiting* entries obsolete (``superseded``).
* Claiming is a conditional UPDATE (``pending``/``failed`` and due, or ``in_flight`` with an expired lease)
  that must change exactly one row; the sweep also locks its batch with ``SELECT … FOR UPDATE SKIP LOCKED``
  where the database has it.
* Handlers are idempotent (delete of an absent key = done, absolute values, "push the current portal state"),
  so a redelivery after a crash is harmless.
* Failures back off exponentially with jitter; after ``SYNC_OUTBOX_MAX_ATTEMPTS`` (or at once for a
  rejection, which retrying cannot fix) the entry is ``dead`` and admins are alerted.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from integrations.litellm.errors import LiteLLMError, LiteLLMNotFound, LiteLLMRejected, LiteLLMUnavailable
from integrations.models import Outbox
from litemaas.audit import audit_record
from litemaas.locks import SingleFlightLock

logger = logging.getLogger(__name__)

OPEN: Final = Outbox.OPEN_STATUSES
# Operations that make the object's older waiting entries obsolete (nothing after a delete matters).
SUPERSEDING_OPERATIONS: Final = frozenset({"key.revoke", "key.delete"})
SWEEP_LOCK: Final = "integrations:outbox:sweep"
SWEEP_LOCK_SECONDS: Final = 25  # shorter than the 30 s beat interval: a crashed sweep frees the next tick


class RetryLater(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler whose object is not ready yet (e.g. a key still provisioning): retried later."""


Handler = Callable[[Outbox], None]
HANDLERS: dict[str, Handler] = {}


def outbox_handler(operation: str) -> Callable[[Handler], Handler]:
    """Register the delivery function of ``operation`` (one per operation)."""

    def register(func: Handler) -> Handler:
        HANDLERS[operation] = func
        return func

    return register


# ---------------------------------------------------------------------------------------------------------
# Writing entries
# ---------------------------------------------------------------------------------------------------------
def outbox_enqueue(*, object_type: str, object_id: Any, operation: str, payload: dict[str, Any] | None = None,
                   deliver: bool = True) -> Outbox:
    """Record that ``operation`` on ``object_type:object_id`` must reach LiteLLM; deliver it after commit.

    Call it inside the transaction of the business change (it opens its own atomic block otherwise). The
    payload must not hold secrets (name keys by hash). A superseding operation (revoke/delete) marks the
    object's older waiting entries ``superseded``. Raises ``ValueError`` for an unknown operation. Not
    idempotent: every call adds an entry (delivery is).
    """
    if operation not in HANDLERS:
        raise ValueError(f"unknown outbox operation {operation!r}")
    object_id = str(object_id)
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                siblings = Outbox.objects.filter(object_type=object_type, object_id=object_id)
                last = siblings.aggregate(n=Max("sequence"))["n"] or 0
                if operation in SUPERSEDING_OPERATIONS:
                    siblings.filter(status__in=(Outbox.Status.PENDING, Outbox.Status.FAILED)).update(
                        status=Outbox.Status.SUPERSEDED, updated_at=now, last_error=f"superseded by {operation}")
                entry = Outbox.objects.create(object_type=object_type, object_id=object_id, operation=operation,
                                              payload=payload or {}, sequence=last + 1, created_at=now,
                                              updated_at=now, next_attempt_at=now)
            break
        except IntegrityError:  # a concurrent writer took the same sequence number: take the next one
            continue
    else:
        raise IntegrityError(f"could not allocate an outbox sequence for {object_type}:{object_id}")
    if deliver:
        transaction.on_commit(lambda: _enqueue_delivery(entry.pk))
    return entry


def _enqueue_delivery(entry_id: int) -> None:
    from integrations.tasks import deliver_outbox as deliver_outbox_task

    try:
        deliver_outbox_task.delay(entry_id)
    except Exception:  # noqa: BLE001 - broker down: the row is safe, the sweep delivers it
        logger.warning("could not enqueue delivery of outbox entry %s; the sweep will deliver it", entry_id)


# ---------------------------------------------------------------------------------------------------------
# Claiming and delivering
# ---------------------------------------------------------------------------------------------------------
def _due(now: Any) -> Q:
    return (Q(status__in=(Outbox.Status.PENDING, Outbox.Status.FAILED), next_attempt_at__lte=now)
            | Q(status=Outbox.Status.IN_FLIGHT, lease_until__lt=now))


def _older_open() -> Exists:
    return Exists(Outbox.objects.filter(object_type=OuterRef("object_type"), object_id=OuterRef("object_id"),
                                        sequence__lt=OuterRef("sequence"), status__in=OPEN))


def _deliverable(now: Any) -> QuerySet[Outbox]:
    """Due entries that are the oldest open entry of their object."""
    return Outbox.objects.filter(_due(now)).filter(~_older_open())


def _claim_fields(now: Any) -> dict[str, Any]:
    return {"status": Outbox.Status.IN_FLIGHT, "attempts": F("attempts") + 1, "updated_at": now,
            "lease_until": now + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)}


def outbox_deliver(*, entry_id: int) -> str:
    """Claim one entry (if it is due and first in line for its object) and deliver it now.

    Returns the entry's resulting status, or ``"skipped"`` when it was not claimable (already delivered,
    claimed elsewhere, backing off, or waiting behind an older entry). Never raises for LiteLLM errors (they
    are recorded on the entry). Idempotent.
    """
    now = timezone.now()
    ids = list(_deliverable(now).filter(pk=entry_id).values_list("pk", flat=True))
    if not ids or not Outbox.objects.filter(pk=entry_id).filter(_due(now)).update(**_claim_fields(now)):
        return "skipped"
    return _run(Outbox.objects.get(pk=entry_id))


def outbox_sweep(*, batch: int | None = None) -> dict[str, int]:
    """Beat (every 30 s): claim the due head entries (``FOR UPDATE SKIP LOCKED`` where supported) and
    deliver them. Single-flight (``litemaas.locks``: cache key plus database lock). Returns counts per outcome.
    Idempotent."""
    counts = {"claimed": 0, "done": 0, "failed": 0, "dead": 0, "skipped": 0}
    lock = SingleFlightLock(SWEEP_LOCK, timeout=SWEEP_LOCK_SECONDS)
    if not lock.acquire():
        counts["skipped"] = 1
        return counts
    try:
        now = timezone.now()
        with transaction.atomic():
            queryset = _deliverable(now).order_by("next_attempt_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                queryset = queryset.select_for_update(skip_locked=True)
            ids = list(queryset.values_list("pk", flat=True)[: batch or settings.SYNC_OUTBOX_BATCH])
            if ids:
                Outbox.objects.filter(pk__in=ids).filter(_due(now)).update(**_claim_fields(now))
        counts["claimed"] = len(ids)
        for entry in Outbox.objects.filter(pk__in=ids, status=Outbox.Status.IN_FLIGHT).order_by("id"):
            outcome = _run(entry)
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        lock.release()
    return counts


def _run(entry: Outbox) -> str:
    """Deliver a claimed entry and record the outcome (no transaction is held across the LiteLLM call)."""
    handler = HANDLERS.get(entry.operation)
    try:
        if handler is None:
            raise LiteLLMRejected(status=0, reason=f"no handler for {entry.operation}", endpoint="outbox")
        handler(entry)
    except RetryLater as exc:
        return _record_failure(entry, f"waiting: {exc}", permanent=False, count_attempt=False)
    except LiteLLMUnavailable as exc:
        return _record_failure(entry, f"{exc.code}: {exc.message}", permanent=False)
    except LiteLLMError as exc:
        reason = exc.details.get("reason", "") if isinstance(exc.details, dict) else ""
        return _record_failure(entry, f"{exc.code}: {exc.message} {reason}".strip(), permanent=True)
    except Exception as exc:  # noqa: BLE001 - a bug in a handler must not lose the entry
        logger.exception("outbox handler %s crashed on entry %s", entry.operation, entry.pk)
        return _record_failure(entry, f"{type(exc).__name__}: {exc}", permanent=False)
    now = timezone.now()
    Outbox.objects.filter(pk=entry.pk, status=Outbox.Status.IN_FLIGHT).update(
        status=Outbox.Status.DONE, delivered_at=now, updated_at=now, lease_until=None, last_error="")
    _kick_next(entry)
    return "done"


def _backoff_seconds(attempts: int) -> float:
    base = settings.SYNC_OUTBOX_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return min(base, settings.SYNC_OUTBOX_BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter


def _record_failure(entry: Outbox, error: str, *, permanent: bool, count_attempt: bool = True) -> str:
    now = timezone.now()
    attempts = entry.attempts if count_attempt else max(0, entry.attempts - 1)
    dead = permanent or attempts >= settings.SYNC_OUTBOX_MAX_ATTEMPTS
    fields: dict[str, Any] = {"last_error": error[:2000], "updated_at": now, "lease_until": None,
                              "attempts": attempts}
    if dead:
        fields["status"] = Outbox.Status.DEAD
    else:
        fields["status"] = Outbox.Status.FAILED
        fields["next_attempt_at"] = now + timedelta(seconds=_backoff_seconds(max(1, attempts)))
    if not Outbox.objects.filter(pk=entry.pk, status=Outbox.Status.IN_FLIGHT).update(**fields):
        return "skipped"  # someone else finished it meanwhile (expired lease, admin)
    if dead:
        for name, value in fields.items():
            setattr(entry, name, value)
        _alert_dead(entry)
        _kick_next(entry)  # a dead entry no longer holds back the object's later entries
        return "dead"
    logger.info("outbox entry %s (%s) failed, attempt %s: %s", entry.pk, entry.operation, attempts, error[:200])
    return "failed"


def _kick_next(entry: Outbox) -> None:
    nxt = (Outbox.objects.filter(object_type=entry.object_type, object_id=entry.object_id, status__in=OPEN,
                                 sequence__gt=entry.sequence).order_by("sequence").values_list("pk", flat=True).first())
    if nxt is not None:
        transaction.on_commit(lambda: _enqueue_delivery(nxt))


def _alert_dead(entry: Outbox) -> None:
    from accounts.models import User
    from accounts.notifications import notification_create

    audit_record(action="outbox.dead", actor=None, target_type=entry.object_type, target_id=entry.object_id,
                 success=False, error=entry.last_error[:500],
                 metadata={"outbox_id": entry.pk, "operation": entry.operation, "attempts": entry.attempts})
    title = f"LiteLLM change given up: {entry.operation} on {entry.object_type} {entry.object_id}"
    body = (f"The portal could not apply this change in LiteLLM after {entry.attempts} attempt(s). "
            f"Last error: {entry.last_error[:300]}. Retry it on the sync page once the cause is fixed.")
    for admin in User.objects.filter(role="admin", is_active=True):
        notification_create(user=admin, kind="sync.outbox_dead", title=title, body=body, level="danger",
                            link=_sync_page_url())
    logger.error("outbox entry %s is dead: %s", entry.pk, entry.last_error[:200])


def _sync_page_url() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("integrations:admin-sync")
    except NoReverseMatch:
        return ""


# ---------------------------------------------------------------------------------------------------------
# Admin actions and reads
# ---------------------------------------------------------------------------------------------------------
def outbox_retry(*, entry_id: int, actor: Any, request: Any = None) -> Outbox:
    """Admin: put a dead or failed entry back in line (attempts reset, due now) and deliver it after commit.

    Raises ``NotFoundError`` for an unknown id and ``InvalidTransition`` for entries that are not dead or
    failed. Audited. Idempotent for an entry already pending."""
    from litemaas.exceptions import InvalidTransition, NotFoundError

    with transaction.atomic():
        entry = Outbox.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None:
            raise NotFoundError("No such outbox entry.")
        if entry.status == Outbox.Status.PENDING:
            return entry
        if entry.status not in (Outbox.Status.DEAD, Outbox.Status.FAILED):
            raise InvalidTransition(f"A {entry.get_status_display().lower()} entry cannot be retried.")
        now = timezone.now()
        entry.status, entry.attempts, entry.next_attempt_at, entry.updated_at = Outbox.Status.PENDING, 0, now, now
        entry.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        audit_record(action="outbox.retry", actor=actor, target_type=entry.object_type, target_id=entry.object_id,
                     metadata={"outbox_id": entry.pk, "operation": entry.operation}, request=request)
        transaction.on_commit(lambda: _enqueue_delivery(entry.pk))
    return entry


def outbox_list(*, statuses: list[str] | None = None) -> QuerySet[Outbox]:
    """Outbox entries, oldest first, optionally in some statuses (admin read; callers check the role)."""
    queryset = Outbox.objects.all()
    return queryset.filter(status__in=statuses) if statuses else queryset


def outbox_open_object_ids(*, object_type: str, object_ids: list[Any] | None = None) -> set[str]:
    """Ids of objects of ``object_type`` with a change still on its way to LiteLLM ("pending sync")."""
    queryset = Outbox.objects.filter(object_type=object_type, status__in=OPEN)
    if object_ids is not None:
        queryset = queryset.filter(object_id__in=[str(i) for i in object_ids])
    return set(queryset.values_list("object_id", flat=True).distinct())


def outbox_has_waiting(*, object_type: str, object_id: Any, operations: tuple[str, ...] | None = None) -> bool:
    """True when a change of the object is still waiting for delivery (``pending``/``failed``; the entry being
    delivered is ``in_flight`` and does not count). A handler uses it to keep the object "pending sync" after
    pushing when a newer change arrived meanwhile. Read-only."""
    queryset = Outbox.objects.filter(object_type=object_type, object_id=str(object_id),
                                     status__in=(Outbox.Status.PENDING, Outbox.Status.FAILED))
    if operations:
        queryset = queryset.filter(operation__in=operations)
    return queryset.exists()


def outbox_stats() -> dict[str, Any]:
    """Depth per status and the age in seconds of the oldest open entry (for the sync page and metrics)."""
    from django.db.models import Count, Min

    by_status = dict(Outbox.objects.order_by().values_list("status").annotate(n=Count("pk")))
    oldest = Outbox.objects.filter(status__in=OPEN).aggregate(at=Min("created_at"))["at"]
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return {"by_status": by_status, "open": sum(by_status.get(s, 0) for s in OPEN), "oldest_open_age_seconds": age}


# ---------------------------------------------------------------------------------------------------------
# Handlers (idempotent; keys are addressed by hash; "sync"/"push" handlers send the portal's *current* state,
# so a late or repeated delivery can never write stale values)
# ---------------------------------------------------------------------------------------------------------
def _client() -> Any:
    from integrations.litellm.client import get_litellm_client

    return get_litellm_client()


def _token(entry: Outbox) -> str:
    token = entry.payload.get("token_hash")
    if not token:
        from apikeys.models import ApiKey

        token = ApiKey.objects.filter(pk=entry.object_id).values_list("token_hash", flat=True).first()
    if not token:
        raise LiteLLMRejected(status=0, reason="no key hash for this entry", endpoint="outbox")
    return token


@outbox_handler("key.revoke")
def _deliver_key_revoke(entry: Outbox) -> None:
    """Finish a portal revocation: delete by hash in LiteLLM, mark the key revoked (apikeys service)."""
    from apikeys.services import apikey_confirm_revocation

    apikey_confirm_revocation(key_id=entry.object_id)


@outbox_handler("key.sync")
def _deliver_key_sync(entry: Outbox) -> None:
    """Push a key's current models / blocked state after a local model change (apikeys service)."""
    from apikeys.services import apikey_sync_to_litellm

    if not apikey_sync_to_litellm(key_id=entry.object_id):
        raise RetryLater("the key is still being created")


@outbox_handler("key.delete")
def _deliver_key_delete(entry: Outbox) -> None:
    """Block (optional) then delete a key by hash; a key LiteLLM does not have counts as deleted."""
    token = _token(entry)
    client = _client()
    if entry.payload.get("block_first"):
        try:
            client.key_block(token)
        except LiteLLMNotFound:
            return
    client.key_delete([token], missing_ok=True)


@outbox_handler("key.block")
def _deliver_key_block(entry: Outbox) -> None:
    """Block a key by hash (absent = nothing to block)."""
    try:
        _client().key_block(_token(entry))
    except LiteLLMNotFound:
        logger.info("outbox: key of entry %s is not in LiteLLM; nothing to block", entry.pk)


@outbox_handler("key.unblock")
def _deliver_key_unblock(entry: Outbox) -> None:
    """Unblock a key by hash, only if the portal still has it active (absent = nothing to do)."""
    from apikeys.models import ApiKey, KeyStatus

    if not ApiKey.objects.filter(pk=entry.object_id, status=KeyStatus.ACTIVE).exists():
        return
    try:
        _client().key_unblock(_token(entry))
    except LiteLLMNotFound:
        logger.info("outbox: key of entry %s is not in LiteLLM; nothing to unblock", entry.pk)


@outbox_handler("key.push")
def _deliver_key_push(entry: Outbox) -> None:
    """Make LiteLLM's copy of a key equal the portal's current limits, models and blocked state."""
    from integrations.reconcile.actions import push_key_state

    push_key_state(key_id=entry.object_id)


@outbox_handler("user.sync")
def _deliver_user_sync(entry: Outbox) -> None:
    """Create or update the LiteLLM user from the portal's current row (limits included)."""
    from accounts.models import User
    from integrations.services import ensure_litellm_user

    user = User.objects.filter(pk=entry.object_id).first()
    if user is None or not user.is_active:
        return
    ensure_litellm_user(user)  # records synced / pending / error on the user
    if outbox_has_waiting(object_type="user", object_id=user.pk, operations=("user.sync",)):
        from accounts.services import user_set_litellm_sync_state

        user_set_litellm_sync_state(user=user, state="pending")  # a newer change is still on its way


@outbox_handler("team.sync")
def _deliver_team_sync(entry: Outbox) -> None:
    """Create or update the LiteLLM team from the portal's current row (limits, models, members)."""
    from integrations.reconcile.actions import push_team_state

    push_team_state(team_id=entry.object_id)


def _member_of(team_id: str, user_id: str) -> bool:
    from teams.models import Membership

    return Membership.objects.filter(team_id=team_id, user_id=user_id).exists()


@outbox_handler("team.member_add")
def _deliver_team_member_add(entry: Outbox) -> None:
    """Add a portal member to the LiteLLM team (``payload.user_id``). Idempotent: a member LiteLLM already
    has counts as added; a membership the portal no longer has is skipped (its ``team.member_delete`` follows);
    a team LiteLLM lacks is created from the portal's row with all its members."""
    from teams.models import Team, TeamStatus
    from teams.services import LITELLM_MEMBER_ROLE

    user_id = str(entry.payload.get("user_id") or "")
    if not user_id:
        raise LiteLLMRejected(status=0, reason="no user_id in the entry", endpoint="outbox")
    team = Team.objects.filter(pk=entry.object_id).first()
    if team is None or team.status != TeamStatus.ACTIVE or team.is_default or not _member_of(entry.object_id, user_id):
        return
    try:
        _client().team_member_add(entry.object_id, user_id, role=LITELLM_MEMBER_ROLE, exist_ok=True)
    except LiteLLMNotFound:
        from integrations.reconcile.actions import push_team_state

        push_team_state(team_id=entry.object_id)  # creates the team and adds every portal member


@outbox_handler("team.member_delete")
def _deliver_team_member_delete(entry: Outbox) -> None:
    """Remove a user from the LiteLLM team (``payload.user_id``). Idempotent: a user LiteLLM does not list
    (or a team it does not have) counts as removed; a user who is a portal member again is kept."""
    user_id = str(entry.payload.get("user_id") or "")
    if not user_id:
        raise LiteLLMRejected(status=0, reason="no user_id in the entry", endpoint="outbox")
    if _member_of(entry.object_id, user_id):
        return
    _client().team_member_delete(entry.object_id, user_id, missing_ok=True)
