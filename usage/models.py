"""Models owned by ``usage``: the daily usage fact table, its rollups and the per-day ingestion state.

Grain (design.md): one ``DailyUsage`` row per (UTC date, key hash, model) as LiteLLM's
``/user/daily/activity`` reports it. The portal user, key and team are resolved from the key hash at
ingestion and stored *denormalised* as plain UUID columns (not foreign keys), because:

- analytics filter and group on them directly (composite indexes below), no join needed;
- history must survive deletions: a deleted user or key must not cascade into (or be blocked by) years of
  facts, and the numbers must not move when someone is removed (defect #33);
- the bulk upserts of ingestion skip foreign-key checks on millions of rows;
- teams have no model of their own yet, and the key app is still moving; plain columns keep this table's
  migrations independent. Names are looked up in bulk (one query per page) when a page needs them.

Two rollups, rebuilt by ingestion for every day it touches, keep the platform-wide admin analytics fast
(``bench/usage_bench.py``): ``DailyModelUsage`` (date, model) and ``DailyUserUsage`` (date, user, team).
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageMetrics(models.Model):
    """The counters every usage table carries (same names everywhere, so one aggregation fits all)."""

    requests = models.BigIntegerField(default=0)
    successful_requests = models.BigIntegerField(default=0)
    failed_requests = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    # LiteLLM spend (USD as LiteLLM counts it; shown with PORTAL_CURRENCY_CODE, never converted).
    spend = models.DecimalField(max_digits=20, decimal_places=10, default=0)

    class Meta:
        abstract = True


class DailyUsage(UsageMetrics):
    """Usage of one key on one model on one UTC day (LiteLLM is the source of truth; this is a copy).

    ``unattributed`` marks usage whose key hash is not one of the portal's keys (created in LiteLLM
    directly, or the master key): user, key and team stay empty and admins see it as its own bucket.
    """

    id = models.BigAutoField(primary_key=True)
    date = models.DateField(help_text=_("UTC day."))
    key_hash = models.CharField(max_length=64, help_text=_("LiteLLM token (SHA-256 hex of the key)."))
    model_id = models.CharField(max_length=255, help_text=_("LiteLLM model_name (= LlmModel id)."))
    user_id = models.UUIDField(null=True, blank=True)
    key_id = models.UUIDField(null=True, blank=True)
    team_id = models.UUIDField(null=True, blank=True)
    unattributed = models.BooleanField(default=False)
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [
            # Also the index for date-range scans (leading column ``date``).
            models.UniqueConstraint(fields=["date", "key_hash", "model_id"], name="dailyusage_unique_day_key_model"),
        ]
        indexes = [
            # The user page and every user-scoped query: one user's rows over a date range.
            models.Index(fields=["user_id", "date"], name="dailyusage_user_date"),
            models.Index(fields=["key_id", "date"], name="dailyusage_key_date"),
            models.Index(fields=["team_id", "date"], name="dailyusage_team_date"),
            # Model and provider filters of the platform view: covering on PostgreSQL (index-only scans
            # for active users / top users without touching the wide heap rows); a plain index elsewhere.
            models.Index(fields=["model_id", "date"], name="dailyusage_model_date_cov",
                         include=["user_id", "requests", "successful_requests", "failed_requests", "prompt_tokens",
                                  "completion_tokens", "total_tokens", "spend"]),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.model_id} {self.key_hash[:8]}…"


class DailyModelUsage(UsageMetrics):
    """Rollup of ``DailyUsage`` per (date, model); rebuilt from the facts for each ingested day."""

    id = models.BigAutoField(primary_key=True)
    date = models.DateField()
    model_id = models.CharField(max_length=255)
    unattributed_requests = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "model_id"], name="dailymodelusage_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.model_id}"


class DailyUserUsage(UsageMetrics):
    """Rollup of ``DailyUsage`` per (date, user, team); ``user_id`` empty = the unattributed bucket."""

    id = models.BigAutoField(primary_key=True)
    date = models.DateField()
    user_id = models.UUIDField(null=True, blank=True)
    team_id = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["date", "user_id"], name="dailyuserusage_date_user"),
            models.Index(fields=["user_id", "date"], name="dailyuserusage_user_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.user_id}"


class UserUsageToDate(models.Model):
    """Running totals per user up to and including ``date`` (a prefix sum over ``DailyUserUsage``).

    Dense: from a user's first usage day on, every user has a row on every day, so the sums of any range
    [a, b] for every user come from two snapshots: ``to_date(b) - to_date(a - 1)``. That turns the
    platform-wide "active users", "top users" and per-user breakdown of a 90-day range from a scan of
    ~90 × (active users) rows into a join of two one-day snapshots. Rebuilt by ingestion from the first
    changed day onward; unattributed usage (no user) is not in it.
    """

    id = models.BigAutoField(primary_key=True)
    date = models.DateField()
    user_id = models.UUIDField()
    requests = models.BigIntegerField(default=0)
    successful_requests = models.BigIntegerField(default=0)
    failed_requests = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    spend = models.DecimalField(max_digits=24, decimal_places=10, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "user_id"], name="userusagetodate_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} to {self.date}"


class IngestedDayStatus(models.TextChoices):
    """A day is ``open`` while it is today (re-pulled every interval), ``closed`` once past but still
    inside the after-midnight grace (pulled again), then ``frozen`` (never pulled by the schedule)."""

    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    FROZEN = "frozen", _("Frozen")


class IngestedDay(models.Model):
    """The ingestion state of one UTC day."""

    date = models.DateField(primary_key=True)
    status = models.CharField(max_length=8, choices=IngestedDayStatus.choices, default=IngestedDayStatus.OPEN)
    rows = models.PositiveIntegerField(default=0)
    pulls = models.PositiveIntegerField(default=0)
    first_pulled_at = models.DateTimeField(default=timezone.now)
    last_pulled_at = models.DateTimeField(default=timezone.now)
    frozen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        indexes = [models.Index(fields=["status", "date"], name="ingestedday_status_date")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=IngestedDayStatus.values),
                                   name="ingestedday_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.date} ({self.status})"
