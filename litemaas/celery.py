"""The Celery application, configured from Django settings (``CELERY_*``) with task autodiscovery."""
import os

from celery import Celery

from litemaas.metrics import install_task_metrics
from litemaas.observability import install_celery_hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")

app = Celery("litemaas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tracing in each prefork child and task metrics (both no-ops until configured; see deploy/README.md).
install_celery_hooks()
install_task_metrics()
