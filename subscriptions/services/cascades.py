"""Transitions the system makes on its own: expiry of due subscriptions, and the cascades a model's
change of availability or restriction runs over its subscriptions (called by the sync and by admin
model changes)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from litemaas.audit import audit_record
from subscriptions.models import Availability, LlmModel, Subscription
from subscriptions.services._shared import (
    CAUSE_EXPIRED,
    CAUSE_MODEL_GONE,
    CAUSE_MODEL_RESTRICTED,
    CAUSE_MODEL_RETURNED,
    CAUSE_MODEL_UNRESTRICTED,
    S,
    _keys_cascade,
)
from subscriptions.services.state import _lock_subscription, _transition
from subscriptions.transitions import Actor

REASON_MODEL_GONE = "The model is no longer offered by the gateway."
REASON_MODEL_RETURNED = "The model is available again."
REASON_RESTRICTED = "Model marked as restricted access - requires re-approval"
REASON_UNRESTRICTED = "Auto-approved: model restriction removed"


def subscriptions_expire_due(*, now: datetime | None = None) -> int:
    """Expire every active subscription whose ``expires_at`` has passed (one transaction per row, so a bad
    row never blocks the rest). Idempotent: expired rows are not picked again. Returns how many expired."""
    now = now or timezone.now()
    due = list(Subscription.objects.filter(status=S.ACTIVE, expires_at__lte=now).values_list("pk", flat=True))
    expired = 0
    for pk in due:
        with transaction.atomic():
            subscription = _lock_subscription(pk)
            if subscription.status != S.ACTIVE or not subscription.expires_at or subscription.expires_at > now:
                continue  # changed since we listed it
            _transition(subscription=subscription, new_status=S.EXPIRED, actor_kind=Actor.SYSTEM,
                        cause=CAUSE_EXPIRED, reason="The subscription reached its end date.")
            expired += 1
    return expired


def _model_mark_unavailable(*, model: LlmModel, actor: Any = None) -> int:
    """Mark ``model`` unavailable: live subscriptions → inactive (cause ``model_gone``), the model leaves
    every key. Returns how many subscriptions were deactivated. Call inside a transaction."""
    now = timezone.now()
    model.availability = Availability.UNAVAILABLE
    model.updated_at = now
    model.save(update_fields=["availability", "updated_at"])
    deactivated = 0
    for subscription in (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                         .filter(model=model, status__in=[S.ACTIVE, S.PENDING])):
        _transition(subscription=subscription, new_status=S.INACTIVE, actor_kind=Actor.SYSTEM,
                    cause=CAUSE_MODEL_GONE, reason=REASON_MODEL_GONE, strip_keys=False)
        deactivated += 1
    _keys_cascade("apikeys_remove_model_everywhere", model_id=model.pk, reason=CAUSE_MODEL_GONE)
    audit_record(action="model.mark_unavailable", actor=actor, target_type="model", target_id=model.pk,
                 metadata={"subscriptions_deactivated": deactivated})
    return deactivated


def _model_restore(*, model: LlmModel, actor: Any = None) -> int:
    """Mark ``model`` available again and restore exactly the subscriptions the ``model_gone`` cascade
    made inactive (defect #26), to what they were (pending if the model is now restricted)."""
    now = timezone.now()
    model.availability = Availability.AVAILABLE
    model.updated_at = now
    model.save(update_fields=["availability", "updated_at"])
    restored = 0
    for subscription in (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                         .filter(model=model, status=S.INACTIVE, status_cause=CAUSE_MODEL_GONE)):
        gone = subscription.history.filter(cause=CAUSE_MODEL_GONE).first()
        target = S.PENDING if (model.restricted or (gone and gone.old_status == S.PENDING)) else S.ACTIVE
        _transition(subscription=subscription, new_status=target, actor_kind=Actor.SYSTEM,
                    cause=CAUSE_MODEL_RETURNED, reason=REASON_MODEL_RETURNED)
        restored += 1
    audit_record(action="model.restore", actor=actor, target_type="model", target_id=model.pk,
                 metadata={"subscriptions_restored": restored})
    return restored


def _model_apply_restriction(*, model: LlmModel, restricted: bool, actor: Any = None) -> int:
    """Restricting moves active subscriptions to pending (and strips keys); lifting it approves the pending
    ones. Returns how many subscriptions changed. Call inside a transaction after saving the flag."""
    source, target, cause, reason = (
        (S.ACTIVE, S.PENDING, CAUSE_MODEL_RESTRICTED, REASON_RESTRICTED) if restricted
        else (S.PENDING, S.ACTIVE, CAUSE_MODEL_UNRESTRICTED, REASON_UNRESTRICTED)
    )
    changed = 0
    for subscription in (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                         .filter(model=model, status=source)):
        _transition(subscription=subscription, new_status=target, actor_kind=Actor.SYSTEM, cause=cause,
                    reason=reason)
        changed += 1
    return changed
