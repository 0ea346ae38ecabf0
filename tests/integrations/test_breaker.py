"""The circuit breaker: OK → BROKEN → fail fast → RECOVERY → OK, shared through the cache, failing open."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.cache.backends.locmem import LocMemCache

from integrations.litellm.breaker import BROKEN, OK, RECOVERY, CircuitBreaker
from integrations.litellm.errors import LiteLLMUnavailable

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_breaker(clock: Clock, store=None, **overrides) -> CircuitBreaker:
    options = {"failure_threshold": 3, "window_seconds": 60, "cooldown_seconds": 30, "recovery_successes": 2,
               "trial_timeout_seconds": 5}
    options.update(overrides)
    return CircuitBreaker(name=uuid.uuid4().hex[:8], store=store or LocMemCache(uuid.uuid4().hex, {}),
                          clock=clock, **options)


def test_it_trips_after_the_threshold_within_the_window_and_fails_fast():
    clock = Clock()
    breaker = make_breaker(clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state() == OK
    breaker.record_failure()
    assert breaker.state() == BROKEN
    with pytest.raises(LiteLLMUnavailable) as exc:
        breaker.before_call()
    assert exc.value.code == "litellm_breaker_open"
    assert exc.value.retry_after == 30
    clock.now += 20
    with pytest.raises(LiteLLMUnavailable) as exc:
        breaker.before_call()
    assert exc.value.retry_after == 10


def test_failures_outside_the_window_do_not_add_up(time_machine):
    clock = Clock()
    store = LocMemCache(uuid.uuid4().hex, {})
    breaker = make_breaker(clock, store=store, window_seconds=1)
    breaker.record_failure()
    breaker.record_failure()
    time_machine.move_to(time.time() + 2)  # the window's counter expires in the cache (real clock)
    breaker.record_failure()
    assert breaker.state() == OK


def test_recovery_lets_one_trial_through_and_closes_after_enough_successes():
    clock = Clock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 31
    assert breaker.state() == RECOVERY
    breaker.before_call()  # the trial
    with pytest.raises(LiteLLMUnavailable):
        breaker.before_call()  # a second caller while the trial runs
    breaker.record_success()
    assert breaker.state() == RECOVERY
    breaker.before_call()
    breaker.record_success()
    assert breaker.state() == OK
    breaker.before_call()


def test_a_failed_trial_breaks_it_again_for_a_full_cooldown():
    clock = Clock()
    breaker = make_breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 31
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state() == BROKEN
    assert breaker.snapshot()["retry_in_seconds"] == 30


class BrokenStore:
    """A cache whose every operation fails (Redis down), counting the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            self.calls += 1
            raise ConnectionError("redis down")
        return fail


def test_it_fails_open_when_the_cache_errors_and_stops_asking_for_a_while():
    clock = Clock()
    store = BrokenStore()
    breaker = make_breaker(clock, store=store)
    for _ in range(10):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state() == OK
    assert store.calls == 1  # later calls skip the failing cache instead of waiting on it each time
    assert breaker.snapshot()["storage_ok"] is False
    clock.now += 11
    breaker.before_call()
    assert store.calls == 2


@pytest.mark.parametrize("ignore_exceptions", [False, True])
def test_it_fails_open_with_a_real_redis_cache_pointing_at_nothing(ignore_exceptions):
    from django_redis.cache import RedisCache

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    store = RedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": {
        "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": ignore_exceptions}})
    breaker = make_breaker(Clock(), store=store)
    for _ in range(5):
        breaker.record_failure()
        breaker.before_call()
    assert breaker.state() == OK


