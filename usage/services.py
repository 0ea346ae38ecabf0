"""Write operations of ``usage``: ingestion of LiteLLM's daily activity into the fact table and rollups.

Flow of one ingestion (scheduled, "refresh today", or backfill):

1. Pick the UTC days to pull (``usage_days_due``): today, every day not yet frozen, and days missing from
   the last ``USAGE_INGEST_CATCHUP_DAYS`` (a worker outage leaves no hole).
2. For each run of consecutive days: one paginated ``/user/daily/activity`` call, *outside* any
   transaction (never hold the database across LiteLLM).
3. In one transaction per chunk: upsert the facts on (date, key hash, model), rebuild the two rollups
   for those days from the facts, and record each day's state (``IngestedDay``: open → closed → frozen).
4. Once per run: rebuild the per-user running totals from the earliest pulled day, then bump the data
   version (cached analytics are keyed on it).

Everything is an upsert or a rebuild from the facts, so any run can be repeated with the same result.
Every run writes an ``integrations.SyncRun`` of kind ``usage`` (rows, days, duration, errors).
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone

from integrations.litellm.errors import LiteLLMError
from integrations.models import SyncRun
from integrations.sync_runs import sync_run_finish, sync_run_start
from litemaas.exceptions import ConflictError, ServiceUnavailableError, ValidationFailed
from litemaas.locks import single_flight
from usage.models import (
    DailyModelUsage,
    DailyUsage,
    DailyUserUsage,
    IngestedDay,
    IngestedDayStatus,
    UserUsageToDate,
)

logger = logging.getLogger(__name__)

INGEST_LOCK_KEY = "usage:ingest:lock"
UPSERT_BATCH_SIZE = 1000
METRIC_FIELDS = ("requests", "successful_requests", "failed_requests", "prompt_tokens", "completion_tokens",
                 "total_tokens", "spend")


@dataclass(frozen=True)
class KeyOwner:
    """Who a key hash belongs to in the portal."""

    user_id: uuid.UUID | None
    key_id: uuid.UUID
    team_id: uuid.UUID | None


def utc_today(now: datetime | None = None) -> date:
    """The current UTC day (usage days are always UTC)."""
    return (now or timezone.now()).astimezone(UTC).date()


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def day_status_after_pull(day: date, *, now: datetime) -> str:
    """The status a day gets once pulled at ``now``: today stays open; a past day stays closed until
    ``USAGE_CLOSE_GRACE_MINUTES`` after its midnight (late spend logs still land), then freezes."""
    if day >= utc_today(now):
        return IngestedDayStatus.OPEN
    grace = timedelta(minutes=settings.USAGE_CLOSE_GRACE_MINUTES)
    return IngestedDayStatus.FROZEN if now >= _midnight_after(day) + grace else IngestedDayStatus.CLOSED


def usage_days_due(*, now: datetime | None = None) -> list[date]:
    """The days the scheduled ingestion should pull now, oldest first.

    Today; every earlier day still open or closed; and days of the last ``USAGE_INGEST_CATCHUP_DAYS``
    that were never pulled. Frozen days are never due. Read-only.
    """
    now = now or timezone.now()
    today = utc_today(now)
    since = today - timedelta(days=settings.USAGE_INGEST_CATCHUP_DAYS)
    states = dict(IngestedDay.objects.filter(date__gte=since).values_list("date", "status"))
    due = {today}
    due.update(IngestedDay.objects.filter(date__lt=today, status__in=[IngestedDayStatus.OPEN, IngestedDayStatus.CLOSED])
               .values_list("date", flat=True))
    day = since
    while day < today:
        if day not in states:
            due.add(day)
        day += timedelta(days=1)
    return sorted(due)


def _runs_of_consecutive(days: Iterable[date], max_len: int) -> list[tuple[date, date]]:
    """Group sorted days into (start, end) runs of consecutive days, each at most ``max_len`` long."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < max_len:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _key_team_field() -> str | None:
    """The key's team column, if the key model has one (keys may gain a team later)."""
    from apikeys.models import ApiKey

    names = {f.name: f for f in ApiKey._meta.concrete_fields}
    field = names.get("team")
    return field.attname if field is not None else None


