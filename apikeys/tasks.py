"""Celery tasks of ``apikeys``: thin, take ids, call one service."""
