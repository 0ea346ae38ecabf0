"""A user's budget and rate limits: stored here, delivered to LiteLLM through the outbox (``user.sync``)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from litemaas.audit import audit_record

LIMIT_FIELDS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")


@transaction.atomic
def user_set_limits(*, user: User, values: dict[str, Any], actor: Any, request: HttpRequest | None = None,
                    action: str | None = "user.limits_update", sync_litellm: bool = True) -> list[str]:
    """Store ``values`` (a subset of max_budget, budget_duration, tpm_limit, rpm_limit; ``None`` = no
    limit, ``""`` duration = no reset) on ``user``; return the changed field names.

    When something changed and ``sync_litellm``, the same transaction sets the user's LiteLLM sync state to
    ``pending`` and adds a ``user.sync`` outbox entry: after commit the outbox pushes the user's current
    limits (LiteLLM down: the entry waits and the sweep delivers it; nothing is lost). ``sync_litellm=False``
    is for values LiteLLM already has (the reconciler adopting LiteLLM's) or that provisioning is about to
    send. Idempotent; audits ``action`` when something changed (``action=None``: no audit row, for the
    defaults that are part of account creation). Raises ``ValueError`` for an unknown field.
    """
    unknown = set(values) - set(LIMIT_FIELDS)
    if unknown:
        raise ValueError(f"not a limit field: {sorted(unknown)}")
    locked = User.objects.select_for_update().get(pk=user.pk)
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if name == "budget_duration":
            value = value or ""
        if getattr(locked, name) != value:
            changed[name] = value
            setattr(locked, name, value)
    if changed:
        locked.save(update_fields=list(changed))
        for name, value in changed.items():
            setattr(user, name, value)
        if sync_litellm:
            _queue_litellm_sync(user=locked, fields=sorted(changed))
            user.litellm_sync_state, user.litellm_last_error = locked.litellm_sync_state, locked.litellm_last_error
    if changed and action:
        audit_record(action=action, actor=actor, target_type="user", target_id=user.pk,
                     metadata={"username": user.username,
                               "changes": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in changed.items()}},
                     request=request)
    return list(changed)


def _queue_litellm_sync(*, user: User, fields: list[str]) -> None:
    """Mark ``user`` pending and queue ``user.sync`` (call inside the transaction of the change)."""
    from accounts.models import LiteLLMSyncState
    from accounts.services import user_set_litellm_sync_state
    from integrations.outbox import outbox_enqueue

    user_set_litellm_sync_state(user=user, state=LiteLLMSyncState.PENDING)
    outbox_enqueue(object_type="user", object_id=user.pk, operation="user.sync", payload={"fields": fields})


def user_apply_new_user_defaults(*, user: User) -> list[str]:
    """Give a user who has no limits at all the new-user defaults (admin setting, else ``DEFAULT_USER_*``).

    Used once, at the first login, before the LiteLLM user is created. Idempotent (a user with any limit
    set is left alone). Returns the changed field names.
    """
    if any(getattr(user, f) not in (None, "") for f in LIMIT_FIELDS):
        return []
    try:
        from litemaas.portal_selectors import new_user_defaults

        defaults = new_user_defaults()
    except ImportError:  # pragma: no cover - the portal settings app is always installed here
        from django.conf import settings

        defaults = {"max_budget": getattr(settings, "DEFAULT_USER_MAX_BUDGET", None),
                    "tpm_limit": getattr(settings, "DEFAULT_USER_TPM_LIMIT", None),
                    "rpm_limit": getattr(settings, "DEFAULT_USER_RPM_LIMIT", None),
                    "budget_duration": getattr(settings, "DEFAULT_USER_BUDGET_DURATION", "")}
    values = {k: defaults.get(k) for k in LIMIT_FIELDS}
    values["tpm_limit"] = values["tpm_limit"] or None  # 0 would block every call
    values["rpm_limit"] = values["rpm_limit"] or None
    # Part of account creation (audited as user.create), so no audit row of its own. A user not provisioned
    # yet gets these limits with the provisioning that follows the login; one already in LiteLLM through the
    # outbox.
    return user_set_limits(user=user, values=values, actor=None, action=None,
                           sync_litellm=user.litellm_sync_state != "pending")
