"""Drift classification: compare the portal's rows with what LiteLLM reports, and name every difference.

Pure functions over plain snapshots (no queries, no HTTP), so they are cheap at 100,000 keys and easy to test.
Keys are joined on the SHA-256 token (= ``ApiKey.token_hash``) and, for keys the portal created,
``metadata.portal_key_id``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from integrations.litellm.types import KeyInfo, TeamInfo, UserInfo

# Drift classes and how bad each is.
REVOKED_USABLE: Final = "revoked_usable"          # revoked/expired in the portal, usable in LiteLLM (security)
REVOKED_PRESENT: Final = "revoked_present"        # revoked/failed in the portal, still stored (blocked/expired)
REVOKE_UNFINISHED: Final = "revoke_unfinished"    # "revoking" with no outbox entry left (pre-outbox rows)
SYNC_UNFINISHED: Final = "sync_unfinished"        # model change flagged, no outbox entry left
PROVISIONING_STALE: Final = "provisioning_stale"  # a create that never finished
ACTIVE_MISSING: Final = "active_missing"          # active/blocked in the portal, LiteLLM lost it
UNKNOWN_PORTAL_KEY: Final = "unknown_portal_key"  # metadata.portal_key_id, but the portal has no such key
KEY_DIFFERS: Final = "key_differs"                # limits / models / budgets / blocked state differ
USER_MISSING: Final = "user_missing"
USER_DIFFERS: Final = "user_differs"
TEAM_MISSING: Final = "team_missing"
TEAM_DIFFERS: Final = "team_differs"

SEVERITY: Final = {
    REVOKED_USABLE: "security", UNKNOWN_PORTAL_KEY: "security", REVOKED_PRESENT: "cleanup",
    REVOKE_UNFINISHED: "cleanup", SYNC_UNFINISHED: "normal", PROVISIONING_STALE: "cleanup",
    ACTIVE_MISSING: "user", KEY_DIFFERS: "normal", USER_MISSING: "normal", USER_DIFFERS: "normal",
    TEAM_MISSING: "normal", TEAM_DIFFERS: "normal",
}
# Classes whose action takes something away from a key the portal believes in or does not know: these count
# against SYNC_MAX_DESTRUCTIVE_SHARE (an empty or wrong LiteLLM shows up as a flood of them).
DESTRUCTIVE: Final = frozenset({ACTIVE_MISSING, UNKNOWN_PORTAL_KEY})


@dataclass(frozen=True)
class PortalKey:
    """The fields of an ``ApiKey`` the reconciler compares (plain values, loaded in bulk)."""

    id: str
    token_hash: str
    status: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    max_budget: Decimal | None
    soft_budget: Decimal | None
    budget_duration: str
    tpm_limit: int | None
    rpm_limit: int | None
    max_parallel_requests: int | None
    remote_sync_pending: bool
    models: tuple[str, ...] = ()
    model_tpm: tuple[tuple[str, int], ...] = ()
    model_rpm: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class PortalLimits:
    """A user's or team's limits as the portal holds them (teams also have an alias and models)."""

    id: str
    max_budget: Decimal | None
    budget_duration: str
    tpm_limit: int | None
    rpm_limit: int | None
    alias: str | None = None
    models: tuple[str, ...] | None = None


@dataclass
class Drift:
    """One difference (``object_id`` is the portal id, or the LiteLLM token for unknown keys)."""

    object_type: str
    object_id: str
    drift_class: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.drift_class, "normal")


@dataclass
class KeyCounts:
    """Side counts of a key classification (not drift)."""

    portal: int = 0
    litellm: int = 0
    foreign: int = 0
    pending_sync: int = 0
    in_grace: int = 0


def _money(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def _usable(remote: KeyInfo, now: datetime) -> bool:
    return not remote.blocked and (remote.expires is None or remote.expires > now)


def key_differences(portal: PortalKey, remote: KeyInfo) -> dict[str, dict[str, Any]]:
    """Field → {"portal": …, "litellm": …} for every compared field that differs (JSON-friendly values)."""
    pairs: dict[str, tuple[Any, Any]] = {
        "models": (sorted(portal.models), sorted(remote.models)),
        "max_budget": (_money(portal.max_budget), _money(remote.max_budget)),
        "soft_budget": (_money(portal.soft_budget), _money(remote.soft_budget)),
        "budget_duration": (portal.budget_duration or None, remote.budget_duration or None),
        "tpm_limit": (portal.tpm_limit, remote.tpm_limit),
        "rpm_limit": (portal.rpm_limit, remote.rpm_limit),
        "max_parallel_requests": (portal.max_parallel_requests, remote.max_parallel_requests),
        "blocked": (portal.status == "blocked", bool(remote.blocked)),
        "model_tpm_limit": (dict(portal.model_tpm), dict(remote.model_tpm_limit or {})),
        "model_rpm_limit": (dict(portal.model_rpm), dict(remote.model_rpm_limit or {})),
    }
    diff = {name: {"portal": a, "litellm": b} for name, (a, b) in pairs.items() if a != b}
    p_exp, r_exp = portal.expires_at, remote.expires
    if (p_exp is None) != (r_exp is None) or (p_exp and r_exp and abs((p_exp - r_exp).total_seconds()) > 1):
        diff["expires"] = {"portal": p_exp.isoformat() if p_exp else None,
                           "litellm": r_exp.isoformat() if r_exp else None}
    return diff


def classify_keys(*, portal_keys: Iterable[PortalKey], remote_keys: Iterable[KeyInfo], pending: set[str],
                  now: datetime, started: datetime, grace: timedelta, orphan_grace: timedelta,
                  provisioning_grace: timedelta, counts: KeyCounts) -> Iterator[Drift]:
    """Yield the key drift. ``pending`` = portal key ids with an undelivered outbox entry (their difference
    is a change on its way, not drift); ``started`` = when the LiteLLM listing began (younger keys are not
    judged missing)."""
    by_token: dict[str, PortalKey] = {}
    for key in portal_keys:
        by_token[key.token_hash] = key
    counts.portal = len(by_token)
    seen: set[str] = set()
    for remote in remote_keys:
        counts.litellm += 1
        portal = by_token.get(remote.token)
        if portal is None:
            portal_id = remote.metadata.get("portal_key_id")
            if not portal_id:
                counts.foreign += 1
                continue
            if remote.created_at is not None and remote.created_at > now - orphan_grace:
                counts.in_grace += 1
                continue
            if remote.blocked:
                continue  # already harmless; the admin deletes it in LiteLLM when convinced
            yield Drift("apikey", remote.token, UNKNOWN_PORTAL_KEY,
                        {"token_hash": remote.token, "portal_key_id": str(portal_id), "user_id": remote.user_id,
                         "key_alias": remote.key_alias})
            continue
        seen.add(portal.token_hash)
        yield from _classify_present(portal, remote, pending, now, provisioning_grace, counts)
    for portal in by_token.values():
        if portal.token_hash in seen:
            continue
        yield from _classify_absent(portal, pending, started, grace, provisioning_grace, now, counts)


def _base(portal: PortalKey) -> dict[str, Any]:
    return {"token_hash": portal.token_hash, "user_id": portal.user_id, "status": portal.status}


def _classify_present(portal: PortalKey, remote: KeyInfo, pending: set[str], now: datetime,
                      provisioning_grace: timedelta, counts: KeyCounts) -> Iterator[Drift]:
    if portal.id in pending:
        counts.pending_sync += 1
        return
    status = portal.status
    if status == "provisioning":
        if portal.created_at < now - provisioning_grace:
            yield Drift("apikey", portal.id, PROVISIONING_STALE, _base(portal))
        return
    if status == "revoking":
        yield Drift("apikey", portal.id, REVOKE_UNFINISHED, {**_base(portal), "usable": _usable(remote, now)})
        return
    if status in ("revoked", "expired", "failed"):
        if _usable(remote, now):
            yield Drift("apikey", portal.id, REVOKED_USABLE, _base(portal))
        elif status != "expired":
            yield Drift("apikey", portal.id, REVOKED_PRESENT, _base(portal))
        return
    if status in ("active", "blocked"):
        if portal.remote_sync_pending:
            yield Drift("apikey", portal.id, SYNC_UNFINISHED, _base(portal))
            return
        diff = key_differences(portal, remote)
        if diff:
            yield Drift("apikey", portal.id, KEY_DIFFERS, {**_base(portal), "fields": diff})


def _classify_absent(portal: PortalKey, pending: set[str], started: datetime, grace: timedelta,
                     provisioning_grace: timedelta, now: datetime, counts: KeyCounts) -> Iterator[Drift]:
    if portal.id in pending:
        counts.pending_sync += 1
        return
    status = portal.status
    if status == "provisioning" and portal.created_at < now - provisioning_grace:
        yield Drift("apikey", portal.id, PROVISIONING_STALE, _base(portal))
    elif status == "revoking":
        yield Drift("apikey", portal.id, REVOKE_UNFINISHED, {**_base(portal), "usable": False})
    elif status in ("active", "blocked"):
        if portal.created_at > started - grace:
            counts.in_grace += 1
            return
        yield Drift("apikey", portal.id, ACTIVE_MISSING, _base(portal))


def _limits_diff(portal: PortalLimits, remote: UserInfo | TeamInfo) -> dict[str, dict[str, Any]]:
    pairs: dict[str, tuple[Any, Any]] = {
        "max_budget": (_money(portal.max_budget), _money(remote.max_budget)),
        "budget_duration": (portal.budget_duration or None, remote.budget_duration or None),
        "tpm_limit": (portal.tpm_limit, remote.tpm_limit),
        "rpm_limit": (portal.rpm_limit, remote.rpm_limit),
    }
    if isinstance(remote, TeamInfo):
        pairs["team_alias"] = (portal.alias, remote.team_alias)
        if portal.models is not None:
            pairs["models"] = (sorted(portal.models), sorted(remote.models))
    return {name: {"portal": a, "litellm": b} for name, (a, b) in pairs.items() if a != b}


def classify_principals(*, object_type: str, portal_rows: Iterable[PortalLimits],
                        remote_rows: Iterable[UserInfo | TeamInfo], pending: set[str]) -> Iterator[Drift]:
    """Users or teams: missing in LiteLLM, or with different limits (``object_type`` ``user``/``team``)."""
    remote_by_id: dict[str, UserInfo | TeamInfo] = {}
    for row in remote_rows:
        remote_by_id[row.user_id if isinstance(row, UserInfo) else row.team_id] = row
    missing, differs = (USER_MISSING, USER_DIFFERS) if object_type == "user" else (TEAM_MISSING, TEAM_DIFFERS)
    for portal in portal_rows:
        if portal.id in pending:
            continue
        remote = remote_by_id.get(portal.id)
        if remote is None:
            yield Drift(object_type, portal.id, missing, {})
            continue
        diff = _limits_diff(portal, remote)
        if diff:
            yield Drift(object_type, portal.id, differs, {"fields": diff})
