"""The contract suite's target: always the LiteLLM double; also a real LiteLLM proxy when
``LITELLM_CONTRACT_URL`` (+ ``LITELLM_CONTRACT_MASTER_KEY``) is set (``scripts/run-contract-tests.sh``).

Every test runs once per target with the same assertions, so the double cannot drift from the real thing.
Tests use fresh random ids, never reset the target and never depend on each other's objects.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests

from integrations.double import LiteLLMDouble
from integrations.litellm.client import LiteLLMClient

T = TypeVar("T")
# The real kit's config model costs 1e-6 / 2e-6 per input / output token; the double gets the same model.
CHAT_MODEL_COSTS = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
# Spend reaches the real proxy's tables 0.5–6 s after a request (batch writer): poll, bounded.
SPEND_TIMEOUT_SECONDS = float(os.environ.get("LITELLM_CONTRACT_SPEND_TIMEOUT", "30"))


@dataclass
class Target:
    """One LiteLLM to check: the typed client plus raw HTTP for what the portal's users call directly."""

    name: str
    base_url: str
    master_key: str
    chat_model: str
    client: LiteLLMClient

    def raw(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        """One plain HTTP call (master key unless ``key``), for quirks the client deliberately hides."""
        headers = {"Authorization": f"Bearer {key or self.master_key}"}
        return requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def chat(self, key: str, **extra: Any) -> requests.Response:
        """A chat completion as a portal user would make it, with their virtual key."""
        body = {"model": self.chat_model, "messages": [{"role": "user", "content": "ping"}], **extra}
        return self.raw("POST", "/v1/chat/completions", key=key, json=body)


def unique(prefix: str) -> str:
    """A fresh id for this test run (the real proxy keeps everything between tests)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_key_value() -> str:
    """A portal-style secret: ``sk-`` plus 32 random hex characters."""
    return f"sk-contract-{uuid.uuid4().hex}"


def poll(probe: Callable[[], T | None], *, timeout: float = SPEND_TIMEOUT_SECONDS, every: float = 0.25) -> T:
    """Call ``probe`` until it returns something truthy or ``timeout`` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(every)


@pytest.fixture(scope="session")
def _contract_double() -> Iterator[LiteLLMDouble]:
    double = LiteLLMDouble(master_key="sk-contract-double-master").start()
    double.state.model_new({"model_name": "fake-gpt", "model_info": {"id": "fake-gpt-config"},
                            "litellm_params": {"model": "openai/fake-gpt", **CHAT_MODEL_COSTS}})
    yield double
    double.stop()


def _targets() -> list[str]:
    return ["double", "real"] if os.environ.get("LITELLM_CONTRACT_URL") else ["double"]


@pytest.fixture(params=_targets())
def litellm_target(request: pytest.FixtureRequest) -> Target:
    """(base_url, master_key) of each target, wrapped with a client built for it (no breaker)."""
    if request.param == "double":
        double = request.getfixturevalue("_contract_double")
        base_url, master_key, model = double.url, double.master_key, "fake-gpt"
    else:
        base_url = os.environ["LITELLM_CONTRACT_URL"].rstrip("/")
        master_key = os.environ.get("LITELLM_CONTRACT_MASTER_KEY", "sk-master-dev")
        model = os.environ.get("LITELLM_CONTRACT_CHAT_MODEL", "fake-gpt")
    client = LiteLLMClient(base_url=base_url, master_key=master_key, connect_timeout=3, read_timeout=30)
    return Target(request.param, base_url, master_key, model, client)
