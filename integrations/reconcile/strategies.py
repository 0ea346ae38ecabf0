"""Conflict strategies: which action each drift class gets under the strategy of its object kind.

``SYNC_STRATEGY_KEYS`` / ``_USERS`` / ``_TEAMS``: ``portal_wins`` (default; push the portal's values through
the outbox), ``litellm_wins`` (adopt LiteLLM's values into the portal through the owning app's service,
audited) or ``report_only``. The strategy decides *conflicts* (different or missing values). The lifecycle
classes (revoked but usable, unfinished revocations, stale creates, lost keys, unknown portal keys) always get
their fixed safety action; only dry-run (or the destructive cap) stops them.
"""
from __future__ import annotations

from typing import Final

from django.conf import settings

from integrations.reconcile import classify as c

PORTAL_WINS: Final = "portal_wins"
LITELLM_WINS: Final = "litellm_wins"
REPORT_ONLY: Final = "report_only"
STRATEGIES: Final = (PORTAL_WINS, LITELLM_WINS, REPORT_ONLY)

# Actions (what ``actions.execute`` knows how to do).
DELETE_KEY: Final = "delete_key"            # block + delete in LiteLLM now (outbox, delivered inline)
FINISH_REVOKE: Final = "finish_revoke"      # queue the key's revocation again (outbox)
FINISH_SYNC: Final = "finish_sync"          # queue the key's model push again (outbox)
FAIL_PROVISIONING: Final = "fail_provisioning"
MARK_BROKEN: Final = "mark_broken"          # apikeys service + owner notification
BLOCK_UNKNOWN: Final = "block_unknown"      # block the unknown key in LiteLLM (outbox, delivered inline)
PUSH_KEY: Final = "push_key"
ADOPT_KEY: Final = "adopt_key"
PUSH_USER: Final = "push_user"
ADOPT_USER: Final = "adopt_user"
PUSH_TEAM: Final = "push_team"
ADOPT_TEAM: Final = "adopt_team"
REPORT: Final = "report"

_FIXED: Final = {
    c.REVOKED_USABLE: DELETE_KEY, c.REVOKED_PRESENT: DELETE_KEY, c.REVOKE_UNFINISHED: FINISH_REVOKE,
    c.SYNC_UNFINISHED: FINISH_SYNC, c.PROVISIONING_STALE: FAIL_PROVISIONING, c.ACTIVE_MISSING: MARK_BROKEN,
    c.UNKNOWN_PORTAL_KEY: BLOCK_UNKNOWN,
}
_BY_STRATEGY: Final = {
    c.KEY_DIFFERS: {PORTAL_WINS: PUSH_KEY, LITELLM_WINS: ADOPT_KEY},
    # Nothing in LiteLLM to adopt: a missing user/team is (re)created under both "wins" strategies.
    c.USER_MISSING: {PORTAL_WINS: PUSH_USER, LITELLM_WINS: PUSH_USER},
    c.USER_DIFFERS: {PORTAL_WINS: PUSH_USER, LITELLM_WINS: ADOPT_USER},
    c.TEAM_MISSING: {PORTAL_WINS: PUSH_TEAM, LITELLM_WINS: PUSH_TEAM},
    c.TEAM_DIFFERS: {PORTAL_WINS: PUSH_TEAM, LITELLM_WINS: ADOPT_TEAM},
}
_SETTING: Final = {"apikey": "SYNC_STRATEGY_KEYS", "user": "SYNC_STRATEGY_USERS", "team": "SYNC_STRATEGY_TEAMS"}


def strategy_for(object_type: str) -> str:
    """The configured strategy of an object kind (``portal_wins`` when unset or unknown)."""
    value = getattr(settings, _SETTING.get(object_type, ""), PORTAL_WINS)
    return value if value in STRATEGIES else PORTAL_WINS


def action_for(drift: c.Drift, *, strategy: str | None = None) -> str:
    """The action for ``drift`` under ``strategy`` (default: its kind's configured one)."""
    if drift.drift_class in _FIXED:
        return _FIXED[drift.drift_class]
    strategy = strategy or strategy_for(drift.object_type)
    if strategy == REPORT_ONLY:
        return REPORT
    if drift.drift_class == c.KEY_DIFFERS and strategy == LITELLM_WINS and _portal_blocked_remote_open(drift):
        return PUSH_KEY  # never adopt an unblock made in LiteLLM: the portal's block is a safety decision
    return _BY_STRATEGY.get(drift.drift_class, {}).get(strategy, REPORT)


def repair_action(drift: c.Drift) -> str:
    """The action an admin's one-click repair applies: the strategy's, or ``portal_wins`` under report_only."""
    action = action_for(drift)
    return action_for(drift, strategy=PORTAL_WINS) if action == REPORT else action


def _portal_blocked_remote_open(drift: c.Drift) -> bool:
    blocked = drift.details.get("fields", {}).get("blocked")
    return bool(blocked and blocked.get("portal") and not blocked.get("litellm"))
