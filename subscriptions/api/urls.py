"""REST routes of ``subscriptions``, mounted under ``/api/v1/``.

Explicit paths (not a router) because model ids may contain ``/`` (``path:`` converter) and the admin
model routes have the fixed sub-paths ``test`` and ``sync`` (those two names are reserved for models).
"""
from django.urls import path

from subscriptions.api import views

app_name = "subscriptions-api"

urlpatterns = [
    path("models", views.ModelViewSet.as_view({"get": "list"}), name="model-list"),
    path("models/<path:model_id>", views.ModelViewSet.as_view({"get": "retrieve"}), name="model-detail"),
    path("subscriptions", views.SubscriptionViewSet.as_view({"get": "list", "post": "create"}),
         name="subscription-list"),
    path("subscriptions/<uuid:pk>", views.SubscriptionViewSet.as_view({"get": "retrieve"}),
         name="subscription-detail"),
    path("subscriptions/<uuid:pk>/cancel", views.SubscriptionViewSet.as_view({"post": "cancel"}),
         name="subscription-cancel"),
    path("subscriptions/<uuid:pk>/request-review", views.SubscriptionViewSet.as_view({"post": "request_review"}),
         name="subscription-request-review"),
    # Admin: models
    path("admin/models", views.AdminModelViewSet.as_view({"get": "list", "post": "create"}),
         name="admin-model-list"),
    path("admin/models/test", views.AdminModelViewSet.as_view({"post": "test"}), name="admin-model-test"),
    path("admin/models/sync", views.AdminModelViewSet.as_view({"post": "sync"}), name="admin-model-sync"),
    path("admin/models/<path:model_id>", views.AdminModelViewSet.as_view(
        {"get": "retrieve", "put": "update", "patch": "update", "delete": "destroy"}), name="admin-model-detail"),
    path("admin/sync-runs", views.AdminSyncRunViewSet.as_view({"get": "list"}), name="admin-sync-run-list"),
    # Admin: subscriptions
    path("admin/subscriptions", views.AdminSubscriptionViewSet.as_view({"get": "list"}),
         name="admin-subscription-list"),
    path("admin/subscriptions/approve", views.AdminSubscriptionViewSet.as_view({"post": "approve"}),
         name="admin-subscription-approve"),
    path("admin/subscriptions/deny", views.AdminSubscriptionViewSet.as_view({"post": "deny"}),
         name="admin-subscription-deny"),
    path("admin/subscriptions/<uuid:pk>", views.AdminSubscriptionViewSet.as_view(
        {"get": "retrieve", "delete": "destroy"}), name="admin-subscription-detail"),
    path("admin/subscriptions/<uuid:pk>/status", views.AdminSubscriptionViewSet.as_view(
        {"post": "change_status"}), name="admin-subscription-status"),
]
