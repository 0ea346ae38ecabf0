"""Portal pages of ``teams`` (server-rendered, thin: selectors to read, services to write).

Pages: my teams, team detail (members, limits, spend vs budget, runway, keys charged), admin teams list,
admin users list and user detail (tabs: profile & role, budget & limits, keys, subscriptions), and the
notification settings page. Read-only admins see the admin pages; every write is refused for them by the
services (403 → a message).
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import alert_preferences
from accounts.models import Role, User
from litemaas.exceptions import ApplicationError, NotFoundError
from teams import selectors, services
from teams.models import Membership, TeamRole

PAGE_SIZE = 25


def _team_or_404(request: HttpRequest, team_id: Any) -> Any:
    try:
        return selectors.get_team_for_user(user=request.user, team_id=team_id)
    except NotFoundError:
        raise Http404 from None


def _admin_or_404(request: HttpRequest) -> None:
    if not request.user.is_readonly_admin:
        raise Http404


def _run(request: HttpRequest, fn: Any, ok: str, /, **kwargs: Any) -> bool:
    # Positional-only: callers pass the service its own ``request=`` (that collided: TypeError, a 500).
    try:
        fn(**kwargs)
    except ApplicationError as exc:
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in (fields or {}).items())
        messages.error(request, f"{exc.message} {detail}".strip())
        return False
    messages.success(request, ok)
    return True


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = selectors.team_list_for_user(user=request.user)
    roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
    return render(request, "teams/list.html", {"rows": [(t, roles.get(t.pk)) for t in teams]})


@login_required
def team_detail(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = _team_or_404(request, team_id)
    spend = selectors.live_spend(kind="team", object_id=team.pk)
    runway = selectors.runway_for(kind="team", object_id=team.pk, spend=spend.spend, max_budget=team.max_budget,
                                  reset_at=spend.reset_at)
    can_manage = services.team_can_manage(team=team, user=request.user)
    share = None
    if spend.spend is not None and team.max_budget:
        share = min(int(spend.spend / team.max_budget * 100), 100)
    return render(request, "teams/detail.html", {
        "team": team, "spend": spend, "share": share, "runway": runway, "can_manage": can_manage,
        "members": selectors.membership_list(team=team), "keys": selectors.team_keys(team=team)[:100],
        "roles": TeamRole.choices, "me": selectors.membership_of(team=team, user=request.user),
        "mappings": selectors.group_mapping_list(team=team) if request.user.is_readonly_admin else [],
    })


@login_required
@require_POST
def team_action(request: HttpRequest, team_id: Any, action: str) -> HttpResponse:
    team = _team_or_404(request, team_id)
    p, actor = request.POST, request.user
    if action == "rename":
        _run(request, services.team_update, _("Team updated."), team=team, actor=actor, request=request,
             name=p.get("name", ""), description=p.get("description", ""))
    elif action == "limits":
        _run(request, services.team_update, _("Limits updated."), team=team, actor=actor, request=request,
             **{k: p.get(k) or None for k in ("max_budget", "soft_budget", "tpm_limit", "rpm_limit")},
             budget_duration=p.get("budget_duration", ""))
    elif action == "add-member":
        user = User.objects.filter(username=p.get("username", "").strip()).first()
        if user is None:
            messages.error(request, _("No user with this name."))
        else:
            _run(request, services.team_member_add, _("Member added."), team=team, user=user, actor=actor,
                 role=p.get("role", TeamRole.MEMBER), max_budget=p.get("max_budget") or None, request=request)
    elif action in ("remove-member", "update-member"):
        membership = Membership.objects.filter(team=team, user_id=p.get("user_id")).first()
        if membership is None:
            raise Http404
        if action == "remove-member":
            _run(request, services.team_member_remove, _("Member removed."), membership=membership, actor=actor,
                 request=request)
        else:
            _run(request, services.team_member_update, _("Member updated."), membership=membership, actor=actor,
                 role=p.get("role", membership.role), max_budget=p.get("max_budget") or None, request=request)
    elif action == "archive":
        if _run(request, services.team_archive, _("Team archived."), team=team, actor=actor, request=request):
            return redirect("teams:admin-list")
    elif action == "reset-spend":
        _run(request, services.team_reset_spend, _("Team spend reset."), team=team, actor=actor, request=request)
    elif action == "map-group":
        _run(request, services.team_group_mapping_create, _("Group mapped."), actor=actor, team=team,
             group=p.get("group", ""), role=p.get("role", TeamRole.MEMBER), request=request)
    else:
        raise Http404
    return redirect("teams:detail", team_id=team.pk)


@login_required
def admin_team_list(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    q, status = request.GET.get("q", ""), request.GET.get("status", "")
    teams = selectors.team_list_for_admin(actor=request.user, search=q, status=status)
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "teams/admin_list.html", {"page": page, "q": q, "status": status})


@login_required
@require_POST
def admin_team_create(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    p = request.POST
    try:
        team = services.team_create(actor=request.user, name=p.get("name", ""), description=p.get("description", ""),
                                    max_budget=p.get("max_budget") or None, budget_duration=p.get("budget_duration", ""),
                                    tpm_limit=p.get("tpm_limit") or None, rpm_limit=p.get("rpm_limit") or None,
                                    request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("teams:admin-list")
    messages.success(request, _("Team created."))
    return redirect("teams:detail", team_id=team.pk)


@login_required
def admin_user_list(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    q, role, status = request.GET.get("q", ""), request.GET.get("role", ""), request.GET.get("status", "")
    users = selectors.user_list_for_admin(actor=request.user, search=q, role=role, status=status)
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "teams/admin_users.html", {"page": page, "q": q, "role": role, "status": status,
                                                      "roles": Role.choices})


TABS = ("profile", "limits", "keys", "subscriptions")


@login_required
def admin_user_detail(request: HttpRequest, user_id: Any) -> HttpResponse:
    _admin_or_404(request)
    try:
        target = selectors.user_get_for_admin(actor=request.user, user_id=user_id)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        if not request.user.is_admin:
            raise PermissionDenied
        p, action = request.POST, request.POST.get("action")
        if action == "role":
            _run(request, services.admin_user_update, _("Role changed."), user=target, actor=request.user,
                 values={"role": p.get("role")}, request=request)
        elif action in ("activate", "deactivate"):
            _run(request, services.admin_user_update, _("Account updated."), user=target, actor=request.user,
                 values={"is_active": action == "activate"}, request=request)
        elif action == "limits":
            _run(request, services.user_limits_update, _("Limits updated."), user=target, actor=request.user,
                 values={"max_budget": p.get("max_budget") or None, "budget_duration": p.get("budget_duration", ""),
                         "tpm_limit": p.get("tpm_limit") or None, "rpm_limit": p.get("rpm_limit") or None},
                 request=request)
        elif action == "reset-spend":
            _run(request, services.user_reset_spend, _("Spend reset."), user=target, actor=request.user,
                 request=request)
        return redirect(f"{request.path}?tab={p.get('tab', 'profile')}")
    tab = request.GET.get("tab", "profile")
    tab = tab if tab in TABS else "profile"
    context: dict[str, Any] = {"target": target, "tab": tab, "tabs": TABS, "roles": Role.choices}
    if tab == "limits":
        spend = selectors.live_spend(kind="user", object_id=target.pk)
        context.update(spend=spend, runway=selectors.runway_for(kind="user", object_id=target.pk, spend=spend.spend,
                                                                max_budget=target.max_budget, reset_at=spend.reset_at))
    elif tab == "keys":
        from apikeys.models import ApiKey

        context["keys"] = ApiKey.objects.filter(user=target, deleted_at__isnull=True).select_related("team")[:200]
    elif tab == "subscriptions":
        from subscriptions.models import Subscription

        context["subscriptions"] = Subscription.objects.filter(user=target).select_related("model")[:200]
    else:
        context["memberships"] = Membership.objects.filter(user=target).select_related("team")
    return render(request, "teams/admin_user_detail.html", context)


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        p = request.POST
        values = {"thresholds": [t for t in p.get("thresholds", "").replace(" ", "").split(",") if t],
                  "webhook_url": p.get("webhook_url", ""), "regenerate_secret": bool(p.get("regenerate_secret"))}
        for name in ("soft_budget_alerts", "runway_alerts", "channel_in_app", "channel_email", "channel_webhook",
                     "admin_digest"):
            values[name] = bool(p.get(name))
        if _run(request, alert_preferences.notification_preference_update, _("Notification settings saved."),
                user=request.user, values=values, request=request):
            return redirect("teams:notification-settings")
    pref = alert_preferences.notification_preference_get(user=request.user)
    return render(request, "teams/notification_settings.html", {
        "pref": pref, "thresholds": ", ".join(str(t) for t in pref.thresholds or [])})