def resolve_key_owners(hashes: Iterable[str]) -> dict[str, KeyOwner]:
    """Map LiteLLM token hashes to portal keys, including revoked, rotated and deleted (tombstone) keys,
    so history never falls into "unknown" (defect #33). One query per 1,000 hashes. Read-only."""
    from apikeys.models import ApiKey

    team_attr = _key_team_field()
    fields = ["token_hash", "id", "user_id"] + ([team_attr] if team_attr else [])
    wanted = sorted({h for h in hashes if h})
    owners: dict[str, KeyOwner] = {}
    for start in range(0, len(wanted), 1000):
        for row in ApiKey._base_manager.filter(token_hash__in=wanted[start:start + 1000]).values(*fields):
            owners[row["token_hash"]] = KeyOwner(user_id=row["user_id"], key_id=row["id"],
                                                 team_id=row.get(team_attr) if team_attr else None)
    return owners


def _to_decimal(value: float) -> Decimal:
    # repr() is the shortest string that round-trips the float, so 0.1 stays 0.1 (not 0.1000000000000000055…).
    return Decimal(repr(float(value))).quantize(Decimal("1e-10"))


def _facts_from_activity(rows: Sequence[Any], *, now: datetime) -> list[DailyUsage]:
    owners = resolve_key_owners(r.api_key_hash for r in rows)
    facts = []
    for r in rows:
        owner = owners.get(r.api_key_hash)
        facts.append(DailyUsage(
            date=r.date, key_hash=r.api_key_hash or "", model_id=r.model,
            user_id=owner.user_id if owner else None, key_id=owner.key_id if owner else None,
            team_id=owner.team_id if owner else None, unattributed=owner is None,
            requests=r.api_requests, successful_requests=r.successful_requests,
            failed_requests=r.failed_requests, prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            total_tokens=r.total_tokens or (r.prompt_tokens + r.completion_tokens),
            spend=_to_decimal(r.spend), ingested_at=now,
        ))
    return facts


def upsert_facts(facts: Sequence[DailyUsage]) -> int:
    """Insert or update facts on (date, key hash, model) in batches (``INSERT … ON CONFLICT DO UPDATE`` on
    PostgreSQL and SQLite). Idempotent: the same facts give the same rows. Returns the rows written."""
    update_fields = [*METRIC_FIELDS, "user_id", "key_id", "team_id", "unattributed", "ingested_at"]
    for start in range(0, len(facts), UPSERT_BATCH_SIZE):
        DailyUsage.objects.bulk_create(
            facts[start:start + UPSERT_BATCH_SIZE], update_conflicts=True,
            unique_fields=["date", "key_hash", "model_id"], update_fields=update_fields,
        )
    return len(facts)


def rollups_rebuild(*, start: date, end: date) -> None:
    """Recompute both rollups for ``start``..``end`` from the facts (delete, then INSERT … SELECT with
    GROUP BY; portable SQL). Idempotent; call inside the transaction that changed the facts."""
    facts = DailyUsage._meta.db_table
    sums = ", ".join(f"SUM({f})" for f in METRIC_FIELDS)
    cols = ", ".join(METRIC_FIELDS)
    with connection.cursor() as cursor:
        for model in (DailyModelUsage, DailyUserUsage):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE date >= %s AND date <= %s", [start, end])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {DailyModelUsage._meta.db_table} (date, model_id, {cols}, unattributed_requests) "  # noqa: S608
            f"SELECT date, model_id, {sums}, SUM(CASE WHEN unattributed THEN requests ELSE 0 END) "
            f"FROM {facts} WHERE date >= %s AND date <= %s GROUP BY date, model_id",
            [start, end],
        )
        cursor.execute(
            f"INSERT INTO {DailyUserUsage._meta.db_table} (date, user_id, team_id, {cols}) "  # noqa: S608
            f"SELECT date, user_id, team_id, {sums} "
            f"FROM {facts} WHERE date >= %s AND date <= %s GROUP BY date, user_id, team_id",
            [start, end],
        )


