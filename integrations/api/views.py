"""API views of ``integrations``: scoped querysets from selectors, one service call per write."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.selectors import litellm_status
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin


class LiteLLMBreakerSerializer(serializers.Serializer):
    """The circuit breaker as the status endpoint reports it."""

    # Same values as LiteLLMStatusSerializer.breaker; a plain string here avoids a duplicate schema enum.
    state = serializers.CharField(help_text="OK, RECOVERY or BROKEN")
    failures = serializers.IntegerField()
    retry_in_seconds = serializers.IntegerField()
    failure_threshold = serializers.IntegerField()
    window_seconds = serializers.FloatField()
    cooldown_seconds = serializers.FloatField()
    storage_ok = serializers.BooleanField()


class LiteLLMStatusSerializer(serializers.Serializer):
    """Output of ``GET /api/v1/admin/litellm/status`` (kept next to its only view; output-only)."""

    status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    configured = serializers.BooleanField()
    url = serializers.CharField(required=False)
    public_url = serializers.CharField(required=False)
    latency_ms = serializers.FloatField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    breaker = serializers.ChoiceField(choices=["OK", "RECOVERY", "BROKEN"])
    breaker_details = LiteLLMBreakerSerializer(required=False)
    error = serializers.CharField(required=False)


class LiteLLMStatusApi(APIView):
    """LiteLLM reachability, latency, version and circuit-breaker state (admins and read-only admins)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(responses=LiteLLMStatusSerializer, operation_id="admin_litellm_status")
    def get(self, request: Request) -> Response:
        """Probe LiteLLM now (no cache) and report; never fails because LiteLLM is down."""
        return Response(LiteLLMStatusSerializer(litellm_status()).data)


# ---------------------------------------------------------------------------------------------------------
# Sync: drift report, reconcile, outbox (admins; read-only admins may read)
# ---------------------------------------------------------------------------------------------------------
from integrations.api.serializers import (  # noqa: E402 - appended section, kept next to its views
    DriftItemSerializer,
    DriftReportSerializer,
    OutboxEntrySerializer,
    ReconcileQueuedSerializer,
    ReconcileRequestSerializer,
)
from integrations.models import Outbox, SyncRun  # noqa: E402
from litemaas.api.pagination import DefaultPagination  # noqa: E402


def _latest_reconcile() -> SyncRun | None:
    return SyncRun.objects.filter(kind=SyncRun.Kind.RECONCILE).select_related("actor").first()


class SyncDriftApi(APIView):
    """The current drift report (open, queued and failed items) and the latest reconcile run."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(responses=DriftReportSerializer, operation_id="admin_sync_drift")
    def get(self, request: Request) -> Response:
        """Current drift, security items first; at most 500 items (the page shows the counts per class)."""
        from integrations.reconcile import drift_current, reconcile_is_running

        items = drift_current().order_by("severity", "drift_class", "id")
        return Response(DriftReportSerializer({
            "last_run": _latest_reconcile(), "running": reconcile_is_running(), "count": items.count(),
            "results": list(items[:500])}).data)


class SyncReconcileApi(APIView):
    """Run the reconciler now (queued; 409 while a run is in progress)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(request=ReconcileRequestSerializer, responses={202: ReconcileQueuedSerializer},
                   operation_id="admin_sync_reconcile")
    def post(self, request: Request) -> Response:
        """Queue one run (``dry_run`` reports without changing anything)."""
        from integrations.reconcile import reconcile_enqueue

        data = ReconcileRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reconcile_enqueue(actor=request.user, dry_run=data.validated_data["dry_run"])
        return Response(ReconcileQueuedSerializer({"queued": True, "run": _latest_reconcile()}).data, status=202)


class SyncDriftRepairApi(APIView):
    """Repair one drift item now (the strategy's action; portal_wins for report-only items)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(request=None, responses=DriftItemSerializer, operation_id="admin_sync_drift_repair")
    def post(self, request: Request, item_id: int) -> Response:
        """Apply the repair; 409 with the reason when it fails, 404 for an unknown item."""
        from integrations.reconcile import drift_repair

        return Response(DriftItemSerializer(drift_repair(item_id=item_id, actor=request.user, request=request)).data)


class OutboxListApi(generics.ListAPIView):
    """Outbox entries, oldest first; ``?status=pending,failed,dead`` filters (default: everything not done)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]
    serializer_class = OutboxEntrySerializer
    pagination_class = DefaultPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        from integrations.outbox import outbox_list

        raw = self.request.query_params.get("status", "")
        statuses = [s for s in raw.split(",") if s in Outbox.Status.values] or [
            s for s in Outbox.Status.values if s not in (Outbox.Status.DONE, Outbox.Status.SUPERSEDED)]
        return outbox_list(statuses=statuses)

    @extend_schema(operation_id="admin_outbox_list")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        """List the entries."""
        return super().get(request, *args, **kwargs)


class OutboxRetryApi(APIView):
    """Put a dead or failed outbox entry back in line now."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(request=None, responses=OutboxEntrySerializer, operation_id="admin_outbox_retry")
    def post(self, request: Request, entry_id: int) -> Response:
        """Retry; 404 unknown, 400 for an entry that is done or superseded."""
        from integrations.outbox import outbox_retry

        return Response(OutboxEntrySerializer(outbox_retry(entry_id=entry_id, actor=request.user,
                                                           request=request)).data)
