"""Budget maths as pure functions (no database, no clock): periods, utilisation and the runway forecast.

Reused by the budget card and, later, by budget alerts. Everything takes ``now`` explicitly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w|mo)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "mo": 30 * 86_400}

# Utilisation thresholds of the budget card's colour (share of max budget spent).
WARNING_SHARE = Decimal("0.75")
DANGER_SHARE = Decimal("0.90")


def parse_budget_duration(value: str | None) -> timedelta | None:
    """LiteLLM ``budget_duration`` ("30s", "15m", "24h", "30d", "1w", "1mo") as a timedelta; ``None`` for
    empty or unknown values (no reset). A month counts as 30 days, as LiteLLM does."""
    match = _DURATION.match(value or "")
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def utilisation(spend: Decimal, max_budget: Decimal | None) -> Decimal | None:
    """Share of the budget spent (0.0–∞), or ``None`` without a budget."""
    if max_budget is None or max_budget <= 0:
        return None
    return spend / max_budget


def utilisation_level(share: Decimal | None) -> str:
    """"ok" (< 75 %), "warning" (75–90 %), "danger" (≥ 90 %) or "none" without a budget."""
    if share is None:
        return "none"
    if share >= DANGER_SHARE:
        return "danger"
    if share >= WARNING_SHARE:
        return "warning"
    return "ok"


def trailing_daily_rate(daily_spend: list[Decimal], *, days: int = 7) -> Decimal:
    """Average spend per day over the last ``days`` complete days (missing days count as zero)."""
    if days <= 0:
        raise ValueError("days must be positive")
    window = daily_spend[-days:]
    return sum(window, Decimal(0)) / Decimal(days)


@dataclass(frozen=True)
class Runway:
    """When the budget runs out at the current rate.

    ``exhausted_at`` is ``None`` when it never does (no budget, zero rate) or already has (``exhausted``).
    ``before_reset`` says whether that happens before the next reset (``None`` when no reset is known).
    """

    daily_rate: Decimal
    remaining: Decimal | None
    days_left: Decimal | None
    exhausted_at: datetime | None
    exhausted: bool
    before_reset: bool | None


def runway(*, spend: Decimal, max_budget: Decimal | None, daily_rate: Decimal, now: datetime,
           reset_at: datetime | None = None) -> Runway:
    """Forecast the budget's end: ``(max_budget - spend) / daily_rate`` days from ``now``.

    No budget → nothing runs out; already at or over the budget → ``exhausted``; a zero rate → never.
    """
    if max_budget is None:
        return Runway(daily_rate, None, None, None, False, None)
    remaining = max_budget - spend
    if remaining <= 0:
        return Runway(daily_rate, Decimal(0), Decimal(0), None, True, None if reset_at is None else True)
    if daily_rate <= 0:
        return Runway(daily_rate, remaining, None, None, False, None if reset_at is None else False)
    days_left = (remaining / daily_rate).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    exhausted_at = now + timedelta(seconds=float(remaining / daily_rate) * 86_400)
    before_reset = None if reset_at is None else exhausted_at < reset_at
    return Runway(daily_rate, remaining, days_left, exhausted_at, False, before_reset)
