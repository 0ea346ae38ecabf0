"""``limits.py``: how each limit field is set, left alone and cleared (the contract suite checks LiteLLM)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integrations.litellm.limits import CLEAR_RULES, UNLIMITED_SENTINEL, UNSET, limit_fields, read_limit

CLEARS = {
    ("user", "max_budget"): {"max_budget": None},
    ("user", "budget_duration"): {"budget_duration": None},
    ("user", "tpm_limit"): {"tpm_limit": UNLIMITED_SENTINEL},
    ("user", "rpm_limit"): {"rpm_limit": UNLIMITED_SENTINEL},
    ("user", "max_parallel_requests"): {"max_parallel_requests": UNLIMITED_SENTINEL},
    ("team", "max_budget"): {"max_budget": None},
    ("team", "soft_budget"): {"soft_budget": None},
    ("team", "budget_duration"): {"budget_duration": None},
    ("team", "tpm_limit"): {"tpm_limit": None},
    ("team", "rpm_limit"): {"rpm_limit": None},
    ("key", "max_budget"): {"max_budget": None},
    ("key", "soft_budget"): {"soft_budget": None},
    ("key", "budget_duration"): {"budget_duration": None},
    ("key", "tpm_limit"): {"tpm_limit": None},
    ("key", "rpm_limit"): {"rpm_limit": None},
    ("key", "max_parallel_requests"): {"max_parallel_requests": None},
    ("key", "model_max_budget"): {"model_max_budget": {}},
    ("key", "model_rpm_limit"): {"model_rpm_limit": {}},
    ("key", "model_tpm_limit"): {"model_tpm_limit": {}},
    ("key", "expires"): {"duration": None},
}


def test_every_limit_field_has_a_tested_clear_rule():
    assert {(e, f) for e, fields in CLEAR_RULES.items() for f in fields} == set(CLEARS)


@pytest.mark.parametrize(("entity", "field"), sorted(CLEARS))
def test_clearing_sends_what_really_clears_it(entity, field):
    assert limit_fields(entity, **{field: None}) == CLEARS[(entity, field)]


@pytest.mark.parametrize(("entity", "field"), sorted(CLEARS))
def test_unset_sends_nothing_and_creating_omits_no_limit(entity, field):
    assert limit_fields(entity, **{field: UNSET}) == {}
    assert limit_fields(entity, creating=True, **{field: None}) == {}


def test_values_are_normalised():
    assert limit_fields("user", max_budget=Decimal("10.5000"), tpm_limit=5, budget_duration="30d") == {
        "max_budget": 10.5, "tpm_limit": 5, "budget_duration": "30d"}
    assert limit_fields("user", budget_duration="") == {"budget_duration": None}
    assert limit_fields("key", model_rpm_limit={}) == {"model_rpm_limit": {}}
    assert limit_fields("key", model_max_budget={"m": {"budget_limit": Decimal("1.5"), "time_period": "30d"}}) == {
        "model_max_budget": {"m": {"budget_limit": 1.5, "time_period": "30d"}}}


def test_expiry_is_sent_as_a_relative_duration():
    fields = limit_fields("key", expires=datetime.now(UTC) + timedelta(hours=1))
    assert fields["duration"].endswith("s") and 3598 <= int(fields["duration"][:-1]) <= 3601
    assert limit_fields("key", expires=datetime.now(UTC) - timedelta(days=1)) == {"duration": "1s"}
    with pytest.raises(ValueError):
        limit_fields("key", expires=datetime(2030, 1, 1))  # naive


def test_unknown_fields_and_booleans_are_refused():
    with pytest.raises(ValueError):
        limit_fields("team", max_parallel_requests=3)
    with pytest.raises(ValueError):
        limit_fields("user", tpm_limit=True)


def test_reading_back_maps_the_sentinel_and_empty_maps_to_no_limit():
    assert read_limit(UNLIMITED_SENTINEL) is None
    assert read_limit(float(UNLIMITED_SENTINEL)) is None  # the original portal's "no budget" dollars
    assert read_limit({}) is None
    assert read_limit(5) == 5
    assert read_limit(0) == 0
