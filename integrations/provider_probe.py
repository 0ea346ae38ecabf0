"""The "Test configuration" probe: ask a model provider endpoint itself whether it serves the model.

This is the only outbound call to a model *provider* (not LiteLLM) the portal makes, so it lives here in
``integrations`` with every other HTTP call. It never raises for a provider problem: every outcome is a
``ProbeResult`` with a stable ``result`` code the admin page and API show as is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import requests

# The inventory's value (§1.2): long enough for a cold provider, short enough for an admin waiting on a page.
PROBE_TIMEOUT_SECONDS = 10
# How many of the provider's model names to show when the wanted one is missing.
MAX_LISTED_MODELS = 10


class ProbeOutcome:
    """The result codes (stable strings, shown by the API)."""

    MODEL_FOUND = "model_found"
    MODEL_NOT_FOUND = "model_not_found"
    ENDPOINT_REACHABLE = "endpoint_reachable"
    AUTH_ERROR = "auth_error"
    CONNECTION_ERROR = "connection_error"
    TIMEOUT = "timeout"
    MISSING_STORED_KEY = "missing_stored_key"


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found; ``success`` is true only for ``model_found`` and ``endpoint_reachable``."""

    result: str
    message: str
    available_models: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.result in (ProbeOutcome.MODEL_FOUND, ProbeOutcome.ENDPOINT_REACHABLE)


def provider_probe(*, api_base: str, api_key: str, backend_model_name: str,
                   document_conversion: bool = False) -> ProbeResult:
    """Call ``<api_base>/models`` (or ``<api_base>/health`` for document conversion) with a 10 s timeout.

    OpenAI-compatible endpoints answer ``{"data": [{"id": ...}]}``; the model is found when one ``id``
    equals ``backend_model_name``. Redirects are not followed. Never raises for network or provider
    errors (they become result codes); read-only, so safe to repeat.
    """
    base = api_base.rstrip("/")
    url = f"{base}/health" if document_conversion else f"{base}/models"
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = requests.get(url, headers=headers, timeout=PROBE_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.Timeout:
        return ProbeResult(ProbeOutcome.TIMEOUT, f"The endpoint did not answer within {PROBE_TIMEOUT_SECONDS} s.")
    except requests.RequestException as exc:
        return ProbeResult(ProbeOutcome.CONNECTION_ERROR, f"Could not connect: {type(exc).__name__}.")

    if response.status_code in (401, 403):
        return ProbeResult(ProbeOutcome.AUTH_ERROR, f"The endpoint refused the API key (HTTP {response.status_code}).")
    if not 200 <= response.status_code < 300:
        return ProbeResult(ProbeOutcome.CONNECTION_ERROR, f"The endpoint answered HTTP {response.status_code}.")
    if document_conversion:
        return ProbeResult(ProbeOutcome.ENDPOINT_REACHABLE, "The document-conversion endpoint is reachable.")

    try:
        payload = response.json()
        names = [str(item["id"]) for item in payload.get("data", []) if isinstance(item, dict) and "id" in item]
    except (ValueError, AttributeError, TypeError):
        return ProbeResult(ProbeOutcome.CONNECTION_ERROR, "The endpoint did not answer with an OpenAI model list.")
    if backend_model_name in names:
        return ProbeResult(ProbeOutcome.MODEL_FOUND, f"The endpoint serves {backend_model_name}.")
    return ProbeResult(
        ProbeOutcome.MODEL_NOT_FOUND,
        f"The endpoint does not list {backend_model_name}.",
        available_models=names[:MAX_LISTED_MODELS],
    )
