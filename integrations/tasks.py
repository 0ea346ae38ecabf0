"""Celery tasks of ``integrations``: thin, take ids, call one service.

tenacity covers seconds inside one LiteLLM call; these tasks cover minutes across calls.
"""
from __future__ import annotations

from celery import shared_task

from integrations.litellm.errors import LiteLLMUnavailable


@shared_task(name="litemaas.integrations.provision_pending_users", max_retries=0, ignore_result=True)
def provision_pending_users(limit: int = 100) -> dict[str, int]:
    """Beat (every minute): retry LiteLLM provisioning of users left ``pending`` (e.g. LiteLLM was down at
    their login). Single-flight and idempotent; never retried itself (the next beat run is the retry)."""
    from integrations.services import litellm_users_provision_pending

    return litellm_users_provision_pending(limit=limit)


@shared_task(name="litemaas.integrations.provision_user", autoretry_for=(LiteLLMUnavailable,), retry_backoff=True,
             retry_backoff_max=600, retry_jitter=True, max_retries=5, ignore_result=True)
def provision_user(user_id: str) -> None:
    """Provision one user in LiteLLM (create or update; idempotent). Retried with backoff while LiteLLM is
    unavailable; a rejection is recorded on the user row and not retried."""
    from accounts.models import User
    from integrations.litellm.errors import LiteLLMRejected
    from integrations.services import ensure_litellm_user

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    try:
        ensure_litellm_user(user)
    except LiteLLMRejected:
        return  # recorded as "error" on the user; retrying cannot help
