"""Serializers of the ``teams`` API (separate input and output shapes where they differ)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import NotificationPreference, Role, User
from litemaas.api.serializers import InputModelSerializer, InputSerializer
from teams.models import Membership, Team, TeamGroupMapping, TeamRole

MONEY = {"max_digits": 12, "decimal_places": 4, "min_value": Decimal("0")}


class TeamOutputSerializer(serializers.ModelSerializer):
    """A team as its members and admins see it (the webhook secret never appears)."""

    member_count = serializers.SerializerMethodField()
    my_role = serializers.SerializerMethodField()
    is_default = serializers.BooleanField(read_only=True)
    has_webhook = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "description", "status", "is_default", "max_budget", "soft_budget",
                  "budget_duration", "tpm_limit", "rpm_limit", "allowed_models", "spend", "spend_synced_at",
                  "budget_reset_at", "litellm_sync_state", "member_count", "my_role", "has_webhook",
                  "created_at", "updated_at", "archived_at"]
        read_only_fields = fields

    def get_member_count(self, obj: Team) -> int:
        # Lists annotate the count; a single team (GET /teams/{id}) did not, and the field went missing.
        count = getattr(obj, "member_count", None)
        return obj.memberships.count() if count is None else count

    def get_my_role(self, obj: Team) -> str | None:
        roles = self.context.get("my_roles") or {}
        return roles.get(obj.pk)

    def get_has_webhook(self, obj: Team) -> bool:
        return bool(obj.alert_webhook_url)


class TeamCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    owner_id = serializers.UUIDField(required=False, allow_null=True)
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    soft_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    allowed_models = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)


class TeamUpdateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    soft_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    allowed_models = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    alert_webhook_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    regenerate_webhook_secret = serializers.BooleanField(required=False)


# Team roles are plain strings in the schema ("owner", "admin", "member"; the services validate them), so
# they do not collide with the portal's Role enum under the same field name.
TEAM_ROLE_HELP = "owner, admin or member"


class MembershipOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)
    role = serializers.CharField(read_only=True, help_text=TEAM_ROLE_HELP)
    username = serializers.CharField(source="user.username", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "full_name", "role", "max_budget", "source", "created_at"]
        read_only_fields = fields


class MemberAddInputSerializer(InputSerializer):
    user_id = serializers.UUIDField(required=False)
    username = serializers.CharField(max_length=150, required=False)
    role = serializers.CharField(max_length=10, default=TeamRole.MEMBER, help_text=TEAM_ROLE_HELP)
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("user_id") and not attrs.get("username"):
            raise serializers.ValidationError({"user_id": "Give user_id or username."})
        return attrs


class MemberUpdateInputSerializer(InputSerializer):
    role = serializers.CharField(max_length=10, required=False, help_text=TEAM_ROLE_HELP)
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)


class GroupMappingSerializer(serializers.ModelSerializer):
    team_id = serializers.UUIDField()
    role = serializers.CharField(max_length=10, help_text=TEAM_ROLE_HELP)

    class Meta:
        model = TeamGroupMapping
        fields = ["id", "group", "team_id", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class AdminUserOutputSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "full_name", "role", "roles", "is_active", "date_joined", "last_login",
                  "max_budget", "budget_duration", "tpm_limit", "rpm_limit", "litellm_sync_state",
                  "litellm_last_error", "groups_from_idp"]
        read_only_fields = fields


class AdminUserUpdateInputSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class BulkLimitsInputSerializer(InputSerializer):
    max_budget = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class NotificationPreferenceSerializer(InputModelSerializer):
    """``GET``/``PUT /notification-preferences``; the webhook secret is shown to its owner only here."""

    thresholds = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=1000), max_length=10)
    webhook_secret = serializers.CharField(read_only=True)
    regenerate_secret = serializers.BooleanField(write_only=True, required=False)

    class Meta:
        model = NotificationPreference
        fields = ["thresholds", "soft_budget_alerts", "runway_alerts", "channel_in_app", "channel_email",
                  "channel_webhook", "webhook_url", "webhook_secret", "regenerate_secret", "admin_digest",
                  "updated_at"]
        read_only_fields = ["webhook_secret", "updated_at"]
