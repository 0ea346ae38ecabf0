"""Read operations of ``teams``: querysets already scoped to the acting user, effective limits, runway.

Another team's data is a 404 (``NotFoundError``) for anyone who is neither a member nor a (read-only)
portal admin.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from litemaas.exceptions import NotFoundError
from teams.models import BudgetAlert, Membership, Team, TeamGroupMapping, TeamStatus
from usage import forecast

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------------
# Teams and memberships
# ---------------------------------------------------------------------------------------------------------
def team_list_for_user(*, user: Any) -> QuerySet[Team]:
    """The active teams ``user`` belongs to, with member counts."""
    return (Team.objects.filter(status=TeamStatus.ACTIVE, memberships__user=user)
            .annotate(member_count=Count("memberships", distinct=True)).order_by("name"))


def team_list_for_admin(*, actor: Any, search: str = "", status: str = "") -> QuerySet[Team]:
    """Every team (read-only admins and admins), optionally filtered; 404 for anyone else."""
    if not getattr(actor, "is_readonly_admin", False):
        raise NotFoundError()
    qs = Team.objects.annotate(member_count=Count("memberships", distinct=True)).order_by("name")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if status in TeamStatus.values:
        qs = qs.filter(status=status)
    return qs


def get_team_for_user(*, user: Any, team_id: Any) -> Team:
    """The team if ``user`` is a member (active teams) or a (read-only) portal admin; else NotFoundError."""
    qs = Team.objects.all()
    if not getattr(user, "is_readonly_admin", False):
        qs = qs.filter(status=TeamStatus.ACTIVE, memberships__user=user)
    try:
        return qs.distinct().get(pk=team_id)
    except (Team.DoesNotExist, ValueError, DjangoValidationError):
        raise NotFoundError() from None


def membership_list(*, team: Team) -> QuerySet[Membership]:
    """The members of a team (already authorised through ``get_team_for_user``)."""
    return Membership.objects.filter(team=team).select_related("user").order_by("role", "user__username")


def get_membership_for_user(*, user: Any, team: Team, member_user_id: Any) -> Membership:
    """One membership of a team the actor can see; NotFoundError otherwise."""
    try:
        return Membership.objects.select_related("user", "team").get(team=team, user_id=member_user_id)
    except (Membership.DoesNotExist, ValueError, DjangoValidationError):
        raise NotFoundError() from None


def membership_of(*, team: Team, user: Any) -> Membership | None:
    return Membership.objects.filter(team=team, user=user).first() if getattr(user, "is_authenticated", False) else None


def team_choices_for_user(*, user: Any) -> list[Team]:
    """Teams a key of ``user`` may be charged to (active teams they belong to)."""
    return list(Team.objects.filter(status=TeamStatus.ACTIVE, memberships__user=user).order_by("name"))


def group_mapping_list(*, team: Team | None = None) -> QuerySet[TeamGroupMapping]:
    qs = TeamGroupMapping.objects.select_related("team")
    return qs.filter(team=team) if team is not None else qs


def team_keys(*, team: Team) -> QuerySet:
    """Keys charged to the team (any state but deleted), with owners."""
    from apikeys.models import ApiKey

    return ApiKey.objects.filter(team=team, deleted_at__isnull=True).select_related("user").order_by("-created_at")


# ---------------------------------------------------------------------------------------------------------
# Users (admin)
# ---------------------------------------------------------------------------------------------------------
def user_list_for_admin(*, actor: Any, search: str = "", role: str = "", status: str = "") -> QuerySet[User]:
    """Users for the admin list: search in name/e-mail/full name, filter by role and active/inactive."""
    if not getattr(actor, "is_readonly_admin", False):
        raise NotFoundError()
    qs = User.objects.all().order_by("username")
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(email__icontains=search) | Q(full_name__icontains=search))
    if role:
        qs = qs.filter(role=role)
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    return qs


def user_get_for_admin(*, actor: Any, user_id: Any) -> User:
    if not getattr(actor, "is_readonly_admin", False):
        raise NotFoundError()
    try:
        return User.objects.get(pk=user_id)
    except (User.DoesNotExist, ValueError, DjangoValidationError):
        raise NotFoundError() from None


# ---------------------------------------------------------------------------------------------------------
# Live spend (LiteLLM, cached briefly)
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spend:
    spend: Decimal | None
    reset_at: datetime | None
    budget_duration: str | None
    source: str  # "litellm" or "unavailable"


def live_spend(*, kind: str, object_id: Any) -> Spend:
    """LiteLLM's current spend of a user or team (``/user/info``, ``/team/info``), cached for
    ``TEAM_SPEND_CACHE_SECONDS``. Never raises for an outage (``source="unavailable"``)."""
    from integrations.litellm.client import get_litellm_client
    from integrations.litellm.errors import LiteLLMError

    cache_key = f"teams:spend:{kind}:{object_id}"
    cached = cache.get(cache_key)
    if cached is not None:
        return Spend(**cached)
    try:
        client = get_litellm_client()
        info = client.user_get(str(object_id)) if kind == "user" else client.team_get(str(object_id))
    except LiteLLMError as exc:
        logger.info("live spend of %s %s unavailable: %s", kind, object_id, exc.code)
        return Spend(None, None, None, "unavailable")
    if info is None:
        result = Spend(Decimal(0), None, None, "litellm")
    else:
        result = Spend(Decimal(str(info.spend or 0)), info.budget_reset_at, info.budget_duration, "litellm")
    cache.set(cache_key, asdict(result), settings.TEAM_SPEND_CACHE_SECONDS)
    return result


# ---------------------------------------------------------------------------------------------------------
# Runway
# ---------------------------------------------------------------------------------------------------------
def trailing_rates(*, kind: str, ids: list[Any] | None = None, now: datetime | None = None,
                   days: int | None = None) -> dict[str, Decimal]:
    """Average daily spend over the last ``days`` complete UTC days (``BUDGET_ALERT_RUNWAY_DAYS``) per key,
    user or team id, from the ingested facts, in one grouped query (``ids=None`` = every target)."""
    from usage.models import DailyUsage

    days = days or settings.BUDGET_ALERT_RUNWAY_DAYS
    now = now or timezone.now()
    today = now.astimezone(timezone.get_fixed_timezone(0)).date()
    column = {"key": "key_id", "user": "user_id", "team": "team_id"}[kind]
    qs = DailyUsage.objects.filter(date__gte=today - timedelta(days=days), date__lt=today,
                                   **{f"{column}__isnull": False})
    if ids is not None:
        qs = qs.filter(**{f"{column}__in": ids})
    rows = qs.values(column).annotate(total=Sum("spend")).order_by().values_list(column, "total")
    return {str(obj_id): Decimal(total or 0) / Decimal(days) for obj_id, total in rows}


def runway_for(*, kind: str, object_id: Any, spend: Decimal | None, max_budget: Decimal | None,
               reset_at: datetime | None, now: datetime | None = None) -> forecast.Runway | None:
    """The runway of one budget at the trailing rate (None when spend is unknown)."""
    if spend is None:
        return None
    now = now or timezone.now()
    rate = trailing_rates(kind=kind, ids=[object_id], now=now).get(str(object_id), Decimal(0))
    return forecast.runway(spend=spend, max_budget=max_budget, daily_rate=rate, now=now, reset_at=reset_at)


# ---------------------------------------------------------------------------------------------------------
# Effective limits of a key
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LimitLevel:
    """One level of the budget hierarchy as it applies to a key."""

    level: str  # key, member, team, user
    label: str
    max_budget: Decimal | None
    spend: Decimal | None
    tpm_limit: int | None
    rpm_limit: int | None
    enforced_by: str  # "litellm" or "portal"

    @property
    def remaining(self) -> Decimal | None:
        if self.max_budget is None:
            return None
        return max(self.max_budget - (self.spend or Decimal(0)), Decimal(0))


@dataclass(frozen=True)
class EffectiveLimits:
    levels: list[LimitLevel]
    remaining_budget: Decimal | None
    budget_level: str | None
    tpm_limit: int | None
    tpm_level: str | None
    rpm_limit: int | None
    rpm_level: str | None
    notes: list[str]


def compute_effective_limits(levels: list[LimitLevel]) -> EffectiveLimits:
    """The tightest of the levels: least remaining budget, lowest TPM and RPM, and which level binds.
    A level without a limit does not bind; ``None`` overall means "no limit". Pure."""
    remaining, budget_level = None, None
    for lv in levels:
        if lv.remaining is not None and (remaining is None or lv.remaining < remaining):
            remaining, budget_level = lv.remaining, lv.level
    result: dict[str, Any] = {}
    for name in ("tpm_limit", "rpm_limit"):
        best, where = None, None
        for lv in levels:
            value = getattr(lv, name)
            if value is not None and (best is None or value < best):
                best, where = value, lv.level
        result[name], result[name.replace("_limit", "_level")] = best, where
    return EffectiveLimits(levels=levels, remaining_budget=remaining, budget_level=budget_level, notes=[],
                           **result)


def effective_limits_for_key(*, key: Any) -> EffectiveLimits:
    """The key's limits at each level (key, member cap, team, user) and the tightest, with live spend where
    LiteLLM answers (else the last known). The per-member cap is the portal's (it bounds the budgets of the
    member's keys charged to the team); the rest LiteLLM enforces."""
    key_spend = key.spend if key.spend is not None else None
    levels = [LimitLevel("key", "Key", key.max_budget, key_spend, key.tpm_limit, key.rpm_limit, "litellm")]
    notes: list[str] = []
    if key.team_id:
        team = key.team
        membership = Membership.objects.filter(team_id=key.team_id, user_id=key.user_id).first()
        if membership is not None and membership.max_budget is not None:
            from apikeys.models import ApiKey

            member_spend = (ApiKey.objects.filter(team_id=key.team_id, user_id=key.user_id, deleted_at__isnull=True)
                            .aggregate(s=Sum("spend"))["s"]) or Decimal(0)
            levels.append(LimitLevel("member", f"Your cap in {team.name}", membership.max_budget, member_spend,
                                     None, None, "portal"))
        team_spend = live_spend(kind="team", object_id=team.pk)
        levels.append(LimitLevel("team", f"Team {team.name}", team.max_budget,
                                 team_spend.spend if team_spend.spend is not None else team.spend,
                                 team.tpm_limit, team.rpm_limit, "litellm"))
        notes.append("LiteLLM charges this key to the team; your personal budget is shown for reference.")
    user = key.user
    user_spend = live_spend(kind="user", object_id=user.pk)
    levels.append(LimitLevel("user", "You", user.max_budget, user_spend.spend, user.tpm_limit, user.rpm_limit,
                             "litellm"))
    result = compute_effective_limits(levels)
    return EffectiveLimits(**{**result.__dict__, "notes": notes})


