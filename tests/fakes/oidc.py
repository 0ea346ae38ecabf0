"""A fake OpenID Connect provider on 127.0.0.1 (discovery, authorize, token, userinfo, JWKS).

ID tokens are real RS256 JWTs signed with a key generated per fake (``cryptography`` + PyJWT, both
already allauth dependencies) and published at ``/jwks``, so a relying party that verifies signatures
works too. ``groups`` go into the userinfo answer and the ID token under ``groups_claim``.
"""
from __future__ import annotations

import functools
import json
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.providers.config import oidc_provider_settings
from tests.fakes.oauth import FakeOAuthServer

CLIENT_ID = "litemaas-oidc"
CLIENT_SECRET = "fake-oidc-client-secret"
LOGIN_PATH = "/accounts/oidc/oidc/login/"


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per test process (generating a 2048-bit key takes a noticeable fraction of a second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeOidcUser:
    sub: str
    username: str
    email: str = ""
    name: str = ""
    groups: list[str] = field(default_factory=list)


class FakeOidcProvider(FakeOAuthServer):
    """The fake provider; ``users`` maps ``preferred_username`` to ``FakeOidcUser``."""

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 groups_claim: str = "groups",
                 redirect_prefix: str = "http://testserver/accounts/oidc/oidc/login/callback/") -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, redirect_prefix=redirect_prefix)
        self.groups_claim = groups_claim
        self.users: dict[str, FakeOidcUser] = {}
        self.issued_id_tokens: list[str] = []
        self.id_token_overrides: dict[str, Any] = {}  # e.g. {"aud": "someone-else"} to test validation
        self._key = _signing_key()
        self.kid = "fake-" + secrets.token_hex(4)

    def add_user(self, username: str, *, sub: str | None = None, email: str = "", name: str = "",
                 groups: list[str] | None = None) -> FakeOidcUser:
        user = FakeOidcUser(sub=sub or f"sub-{username}-{secrets.token_hex(4)}", username=username,
                            email=email, name=name, groups=list(groups or []))
        self.users[username] = user
        self.default_user = self.default_user or username
        return user

    def provider_settings(self, scopes: list[str] | None = None) -> dict[str, Any]:
        """``SOCIALACCOUNT_PROVIDERS`` pointing the portal at this fake."""
        return {"openid_connect": oidc_provider_settings(
            client_id=self.client_id, secret=self.client_secret, issuer=self.url,
            scopes=scopes or ["openid", "profile", "email"])}

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    # --- routes ----------------------------------------------------------------------------------------
    def route(self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str],
              form: dict[str, str]) -> None:
        if method == "GET" and path == "/.well-known/openid-configuration":
            return self.reply_json(handler, 200, {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "profile", "email", "groups"],
            })
        if method == "GET" and path == "/jwks":
            return self.reply_json(handler, 200, self.jwks())
        if method == "GET" and path == "/authorize":
            return self._authorize(handler, query)
        if method == "POST" and path == "/token":
            return self._token(handler, form)
        if method == "GET" and path == "/userinfo":
            return self._userinfo(handler)
        return self.reply_json(handler, 404, {"error": "not_found"})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        redirect_uri = self.authorize_redirect_uri(handler, query)
        if redirect_uri is None:
            return None
        if "openid" not in query.get("scope", "").split():
            return self.reply_json(handler, 400, {"error": "invalid_scope"})
        self.issue_code(handler, redirect_uri, query, user=query.get("login_as") or self.default_user,
                        nonce=query.get("nonce"))

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if not self.client_authenticated(handler, form):
            return self.reply_json(handler, 401, {"error": "invalid_client"})
        record = self.redeem_code(form)
        if record is None:
            return self.reply_json(handler, 400, {"error": "invalid_grant"})
        if record["challenge"] and self.pkce_s256(form.get("code_verifier", "")) != record["challenge"]:
            return self.reply_json(handler, 400, {"error": "invalid_grant"})
        user = self.users[record["user"]]
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "sub": user.sub, "iat": now, "exp": now + 300,
                  "preferred_username": user.username, "email": user.email, self.groups_claim: user.groups}
        if record["nonce"]:
            claims["nonce"] = record["nonce"]
        claims.update(self.id_token_overrides)
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(32)
        self.tokens[access_token] = user.username
        self.issued_tokens.append(access_token)
        self.issued_id_tokens.append(id_token)
        self.reply_json(handler, 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                       "id_token": id_token})

    def _userinfo(self, handler: BaseHTTPRequestHandler) -> None:
        name = self.bearer_user(handler)
        if not name:
            return self.reply_json(handler, 401, {"error": "invalid_token"})
        user = self.users[name]
        self.reply_json(handler, 200, {"sub": user.sub, "preferred_username": user.username, "name": user.name,
                                       "email": user.email, "email_verified": True,
                                       self.groups_claim: user.groups})
