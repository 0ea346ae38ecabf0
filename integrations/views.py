"""Portal pages of ``integrations`` (server-rendered, thin: selectors to read, services to write)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integrations.selectors import litellm_status


@never_cache
@require_GET
@login_required
def litellm_status_page(request: HttpRequest) -> HttpResponse:
    """Admin page: LiteLLM reachability, latency, version and circuit-breaker state (read-only admins too)."""
    if not getattr(request.user, "is_readonly_admin", False):
        raise PermissionDenied
    return render(request, "integrations/litellm_status.html", {"status": litellm_status()})
