"""Forms of the key pages: they only parse input; the services apply every rule."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apikeys.models import ApiKeySettings
from apikeys.services import ModelLimits

EXPIRY_CHOICES = [
    ("30", _("30 days")), ("60", _("60 days")), ("90", _("90 days")), ("180", _("180 days")),
    ("365", _("1 year")), ("custom", _("Pick a date")), ("never", _("Never expires")),
]
DURATION_CHOICES = [("", _("No reset")), ("1d", _("Daily")), ("7d", _("Weekly")),
                    ("30d", _("Monthly (30 days)")), ("365d", _("Yearly (365 days)"))]
# A per-model budget always resets (LiteLLM's ``time_period``); the service defaults it to 30 days.
MODEL_DURATION_CHOICES = [("1d", _("Daily")), ("7d", _("Weekly")), ("30d", _("Monthly")), ("365d", _("Yearly"))]
MODEL_LIMIT_NAMES = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")
GRACE_CHOICES = [("0", _("Revoke the old key now")), ("1", _("1 hour")), ("4", _("4 hours")),
                 ("12", _("12 hours")), ("24", _("24 hours"))]


@dataclass(frozen=True)
class ModelLimitRow:
    """The per-model limit fields of one selectable model, for the template."""

    index: int
    model_id: str
    label: str
    max_budget: forms.BoundField
    budget_duration: forms.BoundField
    tpm_limit: forms.BoundField
    rpm_limit: forms.BoundField

    @property
    def fields(self) -> list[forms.BoundField]:
        return [self.max_budget, self.budget_duration, self.tpm_limit, self.rpm_limit]

    @property
    def errors(self) -> list[str]:
        return [str(error) for bound in self.fields for error in bound.errors]


class ApiKeyForm(forms.Form):
    """Create / edit a key. Empty limit fields mean "no limit" (the admin default is pre-filled).

    Besides the fixed fields it has one row of per-model limits (budget and its reset, TPM, RPM) per
    selectable model, named ``ml-<model id>-<limit>``; a row only counts for a ticked model, and a value
    on an unticked model is a field error. Editing sends every row, so an emptied value clears that limit
    (the API's ``model_limits`` semantics).
    """

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
    team_id = forms.TypedChoiceField(label=_("Charge to team"), required=False, coerce=uuid.UUID, empty_value=None,
                                     error_messages={"invalid_choice": _("Choose one of your teams.")})

    def __init__(self, *args: Any, model_choices: list[tuple[str, str]], policy: ApiKeySettings,
                 editing: bool = False, team_choices: list[tuple[str, str]] | None = None,
                 model_limits: dict[str, ModelLimits] | None = None, per_model_budgets: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.per_model_budgets = per_model_budgets
        self.fields["model_ids"].choices = model_choices
        self.fields["team_id"].choices = [("", _("No team")), *(team_choices or [])]
        self._model_rows = list(model_choices)
        for index, (model_id, _label) in enumerate(self._model_rows):
            self._add_model_limit_fields(index, model_id, (model_limits or {}).get(model_id))
        choices = list(EXPIRY_CHOICES)
        if not policy.never_expires_allowed:
            choices = [c for c in choices if c[0] != "never" and (c[0] in ("custom",) or
                                                                   int(c[0]) <= policy.max_expiry_days)]
        if editing:
            choices = [("keep", _("Keep the current expiry")), *choices]
        self.fields["expiry"].choices = choices

    @staticmethod
    def limit_field_name(model_id: str, limit: str) -> str:
        return f"ml-{model_id}-{limit}"

    def _add_model_limit_fields(self, index: int, model_id: str, current: ModelLimits | None) -> None:
        current = current or ModelLimits()
        labelled_by = f"ml-row-{index} ml-col-{{}}"
        durations = list(MODEL_DURATION_CHOICES)
        if current.budget_duration and current.budget_duration not in dict(durations):
            durations.append((current.budget_duration, current.budget_duration))  # set through the API
        budget_attrs: dict[str, Any] = {"id": f"id_ml_{index}_max_budget",
                                        "aria-labelledby": labelled_by.format("max_budget")}
        duration_attrs: dict[str, Any] = {"id": f"id_ml_{index}_budget_duration",
                                          "aria-labelledby": labelled_by.format("budget_duration")}
        if not self.per_model_budgets and current.max_budget is None:
            # Without LiteLLM Enterprise a budget would be refused; an existing one stays editable (clearable).
            budget_attrs["disabled"] = duration_attrs["disabled"] = True
            budget_attrs["data-portal-locked"] = duration_attrs["data-portal-locked"] = ""
        locked = "disabled" in budget_attrs
        fields = {
            "max_budget": forms.DecimalField(label=_("Budget"), required=False, min_value=Decimal("0"),
                                             max_digits=12, decimal_places=4,
                                             widget=forms.NumberInput(attrs=budget_attrs)),
            # A locked reset period is display-only (Django keeps its initial value); a locked budget is not,
            # so a budget sent anyway still meets the service's clear "needs Enterprise" refusal.
            "budget_duration": forms.ChoiceField(label=_("Budget resets"), required=False, choices=durations,
                                                 disabled=locked, widget=forms.Select(attrs=duration_attrs)),
            "tpm_limit": forms.IntegerField(label=_("Tokens per minute"), required=False, min_value=1,
                                            widget=forms.NumberInput(attrs={
                                                "id": f"id_ml_{index}_tpm_limit",
                                                "aria-labelledby": labelled_by.format("tpm_limit")})),
            "rpm_limit": forms.IntegerField(label=_("Requests per minute"), required=False, min_value=1,
                                            widget=forms.NumberInput(attrs={
                                                "id": f"id_ml_{index}_rpm_limit",
                                                "aria-labelledby": labelled_by.format("rpm_limit")})),
        }
        initial = {"max_budget": current.max_budget, "budget_duration": current.budget_duration or "30d",
                   "tpm_limit": current.tpm_limit, "rpm_limit": current.rpm_limit}
        for limit, field in fields.items():
            name = self.limit_field_name(model_id, limit)
            self.fields[name] = field
            self.initial[name] = initial[limit]

    def model_limit_rows(self) -> list[ModelLimitRow]:
        """One row of bound per-model fields per selectable model (in the order of the model list)."""
        return [
            ModelLimitRow(index=index, model_id=model_id, label=label,
                          **{limit: self[self.limit_field_name(model_id, limit)] for limit in MODEL_LIMIT_NAMES})
            for index, (model_id, label) in enumerate(self._model_rows)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("expiry") == "custom" and not data.get("expires_on"):
            self.add_error("expires_on", _("Pick a date."))
        chosen = set(data.get("model_ids") or [])
        for model_id, _label in self._model_rows:
            if model_id in chosen:
                continue
            for limit in ("max_budget", "tpm_limit", "rpm_limit"):
                name = self.limit_field_name(model_id, limit)
                if data.get(name) is not None:
                    self.add_error(name, _("Tick %(model)s under Models, or clear this limit.") % {"model": model_id})
        return data

    def model_limits(self) -> dict[str, ModelLimits]:
        """The per-model limits of the ticked models (a row left empty means "no per-model limit")."""
        data = self.cleaned_data
        chosen = set(data.get("model_ids") or [])
        limits = {}
        for model_id, _label in self._model_rows:
            if model_id not in chosen:
                continue
            value = {limit: data.get(self.limit_field_name(model_id, limit)) for limit in MODEL_LIMIT_NAMES}
            budget = value["max_budget"]
            limits[model_id] = ModelLimits(
                max_budget=budget, budget_duration=(value["budget_duration"] or "30d") if budget is not None else "",
                tpm_limit=value["tpm_limit"], rpm_limit=value["rpm_limit"],
            )
        return {model: lim for model, lim in limits.items() if not lim.is_empty}

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
        kwargs["model_limits"] = self.model_limits()
        kwargs["team_id"] = data.get("team_id")
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
