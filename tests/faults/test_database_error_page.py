"""The error page of a database outage (reliability.md §5 scenario 20): status 503 *and* a page that says
503 and what is wrong, not the generic "Error 500" page; the API keeps its JSON error shape. Runs on any
database: the outage is simulated by making the session lookup raise ``OperationalError``."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from litemaas import views


def _handle(path: str, exc: Exception):
    request = RequestFactory().get(path)
    request.request_id = "req-42"
    try:
        raise exc
    except Exception:  # Django calls handler500 while the exception is being handled
        return views.error_500(request)


def test_database_outage_page_says_503_and_what_happened():
    response = _handle("/api-keys/", OperationalError("connection refused"))  # no database access allowed here
    html = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"]
    assert "Error 503" in html and "Error 500" not in html
    assert "Service temporarily unavailable" in html and "cannot reach its database" in html
    assert "req-42" in html and "connection refused" not in html


def test_other_server_errors_keep_the_500_page():
    response = _handle("/api-keys/", RuntimeError("bug"))
    html = response.content.decode()
    assert response.status_code == 500 and "Retry-After" not in response
    assert "Error 500" in html and "Something went wrong" in html and "Error 503" not in html


def test_database_outage_on_the_api_is_503_json():
    response = _handle("/api/v1/api-keys", OperationalError("connection refused"))
    assert response.status_code == 503 and response["Retry-After"]
    assert json.loads(response.content)["error"]["code"] == "database_unavailable"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "html"), [("/api-keys/", True), ("/api/v1/api-keys", False)])
def test_a_request_whose_database_fails_gets_the_503_response(user, path, html):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load",
                    side_effect=OperationalError("server closed the connection unexpectedly")):
        response = client.get(path, headers={"Accept": "text/html" if html else "application/json"})
    assert response.status_code == 503 and response["Retry-After"]
    body = response.content.decode()
    assert "Traceback" not in body and "server closed" not in body
    if html:
        assert "Error 503" in body and "Error 500" not in body
    else:
        assert response.json()["error"]["code"] == "database_unavailable"
