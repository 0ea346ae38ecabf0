"""The budget maths (pure functions)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from usage import forecast

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("30d", timedelta(days=30)), ("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)),
    ("1mo", timedelta(days=30)), ("1w", timedelta(days=7)), ("", None), ("monthly", None), (None, None)])
def test_parse_budget_duration(value, expected):
    assert forecast.parse_budget_duration(value) == expected


def test_utilisation_levels():
    assert forecast.utilisation_level(forecast.utilisation(Decimal("50"), Decimal("100"))) == "ok"
    assert forecast.utilisation_level(forecast.utilisation(Decimal("75"), Decimal("100"))) == "warning"
    assert forecast.utilisation_level(forecast.utilisation(Decimal("90"), Decimal("100"))) == "danger"
    assert forecast.utilisation_level(forecast.utilisation(Decimal("5"), None)) == "none"


def test_trailing_rate_counts_missing_days_as_zero():
    assert forecast.trailing_daily_rate([Decimal("7")], days=7) == Decimal("1")
    assert forecast.trailing_daily_rate([Decimal(1)] * 10, days=7) == Decimal("1")


def test_runway_at_rate_before_and_after_reset():
    r = forecast.runway(spend=Decimal("40"), max_budget=Decimal("100"), daily_rate=Decimal("10"), now=NOW,
                        reset_at=NOW + timedelta(days=10))
    assert r.days_left == Decimal("6.0") and r.exhausted_at == NOW + timedelta(days=6) and r.before_reset is True
    later = forecast.runway(spend=Decimal("40"), max_budget=Decimal("100"), daily_rate=Decimal("10"), now=NOW,
                            reset_at=NOW + timedelta(days=3))
    assert later.before_reset is False


def test_runway_edge_cases():
    assert forecast.runway(spend=Decimal(1), max_budget=None, daily_rate=Decimal(1), now=NOW).exhausted_at is None
    over = forecast.runway(spend=Decimal(120), max_budget=Decimal(100), daily_rate=Decimal(1), now=NOW)
    assert over.exhausted and over.remaining == 0
    idle = forecast.runway(spend=Decimal(1), max_budget=Decimal(100), daily_rate=Decimal(0), now=NOW)
    assert idle.exhausted_at is None and not idle.exhausted and idle.remaining == Decimal(99)
