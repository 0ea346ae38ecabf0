"""Repair actions of the reconciler. Each writes through the owning app's service or the outbox, and audits.

Pushes to LiteLLM go through the outbox (durable, ordered behind any change already on its way); the
security deletes and blocks are also delivered inline at once so they do not wait for a worker. Adopting
LiteLLM's values (``litellm_wins``) calls the owning app's service. No database transaction is held across
a LiteLLM call.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction

from integrations.outbox import outbox_deliver, outbox_enqueue
from integrations.reconcile import strategies as s
from integrations.reconcile.classify import Drift
from litemaas.audit import audit_record

logger = logging.getLogger(__name__)


class RepairError(Exception):
    """An action could not be applied (the message is shown on the drift report)."""


def execute(*, action: str, drift: Drift, actor: Any = None) -> str:
    """Apply ``action`` to ``drift``; return the drift item's new status (``repaired`` or ``queued``).

    Raises ``RepairError`` (or a ``LiteLLMError``/``ApplicationError`` from a service) when it cannot.
    Idempotent: every action converges on the same end state when repeated."""
    handler = _ACTIONS.get(action)
    if handler is None:
        raise RepairError(f"no repair for action {action!r}")
    status = handler(drift, actor)
    audit_record(action=f"sync.{action}", actor=actor, target_type=drift.object_type, target_id=drift.object_id,
                 metadata={"drift_class": drift.drift_class, "severity": drift.severity,
                           "details": _audit_details(drift)})
    return status


def _audit_details(drift: Drift) -> dict[str, Any]:
    # The key hash is an identifier LiteLLM shares, not a secret; keep the rest small.
    keep = ("fields", "status", "user_id", "token_hash", "portal_key_id", "key_alias")
    return {k: v for k, v in drift.details.items() if k in keep}


def _enqueue(drift: Drift, operation: str, payload: dict[str, Any] | None = None, *, deliver_now: bool = False,
             object_id: str | None = None) -> str:
    with transaction.atomic():
        entry = outbox_enqueue(object_type=drift.object_type, object_id=object_id or drift.object_id,
                               operation=operation, payload=payload or {}, deliver=not deliver_now)
    if deliver_now:
        return "repaired" if outbox_deliver(entry_id=entry.pk) == "done" else "queued"
    return "queued"


def _delete_key(drift: Drift, actor: Any) -> str:
    return _enqueue(drift, "key.delete", {"token_hash": drift.details["token_hash"], "block_first": True,
                                          "reason": drift.drift_class}, deliver_now=True)


def _finish_revoke(drift: Drift, actor: Any) -> str:
    return _enqueue(drift, "key.revoke", {"token_hash": drift.details.get("token_hash", "")},
                    deliver_now=bool(drift.details.get("usable")))


def _finish_sync(drift: Drift, actor: Any) -> str:
    return _enqueue(drift, "key.sync", {"token_hash": drift.details.get("token_hash", "")})


def _block_unknown(drift: Drift, actor: Any) -> str:
    return _enqueue(drift, "key.block", {"token_hash": drift.details["token_hash"],
                                         "portal_key_id": drift.details.get("portal_key_id")}, deliver_now=True)


def _push(operation: str) -> Any:
    def push(drift: Drift, actor: Any) -> str:
        return _enqueue(drift, operation, {"drift_class": drift.drift_class,
                                           "fields": sorted(drift.details.get("fields", {}))})
    return push


def _fail_provisioning(drift: Drift, actor: Any) -> str:
    from apikeys.services import apikey_fail_stale_provisioning

    apikey_fail_stale_provisioning(key_id=drift.object_id, actor=actor)
    return "repaired"


def _mark_broken(drift: Drift, actor: Any) -> str:
    from accounts.notifications import notification_create
    from apikeys.models import ApiKey
    from apikeys.services import apikey_mark_broken

    key = ApiKey.objects.select_related("user").filter(pk=drift.object_id).first()
    if key is None:
        raise RepairError("the key no longer exists in the portal")
    before = key.status
    apikey_mark_broken(key=key, actor=actor)
    if before != "broken" and key.status == "broken":
        notification_create(
            user=key.user, kind="apikey.broken", level="warning",
            title=f"Your API key {key.name} ({key.masked}) stopped working",
            body=("LiteLLM no longer knows this key, so calls with it fail. The portal cannot re-create it "
                  "(it never stores the secret): rotate it or revoke it and create a new key."),
            link=_key_link(key.pk))
    return "repaired"


def _key_link(key_id: Any) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("apikeys:detail", kwargs={"key_id": key_id})
    except NoReverseMatch:
        return ""


def _adopt_key(drift: Drift, actor: Any) -> str:
    """Take LiteLLM's models / limits / blocked state into the portal through ``apikeys.services``."""
    from apikeys.models import ApiKey
    from apikeys.services import apikey_block, apikey_unblock, apikey_update

    key = ApiKey.objects.select_related("user").filter(pk=drift.object_id).first()
    if key is None:
        raise RepairError("the key no longer exists in the portal")
    fields = drift.details.get("fields", {})
    values: dict[str, Any] = {}
    for name in ("max_budget", "soft_budget"):
        if name in fields:
            remote = fields[name]["litellm"]
            values[name] = None if remote is None else Decimal(str(remote))
    for name in ("tpm_limit", "rpm_limit", "max_parallel_requests", "budget_duration"):
        if name in fields:
            values[name] = fields[name]["litellm"] if name != "budget_duration" else (fields[name]["litellm"] or "")
    if "models" in fields and fields["models"]["litellm"]:
        values["model_ids"] = list(fields["models"]["litellm"])
    if "expires" in fields:
        from django.utils.dateparse import parse_datetime

        remote = fields["expires"]["litellm"]
        values["expires_at"] = parse_datetime(remote) if remote else None
    if values:
        apikey_update(key=key, actor=actor, enforce_policy=False, **values)
        key.refresh_from_db()
    if "blocked" in fields:
        if fields["blocked"]["litellm"] and key.status == "active":
            apikey_block(key=key, actor=actor, reason="Blocked in LiteLLM (adopted by the reconciler).")
        elif not fields["blocked"]["litellm"] and key.status == "blocked":
            apikey_unblock(key=key, actor=actor)
    unsupported = sorted(set(fields) & {"model_tpm_limit", "model_rpm_limit"})
    if unsupported:
        raise RepairError("adopted the key's limits; per-model limits are only pushed, never adopted: "
                          + ", ".join(unsupported))
    return "repaired"


