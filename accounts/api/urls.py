"""REST routes of ``accounts``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "accounts-api"
urlpatterns: list = []
