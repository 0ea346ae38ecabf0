"""REST routes of the project app, mounted under ``/api/v1/``."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from litemaas.api import portal_views
from litemaas.api.views import AuditEventViewSet

app_name = "litemaas-api"

router = SimpleRouter(trailing_slash=False)
router.register("admin/audit-events", AuditEventViewSet, basename="audit-event")
router.register("admin/banners", portal_views.AdminBannerViewSet, basename="admin-banner")

urlpatterns = [
    *router.urls,
    path("banners", portal_views.ActiveBannerListView.as_view(), name="banners"),
    path("banners/<int:banner_id>/dismiss", portal_views.BannerDismissView.as_view(), name="banner-dismiss"),
    path("branding", portal_views.BrandingView.as_view(), name="branding"),
    path("branding/images/<slug:kind>", portal_views.BrandingImageView.as_view(), name="branding-image"),
    path("admin/settings", portal_views.AdminSettingsView.as_view(), name="admin-settings"),
    path("currencies", portal_views.CurrencyListView.as_view(), name="currencies"),
]
