"""Serializers of the ``usage`` API: output shapes (inputs are query parameters validated by selectors)."""
from __future__ import annotations

from rest_framework import serializers

from integrations.models import SyncRun


class UsageQuerySerializer(serializers.Serializer):
    """Query parameters shared by analytics and export (lists: repeat the parameter or separate by commas).

    Only documents the API; validation (dates, ranges, ownership of keys) happens in ``usage.selectors``.
    """

    start = serializers.DateField(required=False, help_text="First UTC day, YYYY-MM-DD.")
    end = serializers.DateField(required=False, help_text="Last UTC day, YYYY-MM-DD (inclusive).")
    models = serializers.CharField(required=False, help_text="Model ids.")
    api_keys = serializers.CharField(required=False, help_text="Portal key ids (your own keys only).")


class AdminUsageQuerySerializer(UsageQuerySerializer):
    """Admin filters: also users (ids, or ``unattributed``), teams and providers."""

    users = serializers.CharField(required=False)
    teams = serializers.CharField(required=False)
    providers = serializers.CharField(required=False)


class RunwaySerializer(serializers.Serializer):
    daily_rate = serializers.DecimalField(max_digits=24, decimal_places=6)
    remaining = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    days_left = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    exhausted_at = serializers.DateTimeField(allow_null=True)
    exhausted = serializers.BooleanField()
    before_reset = serializers.BooleanField(allow_null=True)


class BudgetSerializer(serializers.Serializer):
    """``GET /api/v1/usage/budget``: limits from the portal, spend and reset from one source."""

    max_budget = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    budget_duration = serializers.CharField()
    spend = serializers.DecimalField(max_digits=24, decimal_places=6)
    spend_source = serializers.ChoiceField(choices=["litellm", "facts"])
    spend_source_note = serializers.CharField()
    reset_at = serializers.DateTimeField(allow_null=True)
    period_start = serializers.DateTimeField(allow_null=True)
    utilisation = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    level = serializers.ChoiceField(choices=["none", "ok", "warning", "danger"])
    runway = RunwaySerializer()
    currency = serializers.CharField()
    as_of = serializers.DateTimeField()


class IngestionRunSerializer(serializers.ModelSerializer):
    """One usage ingestion run (a ``SyncRun`` of kind ``usage``)."""

    duration_seconds = serializers.FloatField(read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = ["id", "status", "started_at", "finished_at", "duration_seconds", "counts", "error", "actor"]

    def get_actor(self, obj: SyncRun) -> str | None:
        return obj.actor.username if obj.actor_id else None


class RefreshResultSerializer(serializers.Serializer):
    """``POST /api/v1/admin/usage/refresh``."""

    run = IngestionRunSerializer()
    rows = serializers.IntegerField()
    refreshed_at = serializers.DateTimeField()
