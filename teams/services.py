"""Write operations of ``teams`` (``<entity>_<action>``, keyword-only, atomic, audited).

Creating a team goes to LiteLLM *first* (fail fast: LiteLLM unavailable → 503 with nothing created;
rejected → 502 with its reason), and so do spend resets. Every later change LiteLLM must know (team limits,
models and name, members, user limits) is saved locally and queued in the outbox in the same transaction
(``team.sync``, ``team.member_add``/``team.member_delete``, ``user.sync``): delivered right after commit, or
by the sweep once LiteLLM is back; the object shows "pending sync" meanwhile. No database transaction is held
across a LiteLLM call.

Who may do what:
- portal admins: everything (create, limits, models, archive, webhooks, members, caps);
- any other user: create a team they own (name and description only), at most ``TEAM_MAX_OWNED_PER_USER``
  active teams (0: users cannot create teams);
- a team's owners and admins: rename/describe, add and remove members, change roles and member caps;
- members: read. Read-only admins: read everything, change nothing.
Setting a team's budget is admin-only on purpose: LiteLLM does not apply a user's own budget to keys charged
to a team, so a self-made team with a large budget would bypass it. A team a user creates therefore starts
with a budget of 0 (keys charged to it cannot spend) until a portal admin gives it one.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from integrations.litellm.errors import LiteLLMError, LiteLLMUnavailable
from integrations.litellm.limits import UNSET
from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError, InvalidTransition, PermissionDeniedError, ValidationFailed
from teams.models import (
    DEFAULT_TEAM_ID,
    MANAGER_ROLES,
    BudgetAlert,
    Membership,
    MembershipSource,
    Team,
    TeamGroupMapping,
    TeamRole,
    TeamStatus,
    TeamSyncState,
)

logger = logging.getLogger(__name__)

# LiteLLM team role of every portal member: team rights live in the portal; a LiteLLM team "admin" could
# manage the team's keys directly in LiteLLM.
LITELLM_MEMBER_ROLE = "user"
LIMIT_NAMES = ("max_budget", "soft_budget", "budget_duration", "tpm_limit", "rpm_limit")
LIVE_KEY_STATUSES = ("provisioning", "active", "blocked")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _client() -> Any:
    from integrations.litellm.client import get_litellm_client

    return get_litellm_client()


# ---------------------------------------------------------------------------------------------------------
# Permission helpers
# ---------------------------------------------------------------------------------------------------------
def _membership(team: Team, user: Any) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(team=team, user=user).first()


def team_can_manage(*, team: Team, user: Any) -> bool:
    """Portal admins and the team's owners/admins may manage its members and name. Read-only."""
    if getattr(user, "is_admin", False):
        return True
    m = _membership(team, user)
    return m is not None and m.role in MANAGER_ROLES


def _require_manage(team: Team, actor: Any) -> None:
    if not team_can_manage(team=team, user=actor):
        raise PermissionDeniedError(_("Only the team's owners and admins can do this."), code="team_manage_denied")


def _require_admin(actor: Any) -> None:
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError(_("This action needs the admin role."), code="admin_required")


def _require_active(team: Team) -> None:
    if team.status != TeamStatus.ACTIVE:
        raise InvalidTransition(_("This team is archived."), code="team_archived")


# ---------------------------------------------------------------------------------------------------------
# Validation of limits
# ---------------------------------------------------------------------------------------------------------
def _decimal(value: Any, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(name, []).append(_("Enter a number."))
        return None
    if number < 0 or number >= Decimal("100000000"):
        errors.setdefault(name, []).append(_("Enter an amount between 0 and 99,999,999."))
        return None
    return number.quantize(Decimal("0.0001"))


def _int(value: Any, name: str, errors: dict[str, list[str]]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("Enter a whole number."))
        return None
    if number < 1 or number > 2_000_000_000:
        errors.setdefault(name, []).append(_("Enter a number between 1 and 2,000,000,000 (empty = no limit)."))
        return None
    return number


def _duration(value: Any, name: str, errors: dict[str, list[str]]) -> str:
    from apikeys.services import normalise_budget_duration

    try:
        return normalise_budget_duration(str(value or ""))
    except ValueError:
        errors.setdefault(name, []).append(_("Use a period such as 1d, 7d, 30d or 1mo (empty = never resets)."))
        return ""


def clean_limits(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """Normalise the given subset of limit fields (``None``/"" = no limit); record field errors. Pure."""
    clean: dict[str, Any] = {}
    for name in ("max_budget", "soft_budget"):
        if name in values:
            clean[name] = _decimal(values[name], name, errors)
    for name in ("tpm_limit", "rpm_limit"):
        if name in values:
            clean[name] = _int(values[name], name, errors)
    if "budget_duration" in values:
        clean["budget_duration"] = _duration(values["budget_duration"], "budget_duration", errors)
    return clean


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), details={"fields": errors})


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _remote_team_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Portal field names/values → ``team_create``/``team_update`` keywords."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "name":
            out["team_alias"] = value
        elif name == "allowed_models":
            out["models"] = list(value)
        elif name in ("max_budget", "soft_budget"):
            out[name] = _money(value)
        elif name == "budget_duration":
            out[name] = value or None
        elif name in ("tpm_limit", "rpm_limit"):
            out[name] = value
    return out


def _check_models(models: Any, errors: dict[str, list[str]]) -> list[str]:
    if models in (None, ""):
        return []
    if not isinstance(models, list | tuple) or not all(isinstance(m, str) and m for m in models):
        errors.setdefault("allowed_models", []).append(_("A list of model ids (empty = every model)."))
        return []
    from subscriptions.models import LlmModel

    wanted = sorted(set(models))
    known = set(LlmModel.objects.filter(id__in=wanted).values_list("id", flat=True))
    unknown = [m for m in wanted if m not in known]
    if unknown:
        errors.setdefault("allowed_models", []).append(_("Unknown models: %(m)s") % {"m": ", ".join(unknown)})
    return wanted


