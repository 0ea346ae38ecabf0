"""The usage pages: the user's dashboard and the admin dashboard (roles, filters, refresh)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.usage.conftest import fact, make_key, make_model, store


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def usage_today(user, other_user):
    make_model("m1", "openai")
    today = timezone.now().date()
    mine, theirs = make_key(user, name="mine-key"), make_key(other_user, name="their-key")
    store(fact(today, mine, "m1", requests=3), fact(today - timedelta(days=1), theirs, "m-secret", requests=9))
    return mine


@pytest.mark.django_db
def test_user_dashboard_shows_own_data_filters_budget_and_tables(user, usage_today, litellm_double):
    html = login(user).get("/usage/?preset=7").content.decode()
    assert "mine-key" in html and "their-key" not in html and "m-secret" not in html
    assert 'id="usage-chart-data"' in html and "Show as table" in html and "usage-charts.js" in html
    assert "Budget" in html and "/api/v1/usage/export?format=csv" in html and "UTC" in html


@pytest.mark.django_db
def test_user_dashboard_reports_a_bad_range_and_falls_back(user, litellm_double):
    response = login(user).get("/usage/?start=2026-03-10&end=2026-01-01")
    assert response.status_code == 200 and "end must not be before start" in response.content.decode()


@pytest.mark.django_db
def test_admin_dashboard_roles(user, admin_user, readonly_admin, usage_today):
    assert login(user).get("/usage/admin/").status_code == 404
    assert login(user).post("/usage/admin/refresh").status_code == 404
    readonly = login(readonly_admin).get("/usage/admin/?by=model&sort=-requests").content.decode()
    assert "m-secret" in readonly and "Refresh today" not in readonly
    admin_html = login(admin_user).get(f"/usage/admin/?usernames={user.username}&by=user").content.decode()
    assert "Refresh today" in admin_html and user.username in admin_html
    assert login(readonly_admin).post("/usage/admin/refresh").status_code == 403


@pytest.mark.django_db
def test_admin_refresh_button_runs_ingestion(admin_user, litellm_double):
    response = login(admin_user).post("/usage/admin/refresh", follow=True)
    assert response.status_code == 200 and "refreshed" in response.content.decode()


def test_presets_are_utc_days():
    from usage.views import PRESETS

    assert PRESETS == (1, 7, 30, 90) and date.today()
