"""A model leaving keys (called by ``subscriptions``) and the push of a key's models, limits and
blocked state to LiteLLM (outbox, beat sweep, reconciler). Never sends LiteLLM ``models: []``."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyModel, KeyStatus
from apikeys.selectors import apikey_forget_live_spend
from apikeys.services._shared import _SWEEP_BATCH, _key_audit, _link_limits, _sweep_lock, logger
from apikeys.services.remote import _model_limit_fields, _remote_block, _remote_unblock, _remote_update
from integrations.litellm.errors import LiteLLMError, LiteLLMNotFound, LiteLLMUnavailable
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record


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


def apikeys_sync_pending() -> int:
    """Beat sweep: push every flagged key to LiteLLM; stops at the first "unavailable". Single-flight."""
    if (lock := _sweep_lock("sync")) is None:
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
        lock.release()
    return done
