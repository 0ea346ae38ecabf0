"""Portal pages of ``apikeys`` (server-rendered, thin: selectors to read, services to write).

A page that shows a secret (create, rotate) is sent with ``Cache-Control: no-store`` and is never a
redirect target, so the secret is not kept in history or caches.
"""
from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apikeys import selectors, services
from apikeys.forms import ApiKeyForm, ApiKeySettingsForm, RotateForm
from apikeys.models import ApiKey, ApiKeySettings, KeyStatus
from apikeys.services import PER_MODEL_BUDGET_MESSAGE, ModelLimits
from litemaas.exceptions import ApplicationError, NotFoundError
from teams.selectors import team_choices_for_user

PAGE_SIZE = 20


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _model_choices(user: Any) -> list[tuple[str, str]]:
    return [(m.id, f"{m.id} ({m.get_model_type_display()})") for m in selectors.subscribed_models_for_user(user=user)]


def grantable_model_choices(user: Any) -> list[tuple[str, str]]:
    """Every available model, for an admin creating a key for ``user``: the models ``user`` has no active
    subscription to are marked, as the service grants them (active, audited) with the key."""
    from subscriptions.models import SubscriptionStatus
    from subscriptions.selectors import model_list_for_user

    choices = []
    for model in model_list_for_user(user=user):
        label = f"{model.id} ({model.get_model_type_display()})"
        if model.my_status != SubscriptionStatus.ACTIVE:
            label = _("%(model)s: not subscribed yet, granted with the key") % {"model": label}
        choices.append((model.id, label))
    return choices


def _team_choices(user: Any, current: Any = None) -> list[tuple[str, str]]:
    """The teams a key of ``user`` may be charged to, plus the key's current team if it is no longer one of
    them (left or archived), so saving the form never silently moves the key off it."""
    teams = [(str(team.pk), team.name) for team in team_choices_for_user(user=user)]
    if current is not None and str(current.pk) not in dict(teams):
        teams.append((str(current.pk), _("%(team)s (current)") % {"team": current.name}))
    return teams


def _model_limits_of(key: ApiKey) -> dict[str, ModelLimits]:
    return {link.model_id: ModelLimits(link.max_budget, link.budget_duration, link.tpm_limit, link.rpm_limit)
            for link in key.model_links.all()}


def _enterprise_message(*, editing: bool) -> str:
    # Says what happened to the whole submission: the service applies all of it or nothing.
    if editing:
        return _("Per-model budgets need a LiteLLM Enterprise licence, which this LiteLLM proxy does not have, "
                 "so nothing was changed. Remove the per-model budgets and save again: per-model TPM/RPM "
                 "limits and the key budget work without it.")
    return _("Per-model budgets need a LiteLLM Enterprise licence, which this LiteLLM proxy does not have, "
             "so the key was not created. Remove the per-model budgets and try again: per-model TPM/RPM "
             "limits and the key budget work without it.")


