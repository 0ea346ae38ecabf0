"""The OpenAPI schema builds with no warnings, and only signed-in callers can read it or its docs."""
from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_builds_and_validates_without_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (unresolvable serializer, path parameter type,
    # enum name clash...) into a failure, for every app's endpoints.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/tokens" in text and "/api/v1/me" in text and "/api/v1/admin/audit-events" in text
    assert "personalAccessToken" in text


def test_signed_in_users_can_read_the_schema_and_docs(client, user):
    client.force_login(user)  # a real session: the docs pages are ordinary Django views
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert client.get("/api/redoc/").status_code == 200


def test_anonymous_callers_cannot_read_the_schema(api_client):
    response = api_client.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert b"/api/v1/" not in response.content


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_anonymous_browsers_are_sent_to_login_instead_of_the_docs(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
