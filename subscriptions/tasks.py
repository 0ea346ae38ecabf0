"""Celery tasks of ``subscriptions``: thin, take ids, call one service."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="litemaas.subscriptions.sync_models", ignore_result=True)
def sync_models() -> dict:
    """Scheduled model sync (beat). A run already in progress or LiteLLM being down is logged, not retried:
    the next beat tick is the retry. Idempotent."""
    from litemaas.exceptions import ApplicationError
    from subscriptions.services import model_sync_from_litellm

    try:
        return model_sync_from_litellm().counts()
    except ApplicationError as exc:
        logger.warning("model sync skipped: %s", exc.message, extra={"error_code": exc.code})
        return {"error": exc.code}


@shared_task(name="litemaas.subscriptions.expire_due", ignore_result=True)
def expire_due() -> int:
    """Expire active subscriptions past their ``expires_at`` (beat, every minute). Idempotent."""
    from subscriptions.services import subscriptions_expire_due

    return subscriptions_expire_due()
