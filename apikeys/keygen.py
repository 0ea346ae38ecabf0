"""Minting key secrets and the identifiers derived from them (pure functions, no I/O).

A secret is ``<APIKEY_SECRET_PREFIX><43 url-safe chars>`` (``secrets.token_urlsafe(32)``: 256 bits from the
OS CSPRNG). LiteLLM hashes every ``sk-…`` key with plain SHA-256 (``hash_token``), so ``token_hash`` here is
exactly LiteLLM's ``token`` for the key and the portal never needs the plaintext again.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

# Characters of the random part shown after the prefix (display only; 24 bits of 256).
_VISIBLE_RANDOM_CHARS = 4
_ALIAS_NAME_MAX = 50


@dataclass(frozen=True)
class MintedSecret:
    """A freshly minted secret and everything the portal may keep about it."""

    secret: str
    token_hash: str
    key_prefix: str
    last4: str

    def __repr__(self) -> str:  # never let the secret reach a log line through repr()
        return f"MintedSecret(prefix={self.key_prefix!r}, last4={self.last4!r})"


def hash_secret(secret: str) -> str:
    """SHA-256 hex of the key, identical to LiteLLM's ``hash_token``."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_secret() -> MintedSecret:
    """Mint a new key secret (CSPRNG, 256 bits, ``sk-`` prefixed as LiteLLM requires)."""
    prefix = settings.APIKEY_SECRET_PREFIX
    secret = prefix + secrets.token_urlsafe(32)
    return MintedSecret(
        secret=secret,
        token_hash=hash_secret(secret),
        key_prefix=secret[: len(prefix) + _VISIBLE_RANDOM_CHARS],
        last4=secret[-4:],
    )


def new_alias_suffix() -> str:
    """Eight random hex characters that keep every alias globally unique."""
    return secrets.token_hex(4)


def sanitise_alias_name(name: str) -> str:
    """LiteLLM alias part from a key name: ``[A-Za-z0-9_-]`` only, runs collapsed, ≤50 chars."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:_ALIAS_NAME_MAX].strip("-_")
    return cleaned or "api-key"


def build_alias(name: str, suffix: str) -> str:
    """``<sanitised name>_<suffix>`` (the suffix stays with the key for life)."""
    return f"{sanitise_alias_name(name)}_{suffix}"
