"""NUL characters never reach the database (PostgreSQL refuses them in text; Django would answer 500)."""
from __future__ import annotations

import pytest

TOKENS = "/api/v1/tokens"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["search=a%00b", "search=%00"])
def test_a_nul_in_the_query_string_is_a_400_in_the_error_shape(user_client, query):
    response = user_client.get(f"/api/v1/models?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.django_db
def test_a_nul_in_a_json_body_is_a_400_and_nothing_is_created(user_client):
    from accounts.models import PersonalAccessToken

    response = user_client.post(TOKENS, '{"name": "ci\\u0000x"}', content_type="application/json")

    assert response.status_code == 400
    assert not PersonalAccessToken.objects.exists()


@pytest.mark.django_db
def test_a_nul_in_a_form_post_is_a_readable_400_page(user_client):
    response = user_client.post("/teams/new", "name=a%00b", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert b"<html" in response.content.lower()


@pytest.mark.django_db
def test_ordinary_input_passes(user_client):
    assert user_client.get("/api/v1/models?search=gpt").status_code == 200
