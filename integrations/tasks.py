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


@shared_task(name="litemaas.integrations.deliver_outbox", max_retries=0, acks_late=True, ignore_result=True)
def deliver_outbox(entry_id: int) -> str:
    """Fast path: deliver one outbox entry right after its transaction committed. Idempotent (the claim is a
    conditional UPDATE and the handlers are idempotent), hence ``acks_late``; never retried itself: a failure
    is recorded on the entry and the sweep retries it after the backoff."""
    from integrations.outbox import outbox_deliver

    return outbox_deliver(entry_id=entry_id)


@shared_task(name="litemaas.integrations.outbox_sweep", max_retries=0, ignore_result=True)
def outbox_sweep() -> dict[str, int]:
    """Beat (every 30 s): deliver every due outbox entry (new ones whose fast path was lost, failed ones
    whose backoff ended, in-flight ones whose worker died). Single-flight, idempotent."""
    from integrations.outbox import outbox_sweep as sweep

    return sweep()


@shared_task(name="litemaas.integrations.reconcile", max_retries=0, ignore_result=True,
             soft_time_limit=1500, time_limit=1700)
def reconcile(actor_id: str | None = None, dry_run: bool | None = None) -> int | None:
    """Beat (every SYNC_RECONCILE_INTERVAL_MINUTES) and the admin "run now": one reconcile run. Single-flight
    (a run already holding the lock makes this one return None at once); idempotent. Returns the SyncRun id."""
    from accounts.models import User
    from integrations.reconcile import reconcile_run

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    run = reconcile_run(actor=actor, dry_run=dry_run)
    return run.pk if run is not None else None