def to_date_rebuild(*, start: date, through: date | None = None) -> int:
    """Rebuild the running per-user totals (``UserUsageToDate``) from ``start`` to ``through`` (default: the
    later of today and the last rolled-up day), one INSERT … SELECT per day: yesterday's snapshot plus the
    day's rollup. Idempotent; call after ``rollups_rebuild`` in the same transaction. Returns days built."""
    last = DailyUserUsage.objects.aggregate(d=models.Max("date"))["d"]
    through = through or max(d for d in (utc_today(), last) if d is not None)
    table = UserUsageToDate._meta.db_table
    cols = ", ".join(METRIC_FIELDS)
    sums = ", ".join(f"SUM({f})" for f in METRIC_FIELDS)
    days = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE date >= %s", [start])  # noqa: S608
        day = start
        while day <= through:
            cursor.execute(
                f"INSERT INTO {table} (date, user_id, {cols}) SELECT %s, user_id, {sums} FROM ("  # noqa: S608
                f"SELECT user_id, {cols} FROM {table} WHERE date = %s "
                f"UNION ALL SELECT user_id, {cols} FROM {DailyUserUsage._meta.db_table} "
                f"WHERE date = %s AND user_id IS NOT NULL) t GROUP BY user_id",
                [day, day - timedelta(days=1), day],
            )
            day += timedelta(days=1)
            days += 1
    return days


def _record_days(days: Iterable[date], rows_per_day: dict[date, int], *, now: datetime) -> None:
    existing = {d.date: d for d in IngestedDay.objects.filter(date__in=list(days))}
    for day in days:
        status = day_status_after_pull(day, now=now)
        row = existing.get(day)
        if row is None:
            IngestedDay.objects.create(date=day, status=status, rows=rows_per_day.get(day, 0), pulls=1,
                                       first_pulled_at=now, last_pulled_at=now,
                                       frozen_at=now if status == IngestedDayStatus.FROZEN else None)
            continue
        row.status = status
        row.rows = rows_per_day.get(day, 0)
        row.pulls += 1
        row.last_pulled_at = now
        row.frozen_at = now if status == IngestedDayStatus.FROZEN else None
        row.save(update_fields=["status", "rows", "pulls", "last_pulled_at", "frozen_at"])


DATA_VERSION_KEY = "usage:data-version"


