"""Create a key: commit the row as ``provisioning``, call ``/key/generate`` with the portal-minted
secret, then mark it ``active``; and the cleanup of creates that never finished (delete by hash, then
``failed``), by the beat sweep and by the reconciler."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from apikeys.keygen import MintedSecret, build_alias, mint_secret, new_alias_suffix
from apikeys.models import ApiKey, ApiKeyModel, ApiKeySettings, KeyStatus, KeyType
from apikeys.selectors import apikey_forget_live_spend
from apikeys.services._shared import (
    _SWEEP_BATCH,
    _UNAVAILABLE_CREATE,
    PER_MODEL_BUDGET_MESSAGE,
    CreatedApiKey,
    ModelLimits,
    _key_audit,
    _Limits,
    _raise_if,
    _set_status,
    _sweep_lock,
    logger,
)
from apikeys.services.limits import _check_model_limits, _check_models, _resolve_limits
from apikeys.services.remote import _remote_delete, _remote_generate
from integrations.litellm.errors import (
    LiteLLMEnterpriseRequired,
    LiteLLMError,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record
from litemaas.exceptions import ServiceUnavailableError, ValidationFailed


def apikey_create(
    *,
    user: Any,
    actor: Any,
    model_ids: list[str],
    name: str,
    description: str = "",
    expires_at: Any = UNSET,
    max_budget: Any = UNSET,
    budget_duration: Any = UNSET,
    soft_budget: Any = UNSET,
    tpm_limit: Any = UNSET,
    rpm_limit: Any = UNSET,
    max_parallel_requests: Any = UNSET,
    model_limits: dict[str, ModelLimits] | None = None,
    enforce_policy: bool = True,
    request: HttpRequest | None = None,
    team_id: Any = None,
) -> CreatedApiKey:
    """Create a key for ``user`` on models they hold an active subscription to, and return its secret once.

    ``UNSET`` limits take the admin defaults; ``None`` means "no limit" (refused where a ceiling exists
    and ``enforce_policy``). Admins acting for a user pass ``enforce_policy=False`` (ceilings and the
    active-key limit apply to self-service only). Raises ``ValidationFailed`` (400, field details),
    ``ServiceUnavailableError`` (503: nothing active, nothing left in LiteLLM after the cleanup sweep) or
    ``LiteLLMRejected`` (502). Not idempotent: each call mints a new key.
    """
    policy = ApiKeySettings.load()
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append("A name is required.")
    models = _check_models(user=user, model_ids=model_ids, errors=errors)
    limits = _resolve_limits(
        policy=policy, enforce_policy=enforce_policy, current=None, errors=errors,
        values={"max_budget": max_budget, "budget_duration": budget_duration, "soft_budget": soft_budget,
                "tpm_limit": tpm_limit, "rpm_limit": rpm_limit, "max_parallel_requests": max_parallel_requests,
                "expires_at": expires_at},
    )
    per_model = _check_model_limits(model_limits=model_limits, models=models, policy=policy,
                                    enforce_policy=enforce_policy, errors=errors)
    if enforce_policy:
        live = ApiKey.objects.filter(user=user, key_type=KeyType.STANDARD, status__in=ApiKey.LIVE_STATUSES,
                                     deleted_at__isnull=True).count()
        if live >= policy.max_active_keys_per_user:
            errors.setdefault("non_field_errors", []).append(
                f"You already have {live} keys; the limit is {policy.max_active_keys_per_user}. "
                "Revoke a key before creating another."
            )
    _raise_if(errors)
    team = None
    if team_id:
        # ``team_id``: charge the key to one of the user's teams (teams checks membership and member caps).
        from teams.services import team_check_key_charge

        team = team_check_key_charge(user=user, team_id=team_id, max_budget=limits.max_budget)
    return _provision(
        user=user, actor=actor, name=name, description=description, models=models, limits=limits,
        per_model=per_model, key_type=KeyType.STANDARD, rotated_from=None, request=request,
        audit_action="apikey.create", audit_extra={"on_behalf": actor is not None and actor.pk != user.pk},
        team=team,
    )


def _provision(
    *, user: Any, actor: Any, name: str, description: str, models: list[str], limits: _Limits,
    per_model: dict[str, ModelLimits], key_type: str, rotated_from: ApiKey | None,
    request: HttpRequest | None, audit_action: str, audit_extra: dict[str, Any], tags: list[str] | None = None,
    team: Any = None,
) -> CreatedApiKey:
    minted = mint_secret()
    key = _insert_provisioning(user=user, actor=actor, name=name, description=description, models=models,
                               limits=limits, per_model=per_model, key_type=key_type, minted=minted,
                               rotated_from=rotated_from, team=team)
    try:
        _remote_generate(key=key, secret=minted.secret, models=models, model_limits=per_model, tags=tags)
    except LiteLLMEnterpriseRequired as exc:
        _fail_provisioning(key, reason=exc.reason or exc.message, actor=actor, request=request, remote_created=False)
        raise ValidationFailed(PER_MODEL_BUDGET_MESSAGE, details={"fields": {"model_limits": [PER_MODEL_BUDGET_MESSAGE]}}) from None
    except LiteLLMRejected as exc:
        _fail_provisioning(key, reason=exc.reason or exc.message, actor=actor, request=request, remote_created=False)
        raise
    except LiteLLMError as exc:
        # Unavailable (timeout, 5xx, breaker): LiteLLM may have stored the key before failing to answer.
        _fail_provisioning(key, reason=exc.message, actor=actor, request=request, remote_created=None)
        raise ServiceUnavailableError(_UNAVAILABLE_CREATE, code="litellm_unavailable") from None
    # Anything else (a crash) leaves the row "provisioning"; apikeys_cleanup_provisioning removes it later.

    if not _set_status(key, from_statuses=(KeyStatus.PROVISIONING,), to=KeyStatus.ACTIVE, activated_at=timezone.now()):
        # The cleanup sweep declared this create dead while LiteLLM was slow: do not hand out the secret.
        _best_effort_remote_delete(key)
        raise ServiceUnavailableError(_UNAVAILABLE_CREATE, code="litellm_unavailable")
    audit_record(action=audit_action, actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key, models=models, key_type=key_type, **audit_extra), request=request)
    apikey_forget_live_spend(user_id=user.pk)
    logger.info("api key %s created for user %s (%s)", key.pk, user.pk, key.masked)
    return CreatedApiKey(key=key, secret=minted.secret)


@transaction.atomic
def _insert_provisioning(
    *, user: Any, actor: Any, name: str, description: str, models: list[str], limits: _Limits,
    per_model: dict[str, ModelLimits], key_type: str, minted: MintedSecret, rotated_from: ApiKey | None,
    team: Any = None,
) -> ApiKey:
    suffix = new_alias_suffix()
    key = ApiKey(
        user=user, created_by=actor if getattr(actor, "is_authenticated", False) else None, key_type=key_type,
        name=name[:100], description=(description or "")[:500], key_alias=build_alias(name, suffix),
        alias_suffix=suffix, token_hash=minted.token_hash, key_prefix=minted.key_prefix, last4=minted.last4,
        status=KeyStatus.PROVISIONING, max_budget=limits.max_budget, budget_duration=limits.budget_duration,
        soft_budget=limits.soft_budget, tpm_limit=limits.tpm_limit, rpm_limit=limits.rpm_limit,
        max_parallel_requests=limits.max_parallel_requests, expires_at=limits.expires_at, rotated_from=rotated_from,
        team=team,
    )
    key.full_clean(exclude=["rotated_from", "team"])
    key.save()
    ApiKeyModel.objects.bulk_create([
        ApiKeyModel(key=key, model_id=m, max_budget=per_model[m].max_budget if m in per_model else None,
                    budget_duration=per_model[m].budget_duration if m in per_model else "",
                    tpm_limit=per_model[m].tpm_limit if m in per_model else None,
                    rpm_limit=per_model[m].rpm_limit if m in per_model else None)
        for m in models
    ])
    return key


def _fail_provisioning(key: ApiKey, *, reason: str, actor: Any, request: HttpRequest | None,
                       remote_created: bool | None) -> None:
    """Mark a create as failed. ``remote_created=None`` means "unknown": delete by hash first, and if that
    is impossible now, leave the row ``provisioning`` for the cleanup sweep."""
    if remote_created is None and not _best_effort_remote_delete(key):
        ApiKey.objects.filter(pk=key.pk).update(last_error=reason[:2000], updated_at=timezone.now())
    else:
        _set_status(key, from_statuses=(KeyStatus.PROVISIONING,), to=KeyStatus.FAILED,
                    status_reason="LiteLLM did not create the key.", last_error=reason[:2000])
    audit_record(action="apikey.create", actor=actor, target_type="apikey", target_id=key.pk, success=False,
                 error=reason[:500], metadata=_key_audit(key), request=request)


def _best_effort_remote_delete(key: ApiKey) -> bool:
    try:
        _remote_delete(token_hash=key.token_hash)
    except LiteLLMError as exc:
        logger.warning("could not delete key %s in LiteLLM yet: %s", key.pk, exc.code)
        return False
    return True


def apikeys_cleanup_provisioning() -> int:
    """Beat sweep: a ``provisioning`` row older than ``APIKEY_PROVISIONING_GRACE_SECONDS`` is a create that
    crashed or timed out. Delete its key in LiteLLM by hash (missing is fine), then mark it ``failed``.

    Stops at the first "LiteLLM unavailable" (next minute retries). Returns rows failed. Idempotent."""
    if (lock := _sweep_lock("provisioning")) is None:
        return 0
    cutoff = timezone.now() - timedelta(seconds=settings.APIKEY_PROVISIONING_GRACE_SECONDS)
    count = 0
    try:
        stale = ApiKey.objects.filter(status=KeyStatus.PROVISIONING, created_at__lt=cutoff).order_by("created_at")
        for key in stale[:_SWEEP_BATCH]:
            try:
                _remote_delete(token_hash=key.token_hash)
            except LiteLLMUnavailable:
                break
            except LiteLLMError as exc:
                logger.warning("cleanup of provisioning key %s rejected: %s", key.pk, exc.code)
                continue
            if _set_status(key, from_statuses=(KeyStatus.PROVISIONING,), to=KeyStatus.FAILED,
                           status_reason="Creation did not finish; cleaned up."):
                audit_record(action="apikey.cleanup_provisioning", actor=None, target_type="apikey",
                             target_id=key.pk, metadata=_key_audit(key))
                count += 1
    finally:
        lock.release()
    return count


def apikey_fail_stale_provisioning(*, key_id: Any, actor: Any = None) -> bool:
    """One leftover of a create that never finished (``provisioning`` past the grace): delete its key in
    LiteLLM by hash (missing is fine), then mark it ``failed``. Returns True if this call failed it.
    Raises ``LiteLLMError`` when LiteLLM could not confirm the delete. Idempotent."""
    cutoff = timezone.now() - timedelta(seconds=settings.APIKEY_PROVISIONING_GRACE_SECONDS)
    key = ApiKey.objects.filter(pk=key_id, status=KeyStatus.PROVISIONING, created_at__lt=cutoff).first()
    if key is None:
        return False
    _remote_delete(token_hash=key.token_hash)
    if _set_status(key, from_statuses=(KeyStatus.PROVISIONING,), to=KeyStatus.FAILED,
                   status_reason="Creation did not finish; cleaned up."):
        audit_record(action="apikey.cleanup_provisioning", actor=actor, target_type="apikey", target_id=key.pk,
                     metadata=_key_audit(key))
        return True
    return False
