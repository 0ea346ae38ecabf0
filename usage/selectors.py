"""Read operations of ``usage``: analytics as SQL aggregation over the facts and rollups, always scoped.

Every entry point takes the acting user. A normal user is always restricted to their own rows (the filter
is added here, not by the caller) and may only name their own keys; admins and read-only admins see the
platform, including the unattributed bucket. Days are UTC.

Which table answers (same column names everywhere, so the aggregation code is shared):

- ``DailyModelUsage`` (date, model) when no user, team or key filter applies: totals, daily series,
  per-model and per-provider figures of the platform view;
- ``DailyUserUsage`` (date, user, team) when no model, provider or key filter applies: active users and
  per-user / per-team figures;
- ``DailyUsage`` (the facts) otherwise, through its (user, date), (key, date), (team, date) and
  (model, date) indexes.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import DecimalField, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from litemaas.exceptions import ValidationFailed
from usage import forecast
from usage.models import DailyModelUsage, DailyUsage, DailyUserUsage, IngestedDay, UserUsageToDate
from usage.services import utc_today

UNATTRIBUTED = "unattributed"
INT_METRICS = ("requests", "successful_requests", "failed_requests", "prompt_tokens", "completion_tokens",
               "total_tokens")
METRICS = (*INT_METRICS, "spend")
TREND_METRICS = ("requests", "spend", "active_users", "total_tokens", "prompt_tokens", "completion_tokens")
STABLE_PERCENT = Decimal("1")  # |change| below this is "stable"
ZERO = Decimal(0)


# ---------------------------------------------------------------------------------------------------------
# Date ranges and filters
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateRange:
    """An inclusive range of UTC days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The period of equal length that ends the day before ``start``."""
        return DateRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def _parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise ValidationFailed(f"{name} must be a date written YYYY-MM-DD.", code="invalid_date",
                               details={"fields": {name: ["Use the format YYYY-MM-DD (a UTC day)."]}}) from None


def suggested_ranges(start: date, end: date, max_days: int) -> list[dict[str, str]]:
    """Consecutive sub-ranges of at most ``max_days`` days covering ``start``..``end``."""
    out = []
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + timedelta(days=max_days - 1))
        out.append({"start": cursor.isoformat(), "end": stop.isoformat()})
        cursor = stop + timedelta(days=1)
    return out


def parse_date_range(*, start: str | None, end: str | None, max_days: int, default_days: int = 30,
                     today: date | None = None) -> DateRange:
    """Validate ``start``/``end`` (YYYY-MM-DD, UTC). Missing both → the last ``default_days`` days up to today;
    missing one → 400. Raises ``ValidationFailed`` with codes ``invalid_date``, ``date_range_invalid`` or
    ``date_range_too_large`` (the latter with ``details.suggested_ranges``)."""
    today = today or utc_today()
    if not start and not end:
        return DateRange(today - timedelta(days=min(default_days, max_days) - 1), today)
    if not start or not end:
        missing = "start" if not start else "end"
        raise ValidationFailed("Give both start and end (YYYY-MM-DD).", code="date_range_invalid",
                               details={"fields": {missing: ["This field is required with the other one."]}})
    first, last = _parse_day(start, "start"), _parse_day(end, "end")
    if last < first:
        raise ValidationFailed("end must not be before start.", code="date_range_invalid",
                               details={"fields": {"end": ["Must be on or after start."]}})
    span = (last - first).days + 1
    if span > max_days:
        raise ValidationFailed(
            f"The range covers {span} days; at most {max_days} are allowed. Split it into the suggested ranges.",
            code="date_range_too_large",
            details={"fields": {"end": [f"At most {max_days} days from start."]}, "max_days": max_days,
                     "suggested_ranges": suggested_ranges(first, last, max_days)},
        )
    return DateRange(first, last)


def _uuid_list(values: Iterable[str], name: str, *, allow_unattributed: bool = False) -> tuple[Any, ...]:
    out: list[Any] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if allow_unattributed and value == UNATTRIBUTED:
            out.append(UNATTRIBUTED)
            continue
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            raise ValidationFailed(f"{name} must be a list of ids.", code="invalid_filter",
                                   details={"fields": {name: [f"{value!r} is not a valid id."]}}) from None
    return tuple(dict.fromkeys(out))


def split_list(values: Iterable[str] | str | None) -> list[str]:
    """Accept ``a,b`` and repeated parameters alike."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part for value in values for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class UsageFilters:
    """Validated filters, already scoped to the acting user (``scoped_user`` set for non-admins)."""

    range: DateRange
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    users: tuple[Any, ...] = ()  # UUIDs and/or UNATTRIBUTED
    teams: tuple[uuid.UUID, ...] = ()
    keys: tuple[uuid.UUID, ...] = ()
    scoped_user: Any = None
    is_admin_view: bool = False
    model_ids_of_providers: tuple[str, ...] | None = field(default=None, compare=False)

    @property
    def has_owner_filter(self) -> bool:
        return bool(self.users or self.teams or self.keys or self.scoped_user is not None)

    @property
    def has_model_filter(self) -> bool:
        return bool(self.models or self.providers)


