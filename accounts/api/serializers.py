"""Serializers of the ``accounts`` API (separate input and output shapes where they differ)."""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from accounts.models import PersonalAccessToken, TokenScope, User
from accounts.token_services import TOKEN_NAME_MAX_LENGTH
from litemaas.api.serializers import StrictInputSerializer
from litemaas.context_processors import THEMES


class TokenSerializer(serializers.ModelSerializer):
    """A personal access token as listed: never the secret, never the hash."""

    is_expired = serializers.SerializerMethodField()

    class Meta:
        model = PersonalAccessToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "is_expired"]
        read_only_fields = fields

    def get_is_expired(self, token: PersonalAccessToken) -> bool:
        return token.expires_at is not None and token.expires_at <= timezone.now()


class TokenCreatedSerializer(TokenSerializer):
    """The create response: the only time the secret is ever shown."""

    token = serializers.SerializerMethodField(help_text="The secret. Shown once; store it now.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, token: PersonalAccessToken) -> str:
        return self.context["secret"]


class TokenCreateInputSerializer(StrictInputSerializer):
    """``POST /api/v1/tokens``: a name, a scope (``read`` by default) and an optional lifetime in days."""

    name = serializers.CharField(max_length=TOKEN_NAME_MAX_LENGTH)
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.READ)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=settings.PERSONAL_TOKEN_MAX_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Lifetime in days; omit or null for a token that does not expire.",
    )


class UserLimitsSerializer(serializers.Serializer):
    """The limits LiteLLM enforces for the user (null means no limit)."""

    max_budget = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    budget_duration = serializers.CharField()
    tpm_limit = serializers.IntegerField(allow_null=True)
    rpm_limit = serializers.IntegerField(allow_null=True)


class UserLiteLLMSerializer(serializers.Serializer):
    """Whether the user's LiteLLM copy is in sync."""

    sync_state = serializers.CharField(source="litellm_sync_state")
    synced_at = serializers.DateTimeField(source="litellm_synced_at", allow_null=True)


class MeSerializer(serializers.ModelSerializer):
    """``GET /api/v1/me``: the caller's own profile."""

    roles = serializers.ListField(child=serializers.CharField())
    limits = UserLimitsSerializer(source="*")
    litellm = UserLiteLLMSerializer(source="*")

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "full_name", "role", "roles", "is_active", "date_joined",
            "preferred_language", "preferred_theme", "limits", "litellm",
        ]
        read_only_fields = fields


class MeUpdateInputSerializer(StrictInputSerializer):
    """``PATCH /api/v1/me``: only these fields; anything else (role, limits, flags) is a 400."""

    full_name = serializers.CharField(max_length=255, allow_blank=True, required=False)
    preferred_language = serializers.ChoiceField(
        choices=["", *(code for code, _name in settings.LANGUAGES)], required=False,
        help_text="A language code, or empty for the browser's choice.",
    )
    preferred_theme = serializers.ChoiceField(
        choices=["", *THEMES], required=False, help_text="Empty follows the portal default."
    )
