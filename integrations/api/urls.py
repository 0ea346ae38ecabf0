"""REST routes of ``integrations``, mounted under ``/api/v1/``."""
from django.urls import path

from integrations.api import views

app_name = "integrations-api"
urlpatterns = [
    path("admin/litellm/status", views.LiteLLMStatusApi.as_view(), name="litellm-status"),
    path("admin/sync/drift", views.SyncDriftApi.as_view(), name="sync-drift"),
    path("admin/sync/drift/<int:item_id>/repair", views.SyncDriftRepairApi.as_view(), name="sync-drift-repair"),
    path("admin/sync/reconcile", views.SyncReconcileApi.as_view(), name="sync-reconcile"),
    path("admin/outbox", views.OutboxListApi.as_view(), name="outbox-list"),
    path("admin/outbox/<int:entry_id>/retry", views.OutboxRetryApi.as_view(), name="outbox-retry"),
]
