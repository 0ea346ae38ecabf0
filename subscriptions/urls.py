"""Portal page URLs of ``subscriptions``."""
from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("models/", views.catalogue, name="catalogue"),
    path("models/<path:model_id>", views.model_detail, name="model-detail"),
    path("subscriptions/", views.subscription_list, name="list"),
    path("subscriptions/new", views.subscribe, name="subscribe"),
    path("subscriptions/<uuid:pk>/cancel", views.subscription_cancel, name="cancel"),
    path("subscriptions/<uuid:pk>/request-review", views.subscription_request_review, name="request-review"),
    path("manage/models/", views.admin_models, name="admin-models"),
    path("manage/models/sync", views.admin_model_sync, name="admin-model-sync"),
    path("manage/models/test", views.admin_model_test, name="admin-model-test"),
    path("manage/models/edit/<path:model_id>", views.admin_model_edit, name="admin-model-edit"),
    path("manage/models/delete/<path:model_id>", views.admin_model_delete, name="admin-model-delete"),
    path("manage/subscriptions/", views.admin_queue, name="admin-queue"),
    path("manage/subscriptions/bulk", views.admin_queue_bulk, name="admin-queue-bulk"),
    path("manage/subscriptions/<uuid:pk>/status", views.admin_subscription_status, name="admin-subscription-status"),
    path("manage/subscriptions/<uuid:pk>/delete", views.admin_subscription_delete, name="admin-subscription-delete"),
]
