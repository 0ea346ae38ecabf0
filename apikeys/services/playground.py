"""Short-lived playground keys, and the bookkeeping of a key's use through the portal
(``/keys/self``): last use and the cached spend."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus, KeyType
from apikeys.services._shared import CreatedApiKey, _Limits
from apikeys.services.create import _provision
from apikeys.services.lifecycle import apikey_revoke
from litemaas.exceptions import InvalidTransition, ValidationFailed


def apikey_create_playground(*, user: Any, model_id: str, request: HttpRequest | None = None) -> CreatedApiKey:
    """Mint a short-lived playground key (``PLAYGROUND_KEY_TTL_SECONDS``, budget ``PLAYGROUND_KEY_BUDGET``)
    for one chat model the user is actively subscribed to. Older live playground keys beyond
    ``PLAYGROUND_MAX_LIVE_KEYS`` are revoked. Never listed with normal keys; revoked by the expiry sweep."""
    from apikeys.selectors import subscribed_models_for_user
    from subscriptions.models import ModelType

    if not subscribed_models_for_user(user=user, model_type=ModelType.CHAT).filter(pk=model_id).exists():
        raise ValidationFailed(details={"fields": {"model": ["Choose a chat model you are subscribed to."]}})
    live = list(ApiKey.objects.filter(user=user, key_type=KeyType.PLAYGROUND,
                                      status__in=(KeyStatus.ACTIVE, KeyStatus.BLOCKED)).order_by("-created_at"))
    for old in live[settings.PLAYGROUND_MAX_LIVE_KEYS - 1:]:
        try:
            apikey_revoke(key=old, actor=user, reason="Replaced by a new playground session.")
        except InvalidTransition:
            continue
    limits = _Limits(max_budget=settings.PLAYGROUND_KEY_BUDGET, budget_duration="", soft_budget=None,
                     tpm_limit=None, rpm_limit=None, max_parallel_requests=None,
                     expires_at=timezone.now() + timedelta(seconds=settings.PLAYGROUND_KEY_TTL_SECONDS))
    return _provision(user=user, actor=user, name="playground", description="Chat playground session",
                      models=[model_id], limits=limits, per_model={}, key_type=KeyType.PLAYGROUND,
                      rotated_from=None, request=request, audit_action="apikey.playground_create",
                      audit_extra={}, tags=["playground"])


def apikey_touch_last_used(*, key: ApiKey) -> None:
    """Record use of the key through the portal (``/keys/self``), at most once a minute."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


def apikey_record_spend(*, key: ApiKey, spend: float | Decimal) -> None:
    """Cache LiteLLM's spend on the row (the DB fallback of ``/keys/self``); not audited."""
    ApiKey.objects.filter(pk=key.pk).update(spend=Decimal(str(spend)), spend_synced_at=timezone.now())
