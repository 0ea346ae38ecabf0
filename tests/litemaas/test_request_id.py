"""Request ids: taken from X-Request-ID or generated, echoed, and printed on every log line."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest
from rest_framework.test import APIClient

from accounts.token_services import token_create
from litemaas.logging import JsonFormatter, RequestContextFilter
from litemaas.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.litemaas.urls")]


def test_callers_request_id_is_echoed(user_client):
    response = user_client.get("/api/v1/me", headers={"X-Request-ID": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"


def test_a_request_id_is_generated_when_missing(user_client):
    first = user_client.get("/api/v1/me")["X-Request-ID"]
    second = user_client.get("/api/v1/me")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("unsafe", ["a b", "x" * 200, "bad\"quote", "<script>"])
def test_an_unsafe_request_id_is_replaced(user_client, unsafe):
    response = user_client.get("/api/v1/me", headers={"X-Request-ID": unsafe})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_non_api_responses_carry_it_too(client):
    assert client.get("/health/live", headers={"X-Request-ID": "probe-1"})["X-Request-ID"] == "probe-1"


def test_log_records_inside_a_request_carry_its_id(user_client, caplog):
    caplog.handler.addFilter(RequestContextFilter())  # the same filter the console handler uses
    with caplog.at_level(logging.INFO):
        user_client.get("/api/v1/test/log", headers={"X-Request-ID": "trace-me"})
    [record] = [r for r in caplog.records if r.getMessage() == "inside the view"]
    assert record.request_id == "trace-me"


def test_audit_rows_and_audit_log_lines_carry_the_request_id(user_client, caplog):
    caplog.handler.addFilter(RequestContextFilter())
    with caplog.at_level(logging.INFO, logger="litemaas.audit"):
        user_client.post("/api/v1/tokens", {"name": "ci"}, headers={"X-Request-ID": "audit-42"})
    assert AuditEvent.objects.get(action="token.create").request_id == "audit-42"
    assert [r.request_id for r in caplog.records if r.name == "litemaas.audit"] == ["audit-42"]


@pytest.fixture
def console_output():
    """Capture what the configured ``console`` handler (formatter and filters from settings.LOGGING) prints."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_the_configured_console_handler_prints_the_request_id(user_client, console_output):
    user_client.get("/api/v1/test/log", headers={"X-Request-ID": "printed-7"})
    [line] = [line for line in console_output.getvalue().splitlines() if "inside the view" in line]
    assert "printed-7" in line


def test_outside_a_request_the_id_is_a_dash(console_output):
    logging.getLogger("tests.litemaas").warning("no request here")
    [line] = [line for line in console_output.getvalue().splitlines() if "no request here" in line]
    assert "[-]" in line or '"request_id": "-"' in line


def test_json_format_outside_a_request_has_a_dash_request_id():
    formatter = JsonFormatter()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    RequestContextFilter().filter(record)
    payload = json.loads(formatter.format(record))
    assert payload["message"] == "hello world" and payload["request_id"] == "-"


def test_log_records_of_token_requests_name_the_user(user, caplog):
    _, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    caplog.handler.addFilter(RequestContextFilter())
    with caplog.at_level(logging.INFO):
        APIClient(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/test/log")
    [record] = [r for r in caplog.records if r.getMessage() == "inside the view"]
    assert record.user_id == str(user.pk)
