"""The catalogue's view of LiteLLM: the few model calls ``subscriptions`` makes, through the one client.

No HTTP here (only ``integrations`` talks HTTP): this module only adapts the typed client results to the
small shapes the services use, so the services and their tests never depend on the client's internals.
LiteLLM's errors (``LiteLLMUnavailable`` 503, ``LiteLLMRejected`` 502, ``LiteLLMNotFound``) pass through.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Deployment:
    """One ``/model/info`` entry: the public name plus LiteLLM's two objects as plain data."""

    model_name: str
    litellm_params: dict[str, Any]
    model_info: dict[str, Any]


@dataclass(frozen=True)
class DeploymentSpec:
    """What the portal asks LiteLLM to create or change (``/model/new``, ``/model/{id}/update``)."""

    model_name: str
    model: str
    custom_llm_provider: str
    api_base: str
    api_key: str | None = None
    input_cost_per_token: Decimal | None = None
    output_cost_per_token: Decimal | None = None
    tpm: int | None = None
    rpm: int | None = None
    max_tokens: int | None = None
    max_input_tokens: int | None = None
    supports_vision: bool = False
    supports_function_calling: bool = False
    supports_parallel_function_calling: bool = False
    supports_tool_choice: bool = False
    supports_tokenize: bool = False
    supports_embeddings: bool = False
    supports_convert: bool = False

    def litellm_params(self) -> dict[str, Any]:
        """The ``litellm_params`` object (the provider key only when one was given)."""
        params: dict[str, Any] = {
            "model": self.model,
            "custom_llm_provider": self.custom_llm_provider,
            "api_base": self.api_base or None,
            "input_cost_per_token": _float(self.input_cost_per_token),
            "output_cost_per_token": _float(self.output_cost_per_token),
            "tpm": self.tpm,
            "rpm": self.rpm,
        }
        if self.api_key:
            params["api_key"] = self.api_key
        return params

    def model_info(self) -> dict[str, Any]:
        """The ``model_info`` object (``db_model`` marks it as created through the API)."""
        info: dict[str, Any] = {
            "db_model": True,
            "max_tokens": self.max_tokens,
            "supports_vision": self.supports_vision,
            "supports_function_calling": self.supports_function_calling,
            "supports_parallel_function_calling": self.supports_parallel_function_calling,
            "supports_tool_choice": self.supports_tool_choice,
            "supports_embeddings": self.supports_embeddings,
            "supports_tokenize": self.supports_tokenize,
            "supports_convert": self.supports_convert,
        }
        if self.max_input_tokens is not None:
            info["max_input_tokens"] = self.max_input_tokens
        return info


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _client() -> Any:
    from integrations.litellm.client import get_litellm_client

    return get_litellm_client()


def _plain(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return dict(obj)
    return obj.model_dump(mode="json", exclude_none=False)


def model_list() -> list[Deployment]:
    """Every deployment LiteLLM serves (``GET /model/info``; "no model list loaded" is ``[]``).
    Raises LiteLLM's errors."""
    return [
        Deployment(model_name=item.model_name, litellm_params=_plain(item.litellm_params),
                   model_info=_plain(item.model_info))
        for item in _client().model_list()
    ]


def model_create(spec: DeploymentSpec) -> str:
    """Create a deployment (``POST /model/new``) and return its LiteLLM id.

    The portal chooses the deployment id, so the client may safely retry (it looks the id up first)."""
    created = _client().model_create(model_name=spec.model_name, litellm_params=spec.litellm_params(),
                                     model_info=spec.model_info(), model_id=str(uuid.uuid4()))
    return created.id


def model_update(deployment_id: str, spec: DeploymentSpec) -> None:
    """Set a deployment's params and info (``PATCH /model/{id}/update``, absolute values). Idempotent.
    Raises ``LiteLLMNotFound`` when the deployment is gone."""
    _client().model_update(deployment_id, model_name=spec.model_name, litellm_params=spec.litellm_params(),
                           model_info=spec.model_info())


def model_delete(deployment_id: str) -> bool:
    """Delete a deployment (``POST /model/delete``); False when it was already gone. Idempotent."""
    return _client().model_delete(deployment_id, missing_ok=True)
