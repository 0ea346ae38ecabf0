"""API views of ``usage``: validate query parameters through selectors, answer from selectors.

Analytics and exports are throttled per user with DRF's scoped throttle (scopes ``analytics`` and
``export`` in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``); a throttled call gets 429 with Retry-After in
the standard error shape.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from litemaas.api.pagination import DefaultPagination
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, IsPortalAdmin
from litemaas.exceptions import ValidationFailed
from usage import selectors, services
from usage.api.serializers import (
    AdminUsageQuerySerializer,
    BudgetSerializer,
    IngestionRunSerializer,
    RefreshResultSerializer,
    UsageQuerySerializer,
)
from usage.exports import EXPORT_FORMATS, export_response


def filters_from_request(request: Request, *, admin_view: bool, max_days: int | None = None) -> selectors.UsageFilters:
    """Build scoped filters from query parameters (lists: repeated or comma-separated)."""
    params = request.query_params
    return selectors.build_filters(
        actor=request.user, start=params.get("start"), end=params.get("end"),
        models=params.getlist("models"), api_keys=params.getlist("api_keys"),
        providers=params.getlist("providers") if admin_view else (),
        users=params.getlist("users") if admin_view else (), teams=params.getlist("teams") if admin_view else (),
        admin_view=admin_view, max_days=max_days,
    )


class _FormatParamIgnoringNegotiation(DefaultContentNegotiation):
    """Exports use ``?format=csv|json`` for the *file* format; DRF would read it as a renderer override."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type


class _AnalyticsThrottled(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "analytics"


class UsageAnalyticsApi(_AnalyticsThrottled):
    """The caller's own analytics (same engine as the admin view, restricted to their rows)."""

    @extend_schema(parameters=[UsageQuerySerializer], responses=OpenApiTypes.OBJECT, operation_id="usage_analytics")
    def get(self, request: Request) -> Response:
        filters = filters_from_request(request, admin_view=False)
        return Response(selectors.usage_analytics(actor=request.user, filters=filters))


class UsageFilterOptionsApi(_AnalyticsThrottled):
    """Model and key filter options from the caller's own data in the range (defect #34)."""

    @extend_schema(parameters=[UsageQuerySerializer], responses=OpenApiTypes.OBJECT,
                   operation_id="usage_filter_options")
    def get(self, request: Request) -> Response:
        filters = filters_from_request(request, admin_view=False)
        return Response(selectors.usage_filter_options(actor=request.user, date_range=filters.range))


class UsageBudgetApi(APIView):
    """The caller's budget card with the runway forecast."""

    @extend_schema(responses=BudgetSerializer, operation_id="usage_budget")
    def get(self, request: Request) -> Response:
        budget = selectors.usage_budget_for_user(user=request.user)
        data = {**budget.__dict__, "runway": budget.runway.__dict__}
        return Response(BudgetSerializer(data).data)


_FORMAT_PARAM = OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), default="csv")


class _ExportApi(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "export"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FormatParamIgnoringNegotiation
    admin_view = False
    prefix = "usage-export"

    def get(self, request: Request) -> Any:
        fmt = request.query_params.get("format") or "csv"
        if fmt not in EXPORT_FORMATS:
            raise ValidationFailed("Choose an export format.", code="invalid_format",
                                   details={"fields": {"format": ["Use csv or json."]}})
        filters = filters_from_request(request, admin_view=self.admin_view, max_days=settings.USAGE_EXPORT_MAX_DAYS)
        return export_response(actor=request.user, filters=filters, fmt=fmt, prefix=self.prefix)


class UsageExportApi(_ExportApi):
    """Stream the caller's own usage per (day, model) as CSV or JSON (≤ USAGE_EXPORT_MAX_DAYS days)."""

    @extend_schema(parameters=[UsageQuerySerializer, _FORMAT_PARAM],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, operation_id="usage_export")
    def get(self, request: Request) -> Any:
        return super().get(request)


class AdminUsageExportApi(_ExportApi):
    """Stream the platform's usage per (day, user, model) for the filters (admins and read-only admins)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]
    admin_view = True
    prefix = "admin-usage-export"

    @extend_schema(parameters=[AdminUsageQuerySerializer, _FORMAT_PARAM],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, operation_id="admin_usage_export")
    def get(self, request: Request) -> Any:
        return super().get(request)


class AdminUsageAnalyticsApi(_AnalyticsThrottled):
    """Platform-wide analytics with user, team, key, model and provider filters."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(parameters=[AdminUsageQuerySerializer], responses=OpenApiTypes.OBJECT,
                   operation_id="admin_usage_analytics")
    def get(self, request: Request) -> Response:
        filters = filters_from_request(request, admin_view=True)
        return Response(selectors.usage_analytics(actor=request.user, filters=filters))


class AdminUsageBreakdownApi(_AnalyticsThrottled):
    """Paginated, sortable breakdown by user, model, provider, key or team (``sort=-spend`` etc.)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(
        parameters=[AdminUsageQuerySerializer,
                    OpenApiParameter("by", str, enum=list(selectors.BREAKDOWN_DIMENSIONS), default="user"),
                    OpenApiParameter("sort", str, description="Field, '-' prefix for descending; default -spend."),
                    OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=OpenApiTypes.OBJECT, operation_id="admin_usage_breakdown")
    def get(self, request: Request) -> Response:
        by = request.query_params.get("by") or "user"
        filters = filters_from_request(request, admin_view=True)
        rows = selectors.usage_breakdown(actor=request.user, filters=filters, by=by,
                                         sort=request.query_params.get("sort"))
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        response = paginator.get_paginated_response(selectors.enrich_breakdown(page or [], by=by))
        response.data["by"] = by
        response.data["currency"] = settings.PORTAL_CURRENCY_CODE
        return response


class AdminUsageRefreshApi(APIView):
    """Re-pull today's usage from LiteLLM now (admins only; read-only admins get 403)."""

    permission_classes = [IsPortalAdmin]

    @extend_schema(request=None, responses=RefreshResultSerializer, operation_id="admin_usage_refresh")
    def post(self, request: Request) -> Response:
        result = services.usage_refresh_today(actor=request.user, request=request)
        return Response(RefreshResultSerializer({"run": result.run, "rows": result.rows,
                                                 "refreshed_at": result.run.finished_at or timezone.now()}).data)


class AdminIngestionRunsApi(generics.ListAPIView):
    """Usage ingestion runs, newest first (paginated)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]
    serializer_class = IngestionRunSerializer

    def get_queryset(self) -> Any:
        return selectors.usage_ingestion_runs()
