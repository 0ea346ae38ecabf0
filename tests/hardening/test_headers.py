"""Security headers and the content security policy on real pages (reliability.md §5 scenario 35; §3.3).

Every page carries a CSP whose script-src is ``'self'`` plus a per-request nonce (never ``'unsafe-inline'``),
every inline ``<script>`` carries that nonce, no template uses inline event handlers (they would be blocked),
the playground may call LiteLLM's public URL, and the usual hardening headers are present.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)([^>]*)>", re.IGNORECASE)
PAGES = ["/", "/api-keys/", "/api-keys/new", "/models/", "/subscriptions/", "/playground/"]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_nonced(response) -> None:
    csp = _csp(response)
    nonces = [v for v in csp["script-src"] if v.startswith("'nonce-")]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    body = response.content.decode()
    inline = INLINE_SCRIPT.findall(body)
    assert inline, "expected the inline theme script"
    assert len(nonces) == 1, csp["script-src"]
    nonce = nonces[0][len("'nonce-"):-1]
    for attributes in inline:
        assert f'nonce="{nonce}"' in attributes, attributes


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_nonce_based_csp_and_hardening_headers(path, client, user, settings):
    settings.LITELLM_PUBLIC_URL = "https://llm.example.com"
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    _assert_nonced(response)
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_nonce_changes_per_request(client, user):
    client.force_login(user)
    first, second = (_csp(client.get("/"))["script-src"] for _ in range(2))
    assert first != second


@pytest.mark.django_db
def test_login_page_is_covered_too(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    _assert_nonced(response)


def test_connect_src_allows_the_litellm_public_url_for_the_playground():
    import os
    import subprocess
    import sys

    code = ("import django; django.setup(); from django.conf import settings; "
            "print(' '.join(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src']))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "litemaas.settings", "LITELLM_API_URL": "http://litellm:4000",
           "LITELLM_PUBLIC_URL": "https://llm.example.com/"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == ["'self'", "https://llm.example.com"]


@pytest.mark.django_db
def test_hsts_on_https_requests_when_configured(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_server_error_page_uses_the_nonce(rf):
    from litemaas.views import error_500

    request = rf.get("/somewhere")
    request.csp_nonce = "abc123"
    response = error_500(request)
    assert response.status_code == 500
    attributes = INLINE_SCRIPT.findall(response.content.decode())
    assert attributes and all('nonce="abc123"' in a for a in attributes)


def test_no_template_uses_inline_event_handlers_or_javascript_urls():
    """The CSP blocks inline handlers; forms use data-confirm-message / data-autosubmit (static/js/portal.js)."""
    pattern = re.compile(r"\son[a-z]+\s*=\s*[\"']|javascript:", re.IGNORECASE)
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "templates").rglob("*.html")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, offenders


def test_every_inline_script_in_templates_has_a_nonce():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        for attributes in INLINE_SCRIPT.findall(path.read_text()):
            if "nonce=" not in attributes and "application/json" not in attributes:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
