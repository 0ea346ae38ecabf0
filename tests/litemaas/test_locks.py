"""Single-flight locks (litemaas.locks): a cache that cannot answer is neither "held" nor a free pass.

Redis is "down" here by pointing the production cache backend at a closed port (connection refused at
once); tests/faults/test_redis_faults.py covers the same jobs behind the TCP fault proxy. Runs on SQLite
(process-local stand-in for the database lock) and on PostgreSQL (advisory lock on its own connection).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection

from integrations import outbox
from integrations.models import Outbox, SyncRun
from litemaas.locks import SingleFlightLock, advisory_key, single_flight
from usage import services as usage_services

REDIS_DOWN = {
    "BACKEND": "litemaas.cache.FailFastRedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: connection refused
    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "locks-test"}


@pytest.fixture
def redis_down(settings) -> Iterator[None]:
    settings.CACHES = {"default": REDIS_DOWN}
    assert cache.add("probe", 1, 5) is None  # django-redis's "I could not ask Redis"
    yield


def _in_thread(func: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``func`` in a thread (own database connection); the dict gets its result or error."""
    out: dict[str, Any] = {}

    def target() -> None:
        from django.db import connections

        try:
            out["result"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def _blocking_job(started: threading.Event, release: threading.Event, calls: list[str]) -> Callable[..., Any]:
    """A job body that records its run and waits until the test lets it finish."""

    def job(*args: Any, **kwargs: Any) -> Any:
        calls.append("ran")
        started.set()
        assert release.wait(10)
        return mock.Mock(errors=[], rows=0, run=mock.Mock(pk=1, status="succeeded"))

    return job


# -- the lock itself -----------------------------------------------------------------------------------------

def test_advisory_key_is_a_stable_signed_64_bit_number():
    key = advisory_key("usage:ingest:lock")
    assert key == advisory_key("usage:ingest:lock") != advisory_key("integrations:outbox:sweep")
    assert -(2**63) <= key < 2**63


@pytest.mark.django_db
def test_a_key_held_in_the_cache_means_busy_and_a_released_lock_can_be_taken_again():
    cache.add("job:lock", "someone-else", 60)
    with single_flight("job:lock", timeout=60) as acquired:
        assert not acquired
    assert cache.get("job:lock") == "someone-else"  # never release another holder's key
    cache.delete("job:lock")
    with single_flight("job:lock", timeout=60) as acquired:
        assert acquired and cache.get("job:lock")
    assert cache.get("job:lock") is None
    with single_flight("job:lock", timeout=60) as acquired:
        assert acquired


@pytest.mark.django_db
def test_with_redis_down_the_lock_is_taken_once_and_a_second_attempt_is_refused(redis_down):
    first = SingleFlightLock("job:lock", timeout=60)
    second = SingleFlightLock("job:lock", timeout=60)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    second.release()  # idempotent


@pytest.mark.django_db
def test_a_run_started_during_the_outage_still_excludes_others_when_redis_returns(settings):
    settings.CACHES = {"default": REDIS_DOWN}
    during_outage = SingleFlightLock("job:lock", timeout=60)
    assert during_outage.acquire()
    settings.CACHES = {"default": LOCMEM}  # Redis is back (and empty)
    try:
        after = SingleFlightLock("job:lock", timeout=60)
        assert not after.acquire()
        assert cache.get("job:lock") is None  # the refused attempt gave its cache key back
    finally:
        during_outage.release()
    with single_flight("job:lock", timeout=60) as acquired:
        assert acquired


@pytest.mark.django_db
def test_a_run_started_before_the_outage_still_excludes_others_while_redis_is_down(settings):
    settings.CACHES = {"default": LOCMEM}
    before = SingleFlightLock("job:lock", timeout=60)
    assert before.acquire()
    settings.CACHES = {"default": REDIS_DOWN}
    try:
        with single_flight("job:lock", timeout=60) as acquired:
            assert not acquired
    finally:
        before.release()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL advisory lock")
def test_on_postgresql_the_lock_is_a_session_advisory_lock_freed_on_release():
    with single_flight("job:lock", timeout=60) as acquired:
        assert acquired
        with connection.cursor() as cursor:  # another session cannot take it
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key("job:lock")])
            assert cursor.fetchone()[0] is False
    with connection.cursor() as cursor:  # released: this session can take (and give back) it
        cursor.execute("SELECT pg_try_advisory_lock(%s), pg_advisory_unlock(%s)",
                       [advisory_key("job:lock"), advisory_key("job:lock")])
        assert cursor.fetchone() == (True, True)


