"""REST routes of ``teams``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "teams-api"
urlpatterns: list = []
