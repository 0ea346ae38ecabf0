"""Django admin registrations for ``teams`` (role-based: read-only admins view, admins change).

Team and membership writes that LiteLLM must know go through the portal pages/API (LiteLLM first); here
teams are read-only apart from the IdP group mappings, which are portal-only data.
"""
from django.contrib import admin

from litemaas.admin import PortalModelAdmin, PortalTabularInline
from teams.models import BudgetAlert, BudgetAlertDelivery, Membership, Team, TeamGroupMapping


class MembershipInline(PortalTabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "max_budget", "source", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):  # members change through the services (LiteLLM first)
        return False


@admin.register(Team)
class TeamAdmin(PortalModelAdmin):
    list_display = ("name", "status", "max_budget", "budget_duration", "tpm_limit", "rpm_limit", "litellm_sync_state")
    list_filter = ("status", "litellm_sync_state")
    search_fields = ("name", "description")
    readonly_fields = [f.name for f in Team._meta.fields if f.name != "alert_webhook_secret"]
    exclude = ("alert_webhook_secret",)
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TeamGroupMapping)
class TeamGroupMappingAdmin(PortalModelAdmin):
    list_display = ("group", "team", "role", "created_at")
    search_fields = ("group", "team__name")
    autocomplete_fields = ("team",)


@admin.register(BudgetAlert)
class BudgetAlertAdmin(PortalModelAdmin):
    read_only = True
    list_display = ("target_type", "target_id", "threshold", "period_start", "spend", "budget", "delivered", "created_at")
    list_filter = ("target_type", "threshold", "delivered")
    search_fields = ("target_id", "title")


@admin.register(BudgetAlertDelivery)
class BudgetAlertDeliveryAdmin(PortalModelAdmin):
    read_only = True
    list_display = ("alert", "channel", "user", "team", "status", "attempts", "created_at", "sent_at")
    list_filter = ("channel", "status")
