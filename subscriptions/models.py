"""Models owned by ``subscriptions``: the catalogue mirrored from LiteLLM, subscriptions and their history."""
from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PER_MILLION = Decimal(1_000_000)


class ModelType(models.TextChoices):
    """What a deployment does (one per model; ``tokenize`` is an independent capability flag)."""

    CHAT = "chat", _("Chat")
    EMBEDDINGS = "embeddings", _("Embeddings")
    DOCUMENT_CONVERSION = "document_conversion", _("Document conversion")


class Availability(models.TextChoices):
    AVAILABLE = "available", _("Available")
    UNAVAILABLE = "unavailable", _("Unavailable")


# Capability codes used by the catalogue filter and the API (the model type counts as a capability too).
CAPABILITIES: dict[str, str] = {
    "chat": _("Chat"),
    "embeddings": _("Embeddings"),
    "document_conversion": _("Document conversion"),
    "tokenize": _("Tokenize"),
    "vision": _("Vision"),
    "function_calling": _("Function calling"),
    "parallel_function_calling": _("Parallel function calling"),
    "tool_choice": _("Tool choice"),
}


class LlmModel(models.Model):
    """A LiteLLM model deployment as the portal knows it; ``id`` is LiteLLM's ``model_name``.

    Sync owns the LiteLLM-derived fields; ``description`` and ``restricted`` belong to the operator and
    are never overwritten by sync. ``defined_in_config`` marks models from LiteLLM's YAML file, which
    cannot be edited or deleted through LiteLLM's API.
    """

    id = models.CharField(primary_key=True, max_length=255, help_text=_("LiteLLM model_name; may contain '/'."))
    provider = models.CharField(max_length=100, blank=True)
    backend_model_name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    model_type = models.CharField(max_length=24, choices=ModelType.choices, default=ModelType.CHAT)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    # Prices are per token, in the portal currency (LiteLLM's unit); pages show them per 1M tokens.
    input_cost_per_token = models.DecimalField(max_digits=24, decimal_places=15, null=True, blank=True)
    output_cost_per_token = models.DecimalField(max_digits=24, decimal_places=15, null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    rpm = models.PositiveIntegerField(null=True, blank=True)
    supports_vision = models.BooleanField(default=False)
    supports_function_calling = models.BooleanField(default=False)
    supports_parallel_function_calling = models.BooleanField(default=False)
    supports_tool_choice = models.BooleanField(default=False)
    supports_tokenize = models.BooleanField(default=False)
    restricted = models.BooleanField(default=False, help_text=_("Subscriptions need an admin's approval."))
    availability = models.CharField(max_length=12, choices=Availability.choices, default=Availability.AVAILABLE)
    litellm_model_id = models.CharField(max_length=255, blank=True, help_text=_("LiteLLM deployment id."))
    defined_in_config = models.BooleanField(
        default=False, help_text=_("Defined in LiteLLM's config file: read-only through LiteLLM's API.")
    )
    api_base = models.CharField(max_length=500, blank=True)
    # Fernet token of the provider key (see subscriptions.encryption); never shown, never audited.
    encrypted_api_key = models.TextField(blank=True)
    litellm_metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("model")
        indexes = [
            models.Index(fields=["availability"]),
            models.Index(fields=["provider"]),
            models.Index(fields=["litellm_model_id"]),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def name(self) -> str:
        return self.id

    @property
    def is_available(self) -> bool:
        return self.availability == Availability.AVAILABLE

    @property
    def has_api_key(self) -> bool:
        return bool(self.encrypted_api_key)

    @property
    def capabilities(self) -> list[str]:
        """Capability codes, model type first (see ``CAPABILITIES``)."""
        caps = [self.model_type]
        for code, flag in (("tokenize", self.supports_tokenize), ("vision", self.supports_vision),
                           ("function_calling", self.supports_function_calling),
                           ("parallel_function_calling", self.supports_parallel_function_calling),
                           ("tool_choice", self.supports_tool_choice)):
            if flag:
                caps.append(code)
        return caps

    @property
    def input_cost_per_million(self) -> Decimal | None:
        return None if self.input_cost_per_token is None else self.input_cost_per_token * PER_MILLION

    @property
    def output_cost_per_million(self) -> Decimal | None:
        return None if self.output_cost_per_token is None else self.output_cost_per_token * PER_MILLION


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending approval")
    DENIED = "denied", _("Denied")
    INACTIVE = "inactive", _("Inactive")
    EXPIRED = "expired", _("Expired")


class Subscription(models.Model):
    """One user's access to one model. Status changes only through ``subscriptions.services``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    model = models.ForeignKey(LlmModel, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices)
    # The reason the user sees for the last change (e.g. the denial reason) and its machine-readable cause.
    status_reason = models.TextField(blank=True)
    status_cause = models.CharField(max_length=32, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-status_changed_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "model"], name="subscription_one_per_user_model"),
            models.CheckConstraint(
                condition=models.Q(status__in=SubscriptionStatus.values), name="subscription_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-status_changed_at"]),
            models.Index(fields=["model", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.model_id} ({self.status})"


class SubscriptionStatusHistory(models.Model):
    """One row per status change of a subscription (append-only)."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="history")
    old_status = models.CharField(max_length=10, blank=True)
    new_status = models.CharField(max_length=10)
    reason = models.TextField(blank=True)
    cause = models.CharField(max_length=32, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = _("subscription status history")
        indexes = [models.Index(fields=["subscription", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.old_status or '∅'} → {self.new_status}"
