"""Portal pages of ``apikeys`` (server-rendered, thin: selectors to read, services to write).

A page that shows a secret (create, rotate) is sent with ``Cache-Control: no-store`` and is never a
redirect target, so the secret is not kept in history or caches.
"""
from __future__ import annotations

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
from litemaas.exceptions import ApplicationError, NotFoundError

PAGE_SIZE = 20


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _model_choices(user: Any) -> list[tuple[str, str]]:
    return [(m.id, f"{m.id} ({m.get_model_type_display()})") for m in selectors.subscribed_models_for_user(user=user)]


def _form_errors(form: ApiKeyForm | ApiKeySettingsForm, exc: ApplicationError) -> None:
    fields = (exc.details or {}).get("fields", {}) if isinstance(exc.details, dict) else {}
    placed = False
    for name, errors in fields.items():
        target = name if name in form.fields else None
        for error in errors if isinstance(errors, list) else [errors]:
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


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    """Create a key; on success the same response shows the secret once (no-store)."""
    policy = ApiKeySettings.load()
    choices = _model_choices(request.user)
    form = ApiKeyForm(request.POST or None, model_choices=choices, policy=policy,
                      initial=_initial_from_policy(policy))
    if request.method == "POST" and form.is_valid():
        try:
            created = services.apikey_create(user=request.user, actor=request.user, request=request,
                                              **form.service_kwargs())
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            return _no_store(render(request, "apikeys/created.html", {
                "key": created.key, "secret": created.secret, "snippets": snippets_for(created.key)}))
    status = 422 if request.method == "POST" else 200
    return render(request, "apikeys/form.html", {"form": form, "policy": policy, "has_models": bool(choices)},
                  status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_edit(request: HttpRequest, key_id: Any) -> HttpResponse:
    """Edit name, description, models, limits and expiry; empty limit fields clear the limit."""
    key = _get_key(request, key_id)
    policy = ApiKeySettings.load()
    initial = {"name": key.name, "description": key.description, "model_ids": [lk.model_id for lk in key.model_links.all()],
               "max_budget": key.max_budget, "budget_duration": key.budget_duration, "soft_budget": key.soft_budget,
               "tpm_limit": key.tpm_limit, "rpm_limit": key.rpm_limit,
               "max_parallel_requests": key.max_parallel_requests, "expiry": "keep"}
    form = ApiKeyForm(request.POST or None, model_choices=_model_choices(request.user), policy=policy,
                      editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.apikey_update(key=key, actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Key updated."))
            return redirect("apikeys:detail", key_id=key.pk)
    return render(request, "apikeys/form.html", {"form": form, "policy": policy, "key": key, "has_models": True},
                  status=422 if request.method == "POST" else 200)


@never_cache
@login_required
@require_POST
def key_action(request: HttpRequest, key_id: Any, action: str) -> HttpResponse:
    """Lifecycle buttons of the detail page; each calls one service."""
    key = _get_key(request, key_id)
    try:
        if action == "rotate":
            form = RotateForm(request.POST)
            grace = form.cleaned_data["grace_hours"] if form.is_valid() else 0
            created = services.apikey_rotate(key=key, actor=request.user, grace_hours=grace, request=request)
            return _no_store(render(request, "apikeys/created.html", {
                "key": created.key, "secret": created.secret, "snippets": snippets_for(created.key),
                "rotated_from": key}))
        handlers = {
            "block": lambda: services.apikey_block(key=key, actor=request.user, request=request),
            "unblock": lambda: services.apikey_unblock(key=key, actor=request.user, request=request),
            "reset-spend": lambda: services.apikey_reset_spend(key=key, actor=request.user, request=request),
            "revoke": lambda: services.apikey_revoke(key=key, actor=request.user, request=request),
            "delete": lambda: services.apikey_delete(key=key, actor=request.user, request=request),
        }
        if action not in handlers:
            raise Http404
        result = handlers[action]()
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("apikeys:detail", key_id=key.pk)
    if result.status == KeyStatus.REVOKING:
        messages.warning(request, _("LiteLLM is unreachable: the key is being revoked and will stop working as "
                                    "soon as LiteLLM confirms. The portal keeps retrying."))
    else:
        messages.success(request, _("Done."))
    if action == "delete":
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
                _form_errors(form, exc)
            else:
                messages.success(request, _("Key settings saved."))
                return redirect("apikeys:settings")
    return render(request, "apikeys/settings.html", {"form": form, "can_edit": request.user.is_admin},
                  status=422 if request.method == "POST" else 200)
