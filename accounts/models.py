"""Accounts: the portal user (whose UUID is the LiteLLM ``user_id``), personal access tokens, notifications."""
from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Portal roles, each including the one below it: admin ⊃ admin-readonly ⊃ user."""

    USER = "user", _("User")
    ADMIN_READONLY = "admin-readonly", _("Read-only admin")
    ADMIN = "admin", _("Admin")


class LiteLLMSyncState(models.TextChoices):
    """Whether the LiteLLM copy of an object matches the portal's."""

    PENDING = "pending", _("Pending sync")
    SYNCED = "synced", _("Synced")
    ERROR = "error", _("Sync error")


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to the portal; ``id`` is also their LiteLLM ``user_id``.

    ``is_staff`` is derived from ``role`` by the services (admins and read-only admins may open the
    Django admin; read-only admins get view permissions only).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        _("username"), max_length=150, unique=True, validators=[UnicodeUsernameValidator()],
        help_text=_("The identity provider's user name."),
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    full_name = models.CharField(_("full name"), max_length=255, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.USER)
    groups_from_idp = models.JSONField(_("identity provider groups"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    # Limits mirrored to the LiteLLM user (None = no limit).
    max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    budget_duration = models.CharField(max_length=16, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)

    # LiteLLM provisioning state (written by integrations through accounts.services).
    litellm_sync_state = models.CharField(
        max_length=10, choices=LiteLLMSyncState.choices, default=LiteLLMSyncState.PENDING
    )
    litellm_last_error = models.TextField(blank=True)
    litellm_synced_at = models.DateTimeField(null=True, blank=True)

    # Per-user interface preferences.
    preferred_language = models.CharField(max_length=10, blank=True)
    preferred_theme = models.CharField(max_length=10, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        indexes = [models.Index(fields=["role"]), models.Index(fields=["litellm_sync_state"])]

    def __str__(self) -> str:
        return self.username

    @property
    def is_admin(self) -> bool:
        """Full admin: may read and change everything."""
        return self.is_active and self.role == Role.ADMIN

    @property
    def is_readonly_admin(self) -> bool:
        """Read-only admin (or admin): may read every admin page and endpoint."""
        return self.is_active and self.role in (Role.ADMIN, Role.ADMIN_READONLY)

    @property
    def roles(self) -> list[str]:
        """The role and every role it includes, as the API reports them."""
        if self.role == Role.ADMIN:
            return [Role.ADMIN, Role.ADMIN_READONLY, Role.USER]
        if self.role == Role.ADMIN_READONLY:
            return [Role.ADMIN_READONLY, Role.USER]
        return [Role.USER]

    @property
    def display_name(self) -> str:
        """Full name when known, otherwise the user name."""
        return self.full_name or self.username


class TokenScope(models.TextChoices):
    """What a personal access token may do."""

    READ = "read", _("Read only")
    READ_WRITE = "read-write", _("Read and write")


class PersonalAccessToken(models.Model):
    """A REST API token: shown once, stored only as its SHA-256 plus a visible prefix."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text=_("The first characters, to recognise the token."))
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=12, choices=TokenScope.choices, default=TokenScope.READ_WRITE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_read_only(self) -> bool:
        """True when the token may only make safe requests."""
        return self.scope == TokenScope.READ

    def is_usable(self, now=None) -> bool:
        """Not revoked, not expired, and its owner is active."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return self.user.is_active


class Notification(models.Model):
    """An in-app message for one user (subscription decisions, budget alerts, security notices)."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")
        DANGER = "danger", _("Alert")

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=50, help_text=_("Machine-readable category, e.g. subscription.approved."))
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


def _default_alert_thresholds() -> list[int]:
    return [80, 95, 100]


class NotificationPreference(models.Model):
    """How one user wants budget alerts: which thresholds (percent of a budget) and on which channels.

    The webhook receives JSON signed with HMAC-SHA256 of the body under ``webhook_secret``
    (header ``X-Litemaas-Signature: sha256=<hex>``). A user without a row gets the defaults.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_preference")
    thresholds = models.JSONField(default=_default_alert_thresholds, blank=True)
    soft_budget_alerts = models.BooleanField(default=True)
    runway_alerts = models.BooleanField(default=True)
    channel_in_app = models.BooleanField(default=True)
    channel_email = models.BooleanField(default=True)
    channel_webhook = models.BooleanField(default=False)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)
    admin_digest = models.BooleanField(default=True, help_text=_("Admins: daily digest of budgets over 95 %."))
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"
