"""The core of the subscription state machine: the one place a status changes (``_transition``), the
history / audit / notification written with every change, and the row-locking lookups."""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from litemaas.audit import audit_record
from litemaas.exceptions import InvalidTransition, NotFoundError
from subscriptions.models import Subscription, SubscriptionStatusHistory
from subscriptions.services._shared import S, _keys_cascade, _notify
from subscriptions.transitions import Actor, is_allowed

_NOTICES: dict[str, tuple[str, str]] = {
    # new status -> (title template, level)
    S.ACTIVE: ("You now have access to {model}", "success"),
    S.PENDING: ("Your access to {model} is waiting for approval", "info"),
    S.DENIED: ("Your access to {model} was denied", "danger"),
    S.INACTIVE: ("Your subscription to {model} is no longer active", "warning"),
    S.EXPIRED: ("Your subscription to {model} has expired", "warning"),
}


def _transition(*, subscription: Subscription, new_status: str, actor_kind: Actor, by: Any = None,
                reason: str = "", cause: str = "", strip_keys: bool = True, request: Any = None) -> Subscription:
    """Move ``subscription`` to ``new_status`` if the table allows it for ``actor_kind``; else raise
    ``InvalidTransition``. Writes history, audit and a notification; strips the model from the owner's keys
    when access ends (leaving ``active``, or any denial). Call inside a transaction."""
    old = subscription.status
    if not is_allowed(old, new_status, actor_kind):
        raise InvalidTransition(
            f"A subscription cannot go from {old} to {new_status} this way.",
            details={"from": old, "to": new_status},
        )
    now = timezone.now()
    by_user = by if getattr(by, "is_authenticated", False) else None
    subscription.status = new_status
    subscription.status_reason = reason
    subscription.status_cause = cause
    subscription.status_changed_at = now
    subscription.status_changed_by = by_user
    subscription.updated_at = now
    subscription.save(update_fields=["status", "status_reason", "status_cause", "status_changed_at",
                                     "status_changed_by", "updated_at"])
    _record_change(subscription=subscription, old=old, by=by_user, reason=reason, cause=cause, request=request)
    if strip_keys and (old == S.ACTIVE or new_status == S.DENIED) and new_status != S.ACTIVE:
        _keys_cascade("apikey_remove_model_for_user", user=subscription.user, model_id=subscription.model_id,
                      reason=cause or new_status)
    return subscription


def _record_change(*, subscription: Subscription, old: str, by: Any, reason: str, cause: str,
                   request: Any = None) -> None:
    SubscriptionStatusHistory.objects.create(
        subscription=subscription, old_status=old, new_status=subscription.status, reason=reason, cause=cause,
        changed_by=by, changed_at=subscription.status_changed_at,
    )
    audit_record(
        action=f"subscription.{cause or subscription.status}", actor=by, target_type="subscription",
        target_id=subscription.pk, request=request,
        metadata={"user_id": str(subscription.user_id), "model_id": subscription.model_id,
                  "old_status": old, "new_status": subscription.status, "reason": reason},
    )
    title, level = _NOTICES[subscription.status]
    _notify(user=subscription.user, kind=f"subscription.{subscription.status}",
            title=title.format(model=subscription.model_id), body=reason, level=level,
            link=reverse("subscriptions:list"))


def _lock_subscription(subscription_id: Any) -> Subscription:
    try:
        return (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                .get(pk=subscription_id))
    except (Subscription.DoesNotExist, ValueError, TypeError):
        raise NotFoundError() from None


def _owned(user: Any, subscription_id: Any) -> Subscription:
    subscription = _lock_subscription(subscription_id)
    if subscription.user_id != user.pk:
        raise NotFoundError()
    return subscription
