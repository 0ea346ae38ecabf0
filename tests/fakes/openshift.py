"""A fake OpenShift OAuth server plus the one user API call the portal makes (``users/~``).

Serves, on 127.0.0.1:
- ``GET /.well-known/oauth-authorization-server`` with OpenShift's field set;
- ``GET /oauth/authorize``: checks the client and the redirect URI prefix, remembers the PKCE challenge,
  auto-approves the user named by ``login_as`` (query value, else ``default_user``) and redirects back
  with ``code`` and the echoed ``state``;
- ``POST /oauth/token``: client secret (body or Basic), single-use codes with a 5-minute expiry,
  ``redirect_uri`` must match, PKCE S256 verified; answers an opaque ``sha256~`` bearer token;
- ``GET /apis/user.openshift.io/v1/users/~``: bearer check; answers a ``kind: User`` object whose
  ``groups`` include the ``system:authenticated`` virtual groups.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode

from accounts.providers.config import openshift_provider_settings
from tests.fakes.oauth import FakeOAuthServer

USER_API_PATH = "/apis/user.openshift.io/v1/users/~"
CLIENT_ID = "litemaas-portal"
CLIENT_SECRET = "fake-openshift-client-secret"


@dataclass
class FakeOpenShiftUser:
    name: str
    uid: str
    groups: list[str] = field(default_factory=list)
    full_name: str = ""


class FakeOpenShift(FakeOAuthServer):
    """The fake server; ``users`` maps user names to ``FakeOpenShiftUser``."""

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 redirect_prefix: str = "http://testserver/accounts/openshift/login/callback/") -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, redirect_prefix=redirect_prefix)
        self.users: dict[str, FakeOpenShiftUser] = {}

    def add_user(self, name: str, *, uid: str | None = None, groups: list[str] | None = None,
                 full_name: str = "") -> FakeOpenShiftUser:
        user = FakeOpenShiftUser(name=name, uid=uid or f"uid-{name}-{secrets.token_hex(4)}",
                                 groups=list(groups or []), full_name=full_name)
        self.users[name] = user
        self.default_user = self.default_user or name
        return user

    def provider_settings(self) -> dict[str, Any]:
        """``SOCIALACCOUNT_PROVIDERS`` pointing the portal at this fake (OAuth and API on one host)."""
        return {"openshift": openshift_provider_settings(
            client_id=self.client_id, secret=self.client_secret, oauth_url=self.url, api_url=self.url)}

    # --- routes ----------------------------------------------------------------------------------------
    def route(self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str],
              form: dict[str, str]) -> None:
        if method == "GET" and path == "/.well-known/oauth-authorization-server":
            return self.reply_json(handler, 200, {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/oauth/authorize",
                "token_endpoint": f"{self.url}/oauth/token",
                "scopes_supported": ["user:full", "user:info", "user:check-access"],
                "response_types_supported": ["code", "token"],
                "grant_types_supported": ["authorization_code", "implicit"],
                "code_challenge_methods_supported": ["plain", "S256"],
            })
        if method == "GET" and path == "/oauth/authorize":
            return self._authorize(handler, query)
        if method == "POST" and path == "/oauth/token":
            return self._token(handler, form)
        if method == "GET" and path == USER_API_PATH:
            return self._user(handler)
        return self.reply_json(handler, 404, {"error": "not_found"})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        redirect_uri = self.authorize_redirect_uri(handler, query)
        if redirect_uri is None:
            return None
        if query.get("response_type") != "code":
            return self.reply_json(handler, 400, {"error": "unsupported_response_type"})
        name = query.get("login_as") or self.default_user
        if query.get("deny"):
            params = {"error": "access_denied", "state": query.get("state", "")}
            return self.reply_redirect(handler, f"{redirect_uri}?{urlencode(params)}")
        self.issue_code(handler, redirect_uri, query, client_id=self.client_id, user=name,
                        method=query.get("code_challenge_method"))

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if not self.client_authenticated(handler, form):
            return self.reply_json(handler, 401, {"error": "unauthorized_client"})
        record = self.redeem_code(form)
        if record is None or form.get("grant_type") != "authorization_code":
            return self.reply_json(handler, 400, {"error": "invalid_grant"})
        if record["challenge"] and (record["method"] != "S256"
                                    or self.pkce_s256(form.get("code_verifier", "")) != record["challenge"]):
            return self.reply_json(handler, 400, {"error": "invalid_grant", "error_description": "PKCE"})
        token = "sha256~" + secrets.token_urlsafe(32)
        self.tokens[token] = record["user"]
        self.issued_tokens.append(token)
        self.reply_json(handler, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                                       "scope": "user:info"})

    def _user(self, handler: BaseHTTPRequestHandler) -> None:
        name = self.bearer_user(handler)
        if not name or name not in self.users:
            return self.reply_json(handler, 401, {"kind": "Status", "status": "Failure", "code": 401})
        user = self.users[name]
        body: dict[str, Any] = {
            "kind": "User", "apiVersion": "user.openshift.io/v1",
            "metadata": {"name": user.name, "uid": user.uid, "resourceVersion": "1"},
            "identities": [f"htpasswd:{user.name}"],
            "groups": [*user.groups, "system:authenticated", "system:authenticated:oauth"],
        }
        if user.full_name:
            body["fullName"] = user.full_name
        self.reply_json(handler, 200, body)
