"""What every ``apikeys`` service module shares: the constants, the input and result types, the
validation-error, audit-metadata and status-claim helpers, and the single-flight lock of the beat
sweeps."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyModel
from litemaas.exceptions import InvalidTransition, ValidationFailed
from litemaas.locks import SingleFlightLock

logger = logging.getLogger("apikeys.services")  # the logger name of the single module

BUDGET_DURATION_PRESETS = {"daily": "1d", "weekly": "7d", "monthly": "30d", "yearly": "365d"}
_DURATION_RE = re.compile(r"^\d+[smhd]$|^\d+mo$")
MAX_ROTATION_GRACE_HOURS = 24
PER_MODEL_BUDGET_MESSAGE = (
    "Per-model budgets need a LiteLLM Enterprise licence, which this LiteLLM proxy does not have. "
    "Remove the per-model budgets (per-model TPM/RPM limits and the key budget still work)."
)
_UNAVAILABLE_CREATE = (
    "LiteLLM is unavailable right now, so the key was not created. Nothing was charged or left behind; "
    "try again in a minute."
)
_SWEEP_BATCH = 200
_SWEEP_LOCK_SECONDS = 55


@dataclass(frozen=True)
class ModelLimits:
    """Per-model limits of one model on one key (None = no limit)."""

    max_budget: Decimal | None = None
    budget_duration: str = ""
    tpm_limit: int | None = None
    rpm_limit: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.max_budget is None and self.tpm_limit is None and self.rpm_limit is None


@dataclass
class CreatedApiKey:
    """A key just created and its secret, which exists only here and in the one create response."""

    key: ApiKey
    secret: str = field(repr=False)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Limits:
    max_budget: Decimal | None
    budget_duration: str
    soft_budget: Decimal | None
    tpm_limit: int | None
    rpm_limit: int | None
    max_parallel_requests: int | None
    expires_at: datetime | None


def _link_limits(link: ApiKeyModel) -> ModelLimits:
    return ModelLimits(link.max_budget, link.budget_duration, link.tpm_limit, link.rpm_limit)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(details={"fields": errors})


def _key_audit(key: ApiKey, **extra: Any) -> dict[str, Any]:
    """Audit metadata of a key: identifiers a human recognises, never the secret or its hash."""
    data = {"name": key.name, "prefix": key.masked, "owner": str(key.user_id), "alias": key.key_alias,
            "status": key.status}
    data.update(extra)
    return data


def _transition(key: ApiKey, new_status: str) -> None:
    if not key.can_move_to(new_status):
        raise InvalidTransition(f"A {key.get_status_display().lower()} key cannot become {new_status}.")


def _set_status(key: ApiKey, *, from_statuses: tuple[str, ...], to: str, **fields: Any) -> bool:
    """Conditional UPDATE (claim): True only if this call moved the row; ``key`` is refreshed in memory."""
    now = timezone.now()
    changed = ApiKey.objects.filter(pk=key.pk, status__in=from_statuses).update(status=to, updated_at=now, **fields)
    if changed:
        key.status = to
        key.updated_at = now
        for name, value in fields.items():
            setattr(key, name, value)
    return bool(changed)


def _sweep_lock(name: str) -> SingleFlightLock | None:
    """The single-flight lock of one sweep, held; None when another run holds it."""
    lock = SingleFlightLock(f"apikeys:sweep:{name}", timeout=_SWEEP_LOCK_SECONDS)
    return lock if lock.acquire() else None
