"""Django admin registrations for ``apikeys``.

Keys are read-only here: every change that must reach LiteLLM goes through the services, exposed as admin
actions (block, unblock, revoke, reset spend). The secret is never stored, so it can never be shown.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apikeys import services
from apikeys.models import ApiKey, ApiKeyModel, ApiKeySettings
from litemaas.admin import PortalModelAdmin, PortalTabularInline
from litemaas.exceptions import ApplicationError


class ApiKeyModelInline(PortalTabularInline):
    model = ApiKeyModel
    extra = 0
    read_only = True
    fields = ["model_id", "max_budget", "budget_duration", "tpm_limit", "rpm_limit"]
    readonly_fields = fields


@admin.register(ApiKey)
class ApiKeyAdmin(PortalModelAdmin):
    list_display = ["name", "masked", "user", "key_type", "status", "max_budget", "expires_at", "created_at",
                    "deleted_at"]
    list_filter = ["status", "key_type", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_alias", "key_prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    inlines = [ApiKeyModelInline]
    actions = ["block_keys", "unblock_keys", "revoke_keys", "reset_spend"]
    exclude = ["token_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in ApiKey._meta.fields if f.name != "token_hash"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # keys are created through the portal (the secret is minted and shown once there)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rows are tombstones for usage history; use "revoke"

    def _each(self, request: HttpRequest, queryset: QuerySet[ApiKey], service: Any, done: str) -> None:
        ok = 0
        for key in queryset.select_related("user"):
            try:
                service(key=key, actor=request.user, request=request)
                ok += 1
            except ApplicationError as exc:
                self.message_user(request, f"{key}: {exc.message}", messages.ERROR)
        if ok:
            self.message_user(request, f"{done}: {ok}", messages.SUCCESS)

    @admin.action(description=_("Block selected keys"), permissions=["change"])
    def block_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._each(request, queryset, services.apikey_block, "Blocked")

    @admin.action(description=_("Unblock selected keys"), permissions=["change"])
    def unblock_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._each(request, queryset, services.apikey_unblock, "Unblocked")

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._each(request, queryset, services.apikey_revoke, "Revoked (or revoking)")

    @admin.action(description=_("Reset spend of selected keys"), permissions=["change"])
    def reset_spend(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._each(request, queryset, services.apikey_reset_spend, "Spend reset")


@admin.register(ApiKeySettings)
class ApiKeySettingsAdmin(PortalModelAdmin):
    """The singleton; saved through the service so ceilings are validated and the change is audited."""

    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKeySettings, form: Any, change: bool) -> None:
        values = {name: form.cleaned_data.get(name) for name in services.SETTINGS_FIELDS if name in form.cleaned_data}
        services.apikey_settings_update(actor=request.user, values=values, request=request)
