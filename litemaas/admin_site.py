"""The portal's Django admin site: open to admins and read-only admins only, by role.

Installed as the default site by ``litemaas.apps.PortalAdminConfig`` (listed in ``INSTALLED_APPS`` instead of
``django.contrib.admin``), so every ``@admin.register`` in every app lands here. This module imports no
models: Django loads it while the app registry is still being populated.
"""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    """Lets in active users whose role is ``admin`` or ``admin-readonly``, whatever ``is_staff`` says."""

    site_header = _("litemaas administration")
    site_title = _("litemaas admin")
    index_title = _("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and getattr(user, "is_readonly_admin", False))
