"""Write operations of ``subscriptions``: the model catalogue (sync and admin write-through to LiteLLM) and
the subscription state machine (``<entity>_<action>``, keyword-only, atomic, audited).

Rules every function here keeps:

- Status changes go through ``_transition`` only, which checks ``subscriptions.transitions.TRANSITIONS``,
  writes a history row and an audit row, notifies the owner and strips the model from the owner's keys
  when access ends.
- No database transaction is held open across a LiteLLM call: LiteLLM first, then one atomic local write;
  if the local write fails, the LiteLLM change is undone (or, for a delete, left to the next sync).
- Keys belong to ``apikeys``; cascades into keys go through its services (``_keys_cascade``).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from litemaas.audit import audit_record
from litemaas.exceptions import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from subscriptions import litellm_gateway as gateway
from subscriptions.encryption import decrypt_secret, encrypt_secret
from subscriptions.models import (
    PER_MILLION,
    Availability,
    LlmModel,
    ModelType,
    Subscription,
    SubscriptionStatus,
    SubscriptionStatusHistory,
)
from subscriptions.transitions import Actor, is_allowed

logger = logging.getLogger(__name__)

S = SubscriptionStatus

# Names the admin API uses as sub-paths of /admin/models/, so a model cannot be called that.
RESERVED_MODEL_IDS = frozenset({"test", "sync"})

# Machine-readable causes stored on the subscription and its history.
CAUSE_SUBSCRIBE = "subscribe"
CAUSE_RESUBSCRIBE = "resubscribe"
CAUSE_USER_CANCEL = "user_cancel"
CAUSE_REVIEW_REQUESTED = "review_requested"
CAUSE_APPROVED = "approved"
CAUSE_DENIED = "denied"
CAUSE_ADMIN_STATUS = "admin_status_change"
CAUSE_MODEL_GONE = "model_gone"
CAUSE_MODEL_RETURNED = "model_returned"
CAUSE_MODEL_RESTRICTED = "model_restricted"
CAUSE_MODEL_UNRESTRICTED = "model_unrestricted"
CAUSE_EXPIRED = "expired"

REASON_MODEL_GONE = "The model is no longer offered by the gateway."
REASON_MODEL_RETURNED = "The model is available again."
REASON_RESTRICTED = "Model marked as restricted access - requires re-approval"
REASON_UNRESTRICTED = "Auto-approved: model restriction removed"

_SYNC_LOCK_KEY = "subscriptions:model-sync:lock"
# A run that dies without releasing the lock frees it after this long (longer than any sane run).
_SYNC_LOCK_SECONDS = 300


# ---------------------------------------------------------------------------------------------------------
# Cross-app helpers
# ---------------------------------------------------------------------------------------------------------
def _keys_cascade(function_name: str, **kwargs: Any) -> Any:
    """Call ``apikeys.services.<function_name>(**kwargs)`` if apikeys provides it (issue #6).

    The contract: the function is safe inside the caller's transaction (it changes key rows locally and
    pushes the change to LiteLLM after commit, via the outbox), never sends ``models: []`` to LiteLLM and
    blocks a key left with no model. Until it exists the cascade is logged and skipped.
    """
    try:
        from apikeys import services as apikey_services
    except ImportError:  # pragma: no cover - the app always exists; kept for partial checkouts
        apikey_services = None
    function = getattr(apikey_services, function_name, None)
    if function is None:
        logger.warning("apikeys.services.%s is missing; key cascade skipped", function_name,
                       extra={"cascade_args": {k: str(v) for k, v in kwargs.items()}})
        return None
    return function(**kwargs)


def _notify(*, user: Any, kind: str, title: str, body: str = "", link: str = "", level: str = "info") -> None:
    from accounts.notifications import notification_create

    notification_create(user=user, kind=kind, title=title, body=body, link=link, level=level)


def _require_admin(actor: Any) -> None:
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError()


# ---------------------------------------------------------------------------------------------------------
# The subscription state machine
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# Model cascades (called by the sync and by admin changes)
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# Model sync: LiteLLM → portal
# ---------------------------------------------------------------------------------------------------------
@dataclass
class SyncResult:
    """Outcome of one model sync (also stored as the SyncRun's counts)."""

    run_id: int | None = None
    status: str = "succeeded"
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    marked_unavailable: int = 0
    restored: int = 0
    subscriptions_deactivated: int = 0
    subscriptions_restored: int = 0
    message: str = ""

    def counts(self) -> dict[str, int]:
        data = asdict(self)
        return {key: value for key, value in data.items() if isinstance(value, int) and key != "run_id"}


class _SyncAborted(Exception):
    pass


# Fields the sync owns (description and restricted are the operator's and never listed here).
SYNCED_FIELDS = (
    "provider", "backend_model_name", "model_type", "context_length", "max_tokens", "input_cost_per_token",
    "output_cost_per_token", "tpm", "rpm", "supports_vision", "supports_function_calling",
    "supports_parallel_function_calling", "supports_tool_choice", "supports_tokenize", "litellm_model_id",
    "defined_in_config", "api_base",
)
_PRICE_QUANTUM = Decimal("1e-15")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(_PRICE_QUANTUM)
    except ArithmeticError:
        return None


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def model_fields_from_deployment(deployment: gateway.Deployment) -> dict[str, Any]:
    """Map one LiteLLM ``/model/info`` entry to ``LlmModel`` fields (inventory §4.1).

    provider = ``custom_llm_provider``, else the part of ``litellm_params.model`` before the first ``/``;
    backend name = the rest; prices from ``model_info`` else ``litellm_params``; models without
    ``model_info.db_model`` come from LiteLLM's config file. Pure function.
    """
    params, info = deployment.litellm_params, deployment.model_info
    model_path = str(params.get("model") or "")
    prefix, _sep, rest = model_path.partition("/")
    provider = str(params.get("custom_llm_provider") or (prefix if rest else "") or "unknown")
    backend = rest if rest else model_path
    if info.get("supports_embeddings") or info.get("supports_embedding") or info.get("mode") == "embedding":
        model_type = ModelType.EMBEDDINGS
    elif info.get("supports_convert") or provider == "docling":
        model_type = ModelType.DOCUMENT_CONVERSION
    else:
        model_type = ModelType.CHAT
    max_tokens = _int(info.get("max_tokens"))

    def price(name: str) -> Decimal | None:
        value = info.get(name)
        return _decimal(value if value is not None else params.get(name))

    return {
        "provider": provider[:100],
        "backend_model_name": backend[:255],
        "model_type": model_type,
        "context_length": _int(info.get("max_input_tokens")) or max_tokens,
        "max_tokens": max_tokens,
        "input_cost_per_token": price("input_cost_per_token"),
        "output_cost_per_token": price("output_cost_per_token"),
        "tpm": _int(params.get("tpm") if params.get("tpm") is not None else info.get("tpm")),
        "rpm": _int(params.get("rpm") if params.get("rpm") is not None else info.get("rpm")),
        "supports_vision": bool(info.get("supports_vision")),
        "supports_function_calling": bool(info.get("supports_function_calling")),
        "supports_parallel_function_calling": bool(info.get("supports_parallel_function_calling")),
        "supports_tool_choice": bool(info.get("supports_tool_choice")),
        "supports_tokenize": bool(info.get("supports_tokenize")),
        "litellm_model_id": str(info.get("id") or "")[:255],
        "defined_in_config": not bool(info.get("db_model")),
        "api_base": str(params.get("api_base") or "")[:500],
    }


def _safe_metadata(deployment: gateway.Deployment) -> dict[str, Any]:
    """LiteLLM's own objects, minus anything that could be a credential."""
    def clean(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if "key" not in k.lower() and "secret" not in k.lower()
                and "token" != k.lower()}
    return {"litellm_params": clean(deployment.litellm_params), "model_info": clean(deployment.model_info)}


def model_sync_from_litellm(*, actor: Any = None, force: bool = False) -> SyncResult:
    """Mirror LiteLLM's ``/model/info`` into the catalogue: insert new models, update changed ones (never
    description or restricted), mark vanished ones unavailable with the cascade, restore returning ones.

    One run at a time (``cache.add`` lock → ``ConflictError`` ``sync_in_progress``); each run is a SyncRun.
    Safety: when LiteLLM lists no model, or more than ``MODEL_SYNC_MAX_REMOVAL_SHARE`` of the available
    models would go, the run is ``aborted`` and nothing changes, unless ``force`` (the admin's explicit
    choice). Raises LiteLLM's errors (503 when unavailable) after recording the failed run. Idempotent.
    """
    from integrations.models import SyncRun
    from integrations.sync_runs import sync_run_finish, sync_run_start

    token = secrets.token_hex(8)
    if not cache.add(_SYNC_LOCK_KEY, token, timeout=_SYNC_LOCK_SECONDS):
        raise ConflictError("A model sync is already running.", code="sync_in_progress")
    try:
        run = sync_run_start(kind=SyncRun.Kind.MODELS, actor=actor)
        result = SyncResult(run_id=run.pk)
        try:
            deployments = gateway.model_list()  # outside any transaction
            result.total = len(deployments)
            _apply_sync(deployments=deployments, result=result, actor=actor, force=force)
        except _SyncAborted as exc:
            result.status, result.message = SyncRun.Status.ABORTED, str(exc)
            sync_run_finish(run=run, status=SyncRun.Status.ABORTED, counts=result.counts(), error=str(exc))
            audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                         success=False, error=str(exc), metadata=result.counts())
            return result
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            sync_run_finish(run=run, status=SyncRun.Status.FAILED, counts=result.counts(), error=message)
            audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                         success=False, error=message)
            raise
        sync_run_finish(run=run, status=SyncRun.Status.SUCCEEDED, counts=result.counts())
        audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                     metadata=result.counts())
        return result
    finally:
        if cache.get(_SYNC_LOCK_KEY) == token:
            cache.delete(_SYNC_LOCK_KEY)


