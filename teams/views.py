"""Portal pages of ``teams`` (server-rendered, thin: selectors to read, services to write).

Pages: my teams, team detail (members, limits, spend vs budget, runway, keys charged), admin teams list,
admin users list and user detail (tabs: profile & role, budget & limits, keys, subscriptions), the admin's
management of a user's keys (create, edit, block, unblock, revoke, delete, reset spend, through the apikeys
services), and the notification settings page. Read-only admins see the admin pages; every write is refused for them by the
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
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import alert_preferences
from accounts.models import Role, User
from apikeys import selectors as key_selectors
from apikeys import services as key_services
from apikeys import views as key_views
from apikeys.models import ApiKey, ApiKeySettings
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


def _team_list_page(request: HttpRequest, *, form: dict[str, str] | None = None,
                    form_errors: list[str] | None = None, status: int = 200) -> HttpResponse:
    teams = selectors.team_list_for_user(user=request.user)
    roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
    return render(request, "teams/list.html", {
        "rows": [(t, roles.get(t.pk)) for t in teams], "create": services.team_create_allowance(user=request.user),
        "form": form or {}, "form_errors": form_errors or []}, status=status)


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    return _team_list_page(request)


@login_required
@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    """Self-service "create a team" (any user, up to ``TEAM_MAX_OWNED_PER_USER``): errors are shown on
    the form, above the fields, with the entered values kept."""
    p = request.POST
    form = {"name": p.get("name", ""), "description": p.get("description", "")}
    try:
        team = services.team_create(actor=request.user, name=form["name"], description=form["description"],
                                    request=request)
    except ApplicationError as exc:
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        errors = [exc.message, *(str(m) for msgs in (fields or {}).values() for m in msgs)]
        return _team_list_page(request, form=form, form_errors=errors, status=exc.status_code)
    messages.success(request, _("Team created. An administrator gives it a budget before keys charged to it "
                                "can spend."))
    return redirect("teams:detail", team_id=team.pk)


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
        "spend_reset_supported": services.TEAM_SPEND_RESET_SUPPORTED,
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


def _target_or_404(request: HttpRequest, user_id: Any) -> User:
    _admin_or_404(request)
    try:
        return selectors.user_get_for_admin(actor=request.user, user_id=user_id)
    except NotFoundError:
        raise Http404 from None


@login_required
def admin_user_detail(request: HttpRequest, user_id: Any) -> HttpResponse:
    target = _target_or_404(request, user_id)
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
        keys = list(key_selectors.apikey_list_for_admin(actor=request.user, target_user=target)
                    .select_related("team")[:200])
        live = key_selectors.apikey_live_spend_for_user(user=target) if keys else None
        context.update(rows=[{"key": key, "live": (live or {}).get(key.token_hash)} for key in keys],
                       spend_unavailable=bool(keys) and live is None)
    elif tab == "subscriptions":
        from subscriptions.models import Subscription

        context["subscriptions"] = Subscription.objects.filter(user=target).select_related("model")[:200]
    else:
        context["memberships"] = Membership.objects.filter(user=target).select_related("team")
    return render(request, "teams/admin_user_detail.html", context)


# ---------------------------------------------------------------------------------------------------------
# Admin: one user's keys (the "Keys" tab's actions). Admins only; read-only admins get 403, other users 404.
# ---------------------------------------------------------------------------------------------------------
def _key_writer_target(request: HttpRequest, user_id: Any) -> User:
    target = _target_or_404(request, user_id)
    if not request.user.is_admin:
        raise PermissionDenied
    return target


def _target_key_or_404(request: HttpRequest, target: User, key_id: Any) -> ApiKey:
    # Scoped to the user of the URL: another user's key is "not found".
    try:
        return key_selectors.apikey_get_for_admin(actor=request.user, target_user=target, key_id=key_id)
    except NotFoundError:
        raise Http404 from None


def _keys_tab(target: User) -> str:
    return reverse("teams:admin-user-detail", args=[target.pk]) + "?tab=keys"


def _key_form_page(request: HttpRequest, form: Any, target: User, policy: ApiKeySettings, **context: Any
                   ) -> HttpResponse:
    return render(request, "apikeys/form.html", {
        "form": form, "policy": policy, "owner": target, "cancel_url": _keys_tab(target),
        "has_models": bool(form.fields["model_ids"].choices), **context,
    }, status=422 if request.method == "POST" else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def admin_user_key_create(request: HttpRequest, user_id: Any) -> HttpResponse:
    """An admin creates a key for the user, with the user's form, on any available model: the service grants
    missing subscriptions active and audits both (actor and target). The secret is shown once, to the admin,
    on this response (no-store)."""
    target = _key_writer_target(request, user_id)
    policy = ApiKeySettings.load()
    form = key_views.key_form(request.POST or None, owner=target, policy=policy, ceilings=False,
                              model_choices=key_views.grantable_model_choices(target))
    if request.method == "POST" and form.is_valid():
        try:
            created = key_services.apikey_admin_create_for_user(actor=request.user, target_user=target,
                                                                request=request, **form.service_kwargs())
        except ApplicationError as exc:
            key_views.form_errors(form, exc)
        else:
            return key_views.render_created(request, created, owner=target, back_url=_keys_tab(target))
    return _key_form_page(request, form, target, policy)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def admin_user_key_edit(request: HttpRequest, user_id: Any, key_id: Any) -> HttpResponse:
    """An admin edits one of the user's keys (models among the user's active subscriptions; the key
    ceilings do not bind admins). LiteLLM is updated first: if it is down nothing changes."""
    target = _key_writer_target(request, user_id)
    key = _target_key_or_404(request, target, key_id)
    policy = ApiKeySettings.load()
    form = key_views.key_form(request.POST or None, owner=target, policy=policy, key=key, ceilings=False)
    if request.method == "POST" and form.is_valid():
        try:
            key_services.apikey_update(key=key, actor=request.user, enforce_policy=False, request=request,
                                       **form.service_kwargs())
        except ApplicationError as exc:
            key_views.form_errors(form, exc)
        else:
            messages.success(request, _("Key updated."))
            return redirect(_keys_tab(target))
    return _key_form_page(request, form, target, policy, key=key, has_models=True)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def admin_user_key_delete(request: HttpRequest, user_id: Any, key_id: Any) -> HttpResponse:
    """Delete one of the user's keys: GET asks for confirmation (the page behind the dialog, without
    JavaScript), POST revokes and hides it."""
    target = _key_writer_target(request, user_id)
    key = _target_key_or_404(request, target, key_id)
    if request.method == "POST":
        key_views.run_key_action(request, key=key, action="delete")
        return redirect(_keys_tab(target))
    return render(request, "teams/admin_user_key_delete.html", {"target": target, "key": key,
                                                                 "back_url": _keys_tab(target)})


ADMIN_KEY_ACTIONS = ("block", "unblock", "revoke", "reset-spend")


@never_cache
@login_required
@require_POST
def admin_user_key_action(request: HttpRequest, user_id: Any, key_id: Any, action: str) -> HttpResponse:
    """Block, unblock, revoke or reset the spend of one of the user's keys (one service each; a refusal,
    e.g. LiteLLM down, is a message and changes nothing)."""
    target = _key_writer_target(request, user_id)
    key = _target_key_or_404(request, target, key_id)
    if action not in ADMIN_KEY_ACTIONS:
        raise Http404
    key_views.run_key_action(request, key=key, action=action)
    return redirect(_keys_tab(target))


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
