"""Celery tasks of ``teams``: thin, take ids, call one service (imported inside the task body)."""
from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="litemaas.teams.check_budget_alerts", ignore_result=True, soft_time_limit=540, time_limit=600)
def check_budget_alerts() -> None:
    """The budget-alert and runway run (single-flight inside; claims make it idempotent). A LiteLLM outage
    only skips this run: the next tick reads everything again and nothing is lost."""
    from integrations.litellm.errors import LiteLLMUnavailable
    from teams.alerts import check_budget_alerts as run

    try:
        run()
    except LiteLLMUnavailable as exc:
        logger.warning("budget alerts skipped: LiteLLM unavailable (%s)", exc.code)


@shared_task(bind=True, name="litemaas.teams.sync_team", max_retries=5, ignore_result=True,
             autoretry_for=(), retry_backoff=True, retry_jitter=True)
def sync_team(self, team_id: str) -> None:
    """Push one team (limits, models, members) to LiteLLM, retried with backoff while LiteLLM is down."""
    from integrations.litellm.errors import LiteLLMUnavailable
    from teams.models import Team
    from teams.services import team_sync_to_litellm

    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return
    try:
        team_sync_to_litellm(team=team)
    except LiteLLMUnavailable as exc:
        if self.request.is_eager or self.request.retries >= 5:
            logger.warning("team %s still not synced to LiteLLM", team_id)
            return
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600)) from exc