def apikey_get_for_effective_limits(*, user: Any, key_id: Any) -> Any:
    """The key for ``GET /api-keys/{id}/effective-limits``: the owner's (404 for anyone else's; read-only
    admins may read any)."""
    from apikeys.models import ApiKey

    qs = ApiKey.objects.select_related("user", "team").filter(deleted_at__isnull=True)
    if not getattr(user, "is_readonly_admin", False):
        qs = qs.filter(user=user)
    try:
        return qs.get(pk=key_id)
    except (ApiKey.DoesNotExist, ValueError, DjangoValidationError):
        raise NotFoundError() from None


def effective_limits_as_dict(limits: EffectiveLimits, *, runway: forecast.Runway | None = None) -> dict[str, Any]:
    """JSON-ready form (decimals as strings) for the API and templates."""
    def money(v: Decimal | None) -> str | None:
        return None if v is None else str(v.quantize(Decimal("0.0001")))

    data = {
        "levels": [{"level": lv.level, "label": lv.label, "max_budget": money(lv.max_budget),
                    "spend": money(lv.spend), "remaining": money(lv.remaining), "tpm_limit": lv.tpm_limit,
                    "rpm_limit": lv.rpm_limit, "enforced_by": lv.enforced_by,
                    "binding": lv.level in (limits.budget_level, limits.tpm_level, limits.rpm_level)}
                   for lv in limits.levels],
        "effective": {"remaining_budget": money(limits.remaining_budget), "budget_level": limits.budget_level,
                      "tpm_limit": limits.tpm_limit, "tpm_level": limits.tpm_level,
                      "rpm_limit": limits.rpm_limit, "rpm_level": limits.rpm_level},
        "notes": limits.notes,
    }
    if runway is not None:
        data["runway"] = runway_as_dict(runway)
    return data


def runway_as_dict(r: forecast.Runway | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"daily_rate": str(r.daily_rate.quantize(Decimal("0.0001"))),
            "remaining": None if r.remaining is None else str(r.remaining),
            "days_left": None if r.days_left is None else str(r.days_left),
            "exhausted_at": r.exhausted_at.isoformat() if r.exhausted_at else None,
            "exhausted": r.exhausted, "before_reset": r.before_reset}


def alert_list_for_target(*, target_type: str, target_id: Any, limit: int = 20) -> QuerySet[BudgetAlert]:
    return BudgetAlert.objects.filter(target_type=target_type, target_id=str(target_id))[:limit]
