"""Django admin registrations for ``accounts`` (role-based via ``litemaas.admin.PortalModelAdmin``)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_services import user_role_change_check, user_set_role
from accounts.models import Notification, PersonalAccessToken, User
from accounts.token_services import token_revoke
from litemaas.admin import PortalModelAdmin
from litemaas.exceptions import ApplicationError


class UserAdminForm(forms.ModelForm):
    """Only the role is editable here; the rest comes from the identity provider or LiteLLM-aware services."""

    class Meta:
        model = User
        fields = ["role"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        try:
            user_role_change_check(user=self.instance, role=role)  # instance still holds the stored role
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return role


@admin.register(User)
class UserAdmin(PortalModelAdmin):
    """Users: browse everything, change only the role (through ``user_set_role`` so ``is_staff`` follows).

    Limits and activation are not edited here because they must reach LiteLLM through their services.
    """

    form = UserAdminForm
    list_display = ("username", "email", "full_name", "role", "is_active", "litellm_sync_state", "date_joined")
    list_filter = ("role", "is_active", "litellm_sync_state")
    search_fields = ("username", "email", "full_name")
    fieldsets = (
        (None, {"fields": ("id", "username", "email", "full_name", "role", "is_active", "is_staff")}),
        (_("Identity provider"), {"fields": ("groups_from_idp", "date_joined", "last_login")}),
        (_("Limits"), {"fields": ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")}),
        (_("LiteLLM"), {"fields": ("litellm_sync_state", "litellm_synced_at", "litellm_last_error")}),
        (_("Preferences"), {"fields": ("preferred_language", "preferred_theme")}),
    )
    readonly_fields = (
        "id", "username", "email", "full_name", "is_active", "is_staff", "groups_from_idp", "date_joined",
        "last_login", "max_budget", "budget_duration", "tpm_limit", "rpm_limit", "litellm_sync_state",
        "litellm_synced_at", "litellm_last_error", "preferred_language", "preferred_theme",
    )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # users are created by signing in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting would orphan the user's LiteLLM keys and spend; deactivate instead

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        if "role" in form.changed_data:
            user_set_role(user=obj, role=form.cleaned_data["role"], actor=request.user, request=request)


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(PortalModelAdmin):
    """Personal access tokens: read-only (the hash is never shown); admins may revoke them in bulk."""

    read_only = True
    list_display = ("name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("id", "user", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_admin", False))

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[PersonalAccessToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True).select_related("user"))
        for token in tokens:
            token_revoke(token=token, actor=request.user, request=request)
        self.message_user(
            request,
            ngettext("%d token revoked.", "%d tokens revoked.", len(tokens)) % len(tokens),
            messages.SUCCESS,
        )


@admin.register(Notification)
class NotificationAdmin(PortalModelAdmin):
    """In-app notifications: read-only (they are written by the services that raise them)."""

    read_only = True
    list_display = ("title", "user", "kind", "level", "created_at", "read_at")
    list_filter = ("level", "kind", "created_at")
    search_fields = ("title", "kind", "user__username")
    list_select_related = ("user",)
    fields = ("id", "user", "kind", "level", "title", "body", "link", "created_at", "read_at")
    readonly_fields = fields