@transaction.atomic
def _apply_sync(*, deployments: list[gateway.Deployment], result: SyncResult, actor: Any, force: bool) -> None:
    fetched: dict[str, gateway.Deployment] = {}
    for deployment in deployments:
        # LiteLLM allows several deployments per model_name; the portal shows one model, keyed on the first.
        if deployment.model_name and deployment.model_name not in fetched:
            fetched[deployment.model_name] = deployment
    local = {model.pk: model for model in LlmModel.objects.select_for_update()}
    available = {pk for pk, model in local.items() if model.is_available}
    vanished = sorted(available - fetched.keys())
    share = getattr(settings, "MODEL_SYNC_MAX_REMOVAL_SHARE", 0.5)
    if not force and available:
        if not fetched:
            raise _SyncAborted("LiteLLM listed no models; nothing was marked unavailable.")
        if len(vanished) / len(available) > share:
            raise _SyncAborted(
                f"{len(vanished)} of {len(available)} available models would be marked unavailable "
                f"(more than {share:.0%}); nothing was changed. Check LiteLLM, or force the sync."
            )
    now = timezone.now()
    for name, deployment in fetched.items():
        fields = model_fields_from_deployment(deployment)
        model = local.get(name)
        if model is None:
            LlmModel.objects.create(id=name, litellm_metadata=_safe_metadata(deployment), created_at=now,
                                    updated_at=now, last_synced_at=now, **fields)
            result.created += 1
            continue
        changed = [name_ for name_, value in fields.items() if getattr(model, name_) != value]
        for name_ in changed:
            setattr(model, name_, fields[name_])
        model.litellm_metadata = _safe_metadata(deployment)
        model.last_synced_at = now
        update = ["litellm_metadata", "last_synced_at", *changed]
        if changed:
            model.updated_at = now
            update.append("updated_at")
        model.save(update_fields=update)
        if not model.is_available:
            result.restored += 1
            result.subscriptions_restored += _model_restore(model=model, actor=actor)
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    for name in vanished:
        result.marked_unavailable += 1
        result.subscriptions_deactivated += _model_mark_unavailable(model=local[name], actor=actor)


