"""``PORTAL_BASE_URL``: validated at start-up, and the links of alert e-mails and webhooks are absolute."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail

from accounts.alert_preferences import absolute_link, alert_send_email

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_BASE_URL": value, "DJANGO_SETTINGS_MODULE": "litemaas.settings"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", "from litemaas import settings; print(settings.PORTAL_BASE_URL)"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("value", ["https://portal.example.com", "http://localhost:8000", "https://x.example/litemaas"])
def test_absolute_http_urls_without_trailing_slash_are_accepted(value):
    result = _import_settings(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == value


@pytest.mark.parametrize("value", ["portal.example.com", "/teams", "ftp://portal.example.com",
                                   "https://portal.example.com/", "https://", "https://p.example?x=1"])
def test_anything_else_stops_start_up(value):
    result = _import_settings(value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "PORTAL_BASE_URL" in result.stderr


def test_absolute_link(settings):
    settings.PORTAL_BASE_URL = ""
    assert absolute_link("/teams/1/") == "/teams/1/"
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    assert absolute_link("/teams/1/") == "https://portal.example.com/teams/1/"
    assert absolute_link("https://elsewhere.example/x") == "https://elsewhere.example/x"
    assert absolute_link("//evil.example/x") == "//evil.example/x"
    assert absolute_link("") == ""


@pytest.mark.django_db
def test_alert_email_carries_an_absolute_link(settings, user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    alert_send_email(user=user, title="Key at 80 %", body="Spend 8 of 10.", link="/api-keys/abc/")
    assert mail.outbox[-1].body.endswith("\n\nhttps://portal.example.com/api-keys/abc/")
