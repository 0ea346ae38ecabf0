"""REST routes of ``integrations``, mounted under ``/api/v1/``."""
from django.urls import path

from integrations.api import views

app_name = "integrations-api"
urlpatterns = [
    path("admin/litellm/status", views.LiteLLMStatusApi.as_view(), name="litellm-status"),
]
