"""Write operations of ``apikeys`` (``<entity>_<action>``, keyword-only, audited).

Two-system writes follow one pattern: validate, then change LiteLLM and the portal in an order that can
never leave a usable key the portal does not know about, and never hold a database transaction open across
a LiteLLM call.

* Create / rotate / playground: commit the row as ``provisioning`` first, call ``/key/generate`` with the
  portal-minted secret, then mark it ``active``. If LiteLLM fails the row is ``failed`` (after a best-effort
  delete by hash) or stays ``provisioning`` until :func:`apikeys_cleanup_provisioning` deletes the remote
  key by hash and marks it ``failed``. The plaintext lives only in memory and in the one create response.
* Revoke / delete: mark ``revoking`` in the database first (the portal stops treating the key as usable at
  once), then delete it in LiteLLM; while LiteLLM is down a bounded Celery retry and the every-minute sweep
  (:func:`apikeys_retry_revocations`) finish the job.
* Edit / block / unblock / reset spend: LiteLLM first, then the row; LiteLLM down means 503 and nothing
  changed.

A model leaving a key never sends LiteLLM an empty ``models`` list (LiteLLM reads it as "all models"): a key
left without models is blocked instead.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from apikeys.keygen import MintedSecret, build_alias, mint_secret, new_alias_suffix
from apikeys.models import ApiKey, ApiKeyModel, ApiKeySettings, KeyStatus, KeyType
from apikeys.selectors import active_model_ids_for_user, apikey_forget_live_spend, models_by_id
from integrations.litellm.errors import (
    LiteLLMEnterpriseRequired,
    LiteLLMError,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record
from litemaas.exceptions import (
    ConflictError,
    InvalidTransition,
    PermissionDeniedError,
    ServiceUnavailableError,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

BUDGET_DURATION_PRESETS = {"daily": "1d", "weekly": "7d", "monthly": "30d", "yearly": "365d"}
_DURATION_RE = re.compile(r"^\d+[smhd]$|^\d+mo$")
MAX_ROTATION_GRACE_HOURS = 24
PER_MODEL_BUDGET_MESSAGE = (
    "Per-model budgets need a LiteLLM Enterprise licence, which this LiteLLM proxy does not have. "
    "Remove the per-model budgets (per-model TPM/RPM limits and the key budget still work)."
)
_UNAVAILABLE_CREATE = (
    "LiteLLM is unavailable right now, so the key was not created. Nothing was charged or left behind; "
    "try again in a minute."
)
_SWEEP_BATCH = 200
_SWEEP_LOCK_SECONDS = 55


# ---------------------------------------------------------------------------------------------------------
# Inputs and results
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelLimits:
    """Per-model limits of one model on one key (None = no limit)."""

    max_budget: Decimal | None = None
    budget_duration: str = ""
    tpm_limit: int | None = None
    rpm_limit: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.max_budget is None and self.tpm_limit is None and self.rpm_limit is None


@dataclass
class CreatedApiKey:
    """A key just created and its secret, which exists only here and in the one create response."""

    key: ApiKey
    secret: str = field(repr=False)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Limits:
    max_budget: Decimal | None
    budget_duration: str
    soft_budget: Decimal | None
    tpm_limit: int | None
    rpm_limit: int | None
    max_parallel_requests: int | None
    expires_at: datetime | None


# ---------------------------------------------------------------------------------------------------------
# LiteLLM calls (the only place this app talks to integrations.litellm.client)
# ---------------------------------------------------------------------------------------------------------
def _client() -> Any:
    from integrations.litellm.client import get_litellm_client

    return get_litellm_client()


def _remote_generate(*, key: ApiKey, secret: str, models: list[str], model_limits: dict[str, ModelLimits],
                     tags: list[str] | None = None) -> None:
    metadata: dict[str, Any] = {"portal_key_id": str(key.pk), "created_by": "litemaas", "key_type": key.key_type}
    if key.rotated_from_id:
        metadata["rotated_from"] = str(key.rotated_from_id)
    if tags:
        metadata["tags"] = tags
    _client().key_generate(
        key=secret,
        key_alias=key.key_alias,
        user_id=str(key.user_id),
        team_id=str(key.team_id) if key.team_id else None,
        models=models,
        metadata=metadata,
        max_budget=key.max_budget,
        budget_duration=key.budget_duration,
        soft_budget=key.soft_budget,
        tpm_limit=key.tpm_limit,
        rpm_limit=key.rpm_limit,
        max_parallel_requests=key.max_parallel_requests,
        expires=key.expires_at,
        **_model_limit_fields(model_limits),
    )


def _remote_update(*, key: ApiKey, **fields: Any) -> None:
    """``/key/update`` by hash with absolute values (``None`` clears; ``limits.py`` decides how). A team
    change goes first, in its own call (``key_set_team``; ``key_update`` has no ``team_id``)."""
    if "team_id" in fields:
        team_id = fields.pop("team_id")
        _remote_set_team(key=key, team_id=str(team_id) if team_id else None)
    if fields:
        _client().key_update(key.token_hash, **fields)


def _remote_set_team(*, key: ApiKey, team_id: str | None) -> None:
    """Charge the key to a team in LiteLLM, turning LiteLLM's team checks into a clear 400.

    LiteLLM answers 404 for an unknown *team* exactly as for an unknown key, so a 404 is only "the key is
    gone" (broken) when ``/key/info`` confirms it; its 403s (owner not a member, models or limits beyond
    the team's) are the user's to fix, not an upstream failure.
    """
    client = _client()
    try:
        client.key_set_team(key.token_hash, team_id)
    except LiteLLMNotFound:
        if client.key_get(key.token_hash) is None:
            raise
        message = _("LiteLLM does not know this team yet; try again in a minute.")
        raise ValidationFailed(message, details={"fields": {"team_id": [message]}}) from None
    except LiteLLMRejected as exc:
        if exc.status != 403:
            raise
        message = _("LiteLLM refused to charge this key to the team: %(reason)s") % {"reason": exc.reason}
        raise ValidationFailed(message, details={"fields": {"team_id": [message]}}) from None


def _remote_reset_spend(*, key: ApiKey) -> None:
    _client().key_reset_spend(key.token_hash)


def _remote_delete(*, token_hash: str) -> None:
    """Delete one key by hash; a key LiteLLM does not have counts as deleted."""
    _client().key_delete([token_hash], missing_ok=True)


def _remote_block(*, key: ApiKey) -> None:
    _client().key_block(key.token_hash)


def _remote_unblock(*, key: ApiKey) -> None:
    _client().key_unblock(key.token_hash)


def _model_limit_fields(model_limits: dict[str, ModelLimits] | None, *, creating: bool = True) -> dict[str, Any]:
    """``model_max_budget`` / ``model_tpm_limit`` / ``model_rpm_limit`` for the client (UNSET = leave,
    None = clear)."""
    if model_limits is None:
        return {"model_max_budget": UNSET, "model_tpm_limit": UNSET, "model_rpm_limit": UNSET}
    budgets = {
        m: {"budget_limit": lim.max_budget, "time_period": lim.budget_duration or "30d"}
        for m, lim in model_limits.items()
        if lim.max_budget is not None
    }
    tpm = {m: lim.tpm_limit for m, lim in model_limits.items() if lim.tpm_limit is not None}
    rpm = {m: lim.rpm_limit for m, lim in model_limits.items() if lim.rpm_limit is not None}
    if creating:
        return {"model_max_budget": budgets or UNSET, "model_tpm_limit": tpm or UNSET,
                "model_rpm_limit": rpm or UNSET}
    return {"model_max_budget": budgets or None, "model_tpm_limit": tpm or None, "model_rpm_limit": rpm or None}


# ---------------------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------------------
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


def _link_limits(link: ApiKeyModel) -> ModelLimits:
    return ModelLimits(link.max_budget, link.budget_duration, link.tpm_limit, link.rpm_limit)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(details={"fields": errors})


def _key_audit(key: ApiKey, **extra: Any) -> dict[str, Any]:
    """Audit metadata of a key: identifiers a human recognises, never the secret or its hash."""
    data = {"name": key.name, "prefix": key.masked, "owner": str(key.user_id), "alias": key.key_alias,
            "status": key.status}
    data.update(extra)
    return data


def _transition(key: ApiKey, new_status: str) -> None:
    if not key.can_move_to(new_status):
        raise InvalidTransition(f"A {key.get_status_display().lower()} key cannot become {new_status}.")


def _set_status(key: ApiKey, *, from_statuses: tuple[str, ...], to: str, **fields: Any) -> bool:
    """Conditional UPDATE (claim): True only if this call moved the row; ``key`` is refreshed in memory."""
    now = timezone.now()
    changed = ApiKey.objects.filter(pk=key.pk, status__in=from_statuses).update(status=to, updated_at=now, **fields)
    if changed:
        key.status = to
        key.updated_at = now
        for name, value in fields.items():
            setattr(key, name, value)
    return bool(changed)


# ---------------------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# Edit
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# Block, unblock, reset spend
# ---------------------------------------------------------------------------------------------------------
def apikey_block(*, key: ApiKey, actor: Any, reason: str = "", request: HttpRequest | None = None) -> ApiKey:
    """Block an active key in LiteLLM (reversible), then locally. Idempotent on a blocked key.

    Raises ``InvalidTransition`` from other states, ``ServiceUnavailableError`` if LiteLLM is down."""
    if key.status == KeyStatus.BLOCKED:
        return key
    _transition(key, KeyStatus.BLOCKED)
    _remote_block(key=key)
    if not _set_status(key, from_statuses=(KeyStatus.ACTIVE,), to=KeyStatus.BLOCKED,
                       status_reason=(reason or "Blocked.")[:500]):
        raise ConflictError("The key changed while it was being blocked; reload and try again.")
    audit_record(action="apikey.block", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key, reason=reason[:500]), request=request)
    return key


def apikey_unblock(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Unblock a blocked key (LiteLLM first). A key with no models left stays blocked (400): LiteLLM would
    read an empty model list as "all models". Idempotent on an active key."""
    if key.status == KeyStatus.ACTIVE:
        return key
    _transition(key, KeyStatus.ACTIVE)
    if not key.model_links.exists():
        raise InvalidTransition("This key has no models left; add a model before unblocking it.")
    if key.remote_sync_pending:
        raise InvalidTransition("A model change of this key is still being applied in LiteLLM; try again in a "
                                "minute.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise InvalidTransition("This key has expired; it cannot be unblocked.")
    _remote_unblock(key=key)
    if not _set_status(key, from_statuses=(KeyStatus.BLOCKED,), to=KeyStatus.ACTIVE, status_reason=""):
        raise ConflictError("The key changed while it was being unblocked; reload and try again.")
    audit_record(action="apikey.unblock", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key), request=request)
    return key


