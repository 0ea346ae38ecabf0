"""manage.py create_api_token prints only the secret, and the token works."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.token_services import token_hash
from litemaas.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_the_secret_on_stdout(user):
    out, err = run(user.username)

    secret = out.strip()
    assert out == secret + "\n" and secret.startswith("ltm_")
    token = PersonalAccessToken.objects.get(token_hash=token_hash(secret))
    assert (token.user, token.scope, token.name, token.expires_at) == (user, "read-write", "cli", None)
    assert secret not in err and token.prefix in err


def test_options_set_scope_expiry_and_name(user):
    out, _ = run(user.username, "--read-only", "--expires-days", "7", "--name", "nightly export")

    token = PersonalAccessToken.objects.get(token_hash=token_hash(out.strip()))
    assert token.scope == "read" and token.name == "nightly export"
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_is_audited_as_a_system_action_without_the_secret(user):
    out, _ = run(user.username)

    event = AuditEvent.objects.get(action="token.create")
    assert event.actor is None and event.actor_label == "system"
    assert event.metadata["owner"] == user.username
    assert out.strip() not in str(event.metadata)


def test_the_printed_token_authenticates(user, api_client):
    out, _ = run(user.username)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.strip()}")
    assert api_client.get("/api/v1/me").json()["username"] == user.username


def test_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named"):
        run("nobody")


def test_invalid_expiry_is_an_error(user):
    with pytest.raises(CommandError, match="expires_in_days"):
        run(user.username, "--expires-days", "100000")
    assert not PersonalAccessToken.objects.exists()


def test_deactivated_user_is_an_error(user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="deactivated"):
        run(user.username)
