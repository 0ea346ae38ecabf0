"""DRF authentication with personal access tokens (``Authorization: Bearer ltm_…``)."""
from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import PersonalAccessToken


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by its SHA-256; refuses revoked, expired and deactivated-owner tokens."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, PersonalAccessToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.startswith("ltm_"):
            return None
        digest = hashlib.sha256(value.strip().encode()).hexdigest()
        token = PersonalAccessToken.objects.select_related("user").filter(token_hash=digest).first()
        now = timezone.now()
        if token is None or not token.is_usable(now):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        # Write last_used at most once a minute, so a busy script does not turn every GET into an UPDATE.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