def _check_name(name: Any, errors: dict[str, list[str]], *, exclude: Any = None) -> str:
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("A name is required."))
    elif len(name) > 100:
        errors.setdefault("name", []).append(_("At most 100 characters."))
    elif Team.objects.filter(status=TeamStatus.ACTIVE, name__iexact=name).exclude(pk=exclude).exists():
        errors.setdefault("name", []).append(_("Another active team has this name."))
    return name


# ---------------------------------------------------------------------------------------------------------
# Teams
# ---------------------------------------------------------------------------------------------------------
def teams_owned_count(*, user: Any) -> int:
    """Active teams ``user`` owns (the Default Team never counts). Read-only."""
    return (Membership.objects.filter(user_id=user.pk, role=TeamRole.OWNER, team__status=TeamStatus.ACTIVE)
            .exclude(team_id=DEFAULT_TEAM_ID).count())


def team_create_allowance(*, user: Any) -> dict[str, Any]:
    """What the self-service "create a team" form needs: whether ``user`` may create a team there now, the
    limit (``TEAM_MAX_OWNED_PER_USER``) and how many active teams they own. ``limit`` is None when the form
    does not apply: portal admins (not limited; they use the admin page) and read-only admins (cannot
    create). Read-only."""
    from django.conf import settings

    if getattr(user, "is_admin", False):
        return {"allowed": True, "limit": None, "owned": None}
    if getattr(user, "is_readonly_admin", False) or not getattr(user, "is_authenticated", False):
        return {"allowed": False, "limit": None, "owned": None}
    limit = int(settings.TEAM_MAX_OWNED_PER_USER)
    if limit == 0:
        return {"allowed": False, "limit": 0, "owned": None}
    owned = teams_owned_count(user=user)
    return {"allowed": owned < limit, "limit": limit, "owned": owned}


def _check_owned_limit(user: Any) -> None:
    """Refuse a self-service team beyond ``TEAM_MAX_OWNED_PER_USER`` active owned teams (409)."""
    from django.conf import settings

    limit = int(settings.TEAM_MAX_OWNED_PER_USER)
    owned = teams_owned_count(user=user)
    if owned >= limit:
        raise ConflictError(
            _("You already own %(owned)d active teams, the most one user may own (%(limit)d). An administrator "
              "can archive one of them or create the team for you.") % {"owned": owned, "limit": limit},
            code="team_owner_limit", details={"limit": limit, "owned": owned})


def _check_self_service(actor: Any, owner: Any, admin_fields: list[str]) -> None:
    """A user who is not a portal admin may create a team only for themselves, with a name and a
    description, and only while ``TEAM_MAX_OWNED_PER_USER`` is above 0 (read-only admins: never)."""
    from django.conf import settings

    if getattr(actor, "is_readonly_admin", False) or not getattr(actor, "is_authenticated", False):
        raise PermissionDeniedError(_("This action needs the admin role."), code="admin_required")
    if int(settings.TEAM_MAX_OWNED_PER_USER) == 0:
        raise PermissionDeniedError(_("Only administrators can create teams on this portal."),
                                    code="team_create_disabled")
    if owner is not None and owner.pk != actor.pk:
        admin_fields = ["owner_id", *admin_fields]
    if admin_fields:
        raise PermissionDeniedError(
            _("Only administrators can set a team's owner, budget, limits or models (%(f)s). Create the team "
              "with a name and a description; an administrator gives it a budget.") % {"f": ", ".join(admin_fields)},
            code="admin_required", details={"fields": {f: [_("Only administrators can set this.")]
                                                       for f in admin_fields}})


def team_create(*, actor: Any, name: str, description: str = "", owner: User | None = None,
                max_budget: Any = None, soft_budget: Any = None, budget_duration: Any = "",
                tpm_limit: Any = None, rpm_limit: Any = None, allowed_models: Any = (),
                request: HttpRequest | None = None) -> Team:
    """Create a team in LiteLLM (``team_id`` = the new portal UUID), then locally with ``owner`` (default:
    the actor) as its owner. The owner's LiteLLM membership is an outbox entry committed with the team and
    delivered at once (LiteLLM failing just then: the sweep delivers it).

    Portal admins set anything, for any owner, without a limit on how many teams anyone owns (the limit is
    a self-service quota; an admin's choice is deliberate and audited). Any other user creates a team they
    own with a name and a description only, starting at a budget of 0, while they own fewer than
    ``TEAM_MAX_OWNED_PER_USER`` active teams (checked before LiteLLM is called and again, with the user's
    row locked, before the team is saved, so two concurrent requests cannot both pass).

    Raises ``PermissionDeniedError`` (admin-only fields, creation disabled, read-only admins),
    ``ConflictError`` (``team_owner_limit``: 409; a duplicate name), ``ValidationFailed``,
    ``LiteLLMUnavailable`` (503, nothing created in the portal), ``LiteLLMRejected``. Not idempotent: each
    call creates a team.
    """
    self_service = not getattr(actor, "is_admin", False)
    if self_service:
        given = {"max_budget": max_budget, "soft_budget": soft_budget, "tpm_limit": tpm_limit, "rpm_limit": rpm_limit}
        admin_fields = [k for k, v in given.items() if v not in (None, "")]
        admin_fields += ["budget_duration"] if budget_duration else []
        admin_fields += ["allowed_models"] if allowed_models else []
        _check_self_service(actor, owner, admin_fields)
        max_budget = Decimal(0)  # no budget until an admin gives one (see the module docstring)
    errors: dict[str, list[str]] = {}
    name = _check_name(name, errors)
    limits = clean_limits({"max_budget": max_budget, "soft_budget": soft_budget, "budget_duration": budget_duration,
                           "tpm_limit": tpm_limit, "rpm_limit": rpm_limit}, errors)
    models = _check_models(list(allowed_models or []), errors)
    _check_soft(limits.get("soft_budget"), limits.get("max_budget"), errors)
    _raise_if(errors)
    owner = owner or actor
    if self_service:
        _check_owned_limit(owner)  # fail fast, before LiteLLM is called
    team_id = uuid.uuid4()
    info = _client().team_create(team_id=str(team_id), **_remote_team_fields({"name": name, "allowed_models": models,
                                                                               **limits}))
    try:
        with transaction.atomic():
            if self_service:
                # Serialise one user's concurrent creations; a request losing the race leaves a key-less,
                # zero-budget LiteLLM team behind (reported by the reconciler).
                User.objects.select_for_update().filter(pk=owner.pk).first()
                _check_owned_limit(owner)
            team = Team(id=team_id, name=name, description=(description or "")[:500], allowed_models=models,
                        created_by=actor if getattr(actor, "is_authenticated", False) else None,
                        litellm_sync_state=TeamSyncState.SYNCED, litellm_synced_at=timezone.now(),
                        budget_reset_at=info.budget_reset_at, **limits)
            team.full_clean()
            team.save()
            Membership.objects.create(team=team, user=owner, role=TeamRole.OWNER)
            entry = _queue_member_change(team, owner.pk, "team.member_add", deliver=False)
            audit_record(action="team.create", actor=actor, target_type="team", target_id=team.pk,
                         metadata={"name": name, "owner": str(owner.pk), "self_service": self_service,
                                   **_audit_limits(limits)}, request=request)
    except IntegrityError:
        raise ConflictError(_("Another active team has this name.")) from None
    if entry is not None:
        from integrations.outbox import outbox_deliver

        outbox_deliver(entry_id=entry.pk)  # part of the synchronous create; on failure the sweep retries it
    return team


