"""Pure conversions between LiteLLM and the ``LlmModel`` catalogue, both ways: a ``/model/info``
deployment to model fields (sync), and admin input to model fields and to a deployment spec (write-through)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from subscriptions import litellm_gateway as gateway
from subscriptions.models import PER_MILLION, LlmModel, ModelType

# Fields the sync owns (description and restricted are the operator's and never listed here).
SYNCED_FIELDS = (
    "provider", "backend_model_name", "model_type", "context_length", "max_tokens", "input_cost_per_token",
    "output_cost_per_token", "tpm", "rpm", "supports_vision", "supports_function_calling",
    "supports_parallel_function_calling", "supports_tool_choice", "supports_tokenize", "litellm_model_id",
    "defined_in_config", "api_base",
)
_PRICE_QUANTUM = Decimal("1e-15")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(_PRICE_QUANTUM)
    except ArithmeticError:
        return None


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def model_fields_from_deployment(deployment: gateway.Deployment) -> dict[str, Any]:
    """Map one LiteLLM ``/model/info`` entry to ``LlmModel`` fields (inventory §4.1).

    provider = ``custom_llm_provider``, else the part of ``litellm_params.model`` before the first ``/``;
    backend name = the rest; prices from ``model_info`` else ``litellm_params``; models without
    ``model_info.db_model`` come from LiteLLM's config file. Pure function.
    """
    params, info = deployment.litellm_params, deployment.model_info
    model_path = str(params.get("model") or "")
    prefix, _sep, rest = model_path.partition("/")
    provider = str(params.get("custom_llm_provider") or (prefix if rest else "") or "unknown")
    backend = rest if rest else model_path
    if info.get("supports_embeddings") or info.get("supports_embedding") or info.get("mode") == "embedding":
        model_type = ModelType.EMBEDDINGS
    elif info.get("supports_convert") or provider == "docling":
        model_type = ModelType.DOCUMENT_CONVERSION
    else:
        model_type = ModelType.CHAT
    max_tokens = _int(info.get("max_tokens"))

    def price(name: str) -> Decimal | None:
        value = info.get(name)
        return _decimal(value if value is not None else params.get(name))

    return {
        "provider": provider[:100],
        "backend_model_name": backend[:255],
        "model_type": model_type,
        "context_length": _int(info.get("max_input_tokens")) or max_tokens,
        "max_tokens": max_tokens,
        "input_cost_per_token": price("input_cost_per_token"),
        "output_cost_per_token": price("output_cost_per_token"),
        "tpm": _int(params.get("tpm") if params.get("tpm") is not None else info.get("tpm")),
        "rpm": _int(params.get("rpm") if params.get("rpm") is not None else info.get("rpm")),
        "supports_vision": bool(info.get("supports_vision")),
        "supports_function_calling": bool(info.get("supports_function_calling")),
        "supports_parallel_function_calling": bool(info.get("supports_parallel_function_calling")),
        "supports_tool_choice": bool(info.get("supports_tool_choice")),
        "supports_tokenize": bool(info.get("supports_tokenize")),
        "litellm_model_id": str(info.get("id") or "")[:255],
        "defined_in_config": not bool(info.get("db_model")),
        "api_base": str(params.get("api_base") or "")[:500],
    }


def _safe_metadata(deployment: gateway.Deployment) -> dict[str, Any]:
    """LiteLLM's own objects, minus anything that could be a credential."""
    def clean(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if "key" not in k.lower() and "secret" not in k.lower()
                and "token" != k.lower()}
    return {"litellm_params": clean(deployment.litellm_params), "model_info": clean(deployment.model_info)}


LITELLM_FIELDS = (
    "provider", "backend_model_name", "model_type", "api_base", "input_cost_per_token", "output_cost_per_token",
    "tpm", "rpm", "max_tokens", "context_length", "supports_vision", "supports_function_calling",
    "supports_parallel_function_calling", "supports_tool_choice", "supports_tokenize",
)
PORTAL_FIELDS = ("description", "restricted")


def _per_token(value: Decimal | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / PER_MILLION).quantize(_PRICE_QUANTUM)


def model_fields_from_input(data: dict[str, Any]) -> dict[str, Any]:
    """Turn admin input (prices per 1M tokens) into ``LlmModel`` field values (prices per token)."""
    fields = {k: v for k, v in data.items() if k in LITELLM_FIELDS or k in PORTAL_FIELDS}
    if "input_cost_per_million" in data:
        fields["input_cost_per_token"] = _per_token(data["input_cost_per_million"])
    if "output_cost_per_million" in data:
        fields["output_cost_per_token"] = _per_token(data["output_cost_per_million"])
    if fields.get("model_type") == ModelType.DOCUMENT_CONVERSION:
        fields["provider"] = "docling"
    return fields


def _litellm_payload(*, model_id: str, values: dict[str, Any], api_key: str | None) -> gateway.DeploymentSpec:
    provider = "docling" if values.get("model_type") == ModelType.DOCUMENT_CONVERSION else (
        values.get("provider") or "openai")
    backend = values.get("backend_model_name") or model_id
    return gateway.DeploymentSpec(
        model_name=model_id,
        model=f"{provider}/{backend}",
        custom_llm_provider=provider,
        api_base=values.get("api_base") or "",
        api_key=api_key,
        input_cost_per_token=values.get("input_cost_per_token"),
        output_cost_per_token=values.get("output_cost_per_token"),
        tpm=values.get("tpm"),
        rpm=values.get("rpm"),
        max_tokens=values.get("max_tokens"),
        max_input_tokens=values.get("context_length"),
        supports_vision=bool(values.get("supports_vision")),
        supports_function_calling=bool(values.get("supports_function_calling")),
        supports_parallel_function_calling=bool(values.get("supports_parallel_function_calling")),
        supports_tool_choice=bool(values.get("supports_tool_choice")),
        supports_tokenize=bool(values.get("supports_tokenize")),
        supports_embeddings=values.get("model_type") == ModelType.EMBEDDINGS,
        supports_convert=values.get("model_type") == ModelType.DOCUMENT_CONVERSION,
    )


def _current_values(model: LlmModel) -> dict[str, Any]:
    return {name: getattr(model, name) for name in LITELLM_FIELDS}
