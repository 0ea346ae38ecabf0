"""Models owned by ``teams``: Team (mirrored to a LiteLLM team, ``team_id`` = ``id``), Membership (role and
per-member cap), the IdP group → team mapping, and the budget-alert claims and their deliveries.

The Default Team (``DEFAULT_TEAM_ID``) is created by a data migration; every user is a member.
"""
from __future__ import annotations

import uuid
from typing import Final

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_TEAM_ID: Final = uuid.UUID("a0000000-0000-4000-8000-000000000001")
DEFAULT_TEAM_NAME: Final = "Default Team"


class TeamRole(models.TextChoices):
    """Roles inside a team: owners and admins manage members and limits; members use the team's budget."""

    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


MANAGER_ROLES: Final = (TeamRole.OWNER, TeamRole.ADMIN)


class TeamStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class TeamSyncState(models.TextChoices):
    PENDING = "pending", _("Pending sync")
    SYNCED = "synced", _("Synced")
    ERROR = "error", _("Sync error")


class Team(models.Model):
    """A group of users sharing a budget and rate limits, mirrored to the LiteLLM team ``id``.

    ``allowed_models`` empty means every model (LiteLLM's ``models: []``). Limits ``None`` = no limit.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=TeamStatus.choices, default=TeamStatus.ACTIVE)

    max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    soft_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    budget_duration = models.CharField(max_length=16, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    allowed_models = models.JSONField(default=list, blank=True)

    # Optional team webhook for budget alerts (JSON, HMAC-SHA256 signed with the secret).
    alert_webhook_url = models.URLField(max_length=500, blank=True)
    alert_webhook_secret = models.CharField(max_length=200, blank=True)

    litellm_sync_state = models.CharField(max_length=10, choices=TeamSyncState.choices,
                                          default=TeamSyncState.PENDING)
    litellm_last_error = models.TextField(blank=True)
    litellm_synced_at = models.DateTimeField(null=True, blank=True)
    # Last spend read from LiteLLM (cache for pages; LiteLLM is the truth).
    spend = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    spend_synced_at = models.DateTimeField(null=True, blank=True)
    budget_reset_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=models.Q(status="active"),
                                    name="team_unique_active_name"),
            models.CheckConstraint(condition=models.Q(status__in=TeamStatus.values), name="team_status_valid"),
            models.CheckConstraint(
                condition=models.Q(soft_budget__isnull=True) | models.Q(max_budget__isnull=True)
                | models.Q(soft_budget__lte=models.F("max_budget")),
                name="team_soft_budget_lte_max_budget",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.pk == DEFAULT_TEAM_ID

    @property
    def is_active(self) -> bool:
        return self.status == TeamStatus.ACTIVE


class MembershipSource(models.TextChoices):
    MANUAL = "manual", _("Added by a team manager or admin")
    IDP_GROUP = "idp", _("Identity provider group")
    DEFAULT = "default", _("Default Team")


class Membership(models.Model):
    """A user in a team with a role and an optional cap on what their keys charged to the team may spend."""

    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=10, choices=TeamRole.choices, default=TeamRole.MEMBER)
    # Per-member cap inside the team (None = the team budget only). Enforced on the member's keys charged
    # to the team: their max budgets must add up to at most this (LiteLLM 1.103.7's max_budget_in_team is
    # not reachable through the portal's client).
    max_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    source = models.CharField(max_length=10, choices=MembershipSource.choices, default=MembershipSource.MANUAL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            models.CheckConstraint(condition=models.Q(role__in=TeamRole.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "team"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


class TeamGroupMapping(models.Model):
    """Members of identity-provider ``group`` join ``team`` (with ``role``) at login, and leave it when they
    are no longer in any group mapped to it (only memberships that came from a mapping are removed)."""

    id = models.BigAutoField(primary_key=True)
    group = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="group_mappings")
    role = models.CharField(max_length=10, choices=TeamRole.choices, default=TeamRole.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "team__name"]
        constraints = [models.UniqueConstraint(fields=["group", "team"], name="teamgroupmapping_unique")]

    def __str__(self) -> str:
        return f"{self.group} → {self.team}"


class AlertTarget(models.TextChoices):
    KEY = "key", _("API key")
    USER = "user", _("User")
    TEAM = "team", _("Team")
    DIGEST = "digest", _("Admin digest")


class BudgetAlert(models.Model):
    """One alert claimed for (target, threshold, budget period): the unique constraint makes it happen once.

    ``threshold`` is a percentage ("80", "95", "100"), ``soft`` (soft budget reached) or ``runway`` (the
    trailing rate runs the budget out before the reset). ``period_start`` is the start of the budget period
    as LiteLLM reports it (reset time minus duration), or the epoch for budgets that never reset.
    """

    id = models.BigAutoField(primary_key=True)
    target_type = models.CharField(max_length=10, choices=AlertTarget.choices)
    target_id = models.CharField(max_length=64)
    threshold = models.CharField(max_length=10)
    period_start = models.DateTimeField()
    spend = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    budget = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # False when a higher threshold was claimed in the same run: the lower one is only marked as passed.
    delivered = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id", "threshold", "period_start"],
                                    name="budgetalert_once_per_period"),
        ]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.target_type}:{self.target_id} {self.threshold} @ {self.period_start:%Y-%m-%d}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class BudgetAlertDelivery(models.Model):
    """An outbound copy of an alert (e-mail to a user, or a user/team webhook), written in the claim's
    transaction and sent after commit; the alert job re-sends pending ones, so a crash loses nothing."""

    id = models.BigAutoField(primary_key=True)
    alert = models.ForeignKey(BudgetAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.channel} for alert {self.alert_id} ({self.status})"
