"""What the fake identity providers share: an OAuth 2 authorization-code server.

``FakeOAuthServer`` keeps the registered client, the user to auto-approve, single-use codes with a
5-minute expiry, the PKCE S256 check and the bearer tokens it issued. Subclasses (``oidc``, ``openshift``)
add their routes, their provider-specific checks and error codes, and their user endpoint.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode

from tests.fakes import FakeHTTPServer


class FakeOAuthServer(FakeHTTPServer):
    """Base of the fake IdPs: client check, code issue and redemption, PKCE, bearer lookup."""

    def __init__(self, *, client_id: str, client_secret: str, redirect_prefix: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_prefix = redirect_prefix
        self.default_user = ""
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.issued_tokens: list[str] = []
        self.authorize_params: list[dict[str, str]] = []

    def authorize_redirect_uri(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> str | None:
        """Record an authorize request and check its client and redirect URI; ``None`` after answering 400."""
        self.authorize_params.append(dict(query))
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri.startswith(self.redirect_prefix):
            self.reply_json(handler, 400, {"error": "invalid_request"})
            return None
        return redirect_uri

    def issue_code(self, handler: BaseHTTPRequestHandler, redirect_uri: str, query: dict[str, str],
                   **record: Any) -> None:
        """Store a single-use code (5 minutes, the PKCE challenge, ``record``); redirect back with it and the state."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": redirect_uri, "expires": time.time() + 300,
                            "challenge": query.get("code_challenge"), **record}
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        self.reply_redirect(handler, f"{redirect_uri}?{urlencode(params)}")

    def client_authenticated(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> bool:
        """Whether the token request carries this client's id and secret (in the body or as Basic auth)."""
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            form["client_id"], form["client_secret"] = base64.b64decode(auth[6:]).decode().split(":", 1)
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def redeem_code(self, form: dict[str, str]) -> dict[str, Any] | None:
        """Use up the form's code; its record if it existed, had not expired and names the same redirect URI."""
        record = self.codes.pop(form.get("code", ""), None)  # single use
        if record is None or record["expires"] < time.time() or record["redirect_uri"] != form.get("redirect_uri"):
            return None
        return record

    @staticmethod
    def pkce_s256(verifier: str) -> str:
        """The S256 code challenge of ``verifier``."""
        return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    def bearer_user(self, handler: BaseHTTPRequestHandler) -> str | None:
        """The user name behind the request's bearer token, if this fake issued it."""
        return self.tokens.get(handler.headers.get("Authorization", "").removeprefix("Bearer "))
