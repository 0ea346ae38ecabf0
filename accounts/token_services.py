"""Write operations for personal access tokens (REST API credentials of a portal user).

A token is shown once, when it is created; the database keeps only its SHA-256 and a visible prefix.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import PersonalAccessToken, TokenScope, User
from litemaas.audit import audit_record
from litemaas.exceptions import PermissionDeniedError, ValidationFailed

TOKEN_NAME_MAX_LENGTH = 100
# "ltm_" plus eight random characters: enough to recognise a token in a list, useless to an attacker.
TOKEN_VISIBLE_PREFIX_LENGTH = 12
# Default for ``token_create(actor=...)``: the owner acts for themselves.
OWNER = object()


def token_hash(secret: str) -> str:
    """Return the SHA-256 hex digest under which a token secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scope: str,
    expires_in_days: int | None,
    actor: Any = OWNER,
    request: HttpRequest | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Create a personal access token for ``user`` and return ``(token_row, secret)``.

    The secret (``ltm_`` + 43 random URL-safe characters) is returned only here and never stored or
    audited. ``expires_in_days`` is ``None`` (no expiry) or 1..``PERSONAL_TOKEN_MAX_DAYS``. ``actor``
    defaults to ``user``; ``None`` records a system action (the ``create_api_token`` command).
    Raises ``ValidationFailed`` (bad name, scope or expiry; details under ``details.fields``) and
    ``PermissionDeniedError`` (deactivated user). Not idempotent: every call makes a new token.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > TOKEN_NAME_MAX_LENGTH:
        errors["name"] = [f"At most {TOKEN_NAME_MAX_LENGTH} characters."]
    if scope not in TokenScope.values:
        errors["scope"] = [f"Must be one of: {', '.join(TokenScope.values)}."]
    max_days = settings.PERSONAL_TOKEN_MAX_DAYS
    if expires_in_days is not None and not (1 <= expires_in_days <= max_days):
        errors["expires_in_days"] = [f"Must be between 1 and {max_days} days."]
    if errors:
        raise ValidationFailed(details={"fields": errors})
    if not user.is_active:
        raise PermissionDeniedError("A deactivated user cannot get new tokens.")

    secret = settings.PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = PersonalAccessToken(
        user=user,
        name=name,
        prefix=secret[:TOKEN_VISIBLE_PREFIX_LENGTH],
        token_hash=token_hash(secret),
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days is not None else None,
    )
    token.full_clean()
    token.save()
    audit_record(
        action="token.create",
        actor=user if actor is OWNER else actor,
        target_type="token",
        target_id=token.pk,
        metadata={
            "owner": user.username,
            "name": token.name,
            "prefix": token.prefix,
            "scope": token.scope,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
        request=request,
    )
    return token, secret


@transaction.atomic
def token_revoke(*, token: PersonalAccessToken, actor: Any, request: HttpRequest | None = None) -> None:
    """Revoke ``token`` so it stops authenticating at once.

    The caller has already scoped ``token`` to what ``actor`` may see (the owner, or an admin in the Django
    admin). Idempotent: revoking a revoked token changes nothing and writes no second audit event.
    """
    # A conditional UPDATE, so two concurrent revokes record exactly one event.
    now = timezone.now()
    changed = PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if not changed:
        return
    token.revoked_at = now
    audit_record(
        action="token.revoke",
        actor=actor,
        target_type="token",
        target_id=token.pk,
        metadata={"owner": token.user.username, "name": token.name, "prefix": token.prefix},
        request=request,
    )
