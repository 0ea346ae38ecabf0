"""Regression guards for the catalogue's cost (issue #12, load mix: ``/models/`` is the most requested page).

A full page of cards costs a fixed number of queries, and the display currency (a shared-cache read) is
looked up once per page, not once per price. Counts, not timings, so they fail the same way everywhere.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.subscriptions.conftest import make_model, make_subscription

pytestmark = pytest.mark.django_db

# Session and user (2), the page count and the page (2), the provider filter's options (1), the
# unread-notification count (1). Anonymous visitors skip the session, user and notification queries.
CATALOGUE_MAX_QUERIES = 6


@pytest.fixture
def catalogue(user):
    models = [make_model(f"perf-{n:02d}", provider=("openai", "anthropic", "vllm")[n % 3],
                         supports_vision=n % 2 == 0, supports_function_calling=n % 3 == 0, restricted=n % 5 == 0)
              for n in range(30)]
    for model, status in zip(models[:4], ("active", "pending", "denied", "inactive"), strict=True):
        make_subscription(user, model, status=status)
    return models


def page_queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_catalogue_page_runs_a_fixed_number_of_queries(catalogue, user, django_assert_max_num_queries):
    client = Client()
    client.force_login(user)
    for url in ("/models/", "/models/?page=2", "/models/?capability=vision", "/models/?q=perf"):
        client.get(url)
        with django_assert_max_num_queries(CATALOGUE_MAX_QUERIES):
            assert client.get(url).status_code == 200
    full = page_queries(client, "/models/")
    for n in range(30, 60):
        make_subscription(user, make_model(f"perf-{n:02d}"), status="active")
    assert page_queries(client, "/models/") == full


def test_catalogue_reads_the_display_currency_once_per_page(catalogue, user, monkeypatch):
    from litemaas import portal_selectors

    reads = []
    original = portal_selectors._settings_snapshot  # what every currency lookup reads (a cache get)
    monkeypatch.setattr(portal_selectors, "_settings_snapshot", lambda: reads.append(1) or original())
    client = Client()
    client.force_login(user)
    html = client.get("/models/").content.decode()
    assert html.count("$1.00") == 24 and html.count("$2.00") == 24  # 24 cards, input and output prices
    assert 1 <= len(reads) <= 2  # the page's lookup, and the base template's if it shows the currency


def test_catalogue_cards_keep_prices_capabilities_and_access(catalogue, user):
    client = Client()
    client.force_login(user)
    html = client.get("/models/").content.decode()
    for label in ("Subscribed", "Pending approval", "Denied", "Approval required", "Vision", "Function calling"):
        assert label in html
    assert "<dd class=\"pf-v6-c-description-list__description\">$1.00\n</dd>" in html
