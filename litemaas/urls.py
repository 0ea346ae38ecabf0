"""Root URL configuration: pages, the REST API under /api/v1/, schema, health and metrics."""
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from litemaas import health, views
from litemaas.metrics import metrics_view

api_v1 = [
    path("", include("litemaas.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("teams.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("apikeys.api.urls")),
    path("", include("usage.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("preferences/theme", views.set_theme, name="set-theme"),
    path("", include("litemaas.portal_urls")),
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
    # The docs pages send an anonymous browser to the login page; the schema itself answers 401.
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", login_required(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    # Serves business gauges and, under gunicorn, all worker processes (litemaas.metrics explains why).
    path("metrics", metrics_view, name="prometheus-django-metrics"),
]

handler400 = "litemaas.views.error_400"
handler403 = "litemaas.views.error_403"
handler404 = "litemaas.views.error_404"
handler500 = "litemaas.views.error_500"
