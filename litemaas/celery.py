"""The Celery application, configured from Django settings (``CELERY_*``) with task autodiscovery."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")

app = Celery("litemaas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
