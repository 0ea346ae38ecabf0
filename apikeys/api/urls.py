"""REST routes of ``apikeys``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "apikeys-api"
urlpatterns: list = []