def apikey_reset_spend(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Set the key's spend to 0 in LiteLLM and locally (idempotent). 503 if LiteLLM is down."""
    if key.status not in (KeyStatus.ACTIVE, KeyStatus.BLOCKED, KeyStatus.EXPIRED):
        raise InvalidTransition("Only active, blocked or expired keys have a spend to reset.")
    _remote_reset_spend(key=key)
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(spend=Decimal("0"), spend_synced_at=now, updated_at=now)
    key.spend, key.spend_synced_at = Decimal("0"), now
    audit_record(action="apikey.reset_spend", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key), request=request)
    from teams.services import alerts_rearm  # the key's budget alerts fire again as spend climbs

    alerts_rearm(target_type="key", target_id=key.pk)
    apikey_forget_live_spend(user_id=key.user_id)
    return key


# ---------------------------------------------------------------------------------------------------------
# Revoke and delete
# ---------------------------------------------------------------------------------------------------------
def apikey_revoke(*, key: ApiKey, actor: Any, reason: str = "", request: HttpRequest | None = None,
                  delete: bool = False) -> ApiKey:
    """Revoke a key: ``revoking`` in the database at once, then ``/key/delete`` by hash in LiteLLM.

    If LiteLLM is down the key stays ``revoking`` (the caller answers 202) and a bounded Celery retry plus
    the every-minute sweep finish it. ``delete`` also hides the key (tombstone with ``deleted_at``; the
    hash stays so usage history still maps). Idempotent.
    """
    from integrations.outbox import outbox_deliver, outbox_enqueue

    now = timezone.now()
    entry = None
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        fields: list[str] = []
        if locked.status in (KeyStatus.PROVISIONING, KeyStatus.FAILED):
            raise InvalidTransition("This key was never created; there is nothing to revoke.")
        if locked.status not in (KeyStatus.REVOKING, KeyStatus.REVOKED):
            _transition(locked, KeyStatus.REVOKING)
            locked.status = KeyStatus.REVOKING
            locked.revoke_requested_at = now
            locked.status_reason = (reason or ("Deleted." if delete else "Revoked."))[:500]
            locked.rotation_revoke_at = None
            fields += ["status", "revoke_requested_at", "status_reason", "rotation_revoke_at"]
            # Durable: the LiteLLM delete commits with the state change (delivered below, after commit by a
            # task, or by the outbox sweep while LiteLLM/Redis/the worker is down).
            entry = outbox_enqueue(object_type="apikey", object_id=locked.pk, operation="key.revoke",
                                   payload={"token_hash": locked.token_hash, "delete": delete})
            audit_record(action="apikey.revoke", actor=actor, target_type="apikey", target_id=locked.pk,
                         metadata=_key_audit(locked, reason=reason[:500]), request=request)
        if delete and locked.deleted_at is None:
            locked.deleted_at = now
            fields.append("deleted_at")
            audit_record(action="apikey.delete", actor=actor, target_type="apikey", target_id=locked.pk,
                         metadata=_key_audit(locked), request=request)
        if fields:
            locked.updated_at = now
            locked.save(update_fields=[*fields, "updated_at"])
    if locked.status == KeyStatus.REVOKING:
        if entry is not None:
            outbox_deliver(entry_id=entry.pk)  # fast path; on failure the entry backs off and is retried
        else:
            try:  # revoking again: nudge the pending revocation (its outbox entry stays in line)
                apikey_confirm_revocation(key_id=locked.pk)
            except LiteLLMError:
                pass
        locked.refresh_from_db()
    apikey_forget_live_spend(user_id=locked.user_id)
    return locked


