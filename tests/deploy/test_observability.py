"""Production logging and tracing, observed from outside a real gunicorn process (DEBUG off)."""
from __future__ import annotations

import json
import logging
import time
import urllib.request

import pytest

from litemaas.logging import JsonFormatter, SecretRedactingFilter, redact
from tests.deploy.conftest import MASTER_KEY, Collector, Server

SECRET_QUERY = "sk-live-abcdef0123456789abcdef"


def _get(server: Server, path: str, **headers: str) -> int:
    request = urllib.request.Request(server.url + path, headers={"X-Forwarded-Proto": "https", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _json_lines(server: Server) -> list[dict]:
    lines = []
    for line in server.log_lines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    return lines


def _wait(predicate, timeout: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            return result
        time.sleep(0.1)
    return result


def test_a_signed_in_request_logs_one_json_line_with_request_and_user_ids_and_no_secrets(production_server):
    status = _get(
        production_server,
        f"/health/live?api_key={SECRET_QUERY}",
        Cookie=f"__Host-sessionid={production_server.session_key}",
        **{"X-Request-ID": "req-deploy-test-1", "Authorization": "Bearer ltm_abcdefghijklmnop"},
    )
    assert status == 200

    def access_line():
        return next(
            (line for line in _json_lines(production_server) if line.get("request_id") == "req-deploy-test-1"), None
        )

    line = _wait(access_line)
    assert line is not None, production_server.log_lines()
    assert line["logger"] == "gunicorn.access"
    assert line["user_id"] == production_server.user_id
    assert line["path"] == "/health/live"  # never the query string
    assert line["status"] == 200
    output = "\n".join(production_server.log_lines())
    assert SECRET_QUERY not in output
    assert "ltm_abcdefghijklmnop" not in output
    assert MASTER_KEY not in output


def test_every_line_gunicorn_prints_in_production_is_json(production_server):
    assert _get(production_server, "/does-not-exist") == 404
    lines = _json_lines(production_server)
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)


def test_spans_reach_the_otlp_collector(production_server, otlp_collector: Collector):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    assert _get(production_server, "/api/v1/does-not-exist-either") == 404

    def spans():
        found = []
        for path, body in list(otlp_collector.bodies):
            assert path == "/v1/traces"
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    found.extend((attrs, span) for span in scope.spans)
        return found

    received = _wait(lambda: [s for s in spans() if s[1].name.startswith("GET")])
    assert received, f"no HTTP server span among {[s.name for _, s in spans()]}"
    resource, _ = received[0]
    assert resource["service.name"] == "litemaas"
    assert resource["service.instance.role"] == "web"


def test_the_multiprocess_metrics_endpoint_adds_up_gunicorn_workers(production_server):
    for _ in range(6):
        assert _get(production_server, "/health/live") == 200
    request = urllib.request.Request(production_server.url + "/metrics")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        text = response.read().decode()
    assert "django_http_responses_total_by_status_total" in text
    assert "litemaas_business_probe_up" in text
    # A request that came through the router never sees the numbers.
    assert _get(production_server, "/metrics", **{"X-Forwarded-For": "203.0.113.9"}) == 404


def test_redaction_masks_keys_tokens_bearer_and_the_master_key(settings):
    settings.LITELLM_MASTER_KEY = "master-key-value-xyz-123"
    from litemaas import logging as litemaas_logging

    litemaas_logging._master_key_cache.clear()
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1,
        "key %s token %s auth %s master %s", ("sk-abcd1234efgh", "ltm_0123456789", "Bearer abc.def.ghi",
                                              "master-key-value-xyz-123"), None,
    )
    record.litellm_call_id = "call-42"
    record.detail = "posted sk-zzzzzzzzzzzz"
    assert SecretRedactingFilter().filter(record)
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "key sk-[REDACTED] token ltm_[REDACTED] auth Bearer [REDACTED] master [REDACTED]"
    assert payload["litellm_call_id"] == "call-42"
    assert payload["detail"] == "posted sk-[REDACTED]"
    litemaas_logging._master_key_cache.clear()


def test_redaction_covers_tracebacks():
    try:
        raise ValueError("upstream said: Bearer sk-abcdefgh12345678")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    SecretRedactingFilter().filter(record)
    assert "sk-abcdefgh12345678" not in JsonFormatter().format(record)
    assert redact("nothing secret here") == "nothing secret here"
