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


@never_cache
@login_required
def admin_sync_page(request: HttpRequest) -> HttpResponse:
    """Admin page: latest reconcile runs, the current drift report with one-click repair, the outbox
    (pending, failed, dead) with retry, and "run now". Read-only admins see it; only admins act (POST)."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from integrations.models import Outbox, SyncRun
    from integrations.outbox import outbox_list, outbox_retry, outbox_stats
    from integrations.reconcile import drift_current, drift_repair, reconcile_enqueue, reconcile_is_running
    from litemaas.exceptions import ApplicationError

    if not getattr(request.user, "is_readonly_admin", False):
        raise PermissionDenied
    if request.method == "POST":
        if not getattr(request.user, "is_admin", False):
            raise PermissionDenied
        action = request.POST.get("action", "")
        try:
            if action == "reconcile":
                reconcile_enqueue(actor=request.user, dry_run=request.POST.get("dry_run") == "on")
                messages.success(request, _("Reconcile run queued."))
            elif action == "repair":
                drift_repair(item_id=int(request.POST.get("item_id", "0")), actor=request.user, request=request)
                messages.success(request, _("Repair applied."))
            elif action == "retry":
                outbox_retry(entry_id=int(request.POST.get("entry_id", "0")), actor=request.user, request=request)
                messages.success(request, _("Outbox entry queued again."))
        except (ApplicationError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
        return redirect("integrations:admin-sync")
    drift = drift_current().order_by("severity", "drift_class", "id")
    context = {
        "runs": SyncRun.objects.filter(kind=SyncRun.Kind.RECONCILE).select_related("actor")[:10],
        "running": reconcile_is_running(),
        "drift": drift[:200],
        "drift_count": drift.count(),
        "outbox": outbox_list(statuses=[Outbox.Status.PENDING, Outbox.Status.IN_FLIGHT, Outbox.Status.FAILED,
                                        Outbox.Status.DEAD]).order_by("-status", "created_at")[:200],
        "outbox_stats": outbox_stats(),
        "can_act": getattr(request.user, "is_admin", False),
    }
    return render(request, "integrations/admin_sync.html", context)
