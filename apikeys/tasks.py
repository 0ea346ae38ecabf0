"""Celery tasks of ``apikeys``: thin, take ids, call one service (imported inside the task body).

Every task is idempotent; the sweeps are single-flight (cache lock inside the service).
"""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="litemaas.apikeys.revoke_apikey", max_retries=5, acks_late=True, ignore_result=True)
def revoke_apikey(self, key_id: str) -> None:
    """Finish one revocation (``revoking`` → ``revoked``) with bounded, backed-off retries.

    After the last retry — and always in eager mode, where a retry would just loop inline — the
    every-minute sweep (``retry_revocations``) takes over, so the revocation is never dropped.
    """
    from django.conf import settings

    from apikeys.services import apikey_confirm_revocation
    from integrations.litellm.errors import LiteLLMUnavailable

    try:
        apikey_confirm_revocation(key_id=key_id)
    except LiteLLMUnavailable as exc:
        if self.request.is_eager or self.request.retries >= settings.APIKEY_REVOKE_MAX_RETRIES:
            logger.warning("revocation of key %s still pending; the sweep will retry", key_id)
            return
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600)) from exc


@shared_task(bind=True, name="litemaas.apikeys.sync_apikey", max_retries=5, acks_late=True, ignore_result=True)
def sync_apikey(self, key_id: str) -> None:
    """Push one key's models / blocked state to LiteLLM after a model left it (bounded retries; then, and in
    eager mode, the every-minute ``sync_pending`` sweep takes over)."""
    from apikeys.services import apikey_sync_to_litellm
    from integrations.litellm.errors import LiteLLMUnavailable

    try:
        apikey_sync_to_litellm(key_id=key_id)
    except LiteLLMUnavailable as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.warning("LiteLLM sync of key %s still pending; the sweep will retry", key_id)
            return
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600)) from exc


@shared_task(name="litemaas.apikeys.sync_pending", ignore_result=True)
def sync_pending() -> int:
    """Manual tool: push keys whose model list changed locally but not yet in LiteLLM. Not on beat any more:
    each such change is an outbox entry that ``litemaas.integrations.outbox_sweep`` delivers."""
    from apikeys.services import apikeys_sync_pending

    return apikeys_sync_pending()


@shared_task(name="litemaas.apikeys.retry_revocations", ignore_result=True)
def retry_revocations() -> int:
    """Manual tool: retry keys stuck in ``revoking``. Not on beat any more: each revocation is an outbox entry
    that ``litemaas.integrations.outbox_sweep`` delivers (the reconciler re-queues any without one)."""
    from apikeys.services import apikeys_retry_revocations

    return apikeys_retry_revocations()


@shared_task(name="litemaas.apikeys.cleanup_provisioning", ignore_result=True)
def cleanup_provisioning() -> int:
    """Beat, every minute: delete leftovers of creates that never finished, mark them failed."""
    from apikeys.services import apikeys_cleanup_provisioning

    return apikeys_cleanup_provisioning()


@shared_task(name="litemaas.apikeys.revoke_rotated_after_grace", ignore_result=True)
def revoke_rotated_after_grace() -> int:
    """Beat, every minute: revoke old keys whose rotation grace has ended."""
    from apikeys.services import apikeys_revoke_rotated_after_grace

    return apikeys_revoke_rotated_after_grace()


@shared_task(name="litemaas.apikeys.expire_keys", ignore_result=True)
def expire_keys() -> int:
    """Beat, every minute: mark keys past their expiry; revoke ended playground keys."""
    from apikeys.services import apikeys_expire_due

    return apikeys_expire_due()