# ---------------------------------------------------------------------------------------------------------
# Admin model management, written through to LiteLLM
# ---------------------------------------------------------------------------------------------------------
# Fields whose change must reach LiteLLM (the rest are the portal's own).
LITELLM_FIELDS = (
    "provider", "backend_model_name", "model_type", "api_base", "input_cost_per_token", "output_cost_per_token",
    "tpm", "rpm", "max_tokens", "context_length", "supports_vision", "supports_function_calling",
    "supports_parallel_function_calling", "supports_tool_choice", "supports_tokenize",
)
PORTAL_FIELDS = ("description", "restricted")


def _per_token(value: Decimal | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / PER_MILLION).quantize(_PRICE_QUANTUM)


def model_fields_from_input(data: dict[str, Any]) -> dict[str, Any]:
    """Turn admin input (prices per 1M tokens) into ``LlmModel`` field values (prices per token)."""
    fields = {k: v for k, v in data.items() if k in LITELLM_FIELDS or k in PORTAL_FIELDS}
    if "input_cost_per_million" in data:
        fields["input_cost_per_token"] = _per_token(data["input_cost_per_million"])
    if "output_cost_per_million" in data:
        fields["output_cost_per_token"] = _per_token(data["output_cost_per_million"])
    if fields.get("model_type") == ModelType.DOCUMENT_CONVERSION:
        fields["provider"] = "docling"
    return fields


