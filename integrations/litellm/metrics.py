"""Prometheus metrics for the LiteLLM client (exported by django-prometheus at ``/metrics``).

Labels stay low-cardinality: ``endpoint`` is the path template (``/model/{id}/update``), never an id.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "litemaas_litellm_calls_total",
    "Logical LiteLLM calls (after retries) by endpoint and outcome.",
    ["endpoint", "outcome"],  # outcome: ok | rejected | unavailable | breaker_open
)
ATTEMPT_LATENCY = Histogram(
    "litemaas_litellm_request_seconds",
    "Latency of single HTTP attempts to LiteLLM.",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RETRIES = Counter("litemaas_litellm_retries_total", "Retried LiteLLM attempts by endpoint.", ["endpoint"])
BREAKER_STATE = Gauge(
    "litemaas_litellm_breaker_state",
    "Circuit breaker state as last seen by this process: 0 OK, 1 RECOVERY, 2 BROKEN.",
    # With several gunicorn workers, report the freshest live worker's view; a dead worker's value is dropped.
    multiprocess_mode="livemax",
)
BREAKER_REJECTIONS = Counter(
    "litemaas_litellm_breaker_rejections_total", "Calls refused at once because the breaker was BROKEN."
)
BREAKER_TRANSITIONS = Counter(
    "litemaas_litellm_breaker_transitions_total", "Breaker state changes made by this process.", ["to"]
)
BREAKER_STORAGE_ERRORS = Counter(
    "litemaas_litellm_breaker_storage_errors_total", "Cache errors while reading/writing breaker state."
)

STATE_VALUES = {"OK": 0, "RECOVERY": 1, "BROKEN": 2}
