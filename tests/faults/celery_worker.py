"""A real Celery worker for the worker-crash test (run as a subprocess; the test SIGKILLs it mid-task).

Usage: ``python -m tests.faults.celery_worker <queue>`` with ``CELERY_BROKER_URL``, ``DATABASE_URL`` and the
``LITELLM_*`` variables in the environment. The only change to the production configuration is a short
broker visibility timeout (``FAULTS_VISIBILITY_TIMEOUT``), so an unacknowledged task of a killed worker is
redelivered in seconds instead of an hour.
"""
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
    import django

    django.setup()
    from litemaas.celery import app

    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "visibility_timeout": int(os.environ.get("FAULTS_VISIBILITY_TIMEOUT", "3")),
    }
    app.worker_main(["worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "-Q", sys.argv[1], "-n", f"faults-{os.getpid()}@%h"])


if __name__ == "__main__":
    main()