def _check_soft(soft: Any, max_budget: Any, errors: dict[str, list[str]]) -> None:
    if soft is not None and max_budget is not None and soft > max_budget:
        errors.setdefault("soft_budget", []).append(_("The soft budget cannot exceed the budget."))


def _audit_limits(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


def team_update(*, team: Team, actor: Any, request: HttpRequest | None = None, **values: Any) -> Team:
    """Change a team: ``name``/``description`` (its managers) and ``max_budget``, ``soft_budget``,
    ``budget_duration``, ``tpm_limit``, ``rpm_limit``, ``allowed_models``, ``alert_webhook_url``,
    ``regenerate_webhook_secret`` (portal admins). Saved locally; a change LiteLLM must know (name, limits,
    models) marks the team pending and queues ``team.sync`` in the same transaction. The delivery sends only
    the fields that differ (an unchanged ``budget_duration`` is not re-sent, so LiteLLM keeps its reset time).

    Raises ``PermissionDeniedError``, ``ValidationFailed``, ``InvalidTransition`` (archived). Never a
    LiteLLM error: LiteLLM down leaves the change pending until the outbox delivers it. Idempotent.
    """
    allowed = {"name", "description", *LIMIT_NAMES, "allowed_models", "alert_webhook_url",
               "regenerate_webhook_secret"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown team fields {sorted(unknown)}")
    _require_active(team)
    admin_only = set(values) - {"name", "description"}
    if admin_only:
        _require_admin(actor)
    else:
        _require_manage(team, actor)
    if team.is_default and "name" in values and values["name"] != team.name:
        raise InvalidTransition(_("The Default Team cannot be renamed."), code="default_team")
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Any] = {}
    if "name" in values:
        wanted["name"] = _check_name(values["name"], errors, exclude=team.pk)
    if "description" in values:
        wanted["description"] = (values["description"] or "")[:500]
    wanted.update(clean_limits({k: v for k, v in values.items() if k in LIMIT_NAMES}, errors))
    if "allowed_models" in values:
        wanted["allowed_models"] = _check_models(values["allowed_models"] or [], errors)
    if "alert_webhook_url" in values:
        url = (values["alert_webhook_url"] or "").strip()
        if url and not url.startswith(("http://", "https://")):
            errors.setdefault("alert_webhook_url", []).append(_("Enter an http(s) URL."))
        wanted["alert_webhook_url"] = url
    _check_soft(wanted.get("soft_budget", team.soft_budget), wanted.get("max_budget", team.max_budget), errors)
    _raise_if(errors)
    changes = {k: v for k, v in wanted.items() if getattr(team, k) != v}
    regenerate = bool(values.get("regenerate_webhook_secret"))
    if not changes and not regenerate:
        return team
    remote = sorted(_remote_team_fields({k: v for k, v in changes.items() if k != "description"}))
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        fields = [*changes, "updated_at"]
        if remote:
            locked.litellm_sync_state, locked.litellm_last_error = TeamSyncState.PENDING, ""
            fields += ["litellm_sync_state", "litellm_last_error"]
        if (regenerate or (changes.get("alert_webhook_url") and not locked.alert_webhook_secret)):
            import secrets

            locked.alert_webhook_secret = secrets.token_urlsafe(32)
            fields.append("alert_webhook_secret")
        locked.updated_at = timezone.now()
        locked.full_clean()
        locked.save(update_fields=fields)
        if remote:
            from integrations.outbox import outbox_enqueue

            outbox_enqueue(object_type="team", object_id=team.pk, operation="team.sync", payload={"fields": remote})
        audit_record(action="team.update", actor=actor, target_type="team", target_id=team.pk,
                     metadata={"changes": _audit_limits(changes), "webhook_secret_regenerated": regenerate},
                     request=request)
    return locked


def team_archive(*, team: Team, actor: Any, request: HttpRequest | None = None) -> Team:
    """Archive a team (portal admins): it disappears from members' lists and no key can be charged to it.

    Refused for the Default Team and while live keys are charged to the team (``ConflictError``: revoke or
    move them first). LiteLLM keeps the (key-less) team for its spend history. Idempotent.
    """
    _require_admin(actor)
    if team.is_default:
        raise InvalidTransition(_("The Default Team cannot be archived."), code="default_team")
    if team.status == TeamStatus.ARCHIVED:
        return team
    from apikeys.models import ApiKey

    live = ApiKey.objects.filter(team=team, status__in=LIVE_KEY_STATUSES, deleted_at__isnull=True).count()
    if live:
        raise ConflictError(_("%(n)d keys are still charged to this team; revoke them first.") % {"n": live},
                            code="team_has_keys")
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(status=TeamStatus.ARCHIVED, archived_at=timezone.now(),
                                               updated_at=timezone.now())
        audit_record(action="team.archive", actor=actor, target_type="team", target_id=team.pk,
                     metadata={"name": team.name}, request=request)
    team.refresh_from_db()
    return team


def team_sync_to_litellm(*, team: Team) -> Team:
    """Push the team's current row (name, limits, soft budget, models) and its missing members (with their
    per-member caps) to LiteLLM: the ``team.sync`` outbox delivery, also the repair after drift. Only
    differing fields are sent.

    Records the sync state on the team (``synced``, or still ``pending`` while a newer ``team.sync`` waits
    in the outbox). Idempotent. Raises ``LiteLLMUnavailable``/``LiteLLMRejected``.
    """
    from integrations.outbox import outbox_has_waiting
    from integrations.services import ensure_litellm_team

    try:
        info = ensure_litellm_team(str(team.pk), team_alias=team.name, max_budget=team.max_budget,
                                   soft_budget=team.soft_budget, budget_duration=team.budget_duration,
                                   tpm_limit=team.tpm_limit, rpm_limit=team.rpm_limit,
                                   models=list(team.allowed_models or []))
        have = info.member_ids
        # The Default Team's LiteLLM members come from user provisioning (every LiteLLM user is in it).
        members = [] if team.is_default else Membership.objects.filter(team=team).values_list("user_id", "max_budget")
        for user_id, cap in members:
            if str(user_id) not in have:
                _client().team_member_add(str(team.pk), str(user_id), role=LITELLM_MEMBER_ROLE, exist_ok=True)
                if cap is not None:  # a member LiteLLM lost has lost its cap too
                    _client().team_member_update(str(team.pk), str(user_id), max_budget_in_team=float(cap))
    except LiteLLMError as exc:
        state = TeamSyncState.PENDING if isinstance(exc, LiteLLMUnavailable) else TeamSyncState.ERROR
        Team.objects.filter(pk=team.pk).update(litellm_sync_state=state, litellm_last_error=exc.message[:2000])
        raise
    waiting = outbox_has_waiting(object_type="team", object_id=team.pk, operations=("team.sync",))
    Team.objects.filter(pk=team.pk).update(
        litellm_sync_state=TeamSyncState.PENDING if waiting else TeamSyncState.SYNCED, litellm_last_error="",
        litellm_synced_at=timezone.now(), budget_reset_at=info.budget_reset_at)
    team.refresh_from_db()
    return team


def team_adopt_litellm_values(*, team_id: Any, actor: Any, values: dict[str, Any],
                              request: HttpRequest | None = None) -> dict[str, str]:
    """Take values edited directly in LiteLLM into the portal team (the reconciler's ``litellm_wins``).

    ``values`` maps the reconciler's field names to LiteLLM's values: ``max_budget``, ``budget_duration``,
    ``tpm_limit``, ``rpm_limit``, ``team_alias`` (→ name), ``models`` (→ allowed_models). Nothing is sent to
    LiteLLM (it has these values already). What cannot be adopted (a name another active team has, an empty
    name, models missing from the catalogue, a budget below the team's soft budget, unknown fields) is left
    as it is and returned as ``{field: reason}``; the rest is saved and audited (``team.limits_adopted``).
    Raises ``NotFoundError`` (no such team). Idempotent.
    """
    from litemaas.exceptions import NotFoundError

    skipped: dict[str, str] = {}
    wanted: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        team = Team.objects.select_for_update().filter(pk=team_id).first()
        if team is None:
            raise NotFoundError(_("No such team."))
        for name, value in values.items():
            if name in ("max_budget", "tpm_limit", "rpm_limit", "budget_duration"):
                cleaned = clean_limits({name: value}, errors)
                if name in errors:
                    skipped[name] = "; ".join(str(e) for e in errors.pop(name))
                else:
                    wanted[name] = cleaned[name]
            elif name == "team_alias":
                alias = (value or "").strip()
                if team.is_default and alias != team.name:
                    skipped[name] = "the Default Team keeps its name"
                elif not alias or len(alias) > 100:
                    skipped[name] = "not a valid team name"
                elif Team.objects.filter(status=TeamStatus.ACTIVE, name__iexact=alias).exclude(pk=team.pk).exists():
                    skipped[name] = "another active team has this name"
                else:
                    wanted["name"] = alias
            elif name == "models":
                models = sorted(set(value or []))
                _check_models(models, errors)
                if errors.pop("allowed_models", None):
                    skipped[name] = "models missing from the catalogue"
                else:
                    wanted["allowed_models"] = models
            else:
                skipped[name] = "not adopted from LiteLLM"
        budget = wanted.get("max_budget", team.max_budget)
        if "max_budget" in wanted and budget is not None and team.soft_budget is not None \
                and team.soft_budget > budget:
            skipped["max_budget"] = "below the team's soft budget"
            wanted.pop("max_budget")
        changes = {k: v for k, v in wanted.items() if getattr(team, k) != v}
        if changes:
            for name, value in changes.items():
                setattr(team, name, value)
            team.updated_at = timezone.now()
            team.save(update_fields=[*changes, "updated_at"])
            audit_record(action="team.limits_adopted", actor=actor, target_type="team", target_id=team.pk,
                         metadata={"changes": _audit_limits(changes), "skipped": skipped, "source": "litellm"},
                         request=request)
    return skipped


# ---------------------------------------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------------------------------------
def _queue_member_change(team: Team, user_id: Any, operation: str, *, deliver: bool = True) -> Any:
    """Queue ``team.member_add``/``team.member_delete`` (call inside the membership's transaction); returns
    the outbox entry, or None for the Default Team."""
    if team.is_default:
        return None  # integrations.ensure_litellm_user puts every LiteLLM user in the Default Team
    from integrations.outbox import outbox_enqueue

    return outbox_enqueue(object_type="team", object_id=team.pk, operation=operation,
                          payload={"user_id": str(user_id)}, deliver=deliver)


def _queue_member_cap(team: Team, user_id: Any) -> Any:
    """Queue ``team.member_cap`` (call inside the membership's transaction): LiteLLM gets the member's
    current cap as ``max_budget_in_team`` and enforces it on the member's keys charged to the team."""
    from integrations.outbox import outbox_enqueue

    return outbox_enqueue(object_type="team", object_id=team.pk, operation="team.member_cap",
                          payload={"user_id": str(user_id)})


def team_member_add(*, team: Team, user: User, actor: Any, role: str = TeamRole.MEMBER, max_budget: Any = None,
                    source: str = MembershipSource.MANUAL, request: HttpRequest | None = None) -> Membership:
    """Add ``user`` to ``team``; LiteLLM's ``/team/member_add`` (and, with a cap, ``/team/member_update``)
    is queued in the outbox in the same transaction. The team's owners/admins and portal admins may add;
    only owners and portal admins may add an owner.

    Raises ``PermissionDeniedError``, ``ValidationFailed``, ``InvalidTransition`` (archived team),
    ``ConflictError`` (already a member). Not idempotent (a second call is a 409).
    """
    _require_active(team)
    if actor is not None:
        _require_manage(team, actor)
        _check_role_grant(team, actor, role)
    errors: dict[str, list[str]] = {}
    if role not in TeamRole.values:
        errors["role"] = [_("Choose owner, admin or member.")]
    cap = _decimal(max_budget, "max_budget", errors)
    if not user.is_active:
        errors.setdefault("user", []).append(_("This user is deactivated."))
    _raise_if(errors)
    if Membership.objects.filter(team=team, user=user).exists():
        raise ConflictError(_("%(u)s is already a member.") % {"u": user.username}, code="already_member")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(team=team, user=user, role=role, max_budget=cap, source=source)
            _queue_member_change(team, user.pk, "team.member_add")
            if cap is not None:
                _queue_member_cap(team, user.pk)
            audit_record(action="team.member_add", actor=actor, target_type="team", target_id=team.pk,
                         metadata={"user": str(user.pk), "username": user.username, "role": role,
                                   "source": source, "max_budget": None if cap is None else str(cap)},
                         request=request)
    except IntegrityError:
        raise ConflictError(_("%(u)s is already a member.") % {"u": user.username}, code="already_member") from None
    return membership


def _check_role_grant(team: Team, actor: Any, role: str) -> None:
    if role == TeamRole.OWNER and not getattr(actor, "is_admin", False):
        mine = _membership(team, actor)
        if mine is None or mine.role != TeamRole.OWNER:
            raise PermissionDeniedError(_("Only owners can make someone an owner."), code="owner_required")


def team_member_update(*, membership: Membership, actor: Any, role: Any = UNSET, max_budget: Any = UNSET,
                       request: HttpRequest | None = None) -> Membership:
    """Change a member's role (portal only: LiteLLM roles stay ``user``) and/or per-member cap.

    The cap may not fall below what the member's live keys charged to the team already reserve
    (their max budgets). A changed cap also goes to LiteLLM (``team.member_cap`` queued in the same
    transaction: ``/team/member_update`` ``max_budget_in_team``, which LiteLLM enforces on the member's
    spend in the team). The last owner cannot be demoted. Raises ``PermissionDeniedError``,
    ``ValidationFailed``, ``InvalidTransition``. Idempotent.
    """
    team = membership.team
    _require_active(team)
    _require_manage(team, actor)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if role is not UNSET and role != membership.role:
        if role not in TeamRole.values:
            errors["role"] = [_("Choose owner, admin or member.")]
        else:
            _check_role_grant(team, actor, role)
            if membership.role == TeamRole.OWNER and role != TeamRole.OWNER:
                _check_role_grant(team, actor, TeamRole.OWNER)
                _keep_an_owner(membership)
            changes["role"] = role
    if max_budget is not UNSET:
        cap = _decimal(max_budget, "max_budget", errors)
        if cap != membership.max_budget:
            reserved = member_reserved_budget(team_id=team.pk, user_id=membership.user_id)
            if cap is not None and reserved > cap:
                errors.setdefault("max_budget", []).append(
                    _("The member's keys charged to this team already reserve %(r)s; lower their budgets first.")
                    % {"r": reserved})
            changes["max_budget"] = cap
    _raise_if(errors)
    if not changes:
        return membership
    with transaction.atomic():
        for name, value in changes.items():
            setattr(membership, name, value)
        membership.save(update_fields=list(changes))
        if "max_budget" in changes:
            _queue_member_cap(team, membership.user_id)
        audit_record(action="team.member_update", actor=actor, target_type="team", target_id=team.pk,
                     metadata={"user": str(membership.user_id), **_audit_limits(changes)}, request=request)
    return membership


def _keep_an_owner(membership: Membership) -> None:
    others = Membership.objects.filter(team=membership.team, role=TeamRole.OWNER).exclude(pk=membership.pk)
    if not membership.team.is_default and not others.exists():
        raise InvalidTransition(_("A team needs an owner; make someone else owner first."), code="last_owner")


def team_member_remove(*, membership: Membership, actor: Any, request: HttpRequest | None = None,
                       reason: str = "manual") -> None:
    """Remove a member; LiteLLM's ``/team/member_delete`` is queued in the outbox in the same transaction.
    Not from the Default Team; not the last owner; not while the member has live keys charged to the team
    (``ConflictError``). Members may leave on their own (``actor`` = the member). Raises
    ``PermissionDeniedError``, ``InvalidTransition``, ``ConflictError``. Idempotent in LiteLLM; the portal
    row is gone after it."""
    team = membership.team
    if team.is_default:
        raise InvalidTransition(_("Everyone stays in the Default Team."), code="default_team")
    if actor is not None and getattr(actor, "pk", None) != membership.user_id:
        _require_manage(team, actor)
        if membership.role == TeamRole.OWNER:
            _check_role_grant(team, actor, TeamRole.OWNER)
    if membership.role == TeamRole.OWNER:
        _keep_an_owner(membership)
    from apikeys.models import ApiKey

    live = ApiKey.objects.filter(team=team, user_id=membership.user_id, status__in=LIVE_KEY_STATUSES,
                                 deleted_at__isnull=True).count()
    if live:
        raise ConflictError(_("This member still has %(n)d keys charged to the team; revoke them first.")
                            % {"n": live}, code="member_has_keys")
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).delete()
        _queue_member_change(team, membership.user_id, "team.member_delete")
        audit_record(action="team.member_remove", actor=actor, target_type="team", target_id=team.pk,
                     metadata={"user": str(membership.user_id), "reason": reason}, request=request)


