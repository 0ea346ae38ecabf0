"""REST routes of ``apikeys``, mounted under ``/api/v1/``."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from apikeys.api import views

app_name = "apikeys-api"

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", views.ApiKeyViewSet, basename="apikey")
router.register(r"admin/users/(?P<user_id>[^/.]+)/api-keys", views.AdminUserApiKeyViewSet, basename="admin-user-apikey")

urlpatterns = [
    path("keys/self", views.KeySelfView.as_view(), name="key-self"),
    path("admin/settings/api-key-limits", views.ApiKeySettingsView.as_view(), name="settings"),
    *router.urls,
]