def _litellm_payload(*, model_id: str, values: dict[str, Any], api_key: str | None) -> gateway.DeploymentSpec:
    provider = "docling" if values.get("model_type") == ModelType.DOCUMENT_CONVERSION else (
        values.get("provider") or "openai")
    backend = values.get("backend_model_name") or model_id
    return gateway.DeploymentSpec(
        model_name=model_id,
        model=f"{provider}/{backend}",
        custom_llm_provider=provider,
        api_base=values.get("api_base") or "",
        api_key=api_key,
        input_cost_per_token=values.get("input_cost_per_token"),
        output_cost_per_token=values.get("output_cost_per_token"),
        tpm=values.get("tpm"),
        rpm=values.get("rpm"),
        max_tokens=values.get("max_tokens"),
        max_input_tokens=values.get("context_length"),
        supports_vision=bool(values.get("supports_vision")),
        supports_function_calling=bool(values.get("supports_function_calling")),
        supports_parallel_function_calling=bool(values.get("supports_parallel_function_calling")),
        supports_tool_choice=bool(values.get("supports_tool_choice")),
        supports_tokenize=bool(values.get("supports_tokenize")),
        supports_embeddings=values.get("model_type") == ModelType.EMBEDDINGS,
        supports_convert=values.get("model_type") == ModelType.DOCUMENT_CONVERSION,
    )


def _current_values(model: LlmModel) -> dict[str, Any]:
    return {name: getattr(model, name) for name in LITELLM_FIELDS}


def model_create(*, actor: Any, model_id: str, data: dict[str, Any], request: Any = None) -> LlmModel:
    """Create a model deployment in LiteLLM (``/model/new``), then the local row (with the encrypted
    provider key). If LiteLLM refuses, nothing changes locally; if the local write fails, the new
    deployment is deleted again. Raises ``ConflictError`` (``model_exists``) for an available model of
    that name, ``ValidationFailed`` for a reserved name, LiteLLM's errors (503 / 502). Not idempotent."""
    _require_admin(actor)
    if model_id in RESERVED_MODEL_IDS or not model_id.strip() or any(c.isspace() for c in model_id):
        raise ValidationFailed(details={"fields": {"id": ["This name is reserved or contains spaces."]}})
    existing = LlmModel.objects.filter(pk=model_id).first()
    if existing is not None and existing.is_available:
        raise ConflictError("A model with this name already exists.", code="model_exists")
    fields = model_fields_from_input(data)
    api_key = data.get("api_key") or None
    deployment_id = gateway.model_create(_litellm_payload(model_id=model_id, values=fields, api_key=api_key))
    try:
        with transaction.atomic():
            model = _model_save_created(model_id=model_id, fields=fields, api_key=api_key,
                                        deployment_id=deployment_id, actor=actor, request=request)
    except Exception:
        _compensate(action="model.create", model_id=model_id, actor=actor,
                    undo=lambda: gateway.model_delete(deployment_id))
        raise
    return model