def form_errors(form: ApiKeyForm | ApiKeySettingsForm, exc: ApplicationError) -> None:
    """Show a service refusal on the form: field details on their fields (or above the form), otherwise the
    message above the form (e.g. LiteLLM unreachable: nothing was created or changed)."""
    fields = (exc.details or {}).get("fields", {}) if isinstance(exc.details, dict) else {}
    placed = False
    for name, errors in fields.items():
        target = name if name in form.fields else None
        for error in errors if isinstance(errors, list) else [errors]:
            if str(error) == PER_MODEL_BUDGET_MESSAGE:
                error = _enterprise_message(editing=getattr(form, "editing", False))
            form.add_error(target, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _get_key(request: HttpRequest, key_id: Any) -> ApiKey:
    try:
        return selectors.apikey_get_for_user(user=request.user, key_id=key_id)
    except NotFoundError:
        raise Http404 from None


# Endpoint paths and bodies per model type, for the copy-ready snippets.
_SNIPPETS = {
    "chat": ("/v1/chat/completions",
             '{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello!"}}]}}'),
    "embeddings": ("/v1/embeddings", '{{"model": "{model}", "input": "The quick brown fox"}}'),
    "document_conversion": ("/docling/v1/convert/source",
                            '{{"model": "{model}", "sources": [{{"kind": "http", "url": "https://arxiv.org/pdf/2408.09869"}}],'
                            ' "options": {{"image_export_mode": "placeholder"}}}}'),
}


def snippets_for(key: ApiKey) -> list[dict[str, str]]:
    """One curl example per model on the key, by model type, against ``LITELLM_PUBLIC_URL``."""
    base = settings.LITELLM_PUBLIC_URL or "https://litellm.example.com"
    known = selectors.models_by_id({link.model_id for link in key.model_links.all()})
    snippets = []
    for link in key.model_links.all():
        model = known.get(link.model_id)
        model_type = getattr(model, "model_type", "chat")
        path, body = _SNIPPETS.get(model_type, _SNIPPETS["chat"])
        snippets.append({
            "model": link.model_id,
            "model_type": model_type,
            "curl": (f"curl {base}{path} \\\n  -H \"Authorization: Bearer $LITELLM_API_KEY\" \\\n"
                     f"  -H \"Content-Type: application/json\" \\\n  -d '{body.format(model=link.model_id)}'"),
        })
    return snippets


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    """The user's keys with live spend (one batch call; "spend unavailable" when LiteLLM is down)."""
    page = Paginator(selectors.apikey_list_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    live = selectors.apikey_live_spend_for_user(user=request.user) if page.object_list else None
    rows = [{"key": key, "live": (live or {}).get(key.token_hash)} for key in page.object_list]
    return render(request, "apikeys/list.html", {
        "page": page, "rows": rows, "spend_unavailable": bool(page.object_list) and live is None,
        "policy": ApiKeySettings.load(),
    })


@login_required
def key_detail(request: HttpRequest, key_id: Any) -> HttpResponse:
    """One key: limits, spend, snippets and the lifecycle actions."""
    key = _get_key(request, key_id)
    live = selectors.apikey_live_spend_for_user(user=request.user)
    return render(request, "apikeys/detail.html", {
        "key": key, "live": (live or {}).get(key.token_hash), "spend_unavailable": live is None,
        "snippets": snippets_for(key), "rotate_form": RotateForm(), "public_url": settings.LITELLM_PUBLIC_URL,
    })


def _initial_from_policy(policy: ApiKeySettings) -> dict[str, Any]:
    expiry = "never"
    if policy.default_expiry_days in (30, 60, 90, 180, 365):
        expiry = str(policy.default_expiry_days)
    elif policy.max_expiry_days:
        expiry = "30" if policy.max_expiry_days >= 30 else "custom"
    return {"max_budget": policy.default_max_budget, "budget_duration": policy.default_budget_duration,
            "soft_budget": policy.default_soft_budget, "tpm_limit": policy.default_tpm_limit,
            "rpm_limit": policy.default_rpm_limit, "expiry": expiry}


def _edit_initial(key: ApiKey) -> dict[str, Any]:
    return {"name": key.name, "description": key.description, "model_ids": [lk.model_id for lk in key.model_links.all()],
            "max_budget": key.max_budget, "budget_duration": key.budget_duration, "soft_budget": key.soft_budget,
            "tpm_limit": key.tpm_limit, "rpm_limit": key.rpm_limit,
            "max_parallel_requests": key.max_parallel_requests, "expiry": "keep",
            "team_id": str(key.team_id) if key.team_id else ""}


def key_form(data: Any, *, owner: Any, policy: ApiKeySettings, key: ApiKey | None = None,
             model_choices: list[tuple[str, str]] | None = None, ceilings: bool = True) -> ApiKeyForm:
    """The create form (no ``key``) or edit form of a key of ``owner``, shared by the owner's pages and the
    admin's pages of a user's keys. ``model_choices`` defaults to the owner's active subscriptions; without
    ``ceilings`` (an admin acting for a user) every expiry choice is offered, as the service then allows it.
    The admin defaults of ``policy`` are pre-filled either way."""
    form_policy = policy
    if not ceilings:
        form_policy = copy.copy(policy)
        form_policy.max_expiry_days = None  # "never expires" and every preset stay on offer
    if key is None:
        initial, teams, limits = _initial_from_policy(policy), _team_choices(owner), None
    else:
        initial, teams, limits = _edit_initial(key), _team_choices(owner, key.team), _model_limits_of(key)
    return ApiKeyForm(data, model_choices=_model_choices(owner) if model_choices is None else model_choices,
                      policy=form_policy, editing=key is not None, initial=initial, team_choices=teams,
                      model_limits=limits, per_model_budgets=settings.APIKEY_PER_MODEL_BUDGET_ENABLED)


def render_created(request: HttpRequest, created: services.CreatedApiKey, **context: Any) -> HttpResponse:
    """The show-once page of a new secret (``Cache-Control: no-store``); ``context`` adds e.g. ``owner`` and
    ``back_url`` when an admin created the key for someone else."""
    return _no_store(render(request, "apikeys/created.html", {
        "key": created.key, "secret": created.secret, "snippets": snippets_for(created.key), **context}))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    """Create a key; on success the same response shows the secret once (no-store)."""
    policy = ApiKeySettings.load()
    form = key_form(request.POST or None, owner=request.user, policy=policy)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.apikey_create(user=request.user, actor=request.user, request=request,
                                              **form.service_kwargs())
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            return render_created(request, created)
    status = 422 if request.method == "POST" else 200
    return render(request, "apikeys/form.html", {"form": form, "policy": policy,
                                                 "has_models": bool(form.fields["model_ids"].choices)},
                  status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_edit(request: HttpRequest, key_id: Any) -> HttpResponse:
    """Edit name, description, models, per-model limits, limits, team and expiry; empty limit fields clear
    the limit."""
    key = _get_key(request, key_id)
    policy = ApiKeySettings.load()
    form = key_form(request.POST or None, owner=request.user, policy=policy, key=key)
    if request.method == "POST" and form.is_valid():
        try:
            services.apikey_update(key=key, actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Key updated."))
            return redirect("apikeys:detail", key_id=key.pk)
    return render(request, "apikeys/form.html", {"form": form, "policy": policy, "key": key, "has_models": True},
                  status=422 if request.method == "POST" else 200)


def run_key_action(request: HttpRequest, *, key: ApiKey, action: str) -> bool:
    """Apply one lifecycle action (``block``, ``unblock``, ``reset-spend``, ``revoke``, ``delete``) through its
    service, as ``request.user``, and say how it went as a message. False when the service refused (LiteLLM
    down, wrong state: nothing changed); ``Http404`` for an unknown action. The caller checks who may act."""
    actor = request.user
    handlers = {
        "block": (lambda: services.apikey_block(key=key, actor=actor, request=request), _("Key blocked.")),
        "unblock": (lambda: services.apikey_unblock(key=key, actor=actor, request=request), _("Key unblocked.")),
        "reset-spend": (lambda: services.apikey_reset_spend(key=key, actor=actor, request=request),
                        _("Key spend reset.")),
        "revoke": (lambda: services.apikey_revoke(key=key, actor=actor, request=request), _("Key revoked.")),
        "delete": (lambda: services.apikey_delete(key=key, actor=actor, request=request), _("Key deleted.")),
    }
    if action not in handlers:
        raise Http404
    handler, done = handlers[action]
    try:
        result = handler()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return False
    if result.status == KeyStatus.REVOKING:
        messages.warning(request, _("LiteLLM is unreachable: the key is being revoked and will stop working as "
                                    "soon as LiteLLM confirms. The portal keeps retrying."))
    else:
        messages.success(request, done)
    return True


@never_cache
@login_required
@require_POST
def key_action(request: HttpRequest, key_id: Any, action: str) -> HttpResponse:
    """Lifecycle buttons of the detail page; each calls one service."""
    key = _get_key(request, key_id)
    if action == "rotate":
        form = RotateForm(request.POST)
        grace = form.cleaned_data["grace_hours"] if form.is_valid() else 0
        try:
            created = services.apikey_rotate(key=key, actor=request.user, grace_hours=grace, request=request)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("apikeys:detail", key_id=key.pk)
        return render_created(request, created, rotated_from=key)
    if run_key_action(request, key=key, action=action) and action == "delete":
        return redirect("apikeys:list")
    return redirect("apikeys:detail", key_id=key.pk)


@login_required
def playground(request: HttpRequest) -> HttpResponse:
    """The chat playground: the browser talks to LiteLLM directly with a short-lived key."""
    from subscriptions.models import ModelType

    models = list(selectors.subscribed_models_for_user(user=request.user, model_type=ModelType.CHAT))
    return render(request, "apikeys/playground.html", {
        "models": models, "public_url": settings.LITELLM_PUBLIC_URL,
        "ttl_minutes": settings.PLAYGROUND_KEY_TTL_SECONDS // 60, "budget": settings.PLAYGROUND_KEY_BUDGET,
    })


@never_cache
@login_required
@require_POST
def playground_session(request: HttpRequest) -> JsonResponse:
    """Mint a playground key for one chat model (JSON, no-store): key, base URL, expiry and prices."""
    model_id = request.POST.get("model", "")
    try:
        created = services.apikey_create_playground(user=request.user, model_id=model_id, request=request)
    except ApplicationError as exc:
        response = JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code)
        return _no_store(response)
    model = selectors.models_by_id({model_id}).get(model_id)

    def per_token(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return _no_store(JsonResponse({
        "key": created.secret,
        "base_url": settings.LITELLM_PUBLIC_URL,
        "model": model_id,
        "expires_at": created.key.expires_at.isoformat() if created.key.expires_at else None,
        "budget": str(created.key.max_budget),
        "input_cost_per_token": per_token(getattr(model, "input_cost_per_token", None)),
        "output_cost_per_token": per_token(getattr(model, "output_cost_per_token", None)),
    }))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_settings(request: HttpRequest) -> HttpResponse:
    """Admin defaults and ceilings for keys (read-only admins see the form disabled)."""
    if not request.user.is_readonly_admin:
        raise Http404
    policy = ApiKeySettings.load()
    form = ApiKeySettingsForm(request.POST or None, instance=policy)
    if not request.user.is_admin:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        if not request.user.is_admin:
            raise PermissionDenied
        if form.is_valid():
            values = {name: form.cleaned_data.get(name) for name in services.SETTINGS_FIELDS}
            try:
                services.apikey_settings_update(actor=request.user, values=values, request=request)
            except ApplicationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("Key settings saved."))
                return redirect("apikeys:settings")
    return render(request, "apikeys/settings.html", {"form": form, "can_edit": request.user.is_admin},
                  status=422 if request.method == "POST" else 200)
