"""Read operations of ``apikeys``: querysets already scoped to the acting user.

Live spend comes from LiteLLM in ONE ``/key/list`` call per user (cached for ``APIKEY_SPEND_CACHE_SECONDS``),
never one ``/key/info`` per key per page view (defect #30). When LiteLLM is down the pages still render and
say "spend unavailable".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet

from apikeys.models import ApiKey, ApiKeyModel, KeyStatus, KeyType
from litemaas.exceptions import NotFoundError

logger = logging.getLogger(__name__)

_SPEND_CACHE_KEY = "apikeys:spend:{user_id}"


def _base_queryset() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("user").prefetch_related(
        Prefetch("model_links", queryset=ApiKeyModel.objects.order_by("model_id"))
    )


def apikey_list_for_user(*, user: Any, status: str | None = None) -> QuerySet[ApiKey]:
    """The user's own standard keys (newest first), without failed creates and deleted tombstones."""
    qs = (
        _base_queryset()
        .filter(user=user, key_type=KeyType.STANDARD, deleted_at__isnull=True)
        .exclude(status=KeyStatus.FAILED)
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def apikey_get_for_user(*, user: Any, key_id: Any) -> ApiKey:
    """One of the user's own standard keys, or ``NotFoundError`` (another user's key is also "not found")."""
    try:
        return apikey_list_for_user(user=user).get(pk=key_id)
    except (ApiKey.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFoundError("API key not found.") from None


def apikey_list_for_admin(*, actor: Any, target_user: Any) -> QuerySet[ApiKey]:
    """A user's keys as an admin sees them: everything but playground keys, including revoked ones."""
    if not getattr(actor, "is_readonly_admin", False):
        return ApiKey.objects.none()
    return (
        _base_queryset()
        .filter(user=target_user, key_type=KeyType.STANDARD, deleted_at__isnull=True)
        .order_by("-created_at")
    )


def apikey_get_for_admin(*, actor: Any, target_user: Any, key_id: Any) -> ApiKey:
    """One key of ``target_user`` for an admin, or ``NotFoundError``."""
    try:
        return apikey_list_for_admin(actor=actor, target_user=target_user).get(pk=key_id)
    except (ApiKey.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFoundError("API key not found.") from None


def apikey_get_usable_by_hash(*, token_hash: str) -> ApiKey | None:
    """The active, unexpired key with this hash (for ``/keys/self`` authentication), or ``None``."""
    key = _base_queryset().filter(token_hash=token_hash, status=KeyStatus.ACTIVE).first()
    if key is None or not key.is_usable:
        return None
    return key


def active_model_ids_for_user(*, user: Any) -> set[str]:
    """Ids of models the user holds an ACTIVE subscription to (the only models a key may carry)."""
    from subscriptions.models import Subscription, SubscriptionStatus

    return set(
        Subscription.objects.filter(user=user, status=SubscriptionStatus.ACTIVE).values_list("model_id", flat=True)
    )


def subscribed_models_for_user(*, user: Any, model_type: str | None = None) -> QuerySet:
    """``LlmModel`` rows with an active subscription of ``user`` (optionally of one model type)."""
    from subscriptions.models import LlmModel, SubscriptionStatus

    qs = LlmModel.objects.filter(subscriptions__user=user, subscriptions__status=SubscriptionStatus.ACTIVE)
    if model_type:
        qs = qs.filter(model_type=model_type)
    return qs.order_by("id").distinct()


def models_by_id(model_ids: set[str]) -> dict[str, Any]:
    """``{id: LlmModel}`` for the given ids (one query), for model types, prices and snippets."""
    from subscriptions.models import LlmModel

    if not model_ids:
        return {}
    return {m.id: m for m in LlmModel.objects.filter(pk__in=model_ids)}


@dataclass(frozen=True)
class LiveSpend:
    """What LiteLLM says about one key right now."""

    spend: Decimal
    max_budget: Decimal | None
    budget_reset_at: datetime | None
    blocked: bool


def apikey_live_spend_for_user(*, user: Any, refresh: bool = False) -> dict[str, LiveSpend] | None:
    """``{token_hash: LiveSpend}`` for all of the user's keys in one LiteLLM call, or ``None`` if LiteLLM is
    unavailable. Cached per user; ``refresh`` bypasses the cache. Never raises for an outage."""
    from integrations.litellm.client import get_litellm_client
    from integrations.litellm.errors import LiteLLMError

    cache_key = _SPEND_CACHE_KEY.format(user_id=user.pk)
    if not refresh:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    try:
        keys = get_litellm_client().key_list(user_id=str(user.pk))
    except LiteLLMError as exc:
        logger.warning("live spend unavailable for user %s: %s", user.pk, exc.code)
        return None
    result = {
        k.token: LiveSpend(
            spend=Decimal(str(k.spend)),
            max_budget=None if k.max_budget is None else Decimal(str(k.max_budget)),
            budget_reset_at=k.budget_reset_at,
            blocked=k.blocked,
        )
        for k in keys
    }
    cache.set(cache_key, result, settings.APIKEY_SPEND_CACHE_SECONDS)
    return result


def apikey_forget_live_spend(*, user_id: Any) -> None:
    """Drop the cached spend of a user (after a reset, create or revoke)."""
    cache.delete(_SPEND_CACHE_KEY.format(user_id=user_id))


def apikey_self_info(*, key: ApiKey) -> dict[str, Any]:
    """What ``/keys/self`` reports: LiteLLM's live view of the key (``source="litellm"``), or the portal's
    record when LiteLLM is unavailable (``source="portal"``, spend as last seen). Never raises for an outage."""
    from integrations.litellm.client import get_litellm_client
    from integrations.litellm.errors import LiteLLMError

    links = list(key.model_links.all())
    info: dict[str, Any] = {
        "id": key.pk, "name": key.name, "masked_key": key.masked, "status": key.status,
        "models": [link.model_id for link in links],
        "max_budget": key.max_budget, "spend": key.spend, "budget_duration": key.budget_duration or None,
        "budget_reset_at": None, "soft_budget": key.soft_budget, "tpm_limit": key.tpm_limit,
        "rpm_limit": key.rpm_limit, "max_parallel_requests": key.max_parallel_requests,
        "expires_at": key.expires_at, "source": "portal",
        "model_limits": {
            link.model_id: {"max_budget": None if link.max_budget is None else str(link.max_budget),
                            "tpm_limit": link.tpm_limit, "rpm_limit": link.rpm_limit}
            for link in links if link.max_budget is not None or link.tpm_limit or link.rpm_limit
        },
    }
    try:
        remote = get_litellm_client().key_get(key.token_hash)
    except LiteLLMError as exc:
        logger.warning("key self-info for %s from the portal only: %s", key.pk, exc.code)
        remote = None
    if remote is not None:
        info.update(
            models=list(remote.models) or info["models"],
            max_budget=None if remote.max_budget is None else Decimal(str(remote.max_budget)),
            spend=Decimal(str(remote.spend)),
            budget_duration=remote.budget_duration,
            budget_reset_at=remote.budget_reset_at,
            soft_budget=None if remote.soft_budget is None else Decimal(str(remote.soft_budget)),
            tpm_limit=remote.tpm_limit, rpm_limit=remote.rpm_limit,
            max_parallel_requests=remote.max_parallel_requests,
            expires_at=remote.expires or info["expires_at"], source="litellm",
        )
        from apikeys.services import apikey_record_spend

        apikey_record_spend(key=key, spend=remote.spend)
    spend = info["spend"]
    info["remaining_budget"] = (
        None if info["max_budget"] is None else max(Decimal(info["max_budget"]) - (spend or Decimal(0)), Decimal(0))
    )
    return info
