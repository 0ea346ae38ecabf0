"""Production settings (DEBUG off): ``check --deploy`` is clean and cookies are secure (scenario 35).

Each check runs in a fresh interpreter with production environment variables, because the settings module
decides these values at import time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-" + "x7Kq2mZ9" * 8,
    "ALLOWED_HOSTS": "portal.example.com",
    "LITELLM_API_URL": "http://127.0.0.1:4000",
    "LITELLM_PUBLIC_URL": "https://llm.example.com",
    "LITELLM_MASTER_KEY": "sk-prod-master-key",
}


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LITEMAAS_TESTING")}
    env.update(PRODUCTION_ENV)
    env["DJANGO_SETTINGS_MODULE"] = "litemaas.settings"
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_cookies_and_transport_security():
    code = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_NAME", "LANGUAGE_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
    "SECURE_PROXY_SSL_HEADER", "SECURE_REFERRER_POLICY"]}))
"""
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-") and values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_SECURE"] and values["LANGUAGE_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["X_FRAME_OPTIONS"] == "DENY" and values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_responses_set_secure_cookies_over_https():
    """A real login round-trip under production settings: the session and CSRF cookies come back Secure,
    HttpOnly (session) and SameSite=Lax, with HSTS on the response."""
    code = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
from accounts.models import User
User.objects.create_user(username="alice", password="correct horse battery staple")
c = Client(HTTP_HOST="portal.example.com", HTTP_X_FORWARDED_PROTO="https")
page = c.get("/accounts/login/", secure=True)
r = c.post("/accounts/login/", {"login": "alice", "password": "correct horse battery staple",
           "csrfmiddlewaretoken": page.cookies["__Host-csrftoken"].value}, secure=True)
out = {"status": r.status_code, "hsts": r.get("Strict-Transport-Security", ""), "cookies": {}}
for name, morsel in list(page.cookies.items()) + list(r.cookies.items()):
    out["cookies"][name] = {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
                            "samesite": morsel["samesite"], "path": morsel["path"]}
print(json.dumps(out))
"""
    env_extra = {"SQLITE_PATH": ":memory:", "LOCAL_LOGIN_ENABLED": "true"}
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LITEMAAS_TESTING", "DATABASE_URL", "REDIS_URL")}
    env.update(PRODUCTION_ENV)
    env.update(env_extra)
    env["DJANGO_SETTINGS_MODULE"] = "litemaas.settings"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == 302, out
    assert out["hsts"].startswith("max-age=31536000")
    session = out["cookies"]["__Host-sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax" and session["path"] == "/"
    csrf = out["cookies"]["__Host-csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
