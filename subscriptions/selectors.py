"""Read operations of ``subscriptions``: querysets already scoped to the acting user."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from litemaas.exceptions import NotFoundError
from subscriptions.models import Availability, LlmModel, ModelType, Subscription, SubscriptionStatus

# Capability filter code -> queryset condition.
_CAPABILITY_FILTERS: dict[str, Q] = {
    "chat": Q(model_type=ModelType.CHAT),
    "embeddings": Q(model_type=ModelType.EMBEDDINGS),
    "document_conversion": Q(model_type=ModelType.DOCUMENT_CONVERSION),
    "tokenize": Q(supports_tokenize=True),
    "vision": Q(supports_vision=True),
    "function_calling": Q(supports_function_calling=True),
    "parallel_function_calling": Q(supports_parallel_function_calling=True),
    "tool_choice": Q(supports_tool_choice=True),
}


def access_state(model: LlmModel) -> str:
    """The caller's access to ``model`` as shown on a card: subscribed, pending, denied, restricted or
    available (needs ``my_status`` from ``model_list_for_user``)."""
    status = getattr(model, "my_status", None)
    if status == SubscriptionStatus.ACTIVE:
        return "subscribed"
    if status in (SubscriptionStatus.PENDING, SubscriptionStatus.DENIED):
        return status
    return "restricted" if model.restricted else "available"


def model_list_for_user(*, user: Any, search: str = "", provider: str = "", capability: str = "",
                        include_unavailable: bool = False) -> QuerySet[LlmModel]:
    """The public catalogue: available models (filtered), each annotated with the caller's subscription
    status (``my_status``, ``my_subscription_id``; ``None`` for anonymous callers). One query."""
    queryset = LlmModel.objects.all()
    if not include_unavailable:
        queryset = queryset.filter(availability=Availability.AVAILABLE)
    if search:
        queryset = queryset.filter(Q(id__icontains=search) | Q(description__icontains=search)
                                   | Q(provider__icontains=search))
    if provider:
        queryset = queryset.filter(provider=provider)
    if capability:
        condition = _CAPABILITY_FILTERS.get(capability)
        queryset = queryset.filter(condition) if condition is not None else queryset.none()
    if getattr(user, "is_authenticated", False):
        mine = Subscription.objects.filter(user=user, model=OuterRef("pk"))
        queryset = queryset.annotate(my_status=Subquery(mine.values("status")[:1]),
                                     my_subscription_id=Subquery(mine.values("id")[:1]))
    return queryset.order_by("id")


def model_get_for_user(*, user: Any, model_id: str) -> LlmModel:
    """One available model of the catalogue (annotated like the list); ``NotFoundError`` otherwise."""
    model = model_list_for_user(user=user).filter(pk=model_id).first()
    if model is None:
        raise NotFoundError("This model does not exist.")
    return model


def model_providers() -> list[str]:
    """Distinct providers of available models (for the catalogue filter)."""
    return list(LlmModel.objects.filter(availability=Availability.AVAILABLE).order_by("provider")
                .values_list("provider", flat=True).distinct())


def model_list_admin(*, search: str = "", availability: str = "") -> QuerySet[LlmModel]:
    """Every model, available or not, for admins and read-only admins (the caller checks the role)."""
    queryset = LlmModel.objects.all()
    if search:
        queryset = queryset.filter(Q(id__icontains=search) | Q(provider__icontains=search))
    if availability:
        queryset = queryset.filter(availability=availability)
    return queryset.order_by("id")


def model_get_admin(*, model_id: str) -> LlmModel:
    """One model by id for admins; ``NotFoundError`` when missing."""
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError()
    return model


def subscription_list_for_user(*, user: Any, status: str = "", model_id: str = "") -> QuerySet[Subscription]:
    """The caller's own subscriptions; inactive ones only when asked for by ``status``."""
    queryset = Subscription.objects.filter(user=user).select_related("model")
    if status:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.exclude(status=SubscriptionStatus.INACTIVE)
    if model_id:
        queryset = queryset.filter(model_id=model_id)
    return queryset.order_by("-status_changed_at")


def subscription_get_for_user(*, user: Any, subscription_id: Any) -> Subscription:
    """One of the caller's subscriptions; anyone else's (or none) is ``NotFoundError``."""
    try:
        return Subscription.objects.select_related("model").get(pk=subscription_id, user=user)
    except (Subscription.DoesNotExist, ValueError, TypeError):
        raise NotFoundError() from None


def subscription_list_admin(*, statuses: list[str] | None = None, model_ids: list[str] | None = None,
                            user_ids: list[str] | None = None, date_from: date | None = None,
                            date_to: date | None = None) -> QuerySet[Subscription]:
    """The admin review queue: every subscription, filtered, newest status change first (the caller
    checks the role). Related user, model and changer come in the same query."""
    queryset = Subscription.objects.select_related("user", "model", "status_changed_by")
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if model_ids:
        queryset = queryset.filter(model_id__in=model_ids)
    if user_ids:
        queryset = queryset.filter(user_id__in=user_ids)
    if date_from:
        queryset = queryset.filter(status_changed_at__date__gte=date_from)
    if date_to:
        queryset = queryset.filter(status_changed_at__date__lte=date_to)
    return queryset.order_by("-status_changed_at", "-created_at")


def subscription_get_admin(*, subscription_id: Any) -> Subscription:
    """One subscription for admins; ``NotFoundError`` when missing."""
    try:
        return Subscription.objects.select_related("user", "model", "status_changed_by").get(pk=subscription_id)
    except (Subscription.DoesNotExist, ValueError, TypeError):
        raise NotFoundError() from None


def subscription_history(*, subscription: Subscription) -> QuerySet[Any]:
    """The status history of one subscription, newest first."""
    return subscription.history.select_related("changed_by").all()
