"""REST routes of ``usage``, mounted under ``/api/v1/``."""
from django.urls import path

from usage.api import views

app_name = "usage-api"

urlpatterns = [
    path("usage/analytics", views.UsageAnalyticsApi.as_view(), name="analytics"),
    path("usage/export", views.UsageExportApi.as_view(), name="export"),
    path("usage/budget", views.UsageBudgetApi.as_view(), name="budget"),
    path("usage/filter-options", views.UsageFilterOptionsApi.as_view(), name="filter-options"),
    path("admin/usage/analytics", views.AdminUsageAnalyticsApi.as_view(), name="admin-analytics"),
    path("admin/usage/breakdown", views.AdminUsageBreakdownApi.as_view(), name="admin-breakdown"),
    path("admin/usage/export", views.AdminUsageExportApi.as_view(), name="admin-export"),
    path("admin/usage/refresh", views.AdminUsageRefreshApi.as_view(), name="admin-refresh"),
    path("admin/usage/ingestion-runs", views.AdminIngestionRunsApi.as_view(), name="admin-ingestion-runs"),
]
