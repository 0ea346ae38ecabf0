"""Celery tasks of ``integrations``: thin, take ids, call one service."""