def data_version() -> str:
    """A token that changes whenever ingestion writes (cached analytics are keyed on it)."""
    version = cache.get(DATA_VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(DATA_VERSION_KEY, version, timeout=None)
        version = cache.get(DATA_VERSION_KEY) or version
    return version


def data_version_bump() -> None:
    """Invalidate every cached analytics result (called after each committed ingestion chunk)."""
    cache.set(DATA_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def usage_analytics_prewarm(*, now: datetime | None = None) -> None:
    """Compute the platform-wide analytics of the admin page's presets (7, 30, 90 days to today) into the
    cache right after ingestion, so the admin page never pays for a cold 90-day query. Idempotent."""
    from usage.selectors import DateRange, UsageFilters, usage_analytics

    today = utc_today(now)
    for days in (7, 30, 90):
        if days > settings.USAGE_ANALYTICS_MAX_DAYS:
            continue
        filters = UsageFilters(range=DateRange(today - timedelta(days=days - 1), today), is_admin_view=True)
        usage_analytics(actor=None, filters=filters)


@dataclass
class IngestResult:
    """What one ingestion did (also stored as the SyncRun counts)."""

    run: SyncRun
    rows: int = 0
    days: int = 0
    unattributed_rows: int = 0
    errors: list[str] | None = None


def _ingest_range(client: Any, start: date, end: date, *, now: datetime) -> tuple[int, int]:
    activity = client.daily_activity(start_date=start, end_date=end)
    rows = [r for r in activity.rows if start <= r.date <= end]
    facts = _facts_from_activity(rows, now=now)
    per_day: dict[date, int] = {}
    for fact in facts:
        per_day[fact.date] = per_day.get(fact.date, 0) + 1
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    with transaction.atomic():
        upsert_facts(facts)
        rollups_rebuild(start=start, end=end)
        _record_days(days, per_day, now=now)
    data_version_bump()
    return len(facts), sum(1 for f in facts if f.unattributed)


def usage_ingest(
    *,
    days: Sequence[date] | None = None,
    actor: Any = None,
    now: datetime | None = None,
    chunk_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop_on_error: bool = False,
) -> IngestResult:
    """Pull ``days`` (default: ``usage_days_due()``) from LiteLLM into the facts and rollups.

    Days after today are refused (``ValidationFailed``). A failing chunk is logged and recorded, the others
    still land, and the run ends ``failed`` (``stop_on_error`` stops at the first failure instead).
    ``progress(done_days, total_days)`` is called after each chunk. Idempotent (upserts and rebuilds).
    Never raises for LiteLLM errors: the SyncRun row carries them.
    """
    from integrations.litellm.client import get_litellm_client

    now = now or timezone.now()
    wanted = sorted(set(days)) if days is not None else usage_days_due(now=now)
    today = utc_today(now)
    if any(d > today for d in wanted):
        raise ValidationFailed("Usage can only be ingested up to today (UTC).",
                               details={"fields": {"end": ["Must not be after today (UTC)."]}})
    run = sync_run_start(kind=SyncRun.Kind.USAGE, actor=actor)
    result = IngestResult(run=run, errors=[])
    started = time.monotonic()
    total = len(wanted)
    done = 0
    earliest: date | None = None
    try:
        client = get_litellm_client()
        for start, end in _runs_of_consecutive(wanted, chunk_days or settings.USAGE_INGEST_CHUNK_DAYS):
            try:
                rows, unattributed = _ingest_range(client, start, end, now=now)
            except LiteLLMError as exc:
                logger.warning("usage ingestion of %s..%s failed: %s", start, end, exc)
                result.errors.append(f"{start}..{end}: {exc}")
                if stop_on_error:
                    break
            else:
                result.rows += rows
                result.unattributed_rows += unattributed
                result.days += (end - start).days + 1
                earliest = start if earliest is None else min(earliest, start)
            done += (end - start).days + 1
            if progress:
                progress(done, total)
        if earliest is not None:
            # Once per run, not per chunk: a backfill would otherwise rebuild the tail once per chunk.
            with transaction.atomic():
                to_date_rebuild(start=earliest)
            data_version_bump()
    except Exception as exc:  # an unexpected failure still closes the run row
        result.errors.append(f"{type(exc).__name__}: {exc}")
        sync_run_finish(run=run, status=SyncRun.Status.FAILED, counts=_counts(result, started),
                        error="\n".join(result.errors))
        raise
    status = SyncRun.Status.FAILED if result.errors else SyncRun.Status.SUCCEEDED
    sync_run_finish(run=run, status=status, counts=_counts(result, started), error="\n".join(result.errors))
    return result


def _counts(result: IngestResult, started: float) -> dict[str, Any]:
    return {"rows": result.rows, "days": result.days, "unattributed_rows": result.unattributed_rows,
            "errors": len(result.errors or []), "duration_ms": round((time.monotonic() - started) * 1000)}


def usage_ingest_scheduled(*, now: datetime | None = None) -> IngestResult | None:
    """The beat job: ``usage_ingest`` of the due days, single-flight (``litemaas.locks``; a run already in
    progress makes this one return ``None``). Idempotent."""
    with single_flight(INGEST_LOCK_KEY, timeout=settings.USAGE_INGEST_LOCK_SECONDS) as acquired:
        if not acquired:
            logger.info("usage ingestion already running; skipped")
            return None
        return usage_ingest(now=now)


def usage_refresh_today(*, actor: Any, request: Any = None) -> IngestResult:
    """Admin "refresh today": re-pull today now (synchronously) and audit it.

    Raises ``ConflictError`` (409) while another ingestion holds the lock and ``ServiceUnavailableError``
    (503, Retry-After) when LiteLLM cannot be reached. Idempotent.
    """
    from litemaas.audit import audit_record

    with single_flight(INGEST_LOCK_KEY, timeout=settings.USAGE_INGEST_LOCK_SECONDS) as acquired:
        if not acquired:
            raise ConflictError("An ingestion is already running; try again in a minute.", code="ingestion_running")
        now = timezone.now()
        result = usage_ingest(days=[utc_today(now)], actor=actor, now=now, stop_on_error=True)
    audit_record(action="usage.refresh_today", actor=actor, target_type="sync_run", target_id=result.run.pk,
                 metadata={"rows": result.rows, "status": result.run.status}, request=request)
    if result.errors:
        raise ServiceUnavailableError("LiteLLM could not be reached; today's usage was not refreshed.",
                                      code="litellm_unavailable", retry_after=60)
    return result