def _model_save_created(*, model_id: str, fields: dict[str, Any], api_key: str | None, deployment_id: str,
                        actor: Any, request: Any) -> LlmModel:
    now = timezone.now()
    model = LlmModel.objects.select_for_update().filter(pk=model_id).first()
    was_unavailable = model is not None
    if model is None:
        model = LlmModel(id=model_id, created_at=now)
    for name, value in fields.items():
        setattr(model, name, value)
    model.litellm_model_id = deployment_id
    model.defined_in_config = False
    model.encrypted_api_key = encrypt_secret(api_key) if api_key else ""
    model.updated_at = now
    model.full_clean(exclude=["availability"])
    model.save()
    if was_unavailable:
        _model_restore(model=model, actor=actor)
    audit_record(action="model.create", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"litellm_model_id": deployment_id, "provider": model.provider,
                           "model_type": model.model_type, "restricted": model.restricted})
    return model


def _compensate(*, action: str, model_id: str, actor: Any, undo: Any) -> None:
    """Undo a LiteLLM change after the local write failed; if that fails too, leave it to the next sync."""
    try:
        undo()
    except Exception as exc:  # noqa: BLE001 - the original error is the one to raise
        logger.exception("undoing %s in LiteLLM failed; the next model sync reconciles", action)
        audit_record(action=f"{action}.undo_failed", actor=actor, target_type="model", target_id=model_id,
                     success=False, error=getattr(exc, "message", str(exc)))


def model_update(*, actor: Any, model_id: str, data: dict[str, Any], request: Any = None) -> LlmModel:
    """Change a model: LiteLLM fields through ``/model/{id}/update`` first, then the local row; the
    operator's fields (description, restricted) locally only. Restricting or lifting the restriction runs
    the subscription cascade. If the local write fails, LiteLLM gets the old values back.

    Raises ``NotFoundError``, ``ValidationFailed`` (``model_defined_in_config`` when LiteLLM fields of a
    config-file model change, ``model_not_in_litellm`` without a deployment id), LiteLLM's errors.
    Idempotent for the same input.
    """
    _require_admin(actor)
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError()
    fields = model_fields_from_input(data)
    api_key = data.get("api_key") or None
    before = _current_values(model)
    litellm_changes = {k: v for k, v in fields.items() if k in LITELLM_FIELDS and before.get(k) != v}
    touch_litellm = bool(litellm_changes) or api_key is not None
    if touch_litellm:
        if model.defined_in_config:
            raise ValidationFailed("This model is defined in LiteLLM's config file; change it there.",
                                   code="model_defined_in_config")
        if not model.litellm_model_id:
            raise ValidationFailed("This model has no LiteLLM deployment id.", code="model_not_in_litellm")
        gateway.model_update(model.litellm_model_id,
                             _litellm_payload(model_id=model.pk, values={**before, **litellm_changes},
                                              api_key=api_key))
    try:
        with transaction.atomic():
            model = _model_save_updated(model_id=model_id, fields=fields, api_key=api_key, actor=actor,
                                        request=request, changed=sorted(litellm_changes))
    except Exception:
        if touch_litellm:
            old_key = decrypt_secret(model.encrypted_api_key) if api_key is not None else None
            _compensate(action="model.update", model_id=model_id, actor=actor,
                        undo=lambda: gateway.model_update(model.litellm_model_id, _litellm_payload(
                            model_id=model.pk, values=before, api_key=old_key)))
        raise
    return model


