"""The one place that knows how to set and clear a limit in LiteLLM.

LiteLLM does not treat ``null`` the same way on every object and field. What really clears each one was
measured on LiteLLM 1.103.7 (``tests/contract/test_limits_contract.py`` keeps it true; details in
``docs/litellm-contract-notes.md``):

=========================  =====================================  ========================================
object / field             ``null`` on update                     what clears it
=========================  =====================================  ========================================
user max_budget            clears                                 ``null``
user budget_duration       clears (also resets budget_reset_at)   ``null``
user tpm/rpm_limit,        **ignored** (skipped as "not set")     the 2,147,483,647 sentinel (read back as
user max_parallel_requests                                        "no limit"); 0 would block every call
team max_budget, soft_budget, tpm/rpm_limit, budget_duration      ``null``
key max_budget, soft_budget, tpm/rpm_limit, max_parallel_requests, budget_duration: ``null``
key model_max_budget,      ``null`` ignored for the two rate maps ``{}``
model_rpm/tpm_limit        (they live in key metadata)
key expiry                 ``expires: null`` **ignored**          ``duration: null``; set with ``"<N>s"``
=========================  =====================================  ========================================

Callers pass ``UNSET`` (leave alone), ``None`` (no limit) or a value; this module turns that into the
request fields. Values read back pass through :func:`read_limit` so the sentinel never leaks out.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from django.utils import timezone


class _Unset:
    """Marker for "do not send this field" (distinct from ``None``, which means "no limit")."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()

# LiteLLM's user update skips null rate limits, so "no limit" is this value (the original portal's
# sentinel; LiteLLM stores it as a BigInt). Reads map it back to None.
UNLIMITED_SENTINEL: Final = 2_147_483_647

Entity = Literal["user", "team", "key"]
_NULL, _SENTINEL, _EMPTY_MAP, _DURATION_NULL = "null", "sentinel", "empty_map", "duration_null"

CLEAR_RULES: Final[dict[str, dict[str, str]]] = {
    "user": {
        "max_budget": _NULL,
        "budget_duration": _NULL,
        "tpm_limit": _SENTINEL,
        "rpm_limit": _SENTINEL,
        "max_parallel_requests": _SENTINEL,
    },
    "team": {
        "max_budget": _NULL,
        "soft_budget": _NULL,
        "budget_duration": _NULL,
        "tpm_limit": _NULL,
        "rpm_limit": _NULL,
    },
    "key": {
        "max_budget": _NULL,
        "soft_budget": _NULL,
        "budget_duration": _NULL,
        "tpm_limit": _NULL,
        "rpm_limit": _NULL,
        "max_parallel_requests": _NULL,
        "model_max_budget": _EMPTY_MAP,
        "model_rpm_limit": _EMPTY_MAP,
        "model_tpm_limit": _EMPTY_MAP,
        "expires": _DURATION_NULL,
    },
}


def limit_fields(entity: Entity, *, creating: bool = False, **values: Any) -> dict[str, Any]:
    """Build the request fields for ``entity``'s limits.

    Each keyword is a field from ``CLEAR_RULES[entity]``: ``UNSET`` omits it, ``None`` means "no limit"
    (omitted when ``creating``, otherwise sent the way that really clears it), anything else is
    normalised (Decimal → float, ``""`` duration → no limit, ``expires`` datetime → ``duration: "<N>s"``).
    Raises ``ValueError`` for a field LiteLLM has no such limit for. Pure function, idempotent.
    """
    rules = CLEAR_RULES[entity]
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name not in rules:
            raise ValueError(f"{entity} has no limit field {name!r}")
        if value is UNSET:
            continue
        if name == "budget_duration" and value == "":
            value = None
        if isinstance(value, Mapping) and not value:
            value = None
        if value is None:
            if not creating:
                fields.update(_clear(name, rules[name]))
            continue
        fields.update(_set(name, value))
    return fields


def _clear(name: str, rule: str) -> dict[str, Any]:
    if rule == _NULL:
        return {name: None}
    if rule == _SENTINEL:
        return {name: UNLIMITED_SENTINEL}
    if rule == _EMPTY_MAP:
        return {name: {}}
    if rule == _DURATION_NULL:
        return {"duration": None}
    raise AssertionError(rule)  # pragma: no cover - the table above only uses the four rules


def _set(name: str, value: Any) -> dict[str, Any]:
    if name == "expires":
        return {"duration": expiry_duration(value)}
    if name == "model_max_budget":
        return {name: {
            model: {"budget_limit": _number(spec["budget_limit"]), "time_period": spec["time_period"]}
            for model, spec in value.items()
        }}
    if name in ("model_rpm_limit", "model_tpm_limit"):
        return {name: {model: int(limit) for model, limit in value.items()}}
    if name == "budget_duration":
        return {name: str(value)}
    return {name: _number(value)}


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a limit cannot be a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def expiry_duration(expires: datetime) -> str:
    """LiteLLM sets key expiry only from a relative ``duration``; turn an absolute time into ``"<N>s"``.

    A time already past becomes ``"1s"`` (expired almost at once) because LiteLLM rejects zero/negatives.
    """
    if timezone.is_naive(expires):
        raise ValueError("expires must be timezone-aware")
    seconds = math.ceil((expires - timezone.now()).total_seconds())
    return f"{max(seconds, 1)}s"


def read_limit(value: Any) -> Any:
    """Map a limit read from LiteLLM back to the portal's meaning (the sentinel and ``{}`` mean None)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= UNLIMITED_SENTINEL:
        return None
    if isinstance(value, dict) and not value:
        return None
    return value
