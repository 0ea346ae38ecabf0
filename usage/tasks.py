"""Celery tasks of ``usage``: thin, take ids, call one service."""