def team_ensure_default_membership(*, user: User) -> bool:
    """Make ``user`` a member of the Default Team (portal side; LiteLLM's is done by user provisioning).
    Returns True when the membership was created now. Idempotent."""
    _, created = Membership.objects.get_or_create(
        team_id=DEFAULT_TEAM_ID, user=user, defaults={"role": TeamRole.MEMBER, "source": MembershipSource.DEFAULT})
    return created


def team_memberships_apply_groups(*, user: User) -> dict[str, int]:
    """Apply the IdP group → team mappings to ``user`` (from ``user.groups_from_idp``): join every mapped
    team, leave teams joined through a mapping whose group the user left (manual memberships stay).
    A team the user still has live keys in is kept (logged). LiteLLM errors skip that team (next login
    retries). Returns counts. Never raises for LiteLLM errors.
    """
    groups = set(user.groups_from_idp or [])
    wanted: dict[Any, str] = {}
    for mapping in TeamGroupMapping.objects.filter(group__in=groups, team__status=TeamStatus.ACTIVE):
        # The strongest role any of the user's groups gives.
        order = [TeamRole.MEMBER, TeamRole.ADMIN, TeamRole.OWNER]
        if mapping.team_id not in wanted or order.index(mapping.role) > order.index(wanted[mapping.team_id]):
            wanted[mapping.team_id] = mapping.role
    counts = {"joined": 0, "left": 0, "failed": 0}
    current = {m.team_id: m for m in Membership.objects.filter(user=user).select_related("team")}
    for team_id, role in wanted.items():
        if team_id in current:
            continue
        try:
            team_member_add(team=Team.objects.get(pk=team_id), user=user, actor=None, role=role,
                            source=MembershipSource.IDP_GROUP)
            counts["joined"] += 1
        except (LiteLLMError, ConflictError) as exc:
            logger.warning("could not add %s to team %s from IdP groups: %s", user.pk, team_id, exc.code)
            counts["failed"] += 1
    for team_id, membership in current.items():
        if membership.source != MembershipSource.IDP_GROUP or team_id in wanted:
            continue
        try:
            team_member_remove(membership=membership, actor=None, reason="idp_group_left")
            counts["left"] += 1
        except (LiteLLMError, ConflictError, InvalidTransition) as exc:
            logger.warning("could not remove %s from team %s after leaving its group: %s", user.pk, team_id,
                           exc.code)
            counts["failed"] += 1
    return counts


