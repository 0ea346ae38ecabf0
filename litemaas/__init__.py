"""litemaas project package: settings, URLs, Celery, API plumbing, audit and health."""
from .celery import app as celery_app

__all__ = ["celery_app"]
