"""Serializers of the ``subscriptions`` API (separate input and output shapes where they differ).

The public model serializer never carries api_base, provider keys, backend names, deployment ids or rate
limits (defect #12); those are in ``AdminModelSerializer`` only, used by admin-only endpoints.
"""
from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from litemaas.api.serializers import InputSerializer
from subscriptions.models import LlmModel, ModelType, Subscription, SubscriptionStatus
from subscriptions.selectors import access_state


def currency_code() -> str:
    """The display currency chosen by an admin (``settings.PORTAL_CURRENCY_CODE`` until one is chosen)."""
    from litemaas.portal_selectors import current_currency

    return current_currency().code


class PublicModelSerializer(serializers.ModelSerializer):
    """A catalogue entry as anyone (even anonymous) may see it, with the caller's access state."""

    name = serializers.CharField(read_only=True)
    capabilities = serializers.ListField(child=serializers.CharField(), read_only=True)
    input_cost_per_million = serializers.DecimalField(max_digits=30, decimal_places=6, read_only=True,
                                                      allow_null=True)
    output_cost_per_million = serializers.DecimalField(max_digits=30, decimal_places=6, read_only=True,
                                                       allow_null=True)
    currency = serializers.SerializerMethodField()
    access_state = serializers.SerializerMethodField()
    subscription_id = serializers.SerializerMethodField()

    class Meta:
        model = LlmModel
        fields = [
            "id", "name", "provider", "description", "model_type", "capabilities", "context_length",
            "max_tokens", "input_cost_per_token", "output_cost_per_token", "input_cost_per_million",
            "output_cost_per_million", "currency", "supports_vision", "supports_function_calling",
            "supports_parallel_function_calling", "supports_tool_choice", "supports_tokenize", "restricted",
            "availability", "access_state", "subscription_id", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_currency(self, obj: LlmModel) -> str:
        return currency_code()

    def get_access_state(self, obj: LlmModel) -> str:
        return access_state(obj)

    def get_subscription_id(self, obj: LlmModel) -> str | None:
        value = getattr(obj, "my_subscription_id", None)
        return str(value) if value else None


class AdminModelSerializer(serializers.ModelSerializer):
    """Everything about a model except its provider key (only whether one is stored)."""

    capabilities = serializers.ListField(child=serializers.CharField(), read_only=True)
    input_cost_per_million = serializers.DecimalField(max_digits=30, decimal_places=6, read_only=True,
                                                      allow_null=True)
    output_cost_per_million = serializers.DecimalField(max_digits=30, decimal_places=6, read_only=True,
                                                       allow_null=True)
    has_api_key = serializers.BooleanField(read_only=True)

    class Meta:
        model = LlmModel
        fields = [
            "id", "provider", "backend_model_name", "description", "model_type", "capabilities",
            "context_length", "max_tokens", "input_cost_per_token", "output_cost_per_token",
            "input_cost_per_million", "output_cost_per_million", "tpm", "rpm", "supports_vision",
            "supports_function_calling", "supports_parallel_function_calling", "supports_tool_choice",
            "supports_tokenize", "restricted", "availability", "litellm_model_id", "defined_in_config",
            "api_base", "has_api_key", "created_at", "updated_at", "last_synced_at",
        ]
        read_only_fields = fields


class _ModelInputBase(InputSerializer):
    provider = serializers.RegexField(r"^[a-z0-9_\-]+$", max_length=100, required=False)
    backend_model_name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    model_type = serializers.ChoiceField(choices=ModelType.choices, required=False)
    api_base = serializers.URLField(max_length=500, required=False)
    api_key = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=True)
    input_cost_per_million = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal(0),
                                                      required=False, allow_null=True)
    output_cost_per_million = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal(0),
                                                       required=False, allow_null=True)
    tpm = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rpm = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    context_length = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    supports_vision = serializers.BooleanField(required=False)
    supports_function_calling = serializers.BooleanField(required=False)
    supports_parallel_function_calling = serializers.BooleanField(required=False)
    supports_tool_choice = serializers.BooleanField(required=False)
    supports_tokenize = serializers.BooleanField(required=False)
    restricted = serializers.BooleanField(required=False)


