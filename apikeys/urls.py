"""Portal page URLs of ``apikeys``."""
from django.urls import path  # noqa: F401

app_name = "apikeys"
urlpatterns: list = []
