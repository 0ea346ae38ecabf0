"""The notifications page: the signed-in user's in-app messages, newest first, and marking them read."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Notification

PAGE_SIZE = 25


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """Own notifications (``?unread=1`` for unread only), 25 per page."""
    rows = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {
        "page": page, "unread_only": unread_only, "query": "unread=1" if unread_only else "",
        "has_unread": Notification.objects.filter(user=request.user, read_at__isnull=True).exists()})


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one (``id``) or all of the user's notifications read, then go back or follow its link.

    Only the caller's own rows are touched; another user's id simply matches nothing. Idempotent.
    """
    rows = Notification.objects.filter(user=request.user, read_at__isnull=True)
    notification_id = request.POST.get("id", "")
    if notification_id:
        rows = rows.filter(pk=notification_id if notification_id.isdigit() else -1)
    count = rows.update(read_at=timezone.now())
    follow = request.POST.get("follow", "")
    if follow and url_has_allowed_host_and_scheme(follow, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return HttpResponseRedirect(follow)
    if not notification_id and count:
        messages.success(request, _("All notifications are marked as read."))
    return HttpResponseRedirect(reverse("accounts:notifications"))
