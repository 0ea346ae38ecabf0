"""App configuration for the project package (audit events, health, shared templates) and the admin site."""
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class LitemaasConfig(AppConfig):
    """The project package is also an app so it can own ``AuditEvent`` and management commands."""

    name = "litemaas"
    verbose_name = "litemaas"
    default_auto_field = "django.db.models.BigAutoField"


class PortalAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with ``PortalAdminSite`` as the default site (role-based entry).

    ``INSTALLED_APPS`` lists ``"litemaas.apps.PortalAdminConfig"`` in place of ``"django.contrib.admin"``.
    """

    default = False  # never picked automatically for the "litemaas" entry
    default_site = "litemaas.admin_site.PortalAdminSite"
