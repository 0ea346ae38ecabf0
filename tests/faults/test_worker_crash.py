"""A Celery worker SIGKILLed in the middle of a task (reliability.md §5 scenario 9).

A real worker subprocess consumes from Redis (127.0.0.1:6379, database 14) and runs
``litemaas.apikeys.revoke_apikey`` (``acks_late``, idempotent: delete-by-hash in LiteLLM, then ``revoked``).
LiteLLM is made slow so the worker is killed while the call is in flight; a second worker must get the
unacknowledged task again and finish it, with the effect happening once (one ``revoked`` transition, one audit
row, no key left in LiteLLM).

Needs PostgreSQL (the worker process must see the test database) and Redis; marked ``slow``.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.fixtures.litellm import DOUBLE_MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = "redis://127.0.0.1:6379/14"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker process needs the PostgreSQL test database"),
    pytest.mark.skipif(not _redis_up(), reason="needs redis-server on 127.0.0.1:6379"),
]


def _start_worker(queue: str, double_url: str, log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "litemaas.settings",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER_URL,
        "LITELLM_API_URL": double_url,
        "LITELLM_MASTER_KEY": DOUBLE_MASTER_KEY,
        "LITELLM_READ_TIMEOUT_SECONDS": "20",
        "LITEMAAS_TESTING": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)  # the worker's cache is local memory; only the broker is Redis
    return subprocess.Popen([sys.executable, "-m", "tests.faults.celery_worker", queue], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_revocation_is_redelivered_and_takes_effect_once(litellm_double, user, tmp_path):
    """Scenario 9: SIGKILL during the LiteLLM call; the task is redelivered (acks_late) to a new worker and
    the revocation completes exactly once."""
    from celery import Celery

    from apikeys import services
    from apikeys.models import ApiKey, KeyStatus
    from apikeys.tasks import revoke_apikey
    from litemaas.models import AuditEvent
    from subscriptions.models import LlmModel, Subscription

    assert revoke_apikey.acks_late
    Subscription.objects.create(user=user, model=LlmModel.objects.create(id="gpt-test", provider="openai"),
                                status="active")
    key = services.apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="k").key
    assert key.token_hash in litellm_double.state.keys
    # The state apikey_revoke leaves when its own delivery could not run: "revoking", delete pending.
    ApiKey.objects.filter(pk=key.pk).update(status=KeyStatus.REVOKING)

    queue = f"faults-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    # set_as_current=False: a second "current" app would steal shared tasks from the eager test app.
    producer = Celery("faults-producer", broker=BROKER_URL, set_as_current=False)
    litellm_double.set_fault("slow", delay=4.0, count=1, paths=["/key/delete"])
    first = _start_worker(queue, litellm_double.url, log)
    second = None
    try:
        producer.send_task("litemaas.apikeys.revoke_apikey", args=[str(key.pk)], queue=queue)
        _wait(lambda: litellm_double.calls_to("/key/delete"), 60, "the first worker to call LiteLLM")
        os.killpg(first.pid, signal.SIGKILL)  # mid-task: the call is in flight, the message unacknowledged
        first.wait(timeout=10)
        key.refresh_from_db()
        assert key.status == KeyStatus.REVOKING
        time.sleep(4.5)  # the slow delete lands in LiteLLM after the worker died
        second = _start_worker(queue, litellm_double.url, log)
        _wait(lambda: ApiKey.objects.get(pk=key.pk).status == KeyStatus.REVOKED, 60,
              "the redelivered task to finish the revocation")
    finally:
        for proc in (first, second):
            if proc is not None:
                _stop(proc)
        producer.close()
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED and key.revoked_at is not None
    assert key.token_hash not in litellm_double.state.keys
    assert len(litellm_double.calls_to("/key/delete")) == 2, log.read_text()[-3000:]  # killed + redelivered
    assert AuditEvent.objects.filter(action="apikey.revoked", target_id=str(key.pk)).count() == 1