def team_memberships_apply_at_login(*, user: User) -> None:
    """The teams part of every login: Default Team membership (first login: also the new-user limits,
    before the LiteLLM user is created) and the IdP group mappings. Never raises: login must succeed."""
    try:
        if team_ensure_default_membership(user=user):
            from accounts.limit_services import user_apply_new_user_defaults

            user_apply_new_user_defaults(user=user)
        team_memberships_apply_groups(user=user)
    except Exception:  # noqa: BLE001 - a teams problem must never block a login
        logger.exception("teams: login hook failed for user %s", getattr(user, "pk", None))


def team_group_mapping_create(*, actor: Any, group: str, team: Team, role: str = TeamRole.MEMBER,
                              request: HttpRequest | None = None) -> TeamGroupMapping:
    """Map an IdP group to a team (portal admins); applied at each member's next login.
    Raises ``PermissionDeniedError``, ``ValidationFailed``, ``ConflictError``. Not idempotent (409)."""
    _require_admin(actor)
    group = (group or "").strip()
    errors: dict[str, list[str]] = {}
    if not group:
        errors["group"] = [_("A group name is required.")]
    if role not in TeamRole.values:
        errors["role"] = [_("Choose owner, admin or member.")]
    if team.is_default:
        errors["team"] = [_("Everyone is in the Default Team already.")]
    _raise_if(errors)
    try:
        with transaction.atomic():
            mapping = TeamGroupMapping.objects.create(group=group, team=team, role=role)
            audit_record(action="team.group_mapping_create", actor=actor, target_type="team", target_id=team.pk,
                         metadata={"group": group, "role": role}, request=request)
    except IntegrityError:
        raise ConflictError(_("This group is already mapped to this team.")) from None
    return mapping


