"""Project-level pages: home and the friendly error pages (JSON for /api/ paths)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from litemaas.api.exception_handler import error_body


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The landing page after sign-in."""
    return render(request, "home.html")


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
    """Server-error page / JSON, never with a stack trace."""
    if _wants_json(request):
        return JsonResponse(error_body("server_error", _("An unexpected error occurred. It has been logged.")),
                            status=500)
    return render(request, "errors/500.html", status=500)
