"""What an owner does to their own subscriptions: subscribe (or re-subscribe), cancel, and send a
denied subscription back for review."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from litemaas.exceptions import ConflictError, InvalidTransition, NotFoundError, ValidationFailed
from subscriptions.models import LlmModel, Subscription
from subscriptions.services._shared import (
    CAUSE_RESUBSCRIBE,
    CAUSE_REVIEW_REQUESTED,
    CAUSE_SUBSCRIBE,
    CAUSE_USER_CANCEL,
    S,
)
from subscriptions.services.state import _owned, _record_change, _transition
from subscriptions.transitions import Actor


@transaction.atomic
def subscription_create(*, user: Any, model_id: str, expires_at: datetime | None = None,
                        request: Any = None) -> Subscription:
    """Subscribe ``user`` to ``model_id``: active for an open model, pending for a restricted one.

    Re-subscribing reuses an inactive or expired row. Raises ``NotFoundError`` for an unknown model,
    ``ValidationFailed`` (``model_unavailable``) for an unavailable one and ``ConflictError``
    (``already_subscribed``) when a live row exists. Not idempotent (a second call conflicts).
    """
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError("This model does not exist.")
    if not model.is_available:
        raise ValidationFailed("This model is not available.", code="model_unavailable")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(details={"fields": {"expires_at": ["Must be in the future."]}})
    target = S.PENDING if model.restricted else S.ACTIVE
    existing = (Subscription.objects.select_for_update(of=("self",)).select_related("user", "model")
                .filter(user=user, model=model).first())
    if existing is not None:
        if existing.status not in (S.INACTIVE, S.EXPIRED):
            raise ConflictError("You already have a subscription to this model.", code="already_subscribed",
                                details={"subscription_id": str(existing.pk), "status": existing.status})
        existing.expires_at = expires_at
        existing.save(update_fields=["expires_at"])
        return _transition(subscription=existing, new_status=target, actor_kind=Actor.OWNER, by=user,
                           cause=CAUSE_RESUBSCRIBE, request=request)
    now = timezone.now()
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                user=user, model=model, status=target, status_cause=CAUSE_SUBSCRIBE, status_changed_at=now,
                status_changed_by=user, expires_at=expires_at, created_at=now, updated_at=now,
            )
    except IntegrityError:
        raise ConflictError("You already have a subscription to this model.", code="already_subscribed") from None
    _record_change(subscription=subscription, old="", by=user, reason="", cause=CAUSE_SUBSCRIBE, request=request)
    return subscription


@transaction.atomic
def subscription_cancel(*, user: Any, subscription_id: Any, request: Any = None) -> Subscription:
    """The owner cancels (active or pending → inactive); the model is removed from the owner's keys.

    Raises ``NotFoundError`` when it is not the caller's and ``InvalidTransition`` from other states.
    """
    subscription = _owned(user, subscription_id)
    return _transition(subscription=subscription, new_status=S.INACTIVE, actor_kind=Actor.OWNER, by=user,
                       cause=CAUSE_USER_CANCEL, reason="Cancelled by the user.", request=request)


@transaction.atomic
def subscription_request_review(*, user: Any, subscription_id: Any, reason: str = "",
                                request: Any = None) -> Subscription:
    """The owner sends a denied subscription back to review (denied → pending). Idempotent when already
    pending; ``InvalidTransition`` from any other state, ``NotFoundError`` when not the caller's."""
    subscription = _owned(user, subscription_id)
    if subscription.status == S.PENDING:
        return subscription
    if subscription.status != S.DENIED:
        raise InvalidTransition("Only a denied subscription can be sent back for review.",
                                details={"from": subscription.status, "to": S.PENDING})
    return _transition(subscription=subscription, new_status=S.PENDING, actor_kind=Actor.OWNER, by=user,
                       cause=CAUSE_REVIEW_REQUESTED, reason=reason, request=request)
