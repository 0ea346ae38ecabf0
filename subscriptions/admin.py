"""Django admin registrations for ``subscriptions``.

Status changes and model edits that must reach LiteLLM go through the services (admin actions), never
through raw form saves: the change forms are read-only for those fields.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from litemaas.exceptions import ApplicationError
from subscriptions import services
from subscriptions.models import LlmModel, Subscription, SubscriptionStatusHistory


@admin.register(LlmModel)
class LlmModelAdmin(admin.ModelAdmin):
    list_display = ["id", "provider", "model_type", "availability", "restricted", "defined_in_config",
                    "last_synced_at"]
    list_filter = ["availability", "restricted", "model_type", "provider", "defined_in_config"]
    search_fields = ["id", "provider", "backend_model_name"]
    exclude = ["encrypted_api_key"]
    actions = ["sync_from_litellm"]

    def get_readonly_fields(self, request, obj=None):
        # Only the operator's own text is edited here; everything else changes through LiteLLM and the sync
        # (restricting a model needs the cascade, so it is done on the portal's admin page or the API).
        return [f.name for f in LlmModel._meta.fields if f.name not in ("description", "encrypted_api_key")]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Sync the catalogue from LiteLLM now"))
    def sync_from_litellm(self, request, queryset):
        try:
            result = services.model_sync_from_litellm(actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Sync {result.status}: {result.counts()} {result.message}",
                          messages.SUCCESS if result.status == "succeeded" else messages.WARNING)


class HistoryInline(admin.TabularInline):
    model = SubscriptionStatusHistory
    extra = 0
    can_delete = False
    fields = ["changed_at", "old_status", "new_status", "cause", "reason", "changed_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "model", "status", "status_changed_at", "expires_at"]
    list_filter = ["status", "model"]
    search_fields = ["user__username", "user__email", "model__id"]
    list_select_related = ["user", "model"]
    readonly_fields = ["id", "user", "model", "status", "status_reason", "status_cause", "status_changed_at",
                       "status_changed_by", "expires_at", "created_at", "updated_at"]
    inlines = [HistoryInline]
    actions = ["approve_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve selected pending subscriptions"))
    def approve_selected(self, request, queryset):
        if not getattr(request.user, "is_admin", False):
            self.message_user(request, _("This action needs the admin role."), messages.ERROR)
            return
        result = services.subscriptions_bulk_approve(actor=request.user,
                                                     subscription_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Approved {len(result.successful)}, failed {len(result.failed)}.",
                          messages.SUCCESS if not result.failed else messages.WARNING)
