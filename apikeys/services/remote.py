"""The LiteLLM calls of ``apikeys`` (the only place this app talks to ``integrations.litellm.client``).

Tests patch ``apikeys.services.remote._client`` to stub the client these helpers use."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from apikeys.models import ApiKey
from apikeys.services._shared import ModelLimits
from integrations.litellm.errors import LiteLLMNotFound, LiteLLMRejected
from integrations.litellm.limits import UNSET
from litemaas.exceptions import ValidationFailed


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
