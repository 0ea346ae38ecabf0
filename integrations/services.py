"""Write operations of ``integrations``: provisioning LiteLLM users and teams from the portal's rows.

The portal is the source of truth: each function reads LiteLLM, then creates or updates it to match, so
running it twice is harmless. No database transaction is held across a LiteLLM call; the user's sync state
is written through ``accounts.services`` (this app never writes another app's models).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings
from django.core.cache import cache

from integrations.litellm.client import LiteLLMClient, get_litellm_client
from integrations.litellm.errors import LiteLLMAlreadyExists, LiteLLMError, LiteLLMUnavailable
from integrations.litellm.limits import UNSET
from integrations.litellm.types import TeamInfo, UserInfo
from litemaas.locks import SingleFlightLock

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

DEFAULT_TEAM_ID: Final = "a0000000-0000-4000-8000-000000000001"
DEFAULT_TEAM_ALIAS: Final = "Default Team"
# The original portal's Default Team limits (inventory appendix); models = [] means every model.
DEFAULT_TEAM_LIMITS: Final[dict[str, Any]] = {"max_budget": 10000, "tpm_limit": 50000, "rpm_limit": 1000}
# Every portal user is an internal_user in LiteLLM, admins included: portal admins administer the portal;
# a proxy_admin could mint keys behind the portal's back.
LITELLM_USER_ROLE: Final = "internal_user"
# Checking the Default Team on every provisioning would double the calls; once verified, trust it for
# this long (the reconciler repairs drift in between).
DEFAULT_TEAM_VERIFIED_SECONDS: Final = 600
PENDING_SWEEP_LOCK_SECONDS: Final = 300


def ensure_litellm_team(team_id: str, *, team_alias: str, max_budget: Decimal | float | None = None,
                        budget_duration: str = "", tpm_limit: int | None = None, rpm_limit: int | None = None,
                        models: Sequence[str] = (), client: LiteLLMClient | None = None,
                        soft_budget: Any = UNSET) -> TeamInfo:
    """Create the LiteLLM team ``team_id`` or update it to exactly these values; returns LiteLLM's team.

    ``None`` limits mean "no limit" and are cleared in LiteLLM; ``soft_budget`` left ``UNSET`` is not
    managed. Only the fields that differ are sent. Idempotent (create-or-update, absolute values; a concurrent
    creator is tolerated). Raises LiteLLMUnavailable, LiteLLMRejected.
    """
    client = client or get_litellm_client()
    wanted: dict[str, Any] = {"team_alias": team_alias, "max_budget": _money(max_budget),
                              "budget_duration": budget_duration or None, "tpm_limit": tpm_limit,
                              "rpm_limit": rpm_limit, "models": sorted(models)}
    if soft_budget is not UNSET:
        wanted["soft_budget"] = _money(soft_budget)
    team = client.team_get(team_id)
    if team is None:
        try:
            return client.team_create(team_id=team_id, **wanted)
        except LiteLLMAlreadyExists:
            team = client.team_get(team_id)  # created concurrently by another process
            if team is None:
                raise
    have = {"team_alias": team.team_alias, "max_budget": team.max_budget, "budget_duration": team.budget_duration,
            "tpm_limit": team.tpm_limit, "rpm_limit": team.rpm_limit, "models": sorted(team.models),
            "soft_budget": team.soft_budget}
    changes = {k: v for k, v in wanted.items() if not _same(v, have[k])}
    return client.team_update(team_id, **changes) if changes else team


def ensure_default_team(*, client: LiteLLMClient | None = None, force: bool = False) -> None:
    """Make sure the Default Team exists in LiteLLM with its standard limits (skipped for a while after a
    successful check unless ``force``). Idempotent. Raises LiteLLMUnavailable, LiteLLMRejected."""
    client = client or get_litellm_client()
    marker = f"litellm:default-team-ok:{client.base_url}"
    if not force and _cache_get(marker):
        return
    ensure_litellm_team(DEFAULT_TEAM_ID, team_alias=DEFAULT_TEAM_ALIAS, client=client, **DEFAULT_TEAM_LIMITS)
    _cache_set(marker, True, DEFAULT_TEAM_VERIFIED_SECONDS)


def ensure_litellm_user(user: User, *, client: LiteLLMClient | None = None) -> UserInfo:
    """Create or update ``user``'s LiteLLM user (``user_id`` = portal UUID, role ``internal_user``, the
    user's limits, member of the Default Team) and record the outcome on the user row.

    Sync state: ``synced`` on success; ``pending`` when LiteLLM is unavailable (the beat task retries);
    ``error`` with LiteLLM's reason when it rejects. Idempotent. Raises LiteLLMUnavailable, LiteLLMRejected.
    """
    from accounts.services import user_set_litellm_sync_state

    try:
        client = client or get_litellm_client()
        info = _upsert_user(user, client)
    except LiteLLMUnavailable as exc:
        user_set_litellm_sync_state(user=user, state="pending", error=exc.message)
        raise
    except LiteLLMError as exc:
        reason = exc.details.get("reason", "") if isinstance(exc.details, dict) else ""
        user_set_litellm_sync_state(user=user, state="error", error=f"{exc.message} {reason}".strip())
        raise
    user_set_litellm_sync_state(user=user, state="synced")
    return info


def _upsert_user(user: User, client: LiteLLMClient) -> UserInfo:
    ensure_default_team(client=client)
    user_id = str(user.pk)
    limits: dict[str, Any] = {"max_budget": _money(user.max_budget), "budget_duration": user.budget_duration or None,
                              "tpm_limit": user.tpm_limit, "rpm_limit": user.rpm_limit}
    profile: dict[str, Any] = {"user_email": user.email or None, "user_alias": user.username,
                               "user_role": LITELLM_USER_ROLE}
    info = client.user_get(user_id)
    if info is None:
        info = _create_user(client, user_id, profile, limits)
    have = {"user_email": info.user_email, "user_alias": info.user_alias, "user_role": info.user_role,
            "max_budget": info.max_budget, "budget_duration": info.budget_duration,
            "tpm_limit": info.tpm_limit, "rpm_limit": info.rpm_limit}
    changes = {k: v for k, v in {**profile, **limits}.items() if not _same(v, have[k])}
    if "user_email" in changes and (changes["user_email"] is None or info.user_email is None):
        # Never blank an e-mail LiteLLM has, and never add one it lacks: that only happens when another
        # LiteLLM user holds it (unique on /user/new; /user/update does not check, so it would duplicate).
        changes.pop("user_email")
    if changes:
        info = client.user_update(user_id, **changes)
    if DEFAULT_TEAM_ID not in info.teams:
        client.team_member_add(DEFAULT_TEAM_ID, user_id, exist_ok=True)
    return info


def _create_user(client: LiteLLMClient, user_id: str, profile: dict[str, Any], limits: dict[str, Any]) -> UserInfo:
    try:
        return client.user_create(user_id=user_id, teams=[DEFAULT_TEAM_ID], **profile, **limits)
    except LiteLLMAlreadyExists:
        existing = client.user_get(user_id)
        if existing is not None:
            return existing  # a concurrent request created it
        if not profile.get("user_email"):
            raise
    # Another LiteLLM user holds this e-mail (LiteLLM requires it unique on /user/new). The portal never
    # adopts a foreign LiteLLM user, so create ours without the e-mail; it is informational in LiteLLM.
    logger.warning("LiteLLM user e-mail already taken; creating user %s without it", user_id)
    return client.user_create(user_id=user_id, teams=[DEFAULT_TEAM_ID],
                              **{**profile, "user_email": None}, **limits)


def provision_user_after_login(user: User) -> None:
    """Provision ``user`` in LiteLLM right after login, without ever blocking or failing the login.

    Skips users already synced. Uses short timeouts and a single attempt (login must stay fast); when
    LiteLLM is down the user stays ``pending`` and ``litemaas.integrations.provision_pending_users`` retries.
    Never raises. Idempotent.
    """
    if user.litellm_sync_state == "synced":
        return
    try:
        timeout = float(getattr(settings, "LITELLM_LOGIN_TIMEOUT_SECONDS", 3.0))
        client = get_litellm_client().with_options(read_timeout=timeout, retry_attempts=1)
        ensure_litellm_user(user, client=client)
    except LiteLLMUnavailable as exc:
        logger.info("LiteLLM unavailable at login of %s (%s); provisioning later", user.pk, exc.code)
    except LiteLLMError as exc:
        logger.warning("LiteLLM rejected provisioning of %s at login: %s", user.pk, exc.code)
    except Exception:  # noqa: BLE001 - login must succeed whatever happens here
        logger.exception("Unexpected error provisioning %s in LiteLLM at login", user.pk)


def litellm_users_provision_pending(*, limit: int = 100) -> dict[str, int]:
    """Retry provisioning of up to ``limit`` active users in ``pending`` state (the beat task's body).

    Single-flight (``litemaas.locks``); stops at the first LiteLLMUnavailable (no point hammering a down
    LiteLLM). Never raises for LiteLLM errors (they are recorded on the user rows). Idempotent.
    """
    from integrations.selectors import users_pending_litellm_sync

    counts = {"synced": 0, "pending": 0, "error": 0, "skipped": 0}
    lock = SingleFlightLock("litellm:provision-pending:lock", timeout=PENDING_SWEEP_LOCK_SECONDS)
    if not lock.acquire():
        counts["skipped"] = 1
        return counts
    try:
        for user in users_pending_litellm_sync(limit=limit):
            try:
                ensure_litellm_user(user)
                counts["synced"] += 1
            except LiteLLMUnavailable:
                counts["pending"] += 1
                break
            except LiteLLMError:
                counts["error"] += 1
    finally:
        lock.release()
    return counts


def _money(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _same(wanted: Any, have: Any) -> bool:
    # LiteLLM returns budgets as floats; the portal keeps Decimals with 4 places.
    if isinstance(wanted, float) and isinstance(have, int | float):
        return round(wanted, 4) == round(float(have), 4)
    return wanted == have


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - the marker is only an optimisation
        return None


def _cache_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001 - the marker is only an optimisation
        logger.debug("cache unavailable for %s", key)


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # noqa: BLE001 - the lock expires on its own
        logger.debug("cache unavailable for %s", key)