def _model_save_updated(*, model_id: str, fields: dict[str, Any], api_key: str | None, actor: Any,
                        request: Any, changed: list[str]) -> LlmModel:
    model = LlmModel.objects.select_for_update().get(pk=model_id)
    was_restricted = model.restricted
    update = []
    for name, value in fields.items():
        if getattr(model, name) != value:
            setattr(model, name, value)
            update.append(name)
    if api_key is not None:
        model.encrypted_api_key = encrypt_secret(api_key)
        update.append("encrypted_api_key")
    model.updated_at = timezone.now()
    model.full_clean(exclude=["availability"])
    model.save(update_fields=[*update, "updated_at"])
    moved = 0
    if model.restricted != was_restricted:
        moved = _model_apply_restriction(model=model, restricted=model.restricted, actor=actor)
    audit_record(action="model.update", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"changed": sorted(set(update) - {"encrypted_api_key"}),
                           "api_key_changed": api_key is not None, "litellm_fields": changed,
                           "subscriptions_moved": moved})
    return model


def model_delete(*, actor: Any, model_id: str, request: Any = None) -> None:
    """Delete a model in LiteLLM (``/model/delete``; "not found" counts as done), then locally: owners of
    live subscriptions are told, the model leaves every key, subscriptions and history go with the row.

    If the local step fails after LiteLLM deleted the deployment, the next sync marks the model
    unavailable with the usual cascade (documented in the report). Raises ``NotFoundError``,
    ``ValidationFailed`` (``model_defined_in_config``), LiteLLM's errors.
    """
    _require_admin(actor)
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError()
    if model.defined_in_config:
        raise ValidationFailed("This model is defined in LiteLLM's config file; remove it there.",
                               code="model_defined_in_config")
    if model.litellm_model_id and not gateway.model_delete(model.litellm_model_id):
        logger.info("model %s was already gone from LiteLLM", model_id)
    _model_delete_locally(model_id=model_id, actor=actor, request=request)


@transaction.atomic
def _model_delete_locally(*, model_id: str, actor: Any, request: Any) -> None:
    model = LlmModel.objects.select_for_update().get(pk=model_id)
    live = list(Subscription.objects.select_related("user").filter(model=model, status__in=[S.ACTIVE, S.PENDING]))
    for subscription in live:
        _notify(user=subscription.user, kind="subscription.model_deleted", level="warning",
                title=f"The model {model.pk} was removed", body="Your subscription to it has ended.",
                link=reverse("subscriptions:list"))
    _keys_cascade("apikeys_remove_model_everywhere", model_id=model.pk, reason="model_deleted")
    deleted_subscriptions = Subscription.objects.filter(model=model).count()
    SubscriptionStatusHistory.objects.filter(subscription__model=model).delete()
    Subscription.objects.filter(model=model).delete()
    audit_record(action="model.delete", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"litellm_model_id": model.litellm_model_id,
                           "subscriptions_deleted": deleted_subscriptions})
    model.delete()


def model_test_configuration(*, actor: Any, api_base: str, backend_model_name: str, api_key: str = "",
                             model_id: str = "", document_conversion: bool = False) -> Any:
    """Probe the provider endpoint (see ``integrations.provider_probe``). Without ``api_key``, the stored
    encrypted key of ``model_id`` is used; when there is none the result is ``missing_stored_key``.
    Read-only; raises ``PermissionDeniedError`` for non-admins only."""
    from integrations.provider_probe import ProbeOutcome, ProbeResult, provider_probe

    _require_admin(actor)
    key = api_key
    if not key and model_id:
        model = LlmModel.objects.filter(pk=model_id).first()
        key = decrypt_secret(model.encrypted_api_key) if model else None
        if not key:
            return ProbeResult(ProbeOutcome.MISSING_STORED_KEY, "No stored API key for this model; enter one.")
    result = provider_probe(api_base=api_base, api_key=key or "", backend_model_name=backend_model_name,
                            document_conversion=document_conversion)
    audit_record(action="model.test_configuration", actor=actor, target_type="model", target_id=model_id,
                 success=result.success, metadata={"result": result.result, "api_base": api_base})
    return result
