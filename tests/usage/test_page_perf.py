"""Regression guards for the usage pages' cost (issue #12, load mix): a fixed number of queries whatever the
amount of data, rendered analytics fragments served from the cache (and dropped with the data), and one
LiteLLM budget call per cache period even for a user LiteLLM does not know.

Query counts, not timings: a count fails the same way on every machine. The data are realistic for the
load mix (several users with keys on several models, 30 days of facts, rollups as ingestion builds them);
``test_query_count_does_not_grow_with_the_data`` doubles them and expects the same counts.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import UserFactory
from tests.usage.conftest import fact, make_key, make_model, store

# Session and user (2), the analytics cache key's "as of" (1), filter options (3 for a user: used models,
# their providers, keys), the budget's facts fallback and runway (2), the unread-notification count (1).
USER_PAGE_MAX_QUERIES = 10
# Session and user (2), "as of" (1), the breakdown (≤ 4: snapshot date, count, page, names), filter
# options (3), ingestion runs (1), the unread-notification count (1).
ADMIN_PAGE_MAX_QUERIES = 12
# Session and user (2), the breakdown's count and page (2), the providers of the page (1).
BREAKDOWN_API_MAX_QUERIES = 5
# ``compute_analytics`` on a cache miss (or with the cache off): a fixed number whatever the range.
USER_ANALYTICS_QUERIES = 7
ADMIN_ANALYTICS_QUERIES = 11


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def seed(users, *, models: int, days: int, offset: int = 0) -> None:
    """Facts for every user's two keys on ``models`` models over ``days`` days, then the rollups."""
    today = timezone.now().date()
    model_ids = [f"perf-{n + offset:02d}" for n in range(models)]
    for n, model_id in enumerate(model_ids):
        make_model(model_id, ("openai", "anthropic", "vllm")[n % 3])
    facts = []
    for user in users:
        for k in range(2):
            key = make_key(user, name=f"{user.username}-key-{k + offset}")
            facts += [fact(today - timedelta(days=d), key, model_id, requests=1 + d % 7, spend="0.25")
                      for d in range(days) for model_id in model_ids[k::2]]
    store(*facts)


@pytest.fixture
def usage_data(db, user, litellm_double):
    users = [user, *UserFactory.create_batch(5)]
    seed(users, models=6, days=30)
    return users


def count_queries(client: Client, url: str) -> int:
    client.get(url)  # warm: first-use lookups (content types, translations) are not the page's cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


ADMIN_URLS = ["/usage/admin/", "/usage/admin/?preset=90", "/usage/admin/?by=model", "/usage/admin/?by=provider",
              "/usage/admin/?by=key", "/usage/admin/?by=team", "/usage/admin/?by=user&sort=name"]


@pytest.mark.django_db
@pytest.mark.parametrize("cache_seconds", [0, 600])
def test_usage_pages_run_a_fixed_number_of_queries(usage_data, user, admin_user, settings,
                                                   django_assert_max_num_queries, cache_seconds):
    settings.USAGE_ANALYTICS_CACHE_SECONDS = cache_seconds
    cached = bool(cache_seconds)
    user_client, admin_client = login(user), login(admin_user)
    for url in ("/usage/", "/usage/?preset=90"):
        user_client.get(url)
        with django_assert_max_num_queries(USER_PAGE_MAX_QUERIES + (0 if cached else USER_ANALYTICS_QUERIES)):
            assert user_client.get(url).status_code == 200
    for url in ADMIN_URLS:
        admin_client.get(url)
        with django_assert_max_num_queries(ADMIN_PAGE_MAX_QUERIES + (0 if cached else ADMIN_ANALYTICS_QUERIES)):
            assert admin_client.get(url).status_code == 200
    admin_client.get("/api/v1/admin/usage/breakdown?by=model")
    with django_assert_max_num_queries(BREAKDOWN_API_MAX_QUERIES):
        assert admin_client.get("/api/v1/admin/usage/breakdown?by=model").status_code == 200


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_data(usage_data, user, admin_user, settings):
    settings.USAGE_ANALYTICS_CACHE_SECONDS = 0
    urls = [(login(user), "/usage/"), *((login(admin_user), url) for url in ADMIN_URLS),
            (login(admin_user), "/api/v1/admin/usage/breakdown?by=model")]
    before = [count_queries(client, url) for client, url in urls]
    seed([*usage_data, *UserFactory.create_batch(6)], models=6, days=30, offset=10)
    assert [count_queries(client, url) for client, url in urls] == before


def _without_tokens(html: str) -> str:
    html = re.sub(r'nonce="[^"]+"', "", html)
    return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+"', "", html)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/usage/", "/usage/admin/"])
def test_cached_fragments_give_the_same_page_and_follow_the_data(usage_data, user, admin_user, settings, url):
    from usage.services import data_version_bump

    client = login(admin_user if "admin" in url else user)
    settings.USAGE_ANALYTICS_CACHE_SECONDS = 0
    fresh = _without_tokens(client.get(url).content.decode())
    settings.USAGE_ANALYTICS_CACHE_SECONDS = 600
    first = _without_tokens(client.get(url).content.decode())  # renders and stores the fragments
    second = _without_tokens(client.get(url).content.decode())  # from the cache
    assert fresh == first == second
    assert 'id="usage-chart-data"' in second and "Show as table" in second

    today = timezone.now().date()
    store(fact(today, make_key(user, name="late-key"), "perf-late", requests=1, spend="1"))
    data_version_bump()  # what ingestion does after it commits
    assert "perf-late" in client.get(url).content.decode()


@pytest.mark.django_db
def test_cached_fragments_are_per_language(usage_data, user, settings):
    settings.USAGE_ANALYTICS_CACHE_SECONDS = 600
    user.preferred_language = "fr"
    user.save(update_fields=["preferred_language"])
    client = login(user)
    french = client.get("/usage/").content.decode()
    user.preferred_language = "en"
    user.save(update_fields=["preferred_language"])
    english = client.get("/usage/").content.decode()
    assert "Show as table" in english and "Show as table" not in french


@pytest.mark.django_db
def test_budget_asks_litellm_once_per_period_for_an_unknown_user(usage_data, user, litellm_double):
    client = login(user)
    for _ in range(3):
        assert 'data-spend-source="facts"' in client.get("/usage/").content.decode()
    assert len(litellm_double.calls_to("/user/info")) == 1


@pytest.mark.django_db
def test_unattributed_bucket_under_a_model_or_provider_filter(user, admin_user):
    """The model-filtered unattributed figures come from the facts without a user (index-only on PostgreSQL)."""
    from tests.usage.conftest import sha

    make_model("m-open", "openai")
    make_model("m-anth", "anthropic")
    today = timezone.now().date()
    key = make_key(user)
    store(fact(today, key, "m-open", requests=2, spend="1"),
          fact(today, None, "m-open", requests=5, spend="0.5", key_hash=sha("stray-1")),
          fact(today, None, "m-anth", requests=7, spend="0.7", key_hash=sha("stray-2")))
    client = login(admin_user)
    day = f"start={today.isoformat()}&end={today.isoformat()}"
    by_model = client.get(f"/api/v1/admin/usage/analytics?{day}&models=m-open").json()["unattributed"]
    by_provider = client.get(f"/api/v1/admin/usage/analytics?{day}&providers=anthropic").json()["unattributed"]
    everything = client.get(f"/api/v1/admin/usage/analytics?{day}").json()["unattributed"]
    assert (by_model["requests"], by_provider["requests"], everything["requests"]) == (5, 7, 12)
    assert by_model["spend"] == pytest.approx(0.5) and everything["spend"] == pytest.approx(1.2)
