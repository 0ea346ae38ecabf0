"""REST routes of ``integrations``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "integrations-api"
urlpatterns: list = []
