"""Rotate a key (a new key with the same owner, name, models and limits) and the beat sweep that
revokes old keys once their rotation grace ends."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus
from apikeys.services._shared import (
    _SWEEP_BATCH,
    MAX_ROTATION_GRACE_HOURS,
    CreatedApiKey,
    ModelLimits,
    _Limits,
    _sweep_lock,
)
from apikeys.services.create import _provision
from apikeys.services.lifecycle import apikey_revoke
from litemaas.exceptions import InvalidTransition, ValidationFailed


def apikey_rotate(*, key: ApiKey, actor: Any, grace_hours: float = 0,
                  request: HttpRequest | None = None) -> CreatedApiKey:
    """Mint a new key with the same owner, name, models and limits (a new row with ``rotated_from``).

    The old key stays valid for ``grace_hours`` (0–24) and is then revoked by the beat sweep
    (:func:`apikeys_revoke_rotated_after_grace`); with 0 it is revoked at once. LiteLLM enforces unique
    aliases, so the new key keeps the name-derived alias with a fresh suffix. Raises ``ValidationFailed``
    (grace), ``InvalidTransition`` (not active / already rotated), ``ServiceUnavailableError`` (the old key
    is untouched). Not idempotent.
    """
    try:
        grace = float(grace_hours)
    except (TypeError, ValueError):
        grace = -1
    if not 0 <= grace <= MAX_ROTATION_GRACE_HOURS:
        raise ValidationFailed(details={"fields": {"grace_hours": ["Choose a grace between 0 and 24 hours."]}})
    if key.status != KeyStatus.ACTIVE:
        raise InvalidTransition("Only active keys can be rotated.")
    if ApiKey.objects.filter(rotated_from=key).exclude(status=KeyStatus.FAILED).exists():
        raise InvalidTransition("This key was already rotated.")
    ApiKey.objects.filter(rotated_from=key, status=KeyStatus.FAILED).update(rotated_from=None)
    links = list(key.model_links.all())
    models = [link.model_id for link in links]
    per_model = {lk.model_id: ModelLimits(lk.max_budget, lk.budget_duration, lk.tpm_limit, lk.rpm_limit)
                 for lk in links}
    per_model = {m: lim for m, lim in per_model.items() if not lim.is_empty}
    limits = _Limits(key.max_budget, key.budget_duration, key.soft_budget, key.tpm_limit, key.rpm_limit,
                     key.max_parallel_requests, key.expires_at)
    created = _provision(
        user=key.user, actor=actor, name=key.name, description=key.description, models=models, limits=limits,
        per_model=per_model, key_type=key.key_type, rotated_from=key, request=request,
        audit_action="apikey.rotate", audit_extra={"rotated_from": str(key.pk), "grace_hours": grace},
    )
    revoke_at = timezone.now() + timedelta(hours=grace)
    ApiKey.objects.filter(pk=key.pk).update(rotation_revoke_at=revoke_at, updated_at=timezone.now())
    key.rotation_revoke_at = revoke_at
    if grace == 0:
        apikey_revoke(key=key, actor=actor, reason="Rotated.", request=request)
    return created


def apikeys_revoke_rotated_after_grace() -> int:
    """Beat sweep: revoke old keys whose rotation grace has ended. Returns how many were revoked."""
    if (lock := _sweep_lock("rotated")) is None:
        return 0
    count = 0
    try:
        due = ApiKey.objects.filter(rotation_revoke_at__lte=timezone.now(),
                                    status__in=(KeyStatus.ACTIVE, KeyStatus.BLOCKED, KeyStatus.EXPIRED))
        for key in due.select_related("user")[:_SWEEP_BATCH]:
            apikey_revoke(key=key, actor=None, reason="Rotation grace ended.")
            count += 1
    finally:
        lock.release()
    return count