def _adopt_user(drift: Drift, actor: Any) -> str:
    """Store LiteLLM's limits on the portal user (``accounts.limit_services``; LiteLLM already has them)."""
    from accounts.limit_services import user_set_limits
    from accounts.models import User

    user = User.objects.filter(pk=drift.object_id).first()
    if user is None:
        raise RepairError("the user no longer exists in the portal")
    fields = drift.details.get("fields", {})
    values: dict[str, Any] = {}
    if "max_budget" in fields:
        remote = fields["max_budget"]["litellm"]
        values["max_budget"] = None if remote is None else Decimal(str(remote))
    for name in ("tpm_limit", "rpm_limit"):
        if name in fields:
            values[name] = fields[name]["litellm"]
    if "budget_duration" in fields:
        values["budget_duration"] = fields["budget_duration"]["litellm"] or ""
    user_set_limits(user=user, values=values, actor=actor, action="user.limits_adopted", sync_litellm=False)
    return "repaired"


def _adopt_team(drift: Drift, actor: Any) -> str:
    try:
        from teams import services as team_services
    except ImportError as exc:  # pragma: no cover - the teams app is always installed
        raise RepairError("the teams app is not available") from exc
    adopt = getattr(team_services, "team_adopt_litellm_values", None)
    if adopt is None:
        raise RepairError("the teams app has no service to adopt LiteLLM's values yet; repair with portal_wins")
    fields = drift.details.get("fields", {})
    skipped = adopt(team_id=drift.object_id, actor=actor, values={k: v["litellm"] for k, v in fields.items()})
    if skipped:
        raise RepairError("adopted the team's other values; could not adopt: "
                          + "; ".join(f"{name} ({why})" for name, why in sorted(skipped.items())))
    return "repaired"


def _report(drift: Drift, actor: Any) -> str:
    raise RepairError("report only")


_ACTIONS: dict[str, Any] = {
    s.DELETE_KEY: _delete_key, s.FINISH_REVOKE: _finish_revoke, s.FINISH_SYNC: _finish_sync,
    s.FAIL_PROVISIONING: _fail_provisioning, s.MARK_BROKEN: _mark_broken, s.BLOCK_UNKNOWN: _block_unknown,
    s.PUSH_KEY: _push("key.push"), s.ADOPT_KEY: _adopt_key, s.PUSH_USER: _push("user.sync"),
    s.ADOPT_USER: _adopt_user, s.PUSH_TEAM: _push("team.sync"), s.ADOPT_TEAM: _adopt_team, s.REPORT: _report,
}


# ---------------------------------------------------------------------------------------------------------
# "Push the portal's current state" (outbox handlers of key.push and team.sync)
# ---------------------------------------------------------------------------------------------------------
def push_key_state(*, key_id: Any) -> None:
    """Deliver ``key.push``: LiteLLM's copy of the key := the portal's current values (apikeys service).
    A key LiteLLM lost is left to the next reconcile run (it marks it broken). Raises LiteLLMError."""
    from apikeys.services import apikey_push_to_litellm
    from integrations.litellm.errors import LiteLLMNotFound

    try:
        apikey_push_to_litellm(key_id=key_id)
    except LiteLLMNotFound:
        logger.info("key.push: key %s is not in LiteLLM; the reconciler marks it broken", key_id)


def push_team_state(*, team_id: Any) -> None:
    """Deliver ``team.sync``: create or update the LiteLLM team (limits, models, missing members) from the
    portal's active team row, recording the team's sync state (``teams.services.team_sync_to_litellm``).
    Raises LiteLLMError."""
    from teams.models import Team
    from teams.services import team_sync_to_litellm

    team = Team.objects.filter(pk=team_id).first()
    if team is None or getattr(team, "status", "active") != "active":
        return
    team_sync_to_litellm(team=team)