def apikey_delete(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Revoke (if needed) and hide the key, keeping a tombstone row (see :func:`apikey_revoke`)."""
    return apikey_revoke(key=key, actor=actor, request=request, delete=True)


def apikey_confirm_revocation(*, key_id: Any) -> bool:
    """Delete a ``revoking`` key in LiteLLM by hash and mark it ``revoked``.

    Returns True when the key is revoked (or was not revoking). Raises ``LiteLLMError`` when LiteLLM could
    not confirm (the row records the attempt). Idempotent: a key LiteLLM no longer has counts as deleted.
    """
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None or key.status != KeyStatus.REVOKING:
        return True
    try:
        _remote_delete(token_hash=key.token_hash)
    except LiteLLMError as exc:
        ApiKey.objects.filter(pk=key.pk).update(revoke_attempts=key.revoke_attempts + 1,
                                                last_error=exc.message[:2000], updated_at=timezone.now())
        raise
    if _set_status(key, from_statuses=(KeyStatus.REVOKING,), to=KeyStatus.REVOKED, revoked_at=timezone.now(),
                   last_error=""):
        audit_record(action="apikey.revoked", actor=None, target_type="apikey", target_id=key.pk,
                     metadata=_key_audit(key, attempts=key.revoke_attempts + 1))
    return True


def _sweep_lock(name: str) -> bool:
    return cache.add(f"apikeys:sweep:{name}", "1", _SWEEP_LOCK_SECONDS)


def _sweep_unlock(name: str) -> None:
    cache.delete(f"apikeys:sweep:{name}")


def apikeys_retry_revocations() -> int:
    """Beat sweep: retry every key stuck in ``revoking``; stops at the first "LiteLLM unavailable".

    Single-flight (cache lock). Returns how many keys were confirmed revoked. Idempotent."""
    if not _sweep_lock("revocations"):
        return 0
    done = 0
    try:
        for key_id in ApiKey.objects.filter(status=KeyStatus.REVOKING).order_by("revoke_requested_at")\
                .values_list("pk", flat=True)[:_SWEEP_BATCH]:
            try:
                apikey_confirm_revocation(key_id=key_id)
            except LiteLLMUnavailable:
                break
            except LiteLLMError as exc:
                logger.warning("revocation of key %s rejected by LiteLLM: %s", key_id, exc.code)
                continue
            done += 1
    finally:
        _sweep_unlock("revocations")
    return done


# ---------------------------------------------------------------------------------------------------------
# Rotate
# ---------------------------------------------------------------------------------------------------------
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
    if not _sweep_lock("rotated"):
        return 0
    count = 0
    try:
        due = ApiKey.objects.filter(rotation_revoke_at__lte=timezone.now(),
                                    status__in=(KeyStatus.ACTIVE, KeyStatus.BLOCKED, KeyStatus.EXPIRED))
        for key in due.select_related("user")[:_SWEEP_BATCH]:
            apikey_revoke(key=key, actor=None, reason="Rotation grace ended.")
            count += 1
    finally:
        _sweep_unlock("rotated")
    return count


# ---------------------------------------------------------------------------------------------------------
# Sweeps: provisioning leftovers, expiry
# ---------------------------------------------------------------------------------------------------------
def apikeys_cleanup_provisioning() -> int:
    """Beat sweep: a ``provisioning`` row older than ``APIKEY_PROVISIONING_GRACE_SECONDS`` is a create that
    crashed or timed out. Delete its key in LiteLLM by hash (missing is fine), then mark it ``failed``.

    Stops at the first "LiteLLM unavailable" (next minute retries). Returns rows failed. Idempotent."""
    if not _sweep_lock("provisioning"):
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
        _sweep_unlock("provisioning")
    return count


def apikeys_expire_due() -> int:
    """Beat sweep: active keys past ``expires_at`` become ``expired`` (LiteLLM already refuses them);
    playground keys past their expiry are revoked (deleted in LiteLLM). Returns keys changed. Idempotent."""
    now = timezone.now()
    count = 0
    due = ApiKey.objects.filter(key_type=KeyType.STANDARD, status=KeyStatus.ACTIVE, expires_at__lte=now)
    for key in due[:_SWEEP_BATCH]:
        if _set_status(key, from_statuses=(KeyStatus.ACTIVE,), to=KeyStatus.EXPIRED, status_reason="Expired."):
            audit_record(action="apikey.expire", actor=None, target_type="apikey", target_id=key.pk,
                         metadata=_key_audit(key))
            count += 1
    playground = ApiKey.objects.filter(key_type=KeyType.PLAYGROUND, expires_at__lte=now,
                                       status__in=(KeyStatus.ACTIVE, KeyStatus.BLOCKED))
    for key in playground[:_SWEEP_BATCH]:
        apikey_revoke(key=key, actor=None, reason="Playground session ended.")
        count += 1
    return count


# ---------------------------------------------------------------------------------------------------------
# Model removal (called by subscriptions)
# ---------------------------------------------------------------------------------------------------------
def apikey_remove_model_for_user(*, user: Any, model_id: str, reason: str) -> None:
    """Remove ``model_id`` from all of ``user``'s keys: locally at once, in LiteLLM right after commit.

    Safe inside the caller's transaction (subscriptions call it from their atomic services): rows change
    now and each key is flagged ``remote_sync_pending``; after commit a task pushes the key's remaining
    models to LiteLLM (the every-minute ``apikeys.sync_pending`` sweep retries while LiteLLM is down). A
    key left with no model is marked ``blocked`` with ``reason`` and blocked in LiteLLM — never
    ``models: []``, which LiteLLM reads as "all models". Idempotent.
    """
    keys = ApiKey.objects.filter(user=user, model_links__model_id=model_id).exclude(
        status__in=(KeyStatus.REVOKED, KeyStatus.FAILED))
    for key in keys.distinct():
        _remove_model_from_key(key=key, model_id=model_id, reason=reason)


def apikeys_remove_model_everywhere(*, model_id: str, reason: str) -> None:
    """Remove ``model_id`` from every user's keys (model deleted / vanished); same rules and guarantees as
    :func:`apikey_remove_model_for_user`. Idempotent."""
    keys = ApiKey.objects.filter(model_links__model_id=model_id).exclude(
        status__in=(KeyStatus.REVOKED, KeyStatus.FAILED))
    for key in keys.distinct():
        _remove_model_from_key(key=key, model_id=model_id, reason=reason)


@transaction.atomic
def _remove_model_from_key(*, key: ApiKey, model_id: str, reason: str) -> None:
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    ApiKeyModel.objects.filter(key=locked, model_id=model_id).delete()
    remaining = sorted(locked.model_links.values_list("model_id", flat=True))
    now = timezone.now()
    fields = ["remote_sync_pending", "updated_at"]
    locked.remote_sync_pending, locked.updated_at = True, now
    if not remaining and locked.status == KeyStatus.ACTIVE:
        locked.status = KeyStatus.BLOCKED
        locked.status_reason = (reason or "No model left on this key.")[:500]
        fields += ["status", "status_reason"]
    locked.save(update_fields=fields)
    audit_record(action="apikey.model_removed", actor=None, target_type="apikey", target_id=locked.pk,
                 metadata=_key_audit(locked, model=model_id, reason=(reason or "")[:500], remaining=remaining))
    # Durable push of the remaining models / blocked state (outbox, committed with this change).
    from integrations.outbox import outbox_enqueue

    outbox_enqueue(object_type="apikey", object_id=locked.pk, operation="key.sync",
                   payload={"token_hash": locked.token_hash, "models": remaining, "removed": model_id})
    apikey_forget_live_spend(user_id=locked.user_id)


def apikey_sync_to_litellm(*, key_id: Any) -> bool:
    """Push a flagged key's models (and blocked state) to LiteLLM, then clear the flag.

    Sends the remaining models (never an empty list) and blocks the key when it is blocked locally or has
    no model left. Returns True when nothing is pending any more, False when it must wait (key still
    provisioning). Raises ``LiteLLMError`` when LiteLLM could not be reached (the attempt is recorded).
    Idempotent (absolute values)."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None or not key.remote_sync_pending:
        return True
    if key.status == KeyStatus.PROVISIONING:
        return False
    marker = key.updated_at
    links = list(key.model_links.all())
    models = sorted(link.model_id for link in links)
    if key.status in (KeyStatus.ACTIVE, KeyStatus.BLOCKED, KeyStatus.EXPIRED, KeyStatus.BROKEN):
        try:
            if models:
                per_model = {lk.model_id: _link_limits(lk) for lk in links if not _link_limits(lk).is_empty}
                maps = _model_limit_fields(per_model, creating=False)
                if not any(lim.max_budget is not None for lim in per_model.values()):
                    maps["model_max_budget"] = UNSET  # never touch an Enterprise-only field needlessly
                _remote_update(key=key, models=models, **maps)
            if key.status == KeyStatus.BLOCKED or not models:
                _remote_block(key=key)
        except LiteLLMNotFound:
            pass  # LiteLLM has no such key: nothing can use the model through it
        except LiteLLMError as exc:
            ApiKey.objects.filter(pk=key.pk).update(last_error=exc.message[:2000])
            raise
    ApiKey.objects.filter(pk=key.pk, updated_at=marker).update(remote_sync_pending=False, last_error="")
    return True


def apikey_push_to_litellm(*, key_id: Any) -> bool:
    """Make LiteLLM's copy of an active/blocked key equal the portal's: models, limits, expiry, per-model
    rate limits and blocked state (the reconciler's ``portal_wins`` repair, delivered through the outbox).

    Returns False when the key is not active/blocked (nothing to push). Raises ``LiteLLMError`` (a missing
    key raises ``LiteLLMNotFound``; the reconciler marks it broken). Idempotent (absolute values)."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None or key.status not in (KeyStatus.ACTIVE, KeyStatus.BLOCKED):
        return False
    links = list(key.model_links.all())
    models = sorted(link.model_id for link in links)
    fields: dict[str, Any] = {
        "key_alias": key.key_alias, "max_budget": key.max_budget, "budget_duration": key.budget_duration,
        "soft_budget": key.soft_budget, "tpm_limit": key.tpm_limit, "rpm_limit": key.rpm_limit,
        "max_parallel_requests": key.max_parallel_requests, "expires": key.expires_at,
    }
    if models:
        per_model = {lk.model_id: _link_limits(lk) for lk in links if not _link_limits(lk).is_empty}
        fields.update(_model_limit_fields(per_model, creating=False), models=models)
        if not any(lim.max_budget is not None for lim in per_model.values()):
            fields["model_max_budget"] = UNSET  # never touch an Enterprise-only field needlessly
    _remote_update(key=key, **fields)
    if key.status == KeyStatus.BLOCKED or not models:
        _remote_block(key=key)
    else:
        _remote_unblock(key=key)
    return True


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


def apikeys_sync_pending() -> int:
    """Beat sweep: push every flagged key to LiteLLM; stops at the first "unavailable". Single-flight."""
    if not _sweep_lock("sync"):
        return 0
    done = 0
    try:
        for key_id in ApiKey.objects.filter(remote_sync_pending=True).order_by("updated_at")\
                .values_list("pk", flat=True)[:_SWEEP_BATCH]:
            try:
                if apikey_sync_to_litellm(key_id=key_id):
                    done += 1
            except LiteLLMUnavailable:
                break
            except LiteLLMError as exc:
                logger.warning("LiteLLM refused the sync of key %s: %s", key_id, exc.code)
    finally:
        _sweep_unlock("sync")
    return done


# ---------------------------------------------------------------------------------------------------------
# Settings (admin)
# ---------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------
# Admin: create for a user, playground
# ---------------------------------------------------------------------------------------------------------
def apikey_admin_create_for_user(*, actor: Any, target_user: Any, model_ids: list[str], name: str,
                                 request: HttpRequest | None = None, **limits: Any) -> CreatedApiKey:
    """Admin creates a key for ``target_user``; missing or inactive subscriptions to the chosen models are
    granted active first (through ``subscriptions.services``), ceilings do not apply. Audited."""
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError()
    missing = sorted(set(model_ids) - active_model_ids_for_user(user=target_user))
    if missing:
        _grant_subscriptions(actor=actor, user=target_user, model_ids=missing, request=request)
    return apikey_create(user=target_user, actor=actor, model_ids=model_ids, name=name, enforce_policy=False,
                         request=request, **limits)


def _grant_subscriptions(*, actor: Any, user: Any, model_ids: list[str], request: HttpRequest | None) -> None:
    from subscriptions import services as subscription_services

    grant = getattr(subscription_services, "subscription_admin_grant", None) or getattr(
        subscription_services, "subscription_grant", None)
    if grant is None:
        raise ValidationFailed(details={"fields": {"model_ids": [
            "The user has no active subscription to: " + ", ".join(model_ids) + "."]}})
    known = models_by_id(set(model_ids))
    unknown = sorted(set(model_ids) - set(known))
    if unknown:
        raise ValidationFailed(details={"fields": {"model_ids": ["Unknown models: " + ", ".join(unknown)]}})
    grant(actor=actor, user=user, model_ids=model_ids, request=request)


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


__all__ = [
    "CreatedApiKey", "ModelLimits", "apikey_admin_create_for_user", "apikey_block", "apikey_confirm_revocation",
    "apikey_create", "apikey_create_playground", "apikey_fail_stale_provisioning", "apikey_mark_broken",
    "apikey_push_to_litellm", "apikey_sync_to_litellm",
    "apikeys_sync_pending", "apikey_delete", "apikey_remove_model_for_user",
    "apikey_reset_spend", "apikey_revoke", "apikey_rotate", "apikey_settings_update", "apikey_unblock",
    "apikey_update", "apikeys_cleanup_provisioning", "apikeys_expire_due", "apikeys_remove_model_everywhere",
    "apikeys_retry_revocations", "apikeys_revoke_rotated_after_grace", "normalise_budget_duration",
]
