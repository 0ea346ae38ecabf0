"""Role-based Django admin base classes (``PortalModelAdmin``) and the audit trail's admin.

Every app registers its models with ``PortalModelAdmin`` (or the inline variants) instead of
``admin.ModelAdmin``. Permissions then follow the portal role, not Django's per-model permissions:
``admin-readonly`` may view everything and change nothing; ``admin`` may also add, change and delete,
unless the class sets ``read_only = True`` (audit events, tokens), in which case nobody may.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from litemaas.models import Announcement, AnnouncementHistory, AuditEvent


def _can_read(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and getattr(user, "is_readonly_admin", False))


def _can_write(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and getattr(user, "is_admin", False))


class PortalPermissionsMixin:
    """The role-based permission hooks shared by ``PortalModelAdmin`` and the inlines."""

    read_only: bool = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _can_read(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _can_read(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:  # inlines pass ``obj``
        return not self.read_only and _can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and _can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and _can_write(request)


class PortalModelAdmin(PortalPermissionsMixin, admin.ModelAdmin):
    """Base ``ModelAdmin`` for every portal model (see the module docstring)."""


class PortalTabularInline(PortalPermissionsMixin, admin.TabularInline):
    """Tabular inline with the portal's role-based permissions."""


class PortalStackedInline(PortalPermissionsMixin, admin.StackedInline):
    """Stacked inline with the portal's role-based permissions."""


@admin.register(AuditEvent)
class AuditEventAdmin(PortalModelAdmin):
    """The append-only audit trail: searchable and filterable, never editable."""

    read_only = True
    date_hierarchy = "created_at"
    list_display = ("created_at", "actor_label", "action", "target_type", "target_id", "success", "request_id")
    list_filter = ("action", "target_type", "success", ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "action", "target_id", "request_id")
    # Counting a large audit table on every page view is the slow part of its changelist.
    show_full_result_count = False
    fields = (
        "created_at", "actor", "actor_label", "action", "target_type", "target_id", "success", "error",
        "metadata", "ip_address", "user_agent", "request_id",
    )
    readonly_fields = fields


# Portal-wide content is changed on the portal's own pages (validated, audited, cache-invalidated), so the
# Django admin only shows it.
@admin.register(Announcement)
class AnnouncementAdmin(PortalModelAdmin):
    """Banners, read-only here: edit them under Administration → Banners."""

    read_only = True
    list_display = ("name", "style", "is_active", "dismissible", "priority", "starts_at", "ends_at", "updated_at")
    list_filter = ("is_active", "style")
    search_fields = ("name",)


@admin.register(AnnouncementHistory)
class AnnouncementHistoryAdmin(PortalModelAdmin):
    """Every change of every banner."""

    read_only = True
    list_display = ("changed_at", "announcement_ref", "action", "changed_by_label")
    list_filter = ("action",)
