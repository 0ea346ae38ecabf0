"""Limits and ceilings: budget durations, merging requested limits with the admin defaults and checking
them against the ceilings, the model checks of a key, and the admin update of those defaults and
ceilings (``ApiKeySettings``)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeySettings
from apikeys.selectors import active_model_ids_for_user
from apikeys.services._shared import (
    _DURATION_RE,
    BUDGET_DURATION_PRESETS,
    PER_MODEL_BUDGET_MESSAGE,
    ModelLimits,
    _Limits,
    _raise_if,
)
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record
from litemaas.exceptions import PermissionDeniedError


def normalise_budget_duration(value: str | None) -> str:
    """``daily|weekly|monthly|yearly`` → ``1d|7d|30d|365d``; LiteLLM durations (``30d``, ``12h``, ``1mo``)
    pass through; ``""``/``None`` = none. Raises ``ValueError`` for anything else."""
    if not value:
        return ""
    value = value.strip().lower()
    if value in BUDGET_DURATION_PRESETS:
        return BUDGET_DURATION_PRESETS[value]
    if _DURATION_RE.match(value):
        return value
    raise ValueError("Use daily, weekly, monthly, yearly or a LiteLLM duration such as 30d, 12h or 1mo.")


def _resolve_limits(
    *,
    policy: ApiKeySettings,
    enforce_policy: bool,
    current: ApiKey | None,
    values: dict[str, Any],
    errors: dict[str, list[str]],
) -> _Limits:
    """Merge requested values (UNSET = default on create / unchanged on edit) and check the ceilings."""
    now = timezone.now()

    def pick(name: str, default: Any) -> Any:
        value = values.get(name, UNSET)
        if value is UNSET:
            return getattr(current, name) if current is not None else default
        return value

    max_budget = pick("max_budget", policy.default_max_budget)
    soft_budget = pick("soft_budget", policy.default_soft_budget)
    tpm_limit = pick("tpm_limit", policy.default_tpm_limit)
    rpm_limit = pick("rpm_limit", policy.default_rpm_limit)
    max_parallel = pick("max_parallel_requests", None)
    duration_raw = pick("budget_duration", policy.default_budget_duration)
    default_expiry = (now + timedelta(days=policy.default_expiry_days)) if policy.default_expiry_days else None
    expires_at = pick("expires_at", default_expiry)

    try:
        budget_duration = normalise_budget_duration(duration_raw)
    except ValueError as exc:
        errors.setdefault("budget_duration", []).append(str(exc))
        budget_duration = ""

    for name, value in (("max_budget", max_budget), ("soft_budget", soft_budget)):
        if value is not None and Decimal(value) < 0:
            errors.setdefault(name, []).append("Must not be negative.")
    if soft_budget is not None and max_budget is not None and Decimal(soft_budget) > Decimal(max_budget):
        errors.setdefault("soft_budget", []).append("The soft budget cannot exceed the max budget.")
    expiry_changed = "expires_at" in values and values["expires_at"] is not UNSET
    if expires_at is not None and expires_at <= now and (current is None or expiry_changed):
        errors.setdefault("expires_at", []).append("The expiry must be in the future.")

    if enforce_policy:
        ceilings = (
            ("max_budget", max_budget, policy.max_max_budget, "max budget"),
            ("soft_budget", soft_budget, policy.max_soft_budget, "soft budget"),
            ("tpm_limit", tpm_limit, policy.max_tpm_limit, "TPM limit"),
            ("rpm_limit", rpm_limit, policy.max_rpm_limit, "RPM limit"),
        )
        for name, value, ceiling, label in ceilings:
            if ceiling is None:
                continue
            if value is None:
                errors.setdefault(name, []).append(f"A {label} is required; the maximum allowed is {ceiling}.")
            elif Decimal(value) > Decimal(ceiling):
                errors.setdefault(name, []).append(f"The {label} cannot exceed {ceiling}.")
        if policy.max_expiry_days is not None:
            latest = now + timedelta(days=policy.max_expiry_days, minutes=5)
            if expires_at is None:
                errors.setdefault("expires_at", []).append(
                    f"Keys must expire within {policy.max_expiry_days} days; 'never expires' is not allowed."
                )
            elif expires_at > latest and (current is None or expiry_changed):
                errors.setdefault("expires_at", []).append(
                    f"Keys must expire within {policy.max_expiry_days} days."
                )

    return _Limits(
        max_budget=None if max_budget is None else Decimal(max_budget),
        budget_duration=budget_duration,
        soft_budget=None if soft_budget is None else Decimal(soft_budget),
        tpm_limit=tpm_limit,
        rpm_limit=rpm_limit,
        max_parallel_requests=max_parallel,
        expires_at=expires_at,
    )


def _check_models(*, user: Any, model_ids: list[str], errors: dict[str, list[str]]) -> list[str]:
    models = sorted({m.strip() for m in model_ids if m and m.strip()})
    if not models:
        errors.setdefault("model_ids", []).append("Choose at least one model.")
        return []
    missing = sorted(set(models) - active_model_ids_for_user(user=user))
    if missing:
        errors.setdefault("model_ids", []).append(
            "Only models with an active subscription can be used: " + ", ".join(missing) + "."
        )
    return models


def _check_model_limits(
    *, model_limits: dict[str, ModelLimits] | None, models: list[str], policy: ApiKeySettings,
    enforce_policy: bool, errors: dict[str, list[str]],
) -> dict[str, ModelLimits]:
    cleaned = {m: lim for m, lim in (model_limits or {}).items() if not lim.is_empty}
    stray = sorted(set(cleaned) - set(models))
    if stray:
        errors.setdefault("model_limits", []).append("Limits given for models not on the key: " + ", ".join(stray))
    for model, lim in cleaned.items():
        if lim.max_budget is not None and not settings.APIKEY_PER_MODEL_BUDGET_ENABLED:
            errors.setdefault("model_limits", []).append(PER_MODEL_BUDGET_MESSAGE)
            break
        if lim.budget_duration:
            try:
                normalise_budget_duration(lim.budget_duration)
            except ValueError as exc:
                errors.setdefault("model_limits", []).append(f"{model}: {exc}")
        if enforce_policy:
            for value, ceiling, label in ((lim.tpm_limit, policy.max_tpm_limit, "TPM"),
                                          (lim.rpm_limit, policy.max_rpm_limit, "RPM"),
                                          (lim.max_budget, policy.max_max_budget, "budget")):
                if value is not None and ceiling is not None and Decimal(value) > Decimal(ceiling):
                    errors.setdefault("model_limits", []).append(f"{model}: the {label} cannot exceed {ceiling}.")
    return {
        m: ModelLimits(
            max_budget=lim.max_budget,
            budget_duration=normalise_budget_duration(lim.budget_duration) if lim.budget_duration else "",
            tpm_limit=lim.tpm_limit, rpm_limit=lim.rpm_limit,
        )
        for m, lim in cleaned.items() if m in models and not errors.get("model_limits")
    }


SETTINGS_FIELDS = (
    "default_max_budget", "max_max_budget", "default_budget_duration", "default_soft_budget", "max_soft_budget",
    "default_tpm_limit", "max_tpm_limit", "default_rpm_limit", "max_rpm_limit", "default_expiry_days",
    "max_expiry_days", "max_active_keys_per_user",
)


@transaction.atomic
def apikey_settings_update(*, actor: Any, values: dict[str, Any], request: HttpRequest | None = None
                           ) -> ApiKeySettings:
    """Replace the key defaults and ceilings (admins only); defaults may not exceed ceilings. Audited.

    Raises ``PermissionDeniedError`` / ``ValidationFailed``. Idempotent."""
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError()
    obj = ApiKeySettings.objects.select_for_update().get_or_create(pk=ApiKeySettings.SINGLETON_PK)[0]
    errors: dict[str, list[str]] = {}
    new = {name: values.get(name, getattr(obj, name)) for name in SETTINGS_FIELDS}
    try:
        new["default_budget_duration"] = normalise_budget_duration(new["default_budget_duration"])
    except ValueError as exc:
        errors["default_budget_duration"] = [str(exc)]
    for default, ceiling in (("default_max_budget", "max_max_budget"), ("default_soft_budget", "max_soft_budget"),
                             ("default_tpm_limit", "max_tpm_limit"), ("default_rpm_limit", "max_rpm_limit"),
                             ("default_expiry_days", "max_expiry_days")):
        if new[default] is not None and new[ceiling] is not None and Decimal(new[default]) > Decimal(new[ceiling]):
            errors.setdefault(default, []).append("The default cannot exceed the maximum.")
    if (new["default_soft_budget"] is not None and new["default_max_budget"] is not None
            and Decimal(new["default_soft_budget"]) > Decimal(new["default_max_budget"])):
        errors.setdefault("default_soft_budget", []).append("The default soft budget cannot exceed the default "
                                                            "max budget.")
    _raise_if(errors)
    changed = {name: value for name, value in new.items() if getattr(obj, name) != value}
    for name, value in new.items():
        setattr(obj, name, value)
    obj.updated_at = timezone.now()
    obj.updated_by = actor
    obj.full_clean()
    obj.save()
    audit_record(action="apikey.settings_update", actor=actor, target_type="apikey_settings", target_id=obj.pk,
                 metadata={"changes": {k: (None if v is None else str(v)) for k, v in changed.items()}},
                 request=request)
    return obj
