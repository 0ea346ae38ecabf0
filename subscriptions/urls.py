"""Portal page URLs of ``subscriptions``."""
from django.urls import path  # noqa: F401

app_name = "subscriptions"
urlpatterns: list = []
