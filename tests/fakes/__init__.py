"""Fake identity providers for login tests: real HTTP servers on 127.0.0.1, stdlib only, one per test.

``FakeHTTPServer`` runs a ``ThreadingHTTPServer`` in a daemon thread; subclasses route requests. Every fake
has a ``fail`` map (path -> HTTP status) for fault injection and records each request it served.
``oauth_login`` drives a whole authorization-code login with Django's test client: POST to the portal's
provider login URL, follow the redirect to the fake's authorize endpoint with ``requests`` (the fake
auto-approves), then call the portal's callback with the code and state the fake sent back. ``serve_idp`` runs a fake for
a fixture with the portal pointed at it; ``signed_in_user`` tells who the test client is signed in as.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests


class FakeHTTPServer:
    """Base of the fakes: lifecycle, JSON replies, fault injection, request log."""

    def __init__(self) -> None:
        self.fail: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                fake._dispatch(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- request handling ----------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        self.requests.append((method, parts.path))
        forced = self.fail.get(parts.path)
        if forced:
            self.reply_json(handler, forced, {"error": "forced_failure"})
            return
        query = dict(parse_qsl(parts.query))
        form: dict[str, str] = {}
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(handler.rfile.read(length).decode()))
        self.route(handler, method, parts.path, query, form)

    def route(self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str],
              form: dict[str, str]) -> None:
        raise NotImplementedError

    @staticmethod
    def reply_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def reply_redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def served(self, path: str) -> int:
        """How many requests the fake answered (or failed) for ``path``."""
        return sum(1 for _, p in self.requests if p == path)


def authorize_at_idp(authorize_url: str, **extra: str) -> str:
    """Follow the portal's redirect to the fake's authorize endpoint; return the callback URL it redirects to."""
    response = requests.get(authorize_url, params=extra or None, allow_redirects=False, timeout=5)
    assert response.status_code == 302, (response.status_code, response.text)
    return response.headers["Location"]


def call_callback(client: Any, callback_url: str) -> Any:
    """Call the portal's callback (an absolute ``http://testserver/...`` URL) with the Django test client."""
    parts = urlsplit(callback_url)
    return client.get(parts.path, dict(parse_qsl(parts.query)))


def start_login(client: Any, login_path: str) -> str:
    """POST to the portal's provider login URL (allauth wants a POST); return the IdP authorize URL."""
    response = client.post(login_path)
    assert response.status_code == 302, (response.status_code, response.content[:500])
    return response["Location"]


def oauth_login(client: Any, login_path: str, **authorize_extra: str) -> Any:
    """Run a whole login; return the portal's response to the callback."""
    callback_url = authorize_at_idp(start_login(client, login_path), **authorize_extra)
    return call_callback(client, callback_url)


def serve_idp(fake: Any, settings: Any, *, auth_provider: str, **overrides: Any) -> Iterator[Any]:
    """Start ``fake`` and point the portal at it for one test; use as ``yield from`` in a fixture.

    Sets ``AUTH_PROVIDER``, ``SOCIALACCOUNT_PROVIDERS`` (from ``fake.provider_settings()``), the group
    settings every login suite starts from (admins ``litemaas-admins``, read-only ``litemaas-readonly``,
    no initial admins, no allowed-groups gate) and then ``overrides``; stops the fake afterwards.
    """
    fake.start()
    try:
        settings.AUTH_PROVIDER = auth_provider
        settings.SOCIALACCOUNT_PROVIDERS = fake.provider_settings()
        group_settings = {"ADMIN_GROUPS": ["litemaas-admins"], "READONLY_ADMIN_GROUPS": ["litemaas-readonly"],
                          "INITIAL_ADMIN_USERS": [], "ALLOWED_GROUPS": []}
        for name, value in {**group_settings, **overrides}.items():
            setattr(settings, name, value)
        yield fake
    finally:
        fake.stop()


def signed_in_user(client: Any) -> Any:
    """The ``User`` the Django test ``client`` is signed in as, or ``None``."""
    from accounts.models import User

    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None
