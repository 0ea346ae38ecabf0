"""Models owned by ``apikeys``: the portal's record of each LiteLLM virtual key and the key settings.

The secret itself is never stored: ``token_hash`` is SHA-256 hex of the ``sk-…`` string, which is also the
``token`` LiteLLM keeps for the key, so both systems share one identifier and usage rows map back to a key
even after it was revoked and "deleted" (a deleted key stays as a tombstone with ``deleted_at`` set).
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KeyStatus(models.TextChoices):
    """The key lifecycle (design.md): only the moves in ``ApiKey.TRANSITIONS`` exist."""

    PROVISIONING = "provisioning", _("Provisioning")
    ACTIVE = "active", _("Active")
    FAILED = "failed", _("Failed")
    BLOCKED = "blocked", _("Blocked")
    REVOKING = "revoking", _("Revoking")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    BROKEN = "broken", _("Broken")


class KeyType(models.TextChoices):
    """Ordinary keys are listed and managed by users; playground keys are short-lived and never listed."""

    STANDARD = "standard", _("Standard")
    PLAYGROUND = "playground", _("Playground")


class ApiKey(models.Model):
    """One LiteLLM virtual key owned by a portal user (``metadata.portal_key_id`` = ``id`` in LiteLLM)."""

    # Allowed status moves; services refuse anything else with InvalidTransition.
    TRANSITIONS: dict[str, set[str]] = {
        KeyStatus.PROVISIONING: {KeyStatus.ACTIVE, KeyStatus.FAILED},
        KeyStatus.ACTIVE: {KeyStatus.BLOCKED, KeyStatus.REVOKING, KeyStatus.EXPIRED, KeyStatus.BROKEN},
        KeyStatus.BLOCKED: {KeyStatus.ACTIVE, KeyStatus.REVOKING, KeyStatus.BROKEN},
        KeyStatus.EXPIRED: {KeyStatus.REVOKING},
        KeyStatus.BROKEN: {KeyStatus.REVOKING},
        KeyStatus.REVOKING: {KeyStatus.REVOKED},
        KeyStatus.REVOKED: set(),
        KeyStatus.FAILED: set(),
    }
    # States in which the key counts against the per-user limit.
    LIVE_STATUSES = (KeyStatus.PROVISIONING, KeyStatus.ACTIVE, KeyStatus.BLOCKED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The team the key's spend is charged to (LiteLLM ``team_id``): the team budget then applies too.
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys")
    key_type = models.CharField(max_length=12, choices=KeyType.choices, default=KeyType.STANDARD)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    # LiteLLM key_alias: sanitised name + "_" + alias_suffix (the suffix never changes, so a rename keeps
    # the alias recognisable and unique; defect #21).
    key_alias = models.CharField(max_length=80, unique=True)
    alias_suffix = models.CharField(max_length=8)
    token_hash = models.CharField(max_length=64, unique=True, help_text=_("SHA-256 hex = LiteLLM token"))
    key_prefix = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)

    status = models.CharField(max_length=12, choices=KeyStatus.choices, default=KeyStatus.PROVISIONING)
    status_reason = models.CharField(max_length=500, blank=True)
    last_error = models.TextField(blank=True)

    # Limits (None / "" = no limit).
    max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    budget_duration = models.CharField(max_length=16, blank=True)
    soft_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    max_parallel_requests = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    # Rotation: the new key points at the old one; the old one is revoked at ``rotation_revoke_at``.
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    rotation_revoke_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    revoke_requested_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_attempts = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set when a local change (a model leaving the key) still has to reach LiteLLM; cleared once pushed.
    remote_sync_pending = models.BooleanField(default=False, db_index=True)
    # Last spend read from LiteLLM (cache for pages and the DB fallback of /keys/self; LiteLLM is the truth).
    spend = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    spend_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "key_type", "status"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["rotation_revoke_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=KeyStatus.values), name="apikey_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(soft_budget__isnull=True)
                | models.Q(max_budget__isnull=True)
                | models.Q(soft_budget__lte=models.F("max_budget")),
                name="apikey_soft_budget_lte_max_budget",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """What the user sees instead of the secret: ``sk-ltm-AbCd…wxyz``."""
        return f"{self.key_prefix}…{self.last4}"

    @property
    def is_usable(self) -> bool:
        """Active and not past its expiry (LiteLLM enforces the same)."""
        return self.status == KeyStatus.ACTIVE and (self.expires_at is None or self.expires_at > timezone.now())

    def can_move_to(self, status: str) -> bool:
        """True when the lifecycle allows ``self.status`` → ``status``."""
        return status in self.TRANSITIONS.get(self.status, set())


class ApiKeyModel(models.Model):
    """One model a key may call, with the optional per-model limits.

    ``model_id`` is the LiteLLM ``model_name`` (= ``subscriptions.LlmModel`` pk) kept as a plain string so
    history survives a model leaving the catalogue.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="model_links")
    model_id = models.CharField(max_length=255)
    max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    budget_duration = models.CharField(max_length=16, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["model_id"]
        constraints = [models.UniqueConstraint(fields=["key", "model_id"], name="apikeymodel_unique_model")]
        indexes = [models.Index(fields=["model_id"])]

    def __str__(self) -> str:
        return self.model_id


class ApiKeySettings(models.Model):
    """The admin's key defaults and ceilings (a singleton, row ``pk=1``).

    Defaults pre-fill the create form and apply server-side when a field is omitted; ceilings are enforced
    on self-service create and edit. ``None`` means "no default" / "no ceiling".
    """

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)
    default_max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    default_budget_duration = models.CharField(max_length=16, blank=True)
    default_soft_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_soft_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    default_tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    max_tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    default_rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    max_rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    default_expiry_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    max_expiry_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    max_active_keys_per_user = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("API key settings")
        verbose_name_plural = _("API key settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="apikeysettings_singleton")]

    def __str__(self) -> str:
        return "API key defaults and ceilings"

    @classmethod
    def load(cls) -> ApiKeySettings:
        """The singleton row, created with empty defaults on first use."""
        obj, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj

    @property
    def never_expires_allowed(self) -> bool:
        """"Never expires" is offered only while no maximum expiry is set."""
        return self.max_expiry_days is None
