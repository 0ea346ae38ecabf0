"""Celery tasks of ``subscriptions``: thin, take ids, call one service."""
