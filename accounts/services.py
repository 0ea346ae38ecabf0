"""Write operations of ``accounts`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import LiteLLMSyncState, User


@transaction.atomic
def user_set_litellm_sync_state(*, user: User, state: str, error: str = "") -> None:
    """Record whether the user's LiteLLM copy is synced, pending or in error (idempotent).

    ``error`` is a short reason without secrets; ``synced`` clears it and stamps ``litellm_synced_at``.
    """
    if state not in LiteLLMSyncState.values:
        raise ValueError(f"unknown sync state {state!r}")
    user.litellm_sync_state = state
    user.litellm_last_error = "" if state == LiteLLMSyncState.SYNCED else error[:2000]
    fields = ["litellm_sync_state", "litellm_last_error"]
    if state == LiteLLMSyncState.SYNCED:
        user.litellm_synced_at = timezone.now()
        fields.append("litellm_synced_at")
    user.save(update_fields=fields)
