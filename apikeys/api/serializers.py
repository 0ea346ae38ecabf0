"""Serializers of the ``apikeys`` API (separate input and output shapes where they differ).

Input serializers only parse and shape values; every business rule (active subscriptions, ceilings,
defaults, lifecycle) lives in ``apikeys.services``. An absent field means "default" on create and
"unchanged" on edit; an explicit ``null`` means "no limit" (and really clears it in LiteLLM).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from apikeys.models import ApiKey, ApiKeySettings
from apikeys.services import ModelLimits
from litemaas.api.serializers import InputModelSerializer, InputSerializer

LIMIT_FIELDS = ("max_budget", "budget_duration", "soft_budget", "tpm_limit", "rpm_limit", "max_parallel_requests")
EXPIRY_PRESET_DAYS = (30, 60, 90, 180, 365)


class ModelLimitsInputSerializer(InputSerializer):
    """Per-model limits of one model."""

    max_budget = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0"),
                                          required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class _KeyInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    model_ids = serializers.ListField(child=serializers.CharField(max_length=255), min_length=1, max_length=50)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, required=False,
                                               help_text="Alternative to expires_at (presets 30/60/90/180/365).")
    max_budget = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0"),
                                          required=False, allow_null=True)
    budget_duration = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True,
                                            help_text="daily, weekly, monthly, yearly or a LiteLLM duration (30d).")
    soft_budget = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=Decimal("0"),
                                           required=False, allow_null=True)
    tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_parallel_requests = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    model_limits = serializers.DictField(child=ModelLimitsInputSerializer(), required=False, allow_null=True)
    team_id = serializers.UUIDField(required=False, allow_null=True,
                                    help_text="Charge the key to one of your teams (null = no team).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "expires_in_days" in attrs:
            if "expires_at" in attrs:
                raise serializers.ValidationError({"expires_in_days": "Give expires_at or expires_in_days, not both."})
            attrs["expires_at"] = timezone.now() + timedelta(days=attrs.pop("expires_in_days"))
        return attrs

    def to_service_kwargs(self) -> dict[str, Any]:
        """The validated data as keyword arguments of ``apikey_create`` / ``apikey_update`` (UNSET = absent)."""
        data = self.validated_data
        kwargs: dict[str, Any] = {}
        for name in ("name", "description", "model_ids", "expires_at", "team_id", *LIMIT_FIELDS):
            if name in data:
                value = data[name]
                kwargs[name] = "" if name == "budget_duration" and value is None else value
        if "model_limits" in data:
            raw = data["model_limits"] or {}
            kwargs["model_limits"] = {
                model: ModelLimits(
                    max_budget=spec.get("max_budget"), budget_duration=spec.get("budget_duration") or "",
                    tpm_limit=spec.get("tpm_limit"), rpm_limit=spec.get("rpm_limit"),
                )
                for model, spec in raw.items()
            }
        return kwargs


class ApiKeyCreateInputSerializer(_KeyInputSerializer):
    """``POST /api-keys``: models among the caller's active subscriptions, name, limits, expiry."""


class ApiKeyUpdateInputSerializer(_KeyInputSerializer):
    """``PATCH /api-keys/{id}``: any subset of the create fields."""

    name = serializers.CharField(max_length=100, required=False)
    model_ids = serializers.ListField(child=serializers.CharField(max_length=255), min_length=1, max_length=50,
                                     required=False)


class RotateInputSerializer(InputSerializer):
    """``POST /api-keys/{id}/rotate``: how long the old key keeps working (0–24 h)."""

    grace_hours = serializers.FloatField(min_value=0, max_value=24, required=False, default=0)


