"""No secret at rest or in logs after a full journey (reliability.md §5 scenario 31; ASVS 16.2.5, 14.2.6).

The journey: OpenShift login (real OAuth against the fake IdP), subscribe, create a key, use it against the
LiteLLM double, rotate it, revoke the new one, create a personal access token. Then the whole database is
searched twice (``dumpdata`` of every app, and a raw scan of every column of every table with SQL) together
with every log record of the run, both as emitted and as formatted by the production console handler, for
any key secret, the master key, the OAuth access token, the OAuth client secret and the personal token.
"""
from __future__ import annotations

import io
import logging

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.fakes import oauth_login
from tests.fakes.openshift import CLIENT_SECRET, FakeOpenShift
from tests.fixtures.litellm import DOUBLE_MASTER_KEY


@pytest.fixture
def openshift(settings):
    fake = FakeOpenShift().start()
    settings.AUTH_PROVIDER = "openshift"
    settings.SOCIALACCOUNT_PROVIDERS = fake.provider_settings()
    settings.ALLOWED_GROUPS = []
    settings.INITIAL_ADMIN_USERS = []
    yield fake
    fake.stop()


def _database_text() -> str:
    """Every value of every column of every table, as text (raw SQL; nothing skipped)."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected names
            for row in cursor.fetchall():
                chunks.append(table + " " + " ".join(
                    value.hex() if isinstance(value, bytes | memoryview) and not isinstance(value, str)
                    else str(value) for value in (bytes(v) if isinstance(v, memoryview) else v for v in row)))
    return "\n".join(chunks)


def _console_output(records: list[logging.LogRecord]) -> str:
    """The records as the production console handler would print them (its filters and JSON formatter)."""
    from litemaas.logging import JsonFormatter, RequestContextFilter, SecretRedactingFilter

    formatter, filters = JsonFormatter(), [RequestContextFilter(), SecretRedactingFilter()]
    lines = []
    for record in records:
        if all(f.filter(record) for f in filters):
            lines.append(formatter.format(record))
    return "\n".join(lines)


@pytest.mark.django_db
def test_full_journey_leaves_no_secret_in_the_database_or_the_logs(openshift, litellm_double, fast_retries,
                                                                   caplog):
    caplog.set_level(logging.DEBUG)
    litellm_double.state.seed_models()
    from subscriptions.models import LlmModel

    LlmModel.objects.create(id="demo-chat", provider="openai", model_type="chat")

    # Login through OpenShift OAuth (the access token is used once, never stored).
    openshift.add_user("alice", groups=["developers"])
    browser = Client()
    oauth_login(browser, "/accounts/openshift/login/", login_as="alice")
    assert browser.session.get("_auth_user_id")
    oauth_token = openshift.issued_tokens[-1]

    # Subscribe, create a key, use it against LiteLLM.
    assert browser.post("/api/v1/subscriptions", {"model_id": "demo-chat"},
                        content_type="application/json").status_code == 201
    created = browser.post("/api/v1/api-keys", {"name": "journey", "model_ids": ["demo-chat"]},
                           content_type="application/json")
    assert created.status_code == 201, created.content
    first_secret, key_id = created.json()["key"], created.json()["id"]
    chat = requests.post(f"{litellm_double.url}/v1/chat/completions", timeout=10,
                         headers={"Authorization": f"Bearer {first_secret}"},
                         json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 200, chat.text

    # Rotate (the old key is revoked at once), then revoke the new key.
    rotated = browser.post(f"/api/v1/api-keys/{key_id}/rotate", {"grace_hours": 0},
                           content_type="application/json")
    assert rotated.status_code in (200, 201), rotated.content
    second_secret, second_id = rotated.json()["key"], rotated.json()["id"]
    assert browser.post(f"/api/v1/api-keys/{second_id}/revoke", {"reason": "done"},
                        content_type="application/json").status_code in (200, 202)

    # A personal access token.
    token = browser.post("/api/v1/tokens", {"name": "cli", "scope": "read"}, content_type="application/json")
    assert token.status_code == 201, token.content
    personal_token = token.json()["token"]
    assert personal_token.startswith("ltm_")
    assert browser.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {personal_token}").status_code == 200
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {personal_token}").status_code == 200

    secrets = {"first key": first_secret, "rotated key": second_secret, "master key": DOUBLE_MASTER_KEY,
               "OAuth access token": oauth_token, "OAuth client secret": CLIENT_SECRET,
               "personal access token": personal_token}
    # The random part alone must not appear either (a "masked" copy that kept it would still be a secret).
    secrets.update({f"{name} (body)": value[len(value) // 3: -4] for name, value in list(secrets.items())
                    if len(value) >= 24})

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    places = {"dumpdata": dump.getvalue(), "raw table scan": _database_text(),
              "log records (as emitted)": "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records),
              "console output (production handler)": _console_output(caplog.records)}
    assert "alice" in places["raw table scan"]  # the scan really sees the data
    leaks = [f"{name} in {where}" for where, text in places.items() for name, value in secrets.items()
             if value in text]
    assert not leaks, leaks
