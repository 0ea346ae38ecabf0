"""REST routes of ``accounts``, mounted under ``/api/v1/``."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import MeView, TokenViewSet

app_name = "accounts-api"

router = SimpleRouter(trailing_slash=False)
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    *router.urls,
]
