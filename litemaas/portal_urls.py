"""Page URLs of portal-wide features (namespace ``portal``): preferences, help, branding images, admin pages."""
from django.urls import path

from litemaas import portal_views as views

app_name = "portal"
urlpatterns = [
    path("preferences/language", views.set_language, name="set-language"),
    path("preferences/onboarding", views.onboarding_dismiss, name="onboarding-dismiss"),
    path("banners/<int:banner_id>/dismiss", views.banner_dismiss, name="banner-dismiss"),
    path("branding/images/<slug:kind>", views.branding_image, name="branding-image"),
    path("help/", views.help_index, name="help"),
    path("help/<slug:slug>/", views.help_page, name="help-page"),
    path("manage/overview/", views.admin_overview, name="admin-overview"),
    path("manage/audit/", views.admin_audit, name="admin-audit"),
    path("manage/settings/", views.admin_settings, name="admin-settings"),
    path("manage/banners/", views.admin_banners, name="admin-banners"),
    path("manage/banners/new", views.admin_banner_edit, name="admin-banner-create"),
    path("manage/banners/<int:banner_id>/", views.admin_banner_edit, name="admin-banner-edit"),
    path("manage/banners/<int:banner_id>/visibility", views.admin_banner_visibility, name="admin-banner-visibility"),
    path("manage/banners/<int:banner_id>/delete", views.admin_banner_delete, name="admin-banner-delete"),
    path("manage/banners/<int:banner_id>/history", views.admin_banner_history, name="admin-banner-history"),
    path("manage/branding/", views.admin_branding, name="admin-branding"),
]
