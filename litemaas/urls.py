"""Root URL configuration: pages, the REST API under /api/v1/, schema, health and metrics."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from litemaas import health, views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("teams.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("apikeys.api.urls")),
    path("", include("usage.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("teams.urls")),
    path("", include("subscriptions.urls")),
    path("", include("apikeys.urls")),
    path("", include("usage.urls")),
    path("", include("integrations.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("", include("django_prometheus.urls")),
]

handler400 = "litemaas.views.error_400"
handler403 = "litemaas.views.error_403"
handler404 = "litemaas.views.error_404"
handler500 = "litemaas.views.error_500"