class AdminModelCreateSerializer(_ModelInputBase):
    """Create input: the public name (LiteLLM ``model_name``), an endpoint and prices per 1M tokens."""

    id = serializers.RegexField(r"^\S+$", max_length=255,
                                error_messages={"invalid": "The name may not contain spaces."})
    backend_model_name = serializers.CharField(max_length=255)
    api_base = serializers.URLField(max_length=500)
    provider = serializers.RegexField(r"^[a-z0-9_\-]+$", max_length=100, required=False, default="openai")
    model_type = serializers.ChoiceField(choices=ModelType.choices, required=False, default=ModelType.CHAT)


class AdminModelUpdateSerializer(_ModelInputBase):
    """Partial update input: any subset of the create fields except the name."""


class ModelTestSerializer(InputSerializer):
    """"Test configuration" input; without ``api_key`` the stored key of ``model_id`` is used."""

    api_base = serializers.URLField(max_length=500)
    backend_model_name = serializers.CharField(max_length=255)
    api_key = serializers.CharField(required=False, allow_blank=True, write_only=True)
    model_id = serializers.CharField(required=False, allow_blank=True, max_length=255)
    model_type = serializers.ChoiceField(choices=ModelType.choices, required=False, default=ModelType.CHAT)


class ProbeResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    result = serializers.CharField()
    message = serializers.CharField()
    available_models = serializers.ListField(child=serializers.CharField())


class ModelSyncInputSerializer(InputSerializer):
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="Apply even when many models would be marked unavailable.")


class SyncResultSerializer(serializers.Serializer):
    run_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    marked_unavailable = serializers.IntegerField()
    restored = serializers.IntegerField()
    subscriptions_deactivated = serializers.IntegerField()
    subscriptions_restored = serializers.IntegerField()


class SyncRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    counts = serializers.DictField()
    error = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    dry_run = serializers.BooleanField()


class SubscriptionModelSerializer(serializers.ModelSerializer):
    """The model as shown inside a subscription."""

    class Meta:
        model = LlmModel
        fields = ["id", "provider", "description", "model_type", "context_length", "input_cost_per_token",
                  "output_cost_per_token", "restricted", "availability"]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as its owner sees it, including the reason for the last change (defect #53)."""

    model_id = serializers.CharField(read_only=True)
    model = SubscriptionModelSerializer(read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "model_id", "model", "status", "status_reason", "status_changed_at", "expires_at",
                  "created_at", "updated_at"]
        read_only_fields = fields


class SubscriptionCreateSerializer(InputSerializer):
    model_id = serializers.CharField(max_length=255)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class RequestReviewSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class HistorySerializer(serializers.Serializer):
    old_status = serializers.CharField()
    new_status = serializers.CharField()
    reason = serializers.CharField()
    cause = serializers.CharField()
    changed_by = serializers.CharField(source="changed_by.username", default=None, allow_null=True)
    changed_at = serializers.DateTimeField()


class _UserBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    email = serializers.EmailField()


class _ModelBriefSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    restricted = serializers.BooleanField()
    availability = serializers.CharField()


class AdminSubscriptionSerializer(serializers.ModelSerializer):
    """A subscription in the review queue."""

    user = _UserBriefSerializer(read_only=True)
    model = _ModelBriefSerializer(read_only=True)
    status_changed_by = serializers.CharField(source="status_changed_by.username", default=None,
                                              allow_null=True, read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "user", "model", "status", "status_reason", "status_cause", "status_changed_at",
                  "status_changed_by", "expires_at", "created_at", "updated_at"]
        read_only_fields = fields


class AdminSubscriptionDetailSerializer(AdminSubscriptionSerializer):
    history = serializers.SerializerMethodField()

    class Meta(AdminSubscriptionSerializer.Meta):
        fields = [*AdminSubscriptionSerializer.Meta.fields, "history"]
        read_only_fields = fields

    def get_history(self, obj: Subscription) -> list[dict]:
        return HistorySerializer(obj.history.select_related("changed_by").all(), many=True).data


class BulkApproveSerializer(InputSerializer):
    subscription_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Optional comment shown to the users.")


class BulkDenySerializer(InputSerializer):
    subscription_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
    reason = serializers.CharField(max_length=2000, help_text="Shown to the users.")


class BulkResultSerializer(serializers.Serializer):
    successful = serializers.ListField(child=serializers.CharField())
    failed = serializers.ListField(child=serializers.DictField())


class StatusChangeSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AdminDeleteSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AdminQueueFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=SubscriptionStatus.choices, required=False)
    model = serializers.ListField(child=serializers.CharField(), required=False)
    user = serializers.ListField(child=serializers.UUIDField(), required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
