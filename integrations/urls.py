"""Portal page URLs of ``integrations``."""
from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("admin-tools/litellm/", views.litellm_status_page, name="litellm-status"),
    path("admin-tools/sync/", views.admin_sync_page, name="admin-sync"),
]
