"""REST routes of ``usage``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "usage-api"
urlpatterns: list = []
