"""Announcement banners shown above every page, their per-user dismissals and their change history."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# English is mandatory; the other shipped languages are optional (English is shown when one is missing).
BANNER_TEXT_MAX_LENGTH = 500


class AnnouncementStyle(models.TextChoices):
    """PatternFly alert variants."""

    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    DANGER = "danger", _("Danger")
    SUCCESS = "success", _("Success")


class Announcement(models.Model):
    """A banner admins publish to everyone, to some roles or to named users.

    ``content`` maps a language code to Markdown text (``{"en": "...", "fr": "..."}``); it is rendered by
    ``litemaas.markdown`` (sanitised, no raw HTML). Empty ``target_roles`` and no ``target_users`` mean
    everyone. Written only through ``litemaas.portal_services``, which also writes the history.
    """

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=100,
                            help_text=_("Only admins see the name; it identifies the banner in lists and history."))
    content = models.JSONField(_("text"), default=dict)
    style = models.CharField(_("style"), max_length=10, choices=AnnouncementStyle.choices,
                             default=AnnouncementStyle.INFO)
    is_active = models.BooleanField(_("visible"), default=False)
    dismissible = models.BooleanField(_("users may dismiss it"), default=True)
    priority = models.SmallIntegerField(_("priority"), default=0,
                                        help_text=_("Higher first when several banners are visible."))
    starts_at = models.DateTimeField(_("show from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("show until"), null=True, blank=True)
    target_roles = models.JSONField(_("target roles"), default=list, blank=True)
    target_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                          verbose_name=_("target users"))
    link_url = models.URLField(_("link"), max_length=500, blank=True)
    link_text = models.CharField(_("link text"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-is_active", "-priority", "-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True) | models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="announcement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def text_for(self, language: str) -> str:
        """The text in ``language`` (``fr-ca`` falls back to ``fr``), else English."""
        base = (language or "en").split("-")[0].lower()
        return self.content.get(base) or self.content.get("en", "")


class AnnouncementDismissal(models.Model):
    """One user closed one dismissible banner; it stays hidden for them until it is re-published."""

    id = models.BigAutoField(primary_key=True)
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["announcement", "user"], name="announcement_dismissal_once")]
        indexes = [models.Index(fields=["user", "announcement"])]

    def __str__(self) -> str:
        return f"{self.user_id} dismissed {self.announcement_id}"


class AnnouncementHistory(models.Model):
    """Every change of a banner (kept after the banner is deleted): who, when, the state before and after."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        ACTIVATE = "activate", _("Shown")
        DEACTIVATE = "deactivate", _("Hidden")
        DELETE = "delete", _("Deleted")

    id = models.BigAutoField(primary_key=True)
    announcement = models.ForeignKey(Announcement, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="history")
    # Kept when the banner is deleted so the history stays readable.
    announcement_ref = models.BigIntegerField(db_index=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_by_label = models.CharField(max_length=150, blank=True)
    previous_state = models.JSONField(null=True, blank=True)
    new_state = models.JSONField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"banner {self.announcement_ref} {self.action} by {self.changed_by_label or 'system'}"