def build_filters(*, actor: Any, start: str | None, end: str | None, models: Iterable[str] = (),
                  providers: Iterable[str] = (), users: Iterable[str] = (), teams: Iterable[str] = (),
                  api_keys: Iterable[str] = (), admin_view: bool = False, max_days: int | None = None) -> UsageFilters:
    """Validate the query parameters into ``UsageFilters`` for ``actor``.

    ``admin_view`` needs an admin or read-only admin (``PermissionError`` otherwise; views check first).
    Outside the admin view the data is the actor's own: users/teams filters are refused and every key id
    must be one of the actor's keys (any other id, even an existing one, is a 400). Raises ValidationFailed.
    """
    from apikeys.models import ApiKey
    from subscriptions.models import LlmModel

    if admin_view and not (getattr(actor, "is_admin", False) or getattr(actor, "is_readonly_admin", False)):
        raise PermissionError("admin view needs an admin role")
    date_range = parse_date_range(start=start, end=end, max_days=max_days or settings.USAGE_ANALYTICS_MAX_DAYS)
    key_ids = _uuid_list(split_list(api_keys), "api_keys")
    user_ids = _uuid_list(split_list(users), "users", allow_unattributed=True) if admin_view else ()
    team_ids = _uuid_list(split_list(teams), "teams") if admin_view else ()
    model_list = tuple(dict.fromkeys(m.strip() for m in split_list(models)))
    provider_list = tuple(dict.fromkeys(p.strip() for p in split_list(providers)))
    if not admin_view and key_ids:
        own = set(ApiKey._base_manager.filter(user_id=actor.pk, pk__in=key_ids).values_list("pk", flat=True))
        foreign = [str(k) for k in key_ids if k not in own]
        if foreign:
            raise ValidationFailed("Some keys are not yours.", code="invalid_filter",
                                   details={"fields": {"api_keys": [f"Unknown key: {k}" for k in foreign]}})
    provider_models = None
    if provider_list:
        provider_models = tuple(LlmModel.objects.filter(provider__in=provider_list).values_list("pk", flat=True))
    return UsageFilters(range=date_range, models=model_list, providers=provider_list, users=user_ids,
                        teams=team_ids, keys=key_ids, scoped_user=None if admin_view else actor,
                        is_admin_view=admin_view, model_ids_of_providers=provider_models)


def _model_q(f: UsageFilters) -> Q:
    q = Q()
    if f.models:
        q &= Q(model_id__in=f.models)
    if f.providers:
        q &= Q(model_id__in=f.model_ids_of_providers or ())
    return q


def _owner_q(f: UsageFilters) -> Q:
    q = Q()
    if f.scoped_user is not None:
        q &= Q(user_id=f.scoped_user.pk)
    if f.users:
        ids = [u for u in f.users if u != UNATTRIBUTED]
        user_q = Q(user_id__in=ids) if ids else Q(pk__in=[])
        if UNATTRIBUTED in f.users:
            user_q |= Q(user_id__isnull=True)
        q &= user_q
    if f.teams:
        q &= Q(team_id__in=f.teams)
    return q


def _range_q(r: DateRange) -> Q:
    return Q(date__gte=r.start, date__lte=r.end)


def facts_for(f: UsageFilters, date_range: DateRange | None = None) -> QuerySet[DailyUsage]:
    """The facts matching every filter (the scoping included)."""
    q = _range_q(date_range or f.range) & _model_q(f) & _owner_q(f)
    if f.keys:
        q &= Q(key_id__in=f.keys)
    return DailyUsage.objects.filter(q)


def _by_model_source(f: UsageFilters, date_range: DateRange) -> QuerySet:
    """Rows carrying (date, model_id) for these filters: the model rollup when no owner/key filter applies."""
    if not f.has_owner_filter:
        return DailyModelUsage.objects.filter(_range_q(date_range) & _model_q(f))
    return facts_for(f, date_range)


def _by_user_source(f: UsageFilters, date_range: DateRange) -> QuerySet:
    """Rows carrying (date, user_id, team_id): the user rollup when no model/provider/key filter applies."""
    if not (f.has_model_filter or f.keys):
        return DailyUserUsage.objects.filter(_range_q(date_range) & _owner_q(f))
    return facts_for(f, date_range)


