"""Project-level pages: home, the theme preference and the friendly error pages (JSON for /api/ paths)."""
from __future__ import annotations

import sys

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.preference_services import user_set_preferences
from litemaas.api.exception_handler import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable_body,
    error_body,
)
from litemaas.context_processors import THEMES
from litemaas.navigation import ADMIN, USER, nav_items_for

# The getting-started steps on the home page; a step links only when its page exists.
START_STEPS = [
    ("subscriptions:catalogue", gettext_lazy("Browse the model catalogue"),
     gettext_lazy("See which models are offered, what they can do and what they cost.")),
    ("subscriptions:list", gettext_lazy("Subscribe to a model"),
     gettext_lazy("Some models are open to everyone; restricted ones need an administrator's approval.")),
    ("apikeys:list", gettext_lazy("Create an API key"),
     gettext_lazy("A key works with the models you choose, within your budget and rate limits.")),
    ("apikeys:playground", gettext_lazy("Try it in the playground"),
     gettext_lazy("Send a first prompt with your key, right in the browser.")),
]


def _url_or_empty(url_name: str) -> str:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return ""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's landing page: greeting, role, quick links and a getting-started panel."""
    user_items = [item for item in nav_items_for(request.user, section=USER) if item.on_home]
    admin_items = nav_items_for(request.user, section=ADMIN)
    steps = [{"url": _url_or_empty(name), "title": title, "text": text} for name, title, text in START_STEPS]
    return render(request, "home.html", {"quick_links": user_items, "admin_links": admin_items,
                                         "start_steps": steps})


@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """Save the theme (light, dark or system) for the signed-in user.

    Scripted calls (``fetch``/htmx) get 204; a plain form post is redirected back to ``next``. An anonymous
    visitor's choice lives only in the browser, so nothing is stored for them. Unknown themes get 400.
    """
    theme = request.POST.get("theme", "")
    if theme not in THEMES:
        return JsonResponse(error_body("validation_failed", _("Unknown theme."),
                                       {"fields": {"theme": [_("Choose light, dark or system.")]}}), status=400)
    if request.user.is_authenticated:
        user_set_preferences(user=request.user, theme=theme)
    if request.headers.get("X-Requested-With") == "fetch" or request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("home")
    return HttpResponseRedirect(next_url)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Bad request page / JSON."""
    if _wants_json(request):
        return JsonResponse(error_body("bad_request", _("The request could not be understood.")), status=400)
    return render(request, "errors/400.html", status=400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Forbidden page / JSON."""
    if _wants_json(request):
        return JsonResponse(error_body("permission_denied", _("You do not have permission to do this.")), status=403)
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Not-found page / JSON."""
    if _wants_json(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    """Server-error page / JSON, never with a stack trace: 500, or 503 (``errors/503.html``, Retry-After)
    when the database is what failed.

    Rendered without the request, so no context processor runs: the page must work while the database
    (or anything else) is what failed.
    """
    # Django calls this handler while handling the exception, so it is still in sys.exc_info(): a database
    # that cannot be reached (failed connect in the session/auth middleware, a restart) is a 503, not a bug.
    database_down = isinstance(sys.exc_info()[1], DATABASE_ERRORS)
    status = 503 if database_down else 500
    if _wants_json(request):
        body = (database_unavailable_body() if database_down
                else error_body("server_error", _("An unexpected error occurred. It has been logged.")))
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        try:
            html = loader.get_template(f"errors/{status}.html").render({
                "request_id": getattr(request, "request_id", ""), "csp_nonce": getattr(request, "csp_nonce", ""),
            })
        except Exception:  # the last resort must not fail itself
            title = _("Service temporarily unavailable") if database_down else _("Server error")
            code = _("Error %(status)s") % {"status": status}
            html = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{code}</p>"
        response = HttpResponse(html, status=status)
    if database_down:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