# -- the jobs ------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_usage_refresh_runs_with_redis_down(redis_down, litellm_double, admin_client):
    response = admin_client.post("/api/v1/admin/usage/refresh")
    assert response.status_code == 200, response.json()
    assert SyncRun.objects.filter(kind=SyncRun.Kind.USAGE).count() == 1


@pytest.mark.django_db
def test_usage_refresh_still_answers_409_while_another_run_holds_the_lock(litellm_double, admin_client):
    cache.add(usage_services.INGEST_LOCK_KEY, "another-run", 60)
    response = admin_client.post("/api/v1/admin/usage/refresh")
    assert response.status_code == 409 and response.json()["error"]["code"] == "ingestion_running"
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_model_sync_runs_with_redis_down(redis_down):
    from subscriptions.services import model_sync_from_litellm

    with mock.patch("subscriptions.litellm_gateway.model_list", return_value=[]):
        model_sync_from_litellm()  # an empty list aborts the run, but it runs and is recorded
    assert SyncRun.objects.filter(kind=SyncRun.Kind.MODELS).count() == 1


@pytest.mark.django_db
def test_model_sync_still_answers_409_while_another_run_holds_the_lock(admin_client):
    cache.add("subscriptions:model-sync:lock", "another-run", 60)
    with mock.patch("subscriptions.litellm_gateway.model_list", return_value=[]):
        response = admin_client.post("/api/v1/admin/models/sync")
    assert response.status_code == 409 and response.json()["error"]["code"] == "sync_in_progress"


@pytest.fixture
def delivered() -> Iterator[list[str]]:
    """A test outbox operation whose handler records each delivery."""
    calls: list[str] = []
    with mock.patch.dict(outbox.HANDLERS, {"test.op": lambda entry: calls.append(entry.object_id)}):
        yield calls


@pytest.mark.django_db
def test_outbox_sweep_delivers_once_with_redis_down(redis_down, delivered):
    outbox.outbox_enqueue(object_type="test", object_id="o1", operation="test.op", deliver=False)
    counts = outbox.outbox_sweep()
    assert counts["skipped"] == 0 and counts["done"] == 1
    assert outbox.outbox_sweep()["claimed"] == 0
    assert delivered == ["o1"] and Outbox.objects.get().status == Outbox.Status.DONE


@pytest.mark.django_db
def test_outbox_sweep_skips_while_another_sweep_holds_the_lock(delivered):
    outbox.outbox_enqueue(object_type="test", object_id="o1", operation="test.op", deliver=False)
    cache.add(outbox.SWEEP_LOCK, "another-sweep", 60)
    assert outbox.outbox_sweep()["skipped"] == 1
    assert delivered == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job", ["usage_ingest_scheduled", "usage_refresh_today", "outbox_sweep"])
def test_two_concurrent_runs_with_redis_down_only_one_runs(job, redis_down, admin_user):
    from litemaas.exceptions import ConflictError

    started, release, calls = threading.Event(), threading.Event(), []
    fake = _blocking_job(started, release, calls)
    if job == "outbox_sweep":
        target, patch = outbox.outbox_sweep, mock.patch("integrations.outbox._deliverable", side_effect=lambda now: (
            fake(), Outbox.objects.none())[1])
    else:
        run = getattr(usage_services, job)
        target = (lambda: run(actor=admin_user)) if job == "usage_refresh_today" else run
        patch = mock.patch("usage.services.usage_ingest", side_effect=fake)
    with patch:
        first, first_out = _in_thread(target)
        assert started.wait(10), first_out
        second, second_out = _in_thread(target)
        second.join(10)
        release.set()
        first.join(10)
    assert calls == ["ran"], (first_out, second_out)
    assert "error" not in first_out, first_out
    if job == "usage_refresh_today":
        assert isinstance(second_out.get("error"), ConflictError)
    elif job == "outbox_sweep":
        assert second_out["result"]["skipped"] == 1
    else:
        assert second_out == {"result": None}
