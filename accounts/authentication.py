"""DRF authentication with personal access tokens (``Authorization: Bearer ltm_…``)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from accounts.models import PersonalAccessToken
from accounts.token_services import token_hash
from litemaas.logging import user_id_var

# ``last_used_at`` is written at most this often per token, so a busy script does not turn every GET
# into an UPDATE of the same row.
LAST_USED_RESOLUTION_SECONDS = 60


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    """Look the token up by its SHA-256; refuse unknown, revoked, expired and deactivated-owner tokens.

    A read-only token is refused here (403) for any unsafe method, not only by ``TokenScopePermission``:
    a view that replaces ``permission_classes`` (``[IsPortalAdmin]``, ``[AllowAny]``) cannot forget the
    scope check this way.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, PersonalAccessToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None  # not ours (e.g. Basic); the remaining authenticators decide
        value = value.strip()
        if not value.startswith(settings.PERSONAL_TOKEN_PREFIX):
            # We are the only Bearer scheme: anything else is a bad token, not "no credentials".
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        token = PersonalAccessToken.objects.select_related("user").filter(token_hash=token_hash(value)).first()
        now = timezone.now()
        if token is None or not token.is_usable(now):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if token.is_read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied("This token is read-only.", code="token_read_only")
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        user_id_var.set(str(token.user.pk))  # log lines of token requests name the user too
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """Describe the token to drf-spectacular (otherwise the schema build warns about an unknown scheme)."""

    target_class = "accounts.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (`ltm_…`) created under /api/v1/tokens.",
        }
