"""The personal access tokens page: list, create (secret shown once) and revoke.

Thin views over ``accounts.token_services`` and ``accounts.selectors``; the services validate and audit.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.models import TokenScope
from accounts.selectors import token_list_for_user
from accounts.token_services import token_create, token_revoke
from litemaas.exceptions import ApplicationError

# Offered lifetimes; the configured maximum is always offered, longer ones never.
EXPIRY_DAYS = (7, 30, 90, 180, 365)
DEFAULT_EXPIRY_DAYS = 90


def expiry_choices() -> list[tuple[int, str]]:
    """The lifetimes a user may pick, capped at ``PERSONAL_TOKEN_MAX_DAYS``."""
    max_days = settings.PERSONAL_TOKEN_MAX_DAYS
    days = sorted({d for d in EXPIRY_DAYS if d <= max_days} | {max_days})
    return [(d, _("%(days)s days") % {"days": d}) for d in days]


class TokenCreateForm(forms.Form):
    """Name, scope and lifetime of a new token (the service re-checks every rule)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, strip=True)
    scope = forms.ChoiceField(label=gettext_lazy("Scope"), choices=TokenScope.choices, initial=TokenScope.READ,
                              widget=forms.RadioSelect)
    expires_in_days = forms.TypedChoiceField(label=gettext_lazy("Expires after"), coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = expiry_choices()
        self.fields["expires_in_days"].choices = choices
        values = [d for d, _label in choices]
        self.fields["expires_in_days"].initial = DEFAULT_EXPIRY_DAYS if DEFAULT_EXPIRY_DAYS in values else values[-1]


def _add_service_errors(form: forms.Form, exc: ApplicationError) -> None:
    fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
    for field, errors in fields.items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(field if field in form.fields else None, error)
    if not fields:
        form.add_error(None, exc.message)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a valid POST creates one and shows its secret on this response only."""
    form = TokenCreateForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                    request=request,
                )
            except ApplicationError as exc:
                _add_service_errors(form, exc)
                status = 422
            else:
                created = {"token": token, "secret": secret}
                form = TokenCreateForm()
        else:
            status = 422
    response = render(request, "accounts/tokens.html", {
        "form": form,
        "created": created,
        "tokens": token_list_for_user(request.user),
        "now": timezone.now(),
    }, status=status)
    # The secret must never be cached, and reloading must not show it again.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke_confirm(request: HttpRequest, token_id: str) -> HttpResponse:
    """Confirm (GET, the no-JavaScript path) and revoke (POST) one of the user's own tokens; others' are 404."""
    token = get_object_or_404(token_list_for_user(request.user), pk=token_id)
    if request.method == "POST":
        token_revoke(token=token, actor=request.user, request=request)
        messages.success(request, _("Token “%(name)s” was revoked. Programs using it can no longer sign in.")
                         % {"name": token.name})
        return redirect("accounts:tokens")
    return render(request, "accounts/token_revoke.html", {"token": token})
