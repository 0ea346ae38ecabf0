"""Edit a key (LiteLLM first, then the row), and mark a key LiteLLM lost as ``broken``."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from apikeys.keygen import build_alias
from apikeys.models import ApiKey, ApiKeyModel, ApiKeySettings, KeyStatus
from apikeys.selectors import apikey_forget_live_spend
from apikeys.services._shared import (
    PER_MODEL_BUDGET_MESSAGE,
    ModelLimits,
    _key_audit,
    _raise_if,
    _set_status,
)
from apikeys.services.limits import _check_model_limits, _check_models, _resolve_limits
from apikeys.services.remote import _model_limit_fields, _remote_update
from integrations.litellm.errors import LiteLLMEnterpriseRequired, LiteLLMNotFound
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError, InvalidTransition, ValidationFailed


def apikey_update(
    *,
    key: ApiKey,
    actor: Any,
    name: Any = UNSET,
    description: Any = UNSET,
    model_ids: Any = UNSET,
    expires_at: Any = UNSET,
    max_budget: Any = UNSET,
    budget_duration: Any = UNSET,
    soft_budget: Any = UNSET,
    tpm_limit: Any = UNSET,
    rpm_limit: Any = UNSET,
    max_parallel_requests: Any = UNSET,
    model_limits: Any = UNSET,
    enforce_policy: bool = True,
    request: HttpRequest | None = None,
    team_id: Any = UNSET,
) -> ApiKey:
    """Edit an active or blocked key: name (the alias follows, same suffix), description, models (active
    subscriptions only), limits (``None`` really clears the limit in LiteLLM) and expiry.

    LiteLLM is updated first; raises ``ServiceUnavailableError`` (nothing changed), ``ValidationFailed``,
    ``InvalidTransition`` for other states. Idempotent (absolute values).
    """
    if key.status not in (KeyStatus.ACTIVE, KeyStatus.BLOCKED):
        raise InvalidTransition("Only active or blocked keys can be edited.")
    policy = ApiKeySettings.load()
    errors: dict[str, list[str]] = {}
    remote: dict[str, Any] = {}
    local: dict[str, Any] = {}
    changes: dict[str, Any] = {}

    if name is not UNSET:
        new_name = (name or "").strip()
        if not new_name:
            errors.setdefault("name", []).append("A name is required.")
        elif new_name != key.name:
            local["name"] = new_name[:100]
            alias = build_alias(new_name, key.alias_suffix)
            if alias != key.key_alias:
                local["key_alias"] = remote["key_alias"] = alias
            changes["name"] = new_name
    if description is not UNSET and (description or "") != key.description:
        local["description"] = (description or "")[:500]
        changes["description"] = True

    current_models = [link.model_id for link in key.model_links.all()]
    models = current_models
    if model_ids is not UNSET:
        models = _check_models(user=key.user, model_ids=model_ids or [], errors=errors)
        if models and sorted(models) != sorted(current_models):
            remote["models"] = models
            changes["models"] = models

    values = {"max_budget": max_budget, "budget_duration": budget_duration, "soft_budget": soft_budget,
              "tpm_limit": tpm_limit, "rpm_limit": rpm_limit, "max_parallel_requests": max_parallel_requests,
              "expires_at": expires_at}
    limits = _resolve_limits(policy=policy, enforce_policy=enforce_policy, current=key, values=values,
                             errors=errors)
    per_model: dict[str, ModelLimits] | None = None
    if model_limits is not UNSET:
        per_model = _check_model_limits(model_limits=model_limits or {}, models=models, policy=policy,
                                        enforce_policy=enforce_policy, errors=errors)
    elif "models" in changes:
        # Keep the per-model limits of models that stay on the key.
        per_model = {
            link.model_id: ModelLimits(link.max_budget, link.budget_duration, link.tpm_limit, link.rpm_limit)
            for link in key.model_links.all() if link.model_id in models
        }
        per_model = {m: lim for m, lim in per_model.items() if not lim.is_empty}
    _raise_if(errors)

    limit_changes: dict[str, Any] = {}
    for name_, new in (("max_budget", limits.max_budget), ("budget_duration", limits.budget_duration),
                       ("soft_budget", limits.soft_budget), ("tpm_limit", limits.tpm_limit),
                       ("rpm_limit", limits.rpm_limit), ("max_parallel_requests", limits.max_parallel_requests)):
        if values[name_] is not UNSET and new != getattr(key, name_):
            limit_changes[name_] = new
            local[name_] = new
            changes[name_] = None if new is None else str(new)
    expiry_value: Any = UNSET
    if expires_at is not UNSET and limits.expires_at != key.expires_at:
        local["expires_at"] = limits.expires_at
        expiry_value = limits.expires_at
        changes["expires_at"] = limits.expires_at.isoformat() if limits.expires_at else None
    remote.update(limit_changes)
    new_team_id = key.team_id if team_id is UNSET else (team_id or None)
    if new_team_id and (new_team_id != key.team_id or "max_budget" in limit_changes):
        # Charged to a team: membership and the per-member cap hold for the key's (new) budget.
        from teams.services import team_check_key_charge

        team_check_key_charge(user=key.user, team_id=new_team_id, max_budget=limits.max_budget,
                              exclude_key_id=key.pk)
    if team_id is not UNSET and new_team_id != key.team_id:
        remote["team_id"] = local["team_id"] = new_team_id
        changes["team_id"] = str(new_team_id) if new_team_id else None
    if expiry_value is not UNSET:
        remote["expires"] = expiry_value

    old_per_model = {link.model_id: link for link in key.model_links.all()}
    if per_model is not None:
        before = {m: ModelLimits(lk.max_budget, lk.budget_duration, lk.tpm_limit, lk.rpm_limit)
                  for m, lk in old_per_model.items() if not ModelLimits(lk.max_budget, lk.budget_duration,
                                                                         lk.tpm_limit, lk.rpm_limit).is_empty}
        if before != per_model:
            remote.update(_model_limit_fields(per_model, creating=False))
            changes["model_limits"] = sorted(per_model)
    if not changes:
        return key

    try:
        _remote_update(key=key, **remote)
    except LiteLLMEnterpriseRequired:
        raise ValidationFailed(PER_MODEL_BUDGET_MESSAGE,
                               details={"fields": {"model_limits": [PER_MODEL_BUDGET_MESSAGE]}}) from None
    except LiteLLMNotFound:
        apikey_mark_broken(key=key, actor=actor)
        raise ConflictError("LiteLLM no longer knows this key; it was marked broken. Revoke it and create a "
                            "new one.") from None

    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        for attr, value in local.items():
            setattr(locked, attr, value)
        locked.updated_at = timezone.now()
        if "models" in remote and locked.remote_sync_pending:
            locked.remote_sync_pending = False  # the full model list just reached LiteLLM
            local["remote_sync_pending"] = False
        locked.full_clean(exclude=["rotated_from", "user", "created_by"])
        locked.save(update_fields=[*local.keys(), "updated_at"])
        if "models" in changes or per_model is not None:
            locked.model_links.exclude(model_id__in=models).delete()
            existing = set(locked.model_links.values_list("model_id", flat=True))
            ApiKeyModel.objects.bulk_create([ApiKeyModel(key=locked, model_id=m) for m in models if m not in existing])
            if per_model is not None:
                for link in locked.model_links.all():
                    lim = per_model.get(link.model_id, ModelLimits())
                    link.max_budget, link.budget_duration = lim.max_budget, lim.budget_duration
                    link.tpm_limit, link.rpm_limit = lim.tpm_limit, lim.rpm_limit
                    link.save(update_fields=["max_budget", "budget_duration", "tpm_limit", "rpm_limit"])
        audit_record(action="apikey.update", actor=actor, target_type="apikey", target_id=locked.pk,
                     metadata=_key_audit(locked, changes=changes), request=request)
    apikey_forget_live_spend(user_id=key.user_id)
    return ApiKey.objects.prefetch_related("model_links").select_related("user").get(pk=key.pk)


def apikey_mark_broken(*, key: ApiKey, actor: Any = None) -> None:
    """Mark an active/blocked key ``broken``: LiteLLM lost it (for the reconciler too). Idempotent."""
    if _set_status(key, from_statuses=(KeyStatus.ACTIVE, KeyStatus.BLOCKED), to=KeyStatus.BROKEN,
                   status_reason="LiteLLM does not know this key any more."):
        audit_record(action="apikey.broken", actor=actor, target_type="apikey", target_id=key.pk,
                     metadata=_key_audit(key))
