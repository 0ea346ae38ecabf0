"""Celery tasks of ``usage``: thin, take ids or nothing, call one service (imported inside the body)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="litemaas.usage.ingest", ignore_result=True, max_retries=0)
def ingest_usage() -> None:
    """Beat job (every ``USAGE_INGEST_INTERVAL_MINUTES``): pull today, not-yet-frozen days and missed recent
    days from LiteLLM. Single-flight (cache lock) and idempotent (upserts). LiteLLM errors are recorded on
    the run's SyncRun row; the next tick retries, so no Celery retry is needed."""
    from usage.services import usage_analytics_prewarm, usage_ingest_scheduled

    if usage_ingest_scheduled() is not None:
        usage_analytics_prewarm()
