"""Celery tasks of ``teams``: thin, take ids, call one service."""