def _sums() -> dict[str, Any]:
    out: dict[str, Any] = {name: Coalesce(Sum(name), 0) for name in INT_METRICS}
    out["spend"] = Coalesce(Sum("spend"), Value(ZERO), output_field=DecimalField(max_digits=24, decimal_places=10))
    return out


def _empty() -> dict[str, Any]:
    return {**{name: 0 for name in INT_METRICS}, "spend": ZERO}


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for name in METRICS:
        into[name] = into[name] + (row.get(name) or 0)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Normalise a metrics dict: Decimal spend, success rate."""
    row["spend"] = Decimal(row["spend"] or 0)
    requests = row["requests"] or 0
    row["success_rate"] = (round(row["successful_requests"] / requests * 100, 2) if requests else None)
    return row


def model_providers(model_ids: Iterable[str]) -> dict[str, str]:
    """Model id → provider from the catalogue (defect #31: the real provider, not a name-prefix guess);
    models no longer in the catalogue are "unknown"."""
    from subscriptions.models import LlmModel

    ids = set(model_ids)
    known = dict(LlmModel.objects.filter(pk__in=ids).values_list("pk", "provider"))
    return {m: (known.get(m) or "unknown") for m in ids}


def _to_date_usable(f: UsageFilters) -> bool:
    """The running-totals table answers per-user questions when only a user filter (or none) applies."""
    return (f.is_admin_view and f.scoped_user is None and not (f.has_model_filter or f.keys or f.teams)
            and UNATTRIBUTED not in f.users)


def _to_date_last() -> date | None:
    return UserUsageToDate.objects.aggregate(d=Max("date"))["d"]


def _per_user_sql(f: UsageFilters, date_range: DateRange, *, last: date, only_active: bool,
                  include_unattributed: bool) -> tuple[str, list[Any]]:
    from django.db import connection

    from accounts.models import User

    table, users = UserUsageToDate._meta.db_table, User._meta.db_table
    diff = ", ".join(f"e.{m} - COALESCE(s.{m}, 0) AS {m}" for m in METRICS)
    field = UserUsageToDate._meta.get_field("user_id")
    params: list[Any] = [date_range.start - timedelta(days=1), min(date_range.end, last)]
    where = "e.date = %s"
    if f.users:
        where += f" AND e.user_id IN ({', '.join(['%s'] * len(f.users))})"
        params += [field.get_db_prep_value(u, connection) for u in f.users]
    sql = (f"SELECT e.user_id AS user_id, u.username AS username, {diff} FROM {table} e "  # noqa: S608
           f"LEFT JOIN {table} s ON s.user_id = e.user_id AND s.date = %s "
           f"LEFT JOIN {users} u ON u.id = e.user_id WHERE {where}")
    if only_active:
        sql = f"SELECT * FROM ({sql}) a WHERE requests > 0"  # noqa: S608
    if include_unattributed:
        sums = ", ".join(f"SUM({m}) AS {m}" for m in METRICS)
        sql += (f" UNION ALL SELECT NULL AS user_id, NULL AS username, {sums} "  # noqa: S608
                f"FROM {DailyUserUsage._meta.db_table} WHERE user_id IS NULL AND date >= %s AND date <= %s "
                "HAVING SUM(requests) > 0")
        params += [date_range.start, date_range.end]
    return sql, params


def _row_from(names: list[str], values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(names, values, strict=True))
    row["user_id"] = uuid.UUID(str(row["user_id"])) if row["user_id"] is not None else None
    row["spend"] = Decimal(str(row["spend"] or 0)).quantize(Decimal("1e-10"))
    row.pop("username", None)
    return row


class PerUserSums(Sequence):
    """Per-user sums over a range from two snapshots of the running totals (see ``UserUsageToDate``):
    ``to_date(end) - to_date(start - 1)``, optionally with the unattributed bucket. A lazy sequence: ``len``
    is one COUNT query, a slice is one query with LIMIT/OFFSET, so a paginator reads only its page."""

    def __init__(self, f: UsageFilters, date_range: DateRange, *, order: str = "spend DESC",
                 only_active: bool = True, include_unattributed: bool = False) -> None:
        self.last = _to_date_last()
        self.empty = self.last is None or self.last < date_range.start
        if not self.empty:
            self.sql, self.params = _per_user_sql(f, date_range, last=self.last, only_active=only_active,
                                                  include_unattributed=include_unattributed)
        self.order = order
        self._len: int | None = None

    def __len__(self) -> int:
        from django.db import connection

        if self.empty:
            return 0
        if self._len is None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({self.sql}) t", self.params)  # noqa: S608
                self._len = cursor.fetchone()[0]
        return self._len

    def count(self, value: Any = None) -> int:  # Paginator prefers .count()
        return len(self)

    def fetch(self, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        from django.db import connection

        if self.empty:
            return []
        sql = f"SELECT * FROM ({self.sql}) t ORDER BY {self.order}, (user_id IS NULL), user_id"  # noqa: S608
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            names = [c[0] for c in cursor.description]
            return [_row_from(names, values) for values in cursor.fetchall()]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start = index.start or 0
            stop = index.stop if index.stop is not None else len(self)
            return self.fetch(offset=start, limit=max(0, stop - start))
        rows = self.fetch(offset=index, limit=1)
        if not rows:
            raise IndexError(index)
        return rows[0]


def _active_users(f: UsageFilters, date_range: DateRange) -> int:
    if _to_date_usable(f):
        return len(PerUserSums(f, date_range))
    return (_by_user_source(f, date_range).filter(user_id__isnull=False, requests__gt=0)
            .values("user_id").distinct().count())


def trend(current: Any, previous: Any) -> dict[str, Any]:
    """``{current, previous, percentage_change, direction}``; |change| < 1 % is "stable"; from 0 to more is
    "up" with no percentage."""
    cur, prev = Decimal(current or 0), Decimal(previous or 0)
    if prev == 0:
        direction = "stable" if cur == 0 else "up"
        pct = None if cur else Decimal(0)
    else:
        pct = (cur - prev) / prev * 100
        direction = "stable" if abs(pct) < STABLE_PERCENT else ("up" if pct > 0 else "down")
    return {"current": current, "previous": previous,
            "percentage_change": None if pct is None else float(round(pct, 2)), "direction": direction}


# ---------------------------------------------------------------------------------------------------------
# Analytics
# ---------------------------------------------------------------------------------------------------------
def _cache_key(filters: UsageFilters, top: int) -> str:
    import hashlib

    from usage.services import data_version

    # The last pull time joins the shared version token, so processes without a shared cache (LocMem in
    # development) also see new data at once.
    parts = [data_version(), usage_as_of(), filters.range.start, filters.range.end, filters.models, filters.providers,
             filters.users, filters.teams, filters.keys, getattr(filters.scoped_user, "pk", None),
             filters.is_admin_view, top, settings.PORTAL_CURRENCY_CODE]
    return "usage:analytics:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def usage_analytics(*, actor: Any, filters: UsageFilters, top: int = 5, use_cache: bool = True) -> dict[str, Any]:
    """``compute_analytics`` behind the shared cache: an entry lives until the next ingestion changes the
    data (the key includes the data version) or ``USAGE_ANALYTICS_CACHE_SECONDS`` pass (0 = no cache).
    Past days are frozen, so a result only goes stale when ingestion writes. Read-only."""
    return usage_analytics_entry(actor=actor, filters=filters, top=top, use_cache=use_cache)[0]


def usage_analytics_entry(*, actor: Any, filters: UsageFilters, top: int = 5,
                          use_cache: bool = True) -> tuple[dict[str, Any], str | None]:
    """``usage_analytics`` and the cache key it lives under (``None`` when caching is off).

    Pages key what they derive from the analytics (rendered fragments) on that key, so those entries go
    stale exactly when the analytics do. Read-only.
    """
    from django.core.cache import cache

    ttl = settings.USAGE_ANALYTICS_CACHE_SECONDS
    if not (use_cache and ttl):
        return compute_analytics(filters=filters, top=top), None
    key = _cache_key(filters, top)
    result = cache.get(key)
    if result is None:
        result = compute_analytics(filters=filters, top=top)
        cache.set(key, result, ttl)
    return result, key


def compute_analytics(*, filters: UsageFilters, top: int = 5) -> dict[str, Any]:
    """The full analytics object for ``filters`` (already scoped by ``build_filters``).

    Totals, success rate, active users, trends against the previous period of equal length, a daily
    series with every day of the range (zeros included), per-model daily series, distribution by model
    and by provider, top users / models / keys (top users and the unattributed bucket in the admin view
    only). A fixed number of queries whatever the range (9 in the admin view). Read-only.
    """
    f = filters
    r = f.range
    prev = r.previous()
    cells = list(_by_model_source(f, r).values("date", "model_id").annotate(**_sums()).order_by())
    providers = model_providers(c["model_id"] for c in cells)

    totals = _empty()
    daily = {d: {"date": d, **_empty()} for d in r.dates()}
    by_model: dict[str, dict[str, Any]] = {}
    by_day_model: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        _add(totals, c)
        _add(daily[c["date"]], c)
        slot = by_model.setdefault(c["model_id"], {"model_id": c["model_id"], "provider": providers[c["model_id"]],
                                                   **_empty()})
        _add(slot, c)
        by_day_model[c["date"]].append(_finish({"model_id": c["model_id"], "provider": providers[c["model_id"]],
                                                **{m: c[m] for m in METRICS}}))
    by_provider: dict[str, dict[str, Any]] = {}
    for slot in by_model.values():
        prov = by_provider.setdefault(slot["provider"], {"provider": slot["provider"], "models": 0, **_empty()})
        prov["models"] += 1
        _add(prov, slot)

    totals = _finish(totals)
    totals["active_users"] = _active_users(f, r)
    previous = _finish(_by_model_source(f, prev).aggregate(**_sums()))
    previous["active_users"] = _active_users(f, prev)

    model_rows = sorted((_finish(m) for m in by_model.values()), key=lambda m: (-m["spend"], -m["total_tokens"],
                                                                                 m["model_id"]))
    result: dict[str, Any] = {
        "period": {"start": r.start, "end": r.end, "days": r.days, "timezone": "UTC"},
        "previous_period": {"start": prev.start, "end": prev.end},
        "currency": settings.PORTAL_CURRENCY_CODE,
        "totals": totals,
        "trends": {m: trend(totals[m], previous[m]) for m in TREND_METRICS},
        "daily": [_finish(d) for d in daily.values()],
        "daily_by_model": [{"date": d, "models": sorted(by_day_model[d], key=lambda m: m["model_id"])}
                           for d in r.dates() if by_day_model.get(d)],
        "by_model": model_rows,
        "by_provider": sorted((_finish(p) for p in by_provider.values()), key=lambda p: (-p["spend"], p["provider"])),
        "top_models": model_rows[:10],
        # Platform-wide, top keys need a scan of every key's facts over the range (keys do not compress
        # like users); they are served on demand by the key breakdown instead. Scoped views include them.
        "top_keys": top_keys(f, limit=top) if (f.has_owner_filter or not f.is_admin_view) else None,
        "as_of": usage_as_of(),
    }
    if f.is_admin_view:
        result["top_users"] = top_users(f, limit=top)
        # Unattributed facts are exactly those without a user (a portal key always has one; the user rollup
        # relies on it too). Filtering on user_id rather than the flag lets a model or provider filter use
        # the covering (model, date) index alone, without visiting the table rows.
        result["unattributed"] = _finish(facts_for(f).filter(user_id__isnull=True).aggregate(**_sums())) \
            if f.users or f.teams or f.keys or f.has_model_filter else _unattributed_from_rollup(f)
    return result


def _unattributed_from_rollup(f: UsageFilters) -> dict[str, Any]:
    return _finish(DailyUserUsage.objects.filter(_range_q(f.range), user_id__isnull=True).aggregate(**_sums()))


def _users_by_id(ids: Iterable[Any]) -> dict[Any, Any]:
    from accounts.models import User

    wanted = [i for i in ids if i is not None]
    return {u.pk: u for u in User.objects.filter(pk__in=wanted).only("id", "username", "email", "full_name", "role")}


def _user_row(user_id: Any, users: dict[Any, Any]) -> dict[str, Any]:
    user = users.get(user_id)
    if user_id is None:
        return {"user_id": None, "username": "(unattributed)", "email": "", "unattributed": True}
    return {"user_id": user_id, "username": user.username if user else "(deleted user)",
            "email": user.email if user else "", "unattributed": False}


def top_users(f: UsageFilters, *, limit: int = 5) -> list[dict[str, Any]]:
    """The ``limit`` users with the highest spend (then tokens) for the filters; 2 queries. Read-only."""
    if _to_date_usable(f):
        rows = PerUserSums(f, f.range, order="spend DESC, total_tokens DESC").fetch(limit=limit)
    else:
        rows = list(_by_user_source(f, f.range).filter(user_id__isnull=False).values("user_id")
                    .annotate(**_sums()).order_by("-spend", "-total_tokens", "user_id")[:limit])
    users = _users_by_id(r["user_id"] for r in rows)
    return [_finish({**_user_row(r["user_id"], users), **{m: r[m] for m in METRICS}}) for r in rows]


def _keys_by_id(ids: Iterable[Any]) -> dict[Any, Any]:
    from apikeys.models import ApiKey

    wanted = [i for i in ids if i is not None]
    return {k.pk: k for k in ApiKey._base_manager.filter(pk__in=wanted)
            .only("id", "name", "key_prefix", "last4", "status", "user_id", "deleted_at")}


def _key_row(key_id: Any, keys: dict[Any, Any]) -> dict[str, Any]:
    key = keys.get(key_id)
    if key is None:
        return {"key_id": key_id, "name": "(unattributed)" if key_id is None else "(deleted key)", "masked": "",
                "status": "", "user_id": None}
    return {"key_id": key.pk, "name": key.name, "masked": f"{key.key_prefix}…{key.last4}",
            "status": "deleted" if key.deleted_at else key.status, "user_id": key.user_id}


def top_keys(f: UsageFilters, *, limit: int = 5) -> list[dict[str, Any]]:
    """The ``limit`` keys with the highest spend (portal keys only); 2 queries. Read-only."""
    rows = list(facts_for(f).filter(key_id__isnull=False).values("key_id").annotate(**_sums())
                .order_by("-spend", "-total_tokens", "key_id")[:limit])
    keys = _keys_by_id(r["key_id"] for r in rows)
    return [_finish({**_key_row(r["key_id"], keys), **{m: r[m] for m in METRICS}}) for r in rows]


def usage_as_of() -> datetime | None:
    """When the data was last pulled from LiteLLM (the newest day's last pull)."""
    return IngestedDay.objects.aggregate(at=Max("last_pulled_at"))["at"]


# ---------------------------------------------------------------------------------------------------------
# Breakdowns (admin, paginated, sortable)
# ---------------------------------------------------------------------------------------------------------
BREAKDOWN_DIMENSIONS = ("user", "model", "provider", "key", "team")
SORT_FIELDS = {"requests", "total_tokens", "prompt_tokens", "completion_tokens", "spend", "successful_requests",
               "failed_requests", "name"}


def parse_sort(value: str | None, *, default: str = "-spend") -> tuple[str, bool]:
    """``sort=-spend`` → ("spend", descending). Raises ValidationFailed for unknown fields."""
    value = (value or default).strip()
    desc = value.startswith("-")
    name = value.lstrip("-+")
    if name not in SORT_FIELDS:
        raise ValidationFailed("Unknown sort field.", code="invalid_sort",
                               details={"fields": {"sort": [f"Use one of: {', '.join(sorted(SORT_FIELDS))} "
                                                            "(prefix - for descending)."]}})
    return name, desc


def usage_breakdown(*, actor: Any, filters: UsageFilters, by: str, sort: str | None = None) -> Any:
    """Per-``by`` metrics for the filters, as a sortable sequence to paginate.

    ``user``/``key``/``team``/``model`` return a lazy queryset of dicts (the database sorts and pages it;
    ``enrich_breakdown`` adds names for one page); ``provider`` returns a short list (grouped from models).
    Raises ValidationFailed for an unknown ``by`` or sort. Read-only.
    """
    if by not in BREAKDOWN_DIMENSIONS:
        raise ValidationFailed("Unknown breakdown.", code="invalid_breakdown",
                               details={"fields": {"by": [f"Use one of: {', '.join(BREAKDOWN_DIMENSIONS)}."]}})
    name, desc = parse_sort(sort)
    f = filters
    if by == "provider":
        rows: dict[str, dict[str, Any]] = {}
        cells = list(_by_model_source(f, f.range).values("model_id").annotate(**_sums()).order_by())
        providers = model_providers(c["model_id"] for c in cells)
        for c in cells:
            slot = rows.setdefault(providers[c["model_id"]], {"provider": providers[c["model_id"]], "models": 0,
                                                              **_empty()})
            slot["models"] += 1
            _add(slot, c)
        key = (lambda row: row["provider"]) if name == "name" else (lambda row: row[name])
        return sorted((_finish(r) for r in rows.values()), key=key, reverse=desc)
    if by == "model":
        qs = _by_model_source(f, f.range).values("model_id")
        group = "model_id"
    elif by == "user":
        if _to_date_usable(f) and not f.users:
            order_sql = ("(username IS NULL), username" if name == "name" else name) + (" DESC" if desc else " ASC")
            return PerUserSums(f, f.range, order=order_sql, include_unattributed=True)
        qs = _by_user_source(f, f.range).values("user_id")
        group = "user_id"
    elif by == "team":
        qs = _by_user_source(f, f.range).values("team_id")
        group = "team_id"
    else:
        qs = facts_for(f).values("key_id", "key_hash") if f.is_admin_view else facts_for(f).values("key_id")
        group = "key_id"
    qs = qs.annotate(**_sums())
    if name == "name":
        if by == "user":
            from accounts.models import User

            qs = qs.annotate(sort_name=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("username")[:1]))
            order = F("sort_name")
        else:
            order = F(group)
    else:
        order = F(name)
    order = order.desc(nulls_last=True) if desc else order.asc(nulls_last=True)
    return qs.order_by(order, F(group).asc(nulls_last=True))


def enrich_breakdown(rows: Sequence[dict[str, Any]], *, by: str) -> list[dict[str, Any]]:
    """Add names (users, keys) and providers (models) to one page of breakdown rows; ≤ 1 query."""
    rows = [dict(r) for r in rows]
    if by == "user":
        users = _users_by_id(r["user_id"] for r in rows)
        return [_finish({**r, **_user_row(r["user_id"], users)}) for r in rows]
    if by == "key":
        keys = _keys_by_id(r["key_id"] for r in rows)
        return [_finish({**r, **_key_row(r["key_id"], keys)}) for r in rows]
    if by == "model":
        providers = model_providers(r["model_id"] for r in rows)
        return [_finish({**r, "provider": providers[r["model_id"]]}) for r in rows]
    if by == "team":
        from django.apps import apps

        try:
            team_model = apps.get_model("teams", "Team")
        except LookupError:
            names: dict[Any, str] = {}
        else:
            names = dict(team_model.objects.filter(pk__in=[r["team_id"] for r in rows if r["team_id"]])
                         .values_list("pk", "name"))
        return [_finish({**r, "team_name": names.get(r["team_id"], "(no team)" if r["team_id"] is None
                                                     else "(deleted team)")}) for r in rows]
    return [r if "success_rate" in r else _finish(r) for r in rows]


# ---------------------------------------------------------------------------------------------------------
# Export (streamed)
# ---------------------------------------------------------------------------------------------------------
EXPORT_COLUMNS = ("date", "user_id", "username", "email", "model_id", "provider", "requests", "successful_requests",
                  "failed_requests", "prompt_tokens", "completion_tokens", "total_tokens", "spend", "currency")


def usage_export_rows(*, actor: Any, filters: UsageFilters, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Per (day, user, model) rows for the filters, oldest first, read in chunks (one user lookup per chunk,
    so memory stays flat for a 365-day platform export). Scoped like every selector. Read-only."""
    qs = (facts_for(filters).values("date", "user_id", "model_id").annotate(**_sums())
          .order_by("date", F("user_id").asc(nulls_last=True), "model_id"))
    currency = settings.PORTAL_CURRENCY_CODE
    providers: dict[str, str] = {}
    batch: list[dict[str, Any]] = []

    def flush(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        users = _users_by_id({r["user_id"] for r in rows})
        missing = {r["model_id"] for r in rows} - providers.keys()
        if missing:
            providers.update(model_providers(missing))
        for r in rows:
            who = _user_row(r["user_id"], users)
            yield {"date": r["date"].isoformat(), "user_id": str(r["user_id"]) if r["user_id"] else "",
                   "username": who["username"], "email": who["email"], "model_id": r["model_id"],
                   "provider": providers[r["model_id"]], **{m: r[m] for m in INT_METRICS},
                   "spend": str(Decimal(r["spend"]).quantize(Decimal("1e-10")).normalize()
                                if r["spend"] else Decimal(0)),
                   "currency": currency}

    for row in qs.iterator(chunk_size=chunk_size):
        batch.append(row)
        if len(batch) >= chunk_size:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


# ---------------------------------------------------------------------------------------------------------
# Filter options, ingestion runs, budget
# ---------------------------------------------------------------------------------------------------------
def usage_filter_options(*, actor: Any, date_range: DateRange, admin_view: bool = False) -> dict[str, Any]:
    """Options for the model and key filters, taken from the data the actor may see (defect #34: a user's
    own models and keys, never an admin-only list). Keys: the actor's live keys plus any of their keys
    (revoked or deleted included) with usage in the range. 2–3 queries. Read-only."""
    from apikeys.models import ApiKey
    from subscriptions.models import LlmModel

    base = DailyModelUsage.objects if admin_view else DailyUsage.objects.filter(user_id=actor.pk)
    used_models = set(base.filter(_range_q(date_range)).values_list("model_id", flat=True).distinct())
    providers = model_providers(used_models)
    options: dict[str, Any] = {"models": [{"id": m, "provider": providers[m]} for m in sorted(used_models)]}
    if admin_view:
        options["providers"] = sorted(set(LlmModel.objects.exclude(provider="").values_list("provider", flat=True))
                                      | set(providers.values()))
        return options
    used_keys = set(DailyUsage.objects.filter(_range_q(date_range), user_id=actor.pk, key_id__isnull=False)
                    .values_list("key_id", flat=True).distinct())
    live = Q(status__in=ApiKey.LIVE_STATUSES, deleted_at__isnull=True, key_type="standard")
    keys = ApiKey._base_manager.filter(Q(pk__in=used_keys) | live, user_id=actor.pk)
    options["keys"] = [{"id": str(k.pk), "name": k.name, "masked": f"{k.key_prefix}…{k.last4}",
                        "status": "deleted" if k.deleted_at else k.status}
                       for k in keys.only("id", "name", "key_prefix", "last4", "status", "deleted_at")
                       .order_by("name")]
    return options


def usage_ingestion_runs() -> QuerySet:
    """Usage ingestion runs, newest first (admin read; the caller checks the role)."""
    from integrations.sync_runs import sync_run_list

    return sync_run_list(kind="usage")


UNKNOWN_TO_LITELLM = {"unknown": True}  # the budget cache's entry for a user LiteLLM does not know


@dataclass
class Budget:
    """The budget card: limits from the portal, spend and reset from one source (LiteLLM, else facts)."""

    max_budget: Decimal | None
    budget_duration: str
    spend: Decimal
    spend_source: str  # "litellm" | "facts"
    spend_source_note: str
    reset_at: datetime | None
    period_start: datetime | None
    utilisation: Decimal | None
    level: str
    daily_rate: Decimal
    runway: forecast.Runway
    currency: str
    as_of: datetime


def usage_budget_for_user(*, user: Any, now: datetime | None = None) -> Budget:
    """The budget card of ``user`` (defect #51: one consistent source per figure).

    Max budget and duration come from the portal user (the portal decides limits). Spend and next reset
    come together from LiteLLM ``/user/info`` (it enforces the budget); when LiteLLM is unreachable or does
    not know the user, spend is summed from the ingested facts over the current period (the last
    ``budget_duration``, or all time without one) and labelled as such. The runway uses the trailing 7
    complete UTC days of ingested spend. ≤ 3 queries + 1 LiteLLM call (its answer, "unknown user" included,
    cached for ``USAGE_BUDGET_CACHE_SECONDS``). Never raises for LiteLLM errors.
    """
    from django.core.cache import cache

    from integrations.litellm.client import get_litellm_client
    from integrations.litellm.errors import LiteLLMError

    now = now or timezone.now()
    max_budget = user.max_budget
    duration = user.budget_duration or ""
    # v2: entries may be UNKNOWN_TO_LITELLM, which code from before it (still running during a rolling
    # deploy) would misread under the old key.
    cache_key = f"usage:budget:v2:{user.pk}"
    live = cache.get(cache_key)
    if live is None:
        try:
            info = get_litellm_client().user_get(str(user.pk))
        except LiteLLMError:
            info = None  # not cached: the breaker already makes an outage cheap, and recovery shows at once
        else:
            # "LiteLLM does not know this user" is cached as briefly as an answer, so a user LiteLLM has not
            # seen yet (no key used so far) costs one LiteLLM call per period, not one per page view.
            live = (UNKNOWN_TO_LITELLM if info is None
                    else {"spend": str(info.spend or 0), "reset_at": info.budget_reset_at})
            cache.set(cache_key, live, settings.USAGE_BUDGET_CACHE_SECONDS)
    if live == UNKNOWN_TO_LITELLM:
        live = None
    period = forecast.parse_budget_duration(duration)
    if live is not None:
        spend = Decimal(live["spend"])
        reset_at = live["reset_at"]
        source, note = "litellm", "Live spend from LiteLLM."
        period_start = reset_at - period if (reset_at and period) else None
    else:
        period_start = now - period if period else None
        qs = DailyUsage.objects.filter(user_id=user.pk)
        if period_start is not None:
            qs = qs.filter(date__gte=period_start.date())
        spend = qs.aggregate(s=Coalesce(Sum("spend"), Value(ZERO),
                                        output_field=DecimalField(max_digits=24, decimal_places=10)))["s"]
        reset_at = None
        source = "facts"
        note = ("LiteLLM is unreachable: spend is estimated from ingested usage "
                + ("over the last budget period." if period else "since the first recorded day."))
    today = utc_today(now)
    week = DateRange(today - timedelta(days=7), today - timedelta(days=1))
    per_day = dict(DailyUsage.objects.filter(_range_q(week), user_id=user.pk).values("date")
                   .annotate(s=Sum("spend")).order_by().values_list("date", "s"))
    rate = forecast.trailing_daily_rate([Decimal(per_day.get(d) or 0) for d in week.dates()], days=7)
    share = forecast.utilisation(spend, max_budget)
    return Budget(max_budget=max_budget, budget_duration=duration, spend=spend, spend_source=source,
                  spend_source_note=note, reset_at=reset_at, period_start=period_start, utilisation=share,
                  level=forecast.utilisation_level(share), daily_rate=rate,
                  runway=forecast.runway(spend=spend, max_budget=max_budget, daily_rate=rate, now=now,
                                         reset_at=reset_at),
                  currency=settings.PORTAL_CURRENCY_CODE, as_of=now)


def with_range(filters: UsageFilters, date_range: DateRange) -> UsageFilters:
    """The same filters over another range."""
    return replace(filters, range=date_range)
