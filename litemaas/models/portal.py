"""Portal-wide settings edited by admins: display currency, new-user defaults, branding; onboarding state."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SINGLETON_ID = 1


class SingletonModel(models.Model):
    """A table with exactly one row (id 1), created on first read by the selectors."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        abstract = True


class PortalSettings(SingletonModel):
    """Admin-editable portal settings. An empty (null) default falls back to the ``DEFAULT_USER_*`` setting."""

    currency_code = models.CharField(_("display currency"), max_length=3, blank=True)
    new_user_max_budget = models.DecimalField(_("max budget"), max_digits=12, decimal_places=2, null=True,
                                              blank=True)
    new_user_tpm_limit = models.PositiveIntegerField(_("tokens per minute"), null=True, blank=True)
    new_user_rpm_limit = models.PositiveIntegerField(_("requests per minute"), null=True, blank=True)
    new_user_budget_duration = models.CharField(_("budget period"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    def __str__(self) -> str:
        return "portal settings"


class BrandingSettings(SingletonModel):
    """Login-page texts and the switches for the uploaded logos (the images are ``BrandingImage`` rows)."""

    login_logo_enabled = models.BooleanField(_("show the login logo"), default=False)
    login_title_enabled = models.BooleanField(_("show the login title"), default=False)
    login_title = models.CharField(_("login title"), max_length=200, blank=True)
    login_subtitle_enabled = models.BooleanField(_("show the login subtitle"), default=False)
    login_subtitle = models.CharField(_("login subtitle"), max_length=500, blank=True)
    header_logo_enabled = models.BooleanField(_("show the header logos"), default=False)

    class Meta:
        verbose_name = _("branding")
        verbose_name_plural = _("branding")
        # Defect #19: branding has its own permission; admins hold it through their role.
        permissions = [("change_branding", "Can change the portal branding")]

    def __str__(self) -> str:
        return "branding"


class BrandingImage(models.Model):
    """One uploaded logo, already validated and re-encoded by ``litemaas.branding`` (never an SVG)."""

    class Kind(models.TextChoices):
        LOGIN_LOGO = "login-logo", _("Login logo")
        HEADER_LIGHT = "header-logo-light", _("Header logo (light theme)")
        HEADER_DARK = "header-logo-dark", _("Header logo (dark theme)")

    kind = models.CharField(max_length=20, choices=Kind.choices, primary_key=True)
    data = models.BinaryField()
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} ({self.content_type}, {self.width}×{self.height})"


class OnboardingState(models.Model):
    """Whether a user has closed the first-login guide (no row: the guide is shown)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    guide_dismissed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"onboarding of {self.user_id}"