def team_group_mapping_delete(*, actor: Any, mapping: TeamGroupMapping, request: HttpRequest | None = None) -> None:
    """Remove a mapping (portal admins); members leave at their next login. Idempotent."""
    _require_admin(actor)
    with transaction.atomic():
        TeamGroupMapping.objects.filter(pk=mapping.pk).delete()
        audit_record(action="team.group_mapping_delete", actor=actor, target_type="team",
                     target_id=mapping.team_id, metadata={"group": mapping.group}, request=request)


# ---------------------------------------------------------------------------------------------------------
# Keys charged to a team (used by apikeys.services)
# ---------------------------------------------------------------------------------------------------------
def member_reserved_budget(*, team_id: Any, user_id: Any, exclude_key_id: Any = None) -> Decimal:
    """Sum of the max budgets of the member's live keys charged to the team. Read-only."""
    from apikeys.models import ApiKey

    qs = ApiKey.objects.filter(team_id=team_id, user_id=user_id, status__in=LIVE_KEY_STATUSES,
                               deleted_at__isnull=True)
    if exclude_key_id is not None:
        qs = qs.exclude(pk=exclude_key_id)
    return qs.aggregate(total=Sum("max_budget"))["total"] or Decimal(0)


def team_check_key_charge(*, user: Any, team_id: Any, max_budget: Decimal | None,
                          exclude_key_id: Any = None) -> Team:
    """Check that a key of ``user`` with ``max_budget`` may be charged to team ``team_id``: the user is a
    member of the active team, and with a per-member cap the key needs a budget that fits in what the
    member's other team keys leave. Returns the team. Raises ``ValidationFailed`` (field ``team_id``).
    Read-only."""
    membership = (Membership.objects.select_related("team")
                  .filter(team_id=team_id, user=user, team__status=TeamStatus.ACTIVE).first())
    if membership is None:
        raise ValidationFailed(_("You are not a member of this team."),
                               details={"fields": {"team_id": [_("Choose one of your teams.")]}})
    if membership.max_budget is not None:
        left = membership.max_budget - member_reserved_budget(team_id=team_id, user_id=user.pk,
                                                             exclude_key_id=exclude_key_id)
        if max_budget is None or max_budget > left:
            message = _("Your cap in this team leaves %(left)s for this key; give the key a budget of at most that.") \
                % {"left": max(left, Decimal(0)).quantize(Decimal("0.01"))}
            raise ValidationFailed(message, details={"fields": {"max_budget": [message]}})
    return membership.team


