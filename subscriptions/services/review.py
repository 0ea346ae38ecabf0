"""What an admin does to subscriptions: approve, deny, change status, delete, grant directly, and the
bulk forms of approve and deny (each item its own transaction)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError, InvalidTransition, NotFoundError, ValidationFailed
from subscriptions.models import LlmModel, Subscription
from subscriptions.services._shared import (
    CAUSE_ADMIN_STATUS,
    CAUSE_APPROVED,
    CAUSE_DENIED,
    S,
    _keys_cascade,
    _notify,
    _require_admin,
)
from subscriptions.services.state import _lock_subscription, _record_change, _transition
from subscriptions.transitions import Actor


@transaction.atomic
def subscription_approve(*, actor: Any, subscription_id: Any, comment: str = "",
                         request: Any = None) -> Subscription:
    """An admin approves a pending subscription (pending → active). Does not add the model to keys.

    Raises ``PermissionDeniedError`` for non-admins, ``NotFoundError``, and ``InvalidTransition`` unless
    the subscription is pending (defect #44: approving any status) or its model is unavailable.
    """
    _require_admin(actor)
    subscription = _lock_subscription(subscription_id)
    if subscription.status != S.PENDING:
        raise InvalidTransition("Only pending subscriptions can be approved.",
                                details={"from": subscription.status, "to": S.ACTIVE})
    if not subscription.model.is_available:
        raise InvalidTransition("The model is not available.", code="model_unavailable")
    return _transition(subscription=subscription, new_status=S.ACTIVE, actor_kind=Actor.ADMIN, by=actor,
                       cause=CAUSE_APPROVED, reason=comment, request=request)


@transaction.atomic
def subscription_deny(*, actor: Any, subscription_id: Any, reason: str, request: Any = None) -> Subscription:
    """An admin denies a pending or active subscription with a reason the user sees; the model is removed
    from the user's keys (defect #8). Raises ``ValidationFailed`` without a reason, ``InvalidTransition``
    from other states, ``PermissionDeniedError`` for non-admins."""
    _require_admin(actor)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required to deny access.",
                               details={"fields": {"reason": ["This field is required."]}})
    subscription = _lock_subscription(subscription_id)
    return _transition(subscription=subscription, new_status=S.DENIED, actor_kind=Actor.ADMIN, by=actor,
                       cause=CAUSE_DENIED, reason=reason.strip(), request=request)


@transaction.atomic
def subscription_change_status(*, actor: Any, subscription_id: Any, new_status: str, reason: str = "",
                               request: Any = None) -> Subscription:
    """An admin moves a subscription to any status the table allows admins (e.g. revert a denial).

    Raises ``InvalidTransition`` for the same status or a move not in the table; a denial needs a reason.
    """
    _require_admin(actor)
    if new_status not in S.values:
        raise ValidationFailed(details={"fields": {"status": [f"Unknown status {new_status!r}."]}})
    if new_status == S.DENIED and not (reason or "").strip():
        raise ValidationFailed("A reason is required to deny access.",
                               details={"fields": {"reason": ["This field is required."]}})
    subscription = _lock_subscription(subscription_id)
    if new_status == S.ACTIVE and not subscription.model.is_available:
        raise InvalidTransition("The model is not available.", code="model_unavailable")
    return _transition(subscription=subscription, new_status=new_status, actor_kind=Actor.ADMIN, by=actor,
                       cause=CAUSE_ADMIN_STATUS, reason=reason, request=request)


@transaction.atomic
def subscription_delete(*, actor: Any, subscription_id: Any, reason: str = "", request: Any = None) -> None:
    """An admin deletes a subscription and its history for good; the model leaves the user's keys first.

    Raises ``PermissionDeniedError`` / ``NotFoundError``. Not idempotent (a second call is a 404).
    """
    _require_admin(actor)
    subscription = _lock_subscription(subscription_id)
    _keys_cascade("apikey_remove_model_for_user", user=subscription.user, model_id=subscription.model_id,
                  reason="subscription_deleted")
    audit_record(action="subscription.delete", actor=actor, target_type="subscription", target_id=subscription.pk,
                 request=request, metadata={"user_id": str(subscription.user_id), "model_id": subscription.model_id,
                                            "status": subscription.status, "reason": reason})
    _notify(user=subscription.user, kind="subscription.deleted", level="warning",
            title=f"Your subscription to {subscription.model_id} was removed", body=reason,
            link=reverse("subscriptions:list"))
    subscription.delete()


@transaction.atomic
def subscription_admin_grant(*, actor: Any, user: Any, model_ids: list[str], request: Any = None) -> list[Subscription]:
    """An admin gives ``user`` active subscriptions to ``model_ids``, bypassing approval: new rows are
    created active, inactive / expired / pending / denied rows become active; active ones are left alone
    (idempotent). Used by apikeys when an admin creates a key for a user. Raises ``PermissionDeniedError``,
    ``NotFoundError`` for an unknown model, ``ValidationFailed`` for an unavailable one."""
    _require_admin(actor)
    granted = []
    for model_id in dict.fromkeys(model_ids):
        model = LlmModel.objects.filter(pk=model_id).first()
        if model is None:
            raise NotFoundError(f"The model {model_id} does not exist.")
        if not model.is_available:
            raise ValidationFailed(f"The model {model_id} is not available.", code="model_unavailable")
        existing = (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                    .filter(user=user, model=model).first())
        if existing is not None:
            if existing.status != S.ACTIVE:
                _transition(subscription=existing, new_status=S.ACTIVE, actor_kind=Actor.ADMIN, by=actor,
                            cause="admin_grant", reason="Granted by an administrator.", request=request)
            granted.append(existing)
            continue
        now = timezone.now()
        subscription = Subscription.objects.create(
            user=user, model=model, status=S.ACTIVE, status_cause="admin_grant", status_changed_at=now,
            status_changed_by=actor, status_reason="Granted by an administrator.", created_at=now, updated_at=now,
        )
        _record_change(subscription=subscription, old="", by=actor, reason=subscription.status_reason,
                       cause="admin_grant", request=request)
        granted.append(subscription)
    return granted


@dataclass
class BulkResult:
    """Per-item outcome of a bulk action (the API returns it as is)."""

    successful: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)


def _bulk(ids: list[Any], operation: Any) -> BulkResult:
    result = BulkResult()
    for subscription_id in dict.fromkeys(str(i) for i in ids):
        try:
            operation(subscription_id)  # each item is its own transaction: one failure never undoes others
        except (InvalidTransition, NotFoundError, ValidationFailed, ConflictError) as exc:
            result.failed.append({"id": subscription_id, "code": exc.code, "message": exc.message})
        else:
            result.successful.append(subscription_id)
    return result


def subscriptions_bulk_approve(*, actor: Any, subscription_ids: list[Any], comment: str = "",
                               request: Any = None) -> BulkResult:
    """Approve each subscription on its own; report which succeeded and why the others failed.

    Raises ``PermissionDeniedError`` for non-admins (before touching anything)."""
    _require_admin(actor)
    return _bulk(subscription_ids, lambda pk: subscription_approve(actor=actor, subscription_id=pk,
                                                                    comment=comment, request=request))


def subscriptions_bulk_deny(*, actor: Any, subscription_ids: list[Any], reason: str,
                            request: Any = None) -> BulkResult:
    """Deny each subscription on its own with the same reason (required, checked once up front)."""
    _require_admin(actor)
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required to deny access.",
                               details={"fields": {"reason": ["This field is required."]}})
    return _bulk(subscription_ids, lambda pk: subscription_deny(actor=actor, subscription_id=pk, reason=reason,
                                                                 request=request))
