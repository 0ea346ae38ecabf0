"""REST routes of ``subscriptions``, mounted under ``/api/v1/``."""
from django.urls import path  # noqa: F401

app_name = "subscriptions-api"
urlpatterns: list = []
