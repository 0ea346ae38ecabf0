"""Celery tasks of ``accounts``: thin, take ids, call one service."""
