"""Celery tasks of the project app."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="litemaas.ping")
def ping() -> str:
    """Return ``"pong"``: proves a worker (or eager mode) executes tasks. Idempotent, touches nothing."""
    return "pong"
