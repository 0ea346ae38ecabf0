"""Portal pages of ``accounts`` (server-rendered, thin: selectors to read, services to write)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.services import LoginRefused


def render_login_refused(request: HttpRequest, refusal: LoginRefused) -> HttpResponse:
    """The 403 page shown when the portal refuses a sign-in (group, user-name collision, deactivated, ...).

    Rendered in place by the allauth adapters, so nobody is signed in and nothing else happens.
    """
    return render(
        request,
        "accounts/login_refused.html",
        {"refusal_code": refusal.code, "refusal_message": refusal.message},
        status=refusal.status_code,
    )
