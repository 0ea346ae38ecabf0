"""A LiteLLM that accepts connections and never answers costs at most the configured time."""
from __future__ import annotations

import time

import pytest

from integrations.litellm.client import LiteLLMClient
from integrations.litellm.errors import LiteLLMUnavailable


def timed(call) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned for the assertions
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_black_holed_socket_ends_at_the_read_timeout_when_it_exceeds_the_budget(black_hole_url, fast_retries):
    client = LiteLLMClient(base_url=black_hole_url, master_key="sk-m", connect_timeout=0.5, read_timeout=1.0,
                           retry_max_wait=0.8)
    elapsed, error = timed(client.model_list)
    assert isinstance(error, LiteLLMUnavailable) and error.details["problem"] == "timeout"
    assert 0.95 <= elapsed < 1.4  # one attempt: the budget is spent, no retry starts


def test_retries_against_a_black_hole_stay_within_the_total_budget(black_hole_url, fast_retries):
    client = LiteLLMClient(base_url=black_hole_url, master_key="sk-m", connect_timeout=0.5, read_timeout=1.0,
                           retry_max_wait=1.5)
    elapsed, error = timed(client.model_list)
    assert isinstance(error, LiteLLMUnavailable)
    # attempt 1 (1.0 s) + attempt 2 (only what is left, but at least 1 s); never attempts × timeout (3 s)
    assert 1.9 <= elapsed < 2.5


def test_a_hanging_litellm_after_accepting_the_request_ends_at_the_timeout(litellm_double, fast_retries,
                                                                          litellm_client):
    litellm_double.set_fault("hang", delay=10)
    client = litellm_client.with_options(read_timeout=0.5, retry_max_wait=0.4)
    elapsed, error = timed(lambda: client.team_get("t"))
    assert isinstance(error, LiteLLMUnavailable)
    assert elapsed < 1.0


def test_the_health_probe_uses_its_own_short_timeout(black_hole_url, settings):
    from integrations.health import litellm_health
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = black_hole_url
    settings.LITELLM_HEALTH_TIMEOUT_SECONDS = 0.3
    get_litellm_client.cache_clear()
    elapsed, _ = timed(lambda: litellm_health(use_cache=False))
    assert elapsed < 0.8
    get_litellm_client.cache_clear()


@pytest.mark.slow
def test_worst_case_with_the_default_settings_is_one_read_timeout(black_hole_url):
    # Defaults: connect 3 s, read 10 s, 3 attempts within 8 s. A hung LiteLLM costs ~10 s, not 30 s.
    client = LiteLLMClient(base_url=black_hole_url, master_key="sk-m")
    elapsed, error = timed(client.model_list)
    assert isinstance(error, LiteLLMUnavailable)
    assert 9.9 <= elapsed < 11