def test_client_fails_fast_while_broken_without_touching_litellm(litellm_double, fast_retries, litellm_client,
                                                                 settings):
    litellm_double.set_fault("error", status=503)
    for _ in range(5):  # LITELLM_BREAKER_FAILURE_THRESHOLD
        with pytest.raises(LiteLLMUnavailable):
            litellm_client.team_get("t")
    assert litellm_client.breaker.state() == BROKEN
    calls_before = len(litellm_double.calls)
    started = time.perf_counter()
    with pytest.raises(LiteLLMUnavailable) as exc:
        litellm_client.team_get("t")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.05
    assert len(litellm_double.calls) == calls_before
    assert exc.value.code == "litellm_breaker_open" and 1 <= exc.value.retry_after <= 30


def test_client_breaker_cycle_back_to_ok(litellm_double, fast_retries, litellm_client, time_machine):
    litellm_double.set_fault("error", status=502)
    for _ in range(5):
        with pytest.raises(LiteLLMUnavailable):
            litellm_client.team_get("t")
    litellm_double.clear_fault()
    time_machine.move_to(time.time() + 31)
    assert litellm_client.breaker.state() == RECOVERY
    assert litellm_client.team_get("t") is None  # trial 1 (a 404 proves LiteLLM is up)
    assert litellm_client.team_get("t") is None  # trial 2
    assert litellm_client.breaker.state() == OK


def test_rejections_never_trip_the_breaker(litellm_double, fast_retries, litellm_client):
    for _ in range(10):
        assert litellm_client.team_get("missing") is None
    assert litellm_client.breaker.state() == OK


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/15"
    except OSError:
        return None
    return None


def test_breaker_state_is_shared_by_two_processes_through_redis():
    redis_url = _redis_url()
    if redis_url is None:
        pytest.skip("REDIS_URL is unset and no Redis answers on 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix,
           "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "litemaas.settings"}
    name = uuid.uuid4().hex[:8]

    def worker(action: str, count: int = 1) -> str:
        result = subprocess.run([sys.executable, "-m", "tests.integrations.breaker_worker", name, "5", action,
                                 str(count)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    try:
        assert "state OK" in worker("fail", 4)          # process A: 4 failures, below the threshold of 5
        assert "state BROKEN" in worker("fail", 1)      # process B: the fifth failure trips the shared breaker
        out = worker("check")                           # process C: refused at once, no LiteLLM call
        assert out.startswith("refused") and float(out.split()[1]) < 0.05
        deadline = time.monotonic() + 20
        while "state RECOVERY" not in (out := worker("check", 0)):  # poll; the cooldown is 5 s
            assert time.monotonic() < deadline, out
        assert "state OK" in worker("succeed", 2)       # process D: two successful trials close it
        assert worker("check").startswith("allowed")    # and process E sees it closed
    finally:
        import redis

        connection = redis.Redis.from_url(redis_url)
        for key in connection.scan_iter(f"{prefix}:*"):
            connection.delete(key)


def test_metrics_count_calls_retries_and_breaker_state(litellm_double, fast_retries, litellm_client):
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    ok_before = value("litemaas_litellm_calls_total", endpoint="/team/info", outcome="rejected")
    retries_before = value("litemaas_litellm_retries_total", endpoint="/team/info")
    latency_before = value("litemaas_litellm_request_seconds_count", endpoint="/team/info")
    assert litellm_client.team_get("missing") is None
    assert value("litemaas_litellm_calls_total", endpoint="/team/info", outcome="rejected") == ok_before + 1
    litellm_double.set_fault("error", status=503)
    for _ in range(5):
        with pytest.raises(LiteLLMUnavailable):
            litellm_client.team_get("t")
    assert value("litemaas_litellm_retries_total", endpoint="/team/info") == retries_before + 10
    assert value("litemaas_litellm_request_seconds_count", endpoint="/team/info") == latency_before + 16
    rejected_before = value("litemaas_litellm_breaker_rejections_total")
    with pytest.raises(LiteLLMUnavailable):
        litellm_client.team_get("t")
    assert value("litemaas_litellm_breaker_rejections_total") == rejected_before + 1
    assert value("litemaas_litellm_breaker_state") == 2
    assert value("litemaas_litellm_calls_total", endpoint="/team/info", outcome="breaker_open") >= 1
