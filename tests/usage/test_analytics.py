"""Analytics, breakdowns, exports and their API: hand-computed figures, UTC days, scoping, validation."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.usage.conftest import fact, make_key, make_model, store

D = [date(2026, 3, 1) + timedelta(days=i) for i in range(10)]
RANGE = "start=2026-03-05&end=2026-03-07"  # previous period: 03-02..03-04


@pytest.fixture
def data(user, other_user):
    make_model("m1", "openai")
    make_model("m2", "anthropic")
    k1, k2 = make_key(user, name="one"), make_key(user, name="two", status="revoked", deleted=True)
    k3 = make_key(other_user, name="theirs")
    store(
        fact(D[4], k1, "m1", requests=2, prompt=100, completion=50, spend="1.5"),
        fact(D[4], k2, "m2", requests=1, prompt=10, completion=10, spend="0.25", failed=1),
        fact(D[5], k1, "m2", requests=3, prompt=30, completion=30, spend="0.75"),
        fact(D[6], k3, "m1", requests=4, prompt=40, completion=20, spend="2"),
        fact(D[6], None, "m1", requests=5, prompt=50, completion=0, spend="0.5", key_hash="f" * 64),
        fact(D[7], k1, "m1", requests=100, prompt=1, completion=1, spend="9"),  # outside the range (after)
        fact(D[2], k1, "m1", requests=4, prompt=20, completion=20, spend="1"),  # previous period
        fact(D[3], k3, "m2", requests=1, prompt=5, completion=5, spend="0.5"),  # previous period
    )
    return {"k1": k1, "k2": k2, "k3": k3}


@pytest.mark.django_db
def test_admin_analytics_match_hand_computed_figures(data, admin_client, user, other_user):
    body = admin_client.get(f"/api/v1/admin/usage/analytics?{RANGE}").json()
    t = body["totals"]
    assert (t["requests"], t["prompt_tokens"], t["completion_tokens"], t["total_tokens"]) == (15, 230, 110, 340)
    assert t["spend"] == pytest.approx(5.0) and t["active_users"] == 2
    assert t["successful_requests"] == 14 and t["success_rate"] == pytest.approx(93.33)
    assert body["period"] == {"start": "2026-03-05", "end": "2026-03-07", "days": 3, "timezone": "UTC"}
    assert body["previous_period"] == {"start": "2026-03-02", "end": "2026-03-04"}
    assert [d["date"] for d in body["daily"]] == ["2026-03-05", "2026-03-06", "2026-03-07"]
    assert [d["requests"] for d in body["daily"]] == [3, 3, 9]
    assert [d["spend"] for d in body["daily"]] == pytest.approx([1.75, 0.75, 2.5])
    assert body["daily_by_model"][0]["models"][0]["model_id"] == "m1"
    by_model = {m["model_id"]: m for m in body["by_model"]}
    assert by_model["m1"]["requests"] == 11 and by_model["m1"]["provider"] == "openai"
    assert by_model["m2"]["spend"] == pytest.approx(1.0) and by_model["m2"]["provider"] == "anthropic"
    providers = {p["provider"]: p for p in body["by_provider"]}
    assert providers["openai"]["spend"] == pytest.approx(4.0) and providers["anthropic"]["requests"] == 4
    assert [u["username"] for u in body["top_users"]] == [user.username, other_user.username]
    assert body["top_users"][0]["spend"] == pytest.approx(2.5)
    assert body["top_keys"] is None  # platform-wide: served by the key breakdown
    scoped = admin_client.get(f"/api/v1/admin/usage/analytics?{RANGE}&users={user.pk},{other_user.pk}").json()
    assert [k["name"] for k in scoped["top_keys"]] == ["one", "theirs", "two"]
    assert scoped["top_keys"][2]["status"] == "deleted" and scoped["totals"]["active_users"] == 2
    assert scoped["top_users"] == body["top_users"] and scoped["totals"]["requests"] == 10
    assert body["unattributed"]["requests"] == 5 and body["unattributed"]["spend"] == pytest.approx(0.5)
    tr = body["trends"]
    assert tr["requests"] == {"current": 15, "previous": 5, "percentage_change": 200.0, "direction": "up"}
    assert tr["spend"]["previous"] == pytest.approx(1.5) and tr["active_users"]["direction"] == "stable"
    assert body["currency"] == "USD"


@pytest.mark.django_db
def test_admin_filters_combine_with_and(data, admin_client, user):
    base = f"/api/v1/admin/usage/analytics?{RANGE}"
    assert admin_client.get(f"{base}&providers=anthropic").json()["totals"]["requests"] == 4
    assert admin_client.get(f"{base}&models=m1&users={user.pk}").json()["totals"]["requests"] == 2
    assert admin_client.get(f"{base}&users=unattributed").json()["totals"]["requests"] == 5
    assert admin_client.get(f"{base}&api_keys={data['k3'].pk}").json()["totals"]["spend"] == pytest.approx(2.0)
    assert admin_client.get(f"{base}&providers=openai&models=m2").json()["totals"]["requests"] == 0
    # The facts path (a model filter) and the running-totals path (no filter) agree.
    fast, slow = admin_client.get(base).json(), admin_client.get(f"{base}&models=m1,m2").json()
    assert fast["top_users"] == slow["top_users"] and fast["totals"]["active_users"] == slow["totals"]["active_users"]
    assert fast["trends"]["active_users"] == slow["trends"]["active_users"]
    by_user = f"/api/v1/admin/usage/breakdown?{RANGE}&by=user&sort=-requests"
    assert admin_client.get(by_user).json()["results"] == admin_client.get(f"{by_user}&models=m1,m2").json()["results"]


@pytest.mark.django_db
def test_utc_day_boundaries_are_inclusive(data, admin_client):
    one_day = admin_client.get("/api/v1/admin/usage/analytics?start=2026-03-08&end=2026-03-08").json()
    assert one_day["totals"]["requests"] == 100 and len(one_day["daily"]) == 1
    assert one_day["previous_period"] == {"start": "2026-03-07", "end": "2026-03-07"}


@pytest.mark.django_db
def test_a_user_sees_only_their_own_usage_whatever_the_filters(data, user_client, user, other_user):
    body = user_client.get(f"/api/v1/usage/analytics?{RANGE}").json()
    assert body["totals"]["requests"] == 6 and body["totals"]["spend"] == pytest.approx(2.5)
    assert "top_users" not in body and "unattributed" not in body
    assert {k["name"] for k in body["top_keys"]} == {"one", "two"}
    # users/teams/providers parameters are ignored outside the admin view
    assert user_client.get(f"/api/v1/usage/analytics?{RANGE}&users={other_user.pk}").json()["totals"]["requests"] == 6
    # another user's key: 400, and nothing of theirs leaks
    response = user_client.get(f"/api/v1/usage/analytics?{RANGE}&api_keys={data['k3'].pk}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_filter"
    own = user_client.get(f"/api/v1/usage/analytics?{RANGE}&api_keys={data['k2'].pk}").json()
    assert own["totals"]["requests"] == 1  # a deleted key of mine still filters its history
    assert user_client.get(f"/api/v1/usage/analytics?{RANGE}&models=m1").json()["totals"]["requests"] == 2
    export = user_client.get(f"/api/v1/usage/export?format=json&{RANGE}")
    rows = json.loads(b"".join(export.streaming_content))["rows"]
    assert {r["user_id"] for r in rows} == {str(user.pk)}


@pytest.mark.django_db
def test_filter_options_come_from_the_users_own_data(data, user_client):
    body = user_client.get(f"/api/v1/usage/filter-options?{RANGE}").json()
    assert [m["id"] for m in body["models"]] == ["m1", "m2"]
    assert {k["name"] for k in body["keys"]} == {"one", "two"}
    assert {k["status"] for k in body["keys"]} == {"active", "deleted"}


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "code"), [
    ("start=2026-3-1&end=2026-03-02", "invalid_date"),
    ("start=2026-03-05&end=2026-03-01", "date_range_invalid"),
    ("start=2026-03-05", "date_range_invalid"),
    ("start=2026-01-01&end=2026-06-30", "date_range_too_large"),
    ("start=2026-03-01&end=2026-03-02&api_keys=nope", "invalid_filter"),
])
def test_validation_errors_have_the_standard_shape(user_client, query, code):
    response = user_client.get(f"/api/v1/usage/analytics?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["request_id"] and "fields" in error["details"]


@pytest.mark.django_db
def test_too_large_range_suggests_sub_ranges(admin_client):
    error = admin_client.get("/api/v1/admin/usage/analytics?start=2026-01-01&end=2026-06-30").json()["error"]
    ranges = error["details"]["suggested_ranges"]
    assert ranges[0] == {"start": "2026-01-01", "end": "2026-03-31"} and ranges[-1]["end"] == "2026-06-30"
    assert admin_client.get("/api/v1/admin/usage/export?format=csv&start=2025-07-01&end=2026-06-30").status_code == 200
    assert admin_client.get("/api/v1/admin/usage/export?format=csv&start=2025-06-30&end=2026-06-30").status_code == 400


@pytest.mark.django_db
def test_admin_endpoints_refuse_users_and_allow_readonly_admins(user_client, readonly_admin_client):
    for url in ("/api/v1/admin/usage/analytics", "/api/v1/admin/usage/breakdown?by=user",
                "/api/v1/admin/usage/export?format=csv", "/api/v1/admin/usage/ingestion-runs"):
        assert user_client.get(url).status_code == 403
        assert readonly_admin_client.get(url).status_code == 200
    assert user_client.post("/api/v1/admin/usage/refresh").status_code == 403


@pytest.mark.django_db
def test_breakdowns_paginate_and_sort_with_bounded_queries(data, admin_client, user, other_user):
    url = f"/api/v1/admin/usage/breakdown?{RANGE}"
    users = admin_client.get(f"{url}&by=user&sort=-spend").json()
    assert users["count"] == 3 and [r["username"] for r in users["results"]] == [
        user.username, other_user.username, "(unattributed)"]
    assert admin_client.get(f"{url}&by=user&sort=requests").json()["results"][0]["username"] == other_user.username
    page2 = admin_client.get(f"{url}&by=user&sort=-spend&page=2&page_size=2").json()
    assert page2["count"] == 3 and len(page2["results"]) == 1 and page2["previous"]
    models = admin_client.get(f"{url}&by=model&sort=name").json()["results"]
    assert [m["model_id"] for m in models] == ["m1", "m2"]
    providers = admin_client.get(f"{url}&by=provider&sort=-requests").json()["results"]
    assert [(p["provider"], p["requests"]) for p in providers] == [("openai", 11), ("anthropic", 4)]
    keys = admin_client.get(f"{url}&by=key").json()["results"]
    assert len(keys) == 4 and keys[0]["name"] == "one"
    assert admin_client.get(f"{url}&by=nope").status_code == 400
    assert admin_client.get(f"{url}&by=user&sort=password").status_code == 400
    for by in ("user", "key", "model", "provider", "team"):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(f"{url}&by={by}").status_code == 200
        assert len(ctx.captured_queries) <= 6, (by, [q["sql"] for q in ctx.captured_queries])


@pytest.mark.django_db
def test_analytics_query_count_does_not_grow_with_data(data, admin_client, user_client):
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(f"/api/v1/admin/usage/analytics?{RANGE}")
    assert len(ctx.captured_queries) <= 14
    with CaptureQueriesContext(connection) as ctx:
        user_client.get("/api/v1/usage/analytics?start=2026-02-01&end=2026-04-30")
    assert len(ctx.captured_queries) <= 14


@pytest.mark.django_db
def test_csv_export_content_and_headers(data, admin_client, user):
    response = admin_client.get(f"/api/v1/admin/usage/export?format=csv&{RANGE}&models=m1")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="admin-usage-export-2026-03-05-to-2026-03-07.csv"')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["date"], r["username"], r["requests"], r["spend"], r["currency"], r["provider"]) for r in rows] == [
        ("2026-03-05", user.username, "2", "1.5", "USD", "openai"),
        ("2026-03-07", rows[1]["username"], "4", "2", "USD", "openai"),
        ("2026-03-07", "(unattributed)", "5", "0.5", "USD", "openai"),
    ]
    assert response["X-Usage-Currency"] == "USD"


@pytest.mark.django_db
def test_json_export_and_format_validation(data, user_client, settings):
    settings.PORTAL_CURRENCY_CODE = "EUR"
    response = user_client.get(f"/api/v1/usage/export?format=json&{RANGE}")
    body = json.loads(b"".join(response.streaming_content))
    assert body["currency"] == "EUR" and body["period"] == {"start": "2026-03-05", "end": "2026-03-07"}
    assert sum(r["requests"] for r in body["rows"]) == 6 and body["rows"][0]["currency"] == "EUR"
    assert user_client.get(f"/api/v1/usage/export?format=xml&{RANGE}").status_code == 400


@pytest.mark.django_db
def test_csv_export_neutralises_formulas(user_client, user):
    user.username = "=cmd|x"
    user.save(update_fields=["username"])
    key = make_key(user)
    store(fact(D[4], key, "m1"))
    text = b"".join(user_client.get(f"/api/v1/usage/export?format=csv&{RANGE}").streaming_content).decode()
    assert "'=cmd|x" in text


@pytest.mark.django_db
def test_analytics_and_export_are_rate_limited_per_user(user_client, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": "2/minute", "export": "1/minute"})
    assert user_client.get("/api/v1/usage/analytics").status_code == 200
    assert user_client.get("/api/v1/usage/analytics").status_code == 200
    throttled = user_client.get("/api/v1/usage/analytics")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert throttled.json()["error"]["code"]
    assert user_client.get("/api/v1/usage/export?format=csv").status_code == 200
    assert user_client.get("/api/v1/usage/export?format=csv").status_code == 429


@pytest.mark.django_db
def test_cached_analytics_are_invalidated_by_ingestion(data, admin_client, settings):
    from usage.services import data_version_bump

    settings.USAGE_ANALYTICS_CACHE_SECONDS = 600
    url = f"/api/v1/admin/usage/analytics?{RANGE}"
    assert admin_client.get(url).json()["totals"]["requests"] == 15
    store(fact(D[5], data["k1"], "m1", requests=10))
    assert admin_client.get(url).json()["totals"]["requests"] == 15  # cached
    data_version_bump()  # what every ingestion chunk does after it commits
    assert admin_client.get(url).json()["totals"]["requests"] == 25


@pytest.mark.django_db
def test_budget_uses_litellm_spend_and_falls_back_to_facts(litellm_double, user_client, user):
    from django.utils import timezone

    user.max_budget = Decimal("10")
    user.budget_duration = "30d"
    user.save(update_fields=["max_budget", "budget_duration"])
    key = make_key(user)
    today = timezone.now().date()
    store(*(fact(today - timedelta(days=i), key, "m1", spend="1") for i in range(1, 8)))
    litellm_double.state.users[str(user.pk)] = {**litellm_double.state._new_user(str(user.pk)), "spend": 7.5,
                                                "budget_reset_at": "2030-01-01T00:00:00Z"}
    body = user_client.get("/api/v1/usage/budget").json()
    assert body["spend_source"] == "litellm" and Decimal(body["spend"]) == Decimal("7.5")
    assert body["level"] == "warning" and body["reset_at"].startswith("2030-01-01")
    assert Decimal(body["runway"]["daily_rate"]) == Decimal("1") and Decimal(body["runway"]["days_left"]) == Decimal("2.5")
    from django.core.cache import cache

    cache.clear()
    litellm_double.set_fault("down") if hasattr(litellm_double, "set_fault") else None
    del litellm_double.state.users[str(user.pk)]
    fallback = user_client.get("/api/v1/usage/budget").json()
    assert fallback["spend_source"] == "facts" and Decimal(fallback["spend"]) == Decimal("7")
    assert "estimated" in fallback["spend_source_note"]