# ---------------------------------------------------------------------------------------------------------
# User limits (admin), bulk limits, spend resets
# ---------------------------------------------------------------------------------------------------------
def user_limits_update(*, user: User, actor: Any, values: dict[str, Any],
                       request: HttpRequest | None = None) -> User:
    """Set a user's budget/limits (portal admins): saved on the row, the user marked pending and a
    ``user.sync`` outbox entry queued in the same transaction (``accounts.limit_services.user_set_limits``);
    after commit the outbox pushes the limits to LiteLLM (creating the LiteLLM user if missing) and marks
    the user synced. LiteLLM down: the change stays saved and pending until the sweep delivers it.

    ``values`` holds any of max_budget, budget_duration, tpm_limit, rpm_limit (``None`` = no limit).
    Raises ``PermissionDeniedError``, ``ValidationFailed``. Idempotent.
    """
    from accounts.limit_services import user_set_limits

    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    unknown = set(values) - {"max_budget", "budget_duration", "tpm_limit", "rpm_limit"}
    for name in unknown:
        errors[name] = [_("Not a user limit.")]
    clean = clean_limits({k: v for k, v in values.items() if k not in unknown}, errors)
    _raise_if(errors)
    changes = {k: v for k, v in clean.items() if getattr(user, k) != v}
    if not changes:
        return user
    user_set_limits(user=user, values=changes, actor=actor, request=request)
    return user


@dataclass
class BulkLimitsResult:
    """Per-user outcome of a bulk limits change: saved (``updated``), ``unchanged`` or ``failed``, and for
    each saved user where its LiteLLM sync stands (``synced``, ``pending`` or ``error``)."""

    total: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    sync: dict[str, int] = field(default_factory=lambda: {"synced": 0, "pending": 0, "error": 0})
    results: list[dict[str, Any]] = field(default_factory=list)


def users_bulk_limits(*, actor: Any, values: dict[str, Any], request: HttpRequest | None = None) -> BulkLimitsResult:
    """Apply the same limits to every active user, one user at a time (``user_limits_update``: saved, then
    pushed to LiteLLM by the outbox after each commit), and report each outcome with the user's LiteLLM sync
    state at that point (``synced``, or ``pending`` while LiteLLM is down or the worker has not delivered it
    yet: the sweep does). Portal admins only. Idempotent.
    Raises ``PermissionDeniedError``, ``ValidationFailed`` (before touching anyone).
    """
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    if not values:
        errors["non_field_errors"] = [_("Give at least one limit.")]
    unknown = set(values) - {"max_budget", "budget_duration", "tpm_limit", "rpm_limit"}
    for name in unknown:
        errors[name] = [_("Not a user limit.")]
    clean = clean_limits({k: v for k, v in values.items() if k not in unknown}, errors)
    _raise_if(errors)
    result = BulkLimitsResult()
    for user in User.objects.filter(is_active=True).order_by("username").iterator(chunk_size=500):
        result.total += 1
        row = {"user_id": str(user.pk), "username": user.username}
        if all(getattr(user, k) == v for k, v in clean.items()):
            result.unchanged += 1
            result.results.append({**row, "status": "unchanged"})
            continue
        try:
            user_limits_update(user=user, actor=actor, values=clean, request=request)
        except User.DoesNotExist:  # deleted meanwhile
            result.failed += 1
            result.results.append({**row, "status": "failed", "error": "not_found", "message": "User deleted."})
            continue
        state = User.objects.filter(pk=user.pk).values_list("litellm_sync_state", flat=True).first() or "pending"
        result.updated += 1
        result.sync[state] = result.sync.get(state, 0) + 1
        result.results.append({**row, "status": "updated", "litellm_sync_state": state})
    audit_record(action="user.bulk_limits", actor=actor, target_type="user", target_id="",
                 metadata={"values": _audit_limits(clean), "total": result.total, "updated": result.updated,
                           "failed": result.failed, "litellm_sync": result.sync}, request=request)
    return result


