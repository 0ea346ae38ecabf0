"""Portal page URLs of ``usage``."""
from django.urls import path  # noqa: F401

app_name = "usage"
urlpatterns: list = []
