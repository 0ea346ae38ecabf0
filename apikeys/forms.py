"""Forms of the key pages: they only parse input; the services apply every rule."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apikeys.models import ApiKeySettings

EXPIRY_CHOICES = [
    ("30", _("30 days")), ("60", _("60 days")), ("90", _("90 days")), ("180", _("180 days")),
    ("365", _("1 year")), ("custom", _("Pick a date")), ("never", _("Never expires")),
]
DURATION_CHOICES = [("", _("No reset")), ("1d", _("Daily")), ("7d", _("Weekly")),
                    ("30d", _("Monthly (30 days)")), ("365d", _("Yearly (365 days)"))]
GRACE_CHOICES = [("0", _("Revoke the old key now")), ("1", _("1 hour")), ("4", _("4 hours")),
                 ("12", _("12 hours")), ("24", _("24 hours"))]


class ApiKeyForm(forms.Form):
    """Create / edit a key. Empty limit fields mean "no limit" (the admin default is pre-filled)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    model_ids = forms.MultipleChoiceField(label=_("Models"), widget=forms.CheckboxSelectMultiple)
    expiry = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, required=False)
    expires_on = forms.DateField(label=_("Expiry date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    max_budget = forms.DecimalField(label=_("Max budget"), required=False, min_value=Decimal("0"), decimal_places=4)
    budget_duration = forms.ChoiceField(label=_("Budget resets"), choices=DURATION_CHOICES, required=False)
    soft_budget = forms.DecimalField(label=_("Soft budget (alert)"), required=False, min_value=Decimal("0"),
                                     decimal_places=4)
    tpm_limit = forms.IntegerField(label=_("Tokens per minute"), required=False, min_value=1)
    rpm_limit = forms.IntegerField(label=_("Requests per minute"), required=False, min_value=1)
    max_parallel_requests = forms.IntegerField(label=_("Max parallel requests"), required=False, min_value=1)

    def __init__(self, *args: Any, model_choices: list[tuple[str, str]], policy: ApiKeySettings,
                 editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["model_ids"].choices = model_choices
        choices = list(EXPIRY_CHOICES)
        if not policy.never_expires_allowed:
            choices = [c for c in choices if c[0] != "never" and (c[0] in ("custom",) or
                                                                   int(c[0]) <= policy.max_expiry_days)]
        if editing:
            choices = [("keep", _("Keep the current expiry")), *choices]
        self.fields["expiry"].choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("expiry") == "custom" and not data.get("expires_on"):
            self.add_error("expires_on", _("Pick a date."))
        return data

    def expires_at(self) -> Any:
        """The chosen expiry as an aware datetime, ``None`` for never, or ``"keep"``."""
        choice = self.cleaned_data.get("expiry") or ("keep" if self.editing else "never")
        if choice == "keep":
            return "keep"
        if choice == "never":
            return None
        if choice == "custom":
            day = self.cleaned_data["expires_on"]
            return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
        return timezone.now() + timedelta(days=int(choice))

    def service_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``apikey_create`` / ``apikey_update``."""
        data = self.cleaned_data
        kwargs = {name: data.get(name) for name in ("name", "description", "max_budget", "soft_budget",
                                                     "tpm_limit", "rpm_limit", "max_parallel_requests")}
        kwargs["budget_duration"] = data.get("budget_duration") or ""
        kwargs["model_ids"] = list(data.get("model_ids") or [])
        expires = self.expires_at()
        if expires != "keep":
            kwargs["expires_at"] = expires
        return kwargs


class RotateForm(forms.Form):
    """How long the old key keeps working after a rotation."""

    grace_hours = forms.TypedChoiceField(label=_("Old key stays valid"), choices=GRACE_CHOICES, coerce=int)


class ApiKeySettingsForm(forms.ModelForm):
    """Admin defaults and ceilings (empty = none)."""

    default_budget_duration = forms.ChoiceField(label=_("Default budget reset"), choices=DURATION_CHOICES,
                                                required=False)

    class Meta:
        model = ApiKeySettings
        fields = [
            "default_max_budget", "max_max_budget", "default_budget_duration", "default_soft_budget",
            "max_soft_budget", "default_tpm_limit", "max_tpm_limit", "default_rpm_limit", "max_rpm_limit",
            "default_expiry_days", "max_expiry_days", "max_active_keys_per_user",
        ]