def period_start_of(*, reset_at: datetime | None, duration: str | None) -> datetime:
    """Start of the budget period LiteLLM is in: its next reset minus the duration, or the epoch for a
    budget that never resets. Pure."""
    from usage.forecast import parse_budget_duration

    delta = parse_budget_duration(duration)
    if reset_at is None or delta is None:
        return EPOCH
    start = reset_at - delta
    return start.replace(microsecond=0)


def alerts_rearm(*, target_type: str, target_id: Any) -> int:
    """Re-arm a target's budget alerts after its spend was reset: drop the claims of its latest period, so
    the next run alerts again as spend climbs. Returns how many claims were dropped. Idempotent."""
    latest = (BudgetAlert.objects.filter(target_type=target_type, target_id=str(target_id))
              .order_by("-period_start").values_list("period_start", flat=True).first())
    if latest is None:
        return 0
    deleted, _ = BudgetAlert.objects.filter(target_type=target_type, target_id=str(target_id),
                                            period_start=latest).delete()
    return deleted


def user_reset_spend(*, user: User, actor: Any, request: HttpRequest | None = None) -> None:
    """Set the user's LiteLLM spend to 0 (portal admins) and re-arm their budget alerts for the period.
    Raises ``PermissionDeniedError``, ``LiteLLMUnavailable`` (503), ``LiteLLMRejected``. Idempotent."""
    _require_admin(actor)
    _client().user_reset_spend(str(user.pk))
    with transaction.atomic():
        alerts_rearm(target_type="user", target_id=user.pk)
        audit_record(action="user.reset_spend", actor=actor, target_type="user", target_id=user.pk,
                     metadata={"username": user.username}, request=request)
    _forget_spend("user", user.pk)


# LiteLLM 1.103.7 cannot reset one team's spend: /team/update ignores ``spend`` (and ``budget_reset_at``),
# there is no /team/{id}/reset_spend, /global/spend/reset zeroes every key and team at once, and
# /team/{id}/member/{user}/reset_spend only resets a member's share (docs/litellm-contract-notes.md). Pages
# hide the button while this is False; the service still asks LiteLLM, so a proxy that learns it just works.
TEAM_SPEND_RESET_SUPPORTED = False


def team_reset_spend(*, team: Team, actor: Any, request: HttpRequest | None = None) -> Team:
    """Set the team's LiteLLM spend to 0 (portal admins) and re-arm its alerts.

    The client asks LiteLLM and reads the team back; LiteLLM 1.103.7 leaves the spend as it was (see
    ``TEAM_SPEND_RESET_SUPPORTED``), which is answered as ``ConflictError`` 409 ``team_spend_reset_unsupported``:
    LiteLLM did not fail (so not 502) and the request is well-formed (so not 422), but the proxy's current
    state cannot honour it; nothing changed, and the spend resets by itself at the end of the team's budget
    period. A team at 0 already succeeds. Raises ``PermissionDeniedError``, ``ConflictError``,
    ``LiteLLMUnavailable`` (503), ``LiteLLMRejected`` (502). Idempotent."""
    from integrations.litellm.errors import LiteLLMRejected

    _require_admin(actor)
    try:
        _client().team_reset_spend(str(team.pk))
    except LiteLLMRejected as exc:
        if exc.code != "team_spend_reset_unsupported":
            raise
        raise ConflictError(
            _("LiteLLM cannot reset a team's spend (it has no such call); nothing was changed. The spend resets "
              "at the end of the team's budget period."),
            code="team_spend_reset_unsupported",
            details={"budget_reset_at": team.budget_reset_at.isoformat() if team.budget_reset_at else None},
        ) from None
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(spend=Decimal(0), spend_synced_at=timezone.now())
        alerts_rearm(target_type="team", target_id=team.pk)
        audit_record(action="team.reset_spend", actor=actor, target_type="team", target_id=team.pk,
                     metadata={"name": team.name}, request=request)
    _forget_spend("team", team.pk)
    team.refresh_from_db()
    return team


def _forget_spend(kind: str, object_id: Any) -> None:
    from django.core.cache import cache

    try:
        cache.delete(f"teams:spend:{kind}:{object_id}")
    except Exception:  # noqa: BLE001 - only a cache
        logger.debug("cache unavailable")


def admin_user_update(*, user: User, actor: Any, values: dict[str, Any], request: HttpRequest | None = None) -> User:
    """The admin user page/API write: role (``accounts.admin_services.user_set_role``), active state
    (``accounts.services.user_deactivate``/``user_activate``) and limits (``user_limits_update``), each
    through its own service. Portal admins only. Raises what those raise. Idempotent."""
    from accounts.admin_services import user_set_role
    from accounts.services import user_activate, user_deactivate

    _require_admin(actor)
    values = dict(values)
    limits = {k: values.pop(k) for k in ("max_budget", "budget_duration", "tpm_limit", "rpm_limit") if k in values}
    if limits:
        user_limits_update(user=user, actor=actor, values=limits, request=request)
    if "role" in values:
        user = user_set_role(user=user, role=values["role"], actor=actor, request=request)
    if "is_active" in values:
        if values["is_active"]:
            user = user_activate(user=user, actor=actor, request=request)
        else:
            user = user_deactivate(user=user, actor=actor, request=request)
    user.refresh_from_db()
    return user
