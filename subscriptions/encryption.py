"""Encryption of provider API keys at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The key is ``FIELD_ENCRYPTION_KEY`` (a Fernet key, i.e. 32 url-safe base64 bytes) when set, otherwise one
derived from ``SECRET_KEY`` with HKDF-SHA256. Rotating the source key makes old values undecryptable;
``decrypt_secret`` then returns ``None`` and "Test configuration" answers ``missing_stored_key``.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    configured = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError as exc:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes)") from exc
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"litemaas.field-encryption.v1"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(plaintext: str) -> str:
    """Return the Fernet token (text) for ``plaintext``; empty stays empty."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """Return the plaintext of ``token``, or ``None`` when it is empty or cannot be decrypted."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
