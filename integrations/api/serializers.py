"""Serializers of the ``integrations`` API (separate input and output shapes where they differ)."""
from __future__ import annotations

from rest_framework import serializers

from integrations.models import DriftItem, Outbox, SyncRun
from litemaas.api.serializers import InputSerializer


class ReconcileRunSerializer(serializers.ModelSerializer):
    """A sync / reconcile run (output)."""

    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    # Plain strings: several models have a "status"/"kind" choice set, and one enum name per field keeps the
    # schema free of naming collisions (values: see the model's choices).
    status = serializers.CharField(read_only=True, help_text="running, succeeded, failed or aborted")
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = SyncRun
        fields = ["id", "kind", "status", "started_at", "finished_at", "duration_seconds", "dry_run", "actor",
                  "counts", "error"]


class DriftItemSerializer(serializers.ModelSerializer):
    """One drift item of the current report (output)."""

    status = serializers.CharField(read_only=True, help_text="open, queued, repaired, failed, ignored, superseded")

    class Meta:
        model = DriftItem
        fields = ["id", "run", "object_type", "object_id", "drift_class", "severity", "action", "details", "status",
                  "error", "detected_at", "resolved_at"]


class OutboxEntrySerializer(serializers.ModelSerializer):
    """One outbox entry (output; the payload holds no secrets)."""

    status = serializers.CharField(read_only=True, help_text="pending, in_flight, done, failed, dead, superseded")
    object_type = serializers.CharField(read_only=True, help_text="apikey, user or team")

    class Meta:
        model = Outbox
        fields = ["id", "object_type", "object_id", "operation", "payload", "sequence", "status", "attempts",
                  "next_attempt_at", "lease_until", "last_error", "created_at", "updated_at", "delivered_at"]


class ReconcileRequestSerializer(InputSerializer):
    """Input of ``POST /api/v1/admin/sync/reconcile``."""

    dry_run = serializers.BooleanField(default=False)


class DriftReportSerializer(serializers.Serializer):
    """Output of ``GET /api/v1/admin/sync/drift``: the latest reconcile run and the current drift items."""

    last_run = ReconcileRunSerializer(allow_null=True)
    running = serializers.BooleanField()
    count = serializers.IntegerField()
    results = DriftItemSerializer(many=True)


class ReconcileQueuedSerializer(serializers.Serializer):
    """Output of ``POST /api/v1/admin/sync/reconcile``."""

    queued = serializers.BooleanField()
    run = ReconcileRunSerializer(allow_null=True)