class ReasonInputSerializer(InputSerializer):
    """Optional reason of a block or revoke (audited, shown to the owner)."""

    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    """A key as its owner or an admin sees it: never the secret, never the hash.

    ``spend`` is LiteLLM's live figure when the view could read it in its one batch call
    (``spend_available``), otherwise the last figure the portal saw.
    """

    masked_key = serializers.CharField(source="masked")
    models = serializers.SerializerMethodField()
    model_limits = serializers.SerializerMethodField()
    spend = serializers.SerializerMethodField()
    spend_available = serializers.SerializerMethodField()
    budget_reset_at = serializers.SerializerMethodField()
    budget_utilization = serializers.SerializerMethodField()
    rotated_from = serializers.UUIDField(source="rotated_from_id", read_only=True, allow_null=True)
    team_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "description", "key_prefix", "last4", "masked_key", "key_alias", "status",
            "status_reason", "models", "model_limits", "max_budget", "budget_duration", "soft_budget", "tpm_limit",
            "rpm_limit", "max_parallel_requests", "expires_at", "spend", "spend_available", "budget_reset_at",
            "budget_utilization", "created_at", "updated_at", "last_used_at", "revoked_at", "rotated_from",
            "rotation_revoke_at", "team_id",
        ]
        read_only_fields = fields

    def _live(self, obj: ApiKey) -> Any:
        live = self.context.get("live_spend")
        return None if live is None else live.get(obj.token_hash)

    def get_models(self, obj: ApiKey) -> list[str]:
        return [link.model_id for link in obj.model_links.all()]

    def get_model_limits(self, obj: ApiKey) -> dict[str, dict[str, Any]]:
        return {
            link.model_id: {"max_budget": link.max_budget, "budget_duration": link.budget_duration or None,
                            "tpm_limit": link.tpm_limit, "rpm_limit": link.rpm_limit}
            for link in obj.model_links.all()
            if link.max_budget is not None or link.tpm_limit is not None or link.rpm_limit is not None
        }

    def get_spend(self, obj: ApiKey) -> str | None:
        live = self._live(obj)
        if live is not None:
            return str(live.spend)
        return None if obj.spend is None else str(obj.spend)

    def get_spend_available(self, obj: ApiKey) -> bool:
        return self._live(obj) is not None

    def get_budget_reset_at(self, obj: ApiKey) -> Any:
        live = self._live(obj)
        return live.budget_reset_at if live is not None else None

    def get_budget_utilization(self, obj: ApiKey) -> float | None:
        live = self._live(obj)
        spend = live.spend if live is not None else obj.spend
        if spend is None or not obj.max_budget:
            return None
        return round(float(spend) / float(obj.max_budget) * 100, 1)


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    """The create (and rotate) response: the key plus its secret as ``key`` — the only response with it."""

    key = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key", "warnings"]
        read_only_fields = fields

    def get_key(self, obj: ApiKey) -> str:
        return self.context["secret"]

    def get_warnings(self, obj: ApiKey) -> list[str]:
        return list(self.context.get("warnings") or [])


class KeySelfSerializer(serializers.Serializer):
    """``GET /keys/self``: what a key may do and how much budget it has left."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    masked_key = serializers.CharField()
    status = serializers.CharField()
    models = serializers.ListField(child=serializers.CharField())
    max_budget = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    spend = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    remaining_budget = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    budget_duration = serializers.CharField(allow_null=True)
    budget_reset_at = serializers.DateTimeField(allow_null=True)
    soft_budget = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    tpm_limit = serializers.IntegerField(allow_null=True)
    rpm_limit = serializers.IntegerField(allow_null=True)
    max_parallel_requests = serializers.IntegerField(allow_null=True)
    model_limits = serializers.DictField()
    expires_at = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=["litellm", "portal"],
                                     help_text="'portal' when LiteLLM was unavailable (figures may be stale).")


class ApiKeySettingsSerializer(InputModelSerializer):
    """The admin's key defaults and ceilings (``null`` = no default / no ceiling)."""

    never_expires_allowed = serializers.BooleanField(read_only=True)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ApiKeySettings
        fields = [
            "default_max_budget", "max_max_budget", "default_budget_duration", "default_soft_budget",
            "max_soft_budget", "default_tpm_limit", "max_tpm_limit", "default_rpm_limit", "max_rpm_limit",
            "default_expiry_days", "max_expiry_days", "max_active_keys_per_user", "never_expires_allowed",
            "updated_at", "updated_by",
        ]
        read_only_fields = ["never_expires_allowed", "updated_at", "updated_by"]
        extra_kwargs = {"default_budget_duration": {"allow_null": True}}

    def validate_default_budget_duration(self, value: str | None) -> str:
        return value or ""

