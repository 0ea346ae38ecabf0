"""API views of ``integrations``: scoped querysets from selectors, one service call per write."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
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
