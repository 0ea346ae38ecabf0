"""Fault-injection fixtures (reliability.md §4.4): the LiteLLM double behind a TCP fault proxy, fault
switches at both levels (TCP: refuse / reset / black-hole / latency; HTTP: the double's fault modes), a
stopwatch that records measured request times, and helpers to compare state before and after.

Timeouts in the fast tests are shrunk (connect 0.5 s, read 0.5 s, 3 attempts within 1 s) so a hung
LiteLLM costs about a second; ``test_default_timeouts.py`` (marked ``slow``) uses the production defaults.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.litellm import (  # noqa: F401 - re-exported fixtures
    fast_retries,
    litellm_double,
    litellm_double_server,
)
from tests.support.fault_proxy import FaultProxy

# A correctness bound, not a benchmark: no request under any fault may take longer than this.
REQUEST_BOUND_SECONDS = 15.0
# Measured (label -> seconds), printed at the end of the run (the report quotes them).
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("fault injection: measured request times")
    for label, seconds in sorted(TIMINGS.items()):
        terminalreporter.write_line(f"{seconds:7.3f}s  {label}")


@dataclass
class Timed:
    seconds: float = 0.0


@contextmanager
def stopwatch(label: str, bound: float = REQUEST_BOUND_SECONDS) -> Iterator[Timed]:
    """Measure the block, record it under ``label`` and assert it stayed under ``bound``."""
    timed = Timed()
    started = time.monotonic()
    try:
        yield timed
    finally:
        timed.seconds = time.monotonic() - started
        TIMINGS[label] = max(TIMINGS.get(label, 0.0), timed.seconds)
    assert timed.seconds < bound, f"{label} took {timed.seconds:.2f}s (bound {bound}s)"


@pytest.fixture
def litellm_proxy(litellm_double_server) -> Iterator[FaultProxy]:  # noqa: F811
    """A fault proxy in front of the session's double (reset to ``pass`` after the test)."""
    port = int(litellm_double_server.url.rsplit(":", 1)[1])
    proxy = FaultProxy(port)
    yield proxy
    proxy.close()


@pytest.fixture
def litellm(litellm_double, litellm_proxy, fast_retries, settings):  # noqa: F811
    """The double, reached through the fault proxy, with short timeouts and the real retry policy."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = litellm_proxy.url
    settings.LITELLM_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.LITELLM_READ_TIMEOUT_SECONDS = 0.5
    settings.LITELLM_RETRY_ATTEMPTS = 3
    settings.LITELLM_RETRY_MAX_WAIT_SECONDS = 1.0
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000  # the breaker has its own tests
    get_litellm_client.cache_clear()
    litellm_double.proxy = litellm_proxy
    yield litellm_double
    litellm_proxy.set("pass")
    litellm_double.clear_fault()
    get_litellm_client.cache_clear()


# Each fault: (id, how to switch it on). TCP-level ones act on the proxy, HTTP-level ones on the double.
def _tcp(mode: str, delay: float = 0.0) -> Callable[[Any], None]:
    return lambda double: double.proxy.set(mode, delay)


def _http(mode: str, **options: Any) -> Callable[[Any], None]:
    return lambda double: double.set_fault(mode, **options)


LITELLM_FAULTS: dict[str, Callable[[Any], None]] = {
    "down-refused": _tcp("refuse"),
    "down-reset": _tcp("reset"),
    "hung-blackhole": _tcp("blackhole"),
    "slow-beyond-timeout": _http("slow", delay=3.0),
    "error-503": _http("error", status=503),
    "rate-limited-429": _http("rate_limit", retry_after=1),
    "html-502": _http("html", status=502),
    "malformed-json": _http("malformed"),
    "commit-then-hang": _http("hang", delay=3.0),
}


def heal(double: Any) -> None:
    """End every fault (proxy back to pass, double healthy)."""
    double.proxy.set("pass")
    double.clear_fault()


# -- domain helpers ------------------------------------------------------------------------------------------

def make_model(model_id: str, model_type: str = "chat", *, restricted: bool = False):
    from subscriptions.models import LlmModel

    return LlmModel.objects.create(id=model_id, model_type=model_type, provider="openai", restricted=restricted,
                                   input_cost_per_token=Decimal("0.000001"),
                                   output_cost_per_token=Decimal("0.000002"))


@pytest.fixture
def subscribed(user):
    """``user`` with active subscriptions to two models."""
    from subscriptions.models import Subscription

    for model_id, kind in (("gpt-test", "chat"), ("embed-test", "embeddings")):
        Subscription.objects.create(user=user, model=make_model(model_id, kind), status="active")
    return user


def key_snapshot(double: Any) -> dict[str, Any]:
    """Portal keys (status, models) and LiteLLM keys (models, blocked) side by side."""
    from apikeys.models import ApiKey

    portal = {str(k.token_hash): (k.status, sorted(k.model_links.values_list("model_id", flat=True)))
              for k in ApiKey.objects.all()}
    remote = {token: (sorted(k.get("models") or []), bool(k.get("blocked")))
              for token, k in double.state.keys.items()}
    return {"portal": portal, "litellm": remote}


def drain_outbox(*, hours: float = 2, max_sweeps: int = 3) -> int:
    """Run the outbox sweep as beat would (every backoff has passed) until nothing is open; return how many
    sweeps that took. (An object's later entries wait behind its oldest, so two entries take two sweeps
    when the after-commit kick is not run.)"""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from integrations.models import Outbox
    from integrations.outbox import outbox_sweep

    sweeps = 0
    with time_machine.travel(timezone.now() + timedelta(hours=hours), tick=False):
        while sweeps < max_sweeps and Outbox.objects.filter(status__in=Outbox.OPEN_STATUSES).exists():
            outbox_sweep()
            sweeps += 1
    return sweeps
