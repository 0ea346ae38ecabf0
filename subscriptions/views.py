"""Portal pages of ``subscriptions`` (server-rendered, thin: selectors to read, services to write).

Every write is a POST with CSRF that calls one service; an ``ApplicationError`` becomes a readable error
message on the page it came from. Admin pages: read-only admins may look, only admins may act (403).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST
from rest_framework import serializers as drf_serializers

from integrations.sync_runs import sync_run_list
from litemaas.currency import format_money
from litemaas.exceptions import ApplicationError
from litemaas.portal_selectors import current_currency
from subscriptions import selectors, services
from subscriptions.api import serializers as s
from subscriptions.models import CAPABILITIES, ModelType, SubscriptionStatus
from subscriptions.transitions import Actor, targets_for


def _readonly_admin_required(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_readonly_admin:
            raise PermissionDenied
        if request.method == "POST" and not request.user.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _error_text(exc: ApplicationError) -> str:
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if fields:
        return exc.message + " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in fields.items())
    reason = exc.details.get("reason") if isinstance(exc.details, dict) else ""
    return f"{exc.message} ({reason})" if reason and reason not in exc.message else exc.message


_CHECKBOXES = [
    ("supports_vision", _lazy("Vision")),
    ("supports_function_calling", _lazy("Function calling")),
    ("supports_parallel_function_calling", _lazy("Parallel function calling")),
    ("supports_tool_choice", _lazy("Tool choice")),
    ("supports_tokenize", _lazy("Tokenize")),
    ("restricted", _lazy("Require admin approval (restricted)")),
]


def _checkboxes(values: Any) -> list[tuple[str, Any, bool]]:
    return [(name, label, bool(values.get(name))) for name, label in _CHECKBOXES]


def _model_form_values(model: Any) -> dict[str, Any]:
    """Edit-form values of ``model`` (prices per 1M tokens, without trailing zeros)."""
    values = {name: getattr(model, name) for name in (
        "id", "provider", "backend_model_name", "api_base", "model_type", "context_length", "max_tokens", "tpm",
        "rpm", "description", *(name for name, _label in _CHECKBOXES))}
    for name in ("input_cost_per_million", "output_cost_per_million"):
        value = getattr(model, name)
        values[name] = "" if value is None else format(value.normalize(), "f")
    return values


def _serializer_errors(errors: dict) -> dict[str, list[str]]:
    return {key: [str(e) for e in (value if isinstance(value, list) else [value])] for key, value in errors.items()}


# ---------------------------------------------------------------------------------------------------------
# Catalogue and own subscriptions
# ---------------------------------------------------------------------------------------------------------
def catalogue(request: HttpRequest) -> HttpResponse:
    """Available models with search, provider and capability filters (open to anonymous visitors)."""
    search = request.GET.get("q", "").strip()
    provider = request.GET.get("provider", "")
    capability = request.GET.get("capability", "")
    queryset = selectors.model_list_for_user(user=request.user, search=search, provider=provider,
                                             capability=capability)
    page = Paginator(queryset, 24).get_page(request.GET.get("page"))
    # Per-card values are prepared here, once per page, instead of per card in the template: the ``money``
    # filter reads the display currency from the shared cache on every call (48 reads a page), and the
    # capability labels were a nested loop over every capability for every card.
    currency = current_currency()
    for model in page.object_list:
        model.access = selectors.access_state(model)
        model.input_price = format_money(model.input_cost_per_million, currency)
        model.output_price = format_money(model.output_cost_per_million, currency)
        model.capability_labels = [CAPABILITIES.get(code, "") for code in model.capabilities]
    return render(request, "subscriptions/catalogue.html", {
        "page": page, "search": search, "provider": provider, "capability": capability,
        "providers": selectors.model_providers(), "capabilities": CAPABILITIES,
        "currency": s.currency_code(),
    })


def model_detail(request: HttpRequest, model_id: str) -> HttpResponse:
    """One model: capabilities, prices, and the caller's subscription state with the matching action."""
    try:
        model = selectors.model_get_for_user(user=request.user, model_id=model_id)
    except ApplicationError:
        return render(request, "errors/404.html", status=404)
    model.access = selectors.access_state(model)
    return render(request, "subscriptions/model_detail.html", {
        "model": model, "currency": s.currency_code(), "capabilities": CAPABILITIES,
    })


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    """Subscribe to (or request access to) the posted model."""
    model_id = request.POST.get("model_id", "")
    try:
        subscription = services.subscription_create(user=request.user, model_id=model_id, request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        if subscription.status == SubscriptionStatus.PENDING:
            messages.success(request, _("Access to %(model)s requested; an admin will review it.") % {"model": model_id})
        else:
            messages.success(request, _("Subscribed to %(model)s.") % {"model": model_id})
    return _back(request, reverse("subscriptions:catalogue"))


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    """The caller's subscriptions (inactive ones on request), with the reason for each last change."""
    status = request.GET.get("status", "")
    if status and status not in SubscriptionStatus.values:
        status = ""
    queryset = selectors.subscription_list_for_user(user=request.user, status=status)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(request, "subscriptions/list.html", {
        "page": page, "status": status, "statuses": SubscriptionStatus.choices,
    })


@login_required
@require_POST
def subscription_cancel(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        subscription = services.subscription_cancel(user=request.user, subscription_id=pk, request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Subscription to %(model)s cancelled.") % {"model": subscription.model_id})
    return _back(request, reverse("subscriptions:list"))


@login_required
@require_POST
def subscription_request_review(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        subscription = services.subscription_request_review(user=request.user, subscription_id=pk,
                                                            reason=request.POST.get("reason", ""),
                                                            request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Review of %(model)s requested.") % {"model": subscription.model_id})
    return _back(request, reverse("subscriptions:list"))


# ---------------------------------------------------------------------------------------------------------
# Admin: models
# ---------------------------------------------------------------------------------------------------------
@_readonly_admin_required
def admin_models(request: HttpRequest) -> HttpResponse:
    """Every model, the create form, "Sync now" and the recent sync runs."""
    form_errors: dict[str, list[str]] = {}
    form_data: Any = {}
    if request.method == "POST":
        serializer = s.AdminModelCreateSerializer(data=request.POST)
        if serializer.is_valid():
            data = dict(serializer.validated_data)
            try:
                model = services.model_create(actor=request.user, model_id=data.pop("id"), data=data,
                                              request=request)
            except ApplicationError as exc:
                messages.error(request, _error_text(exc))
                form_data = request.POST
            else:
                messages.success(request, _("Model %(model)s created in LiteLLM.") % {"model": model.pk})
                return redirect("subscriptions:admin-models")
        else:
            form_errors, form_data = _serializer_errors(serializer.errors), request.POST
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.model_list_admin(search=search), 50).get_page(request.GET.get("page"))
    return render(request, "subscriptions/admin_models.html", {
        "page": page, "search": search, "runs": sync_run_list(kind="models")[:10],
        "form_errors": form_errors, "form_data": form_data, "model_types": ModelType.choices,
        "currency": s.currency_code(), "checkboxes": _checkboxes(form_data),
    }, status=400 if form_errors else 200)


@_readonly_admin_required
def admin_model_edit(request: HttpRequest, model_id: str) -> HttpResponse:
    """Edit one model (write-through to LiteLLM), test its configuration, or delete it."""
    try:
        model = selectors.model_get_admin(model_id=model_id)
    except ApplicationError:
        return render(request, "errors/404.html", status=404)
    form_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        serializer = s.AdminModelUpdateSerializer(data=request.POST)
        if serializer.is_valid():
            data = {k: v for k, v in serializer.validated_data.items() if not (k == "api_key" and not v)}
            try:
                services.model_update(actor=request.user, model_id=model.pk, data=data, request=request)
            except ApplicationError as exc:
                messages.error(request, _error_text(exc))
            else:
                messages.success(request, _("Model %(model)s saved.") % {"model": model.pk})
                return redirect("subscriptions:admin-model-edit", model_id=model.pk)
        else:
            form_errors = _serializer_errors(serializer.errors)
    values = request.POST if form_errors else _model_form_values(model)
    return render(request, "subscriptions/admin_model_edit.html", {
        "model": model, "form_values": values, "checkboxes": _checkboxes(values),
        "form_errors": form_errors, "model_types": ModelType.choices,
        "currency": s.currency_code(),
    }, status=400 if form_errors else 200)


@_readonly_admin_required
@require_POST
def admin_model_delete(request: HttpRequest, model_id: str) -> HttpResponse:
    try:
        services.model_delete(actor=request.user, model_id=model_id, request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("subscriptions:admin-model-edit", model_id=model_id)
    messages.success(request, _("Model %(model)s deleted.") % {"model": model_id})
    return redirect("subscriptions:admin-models")


@_readonly_admin_required
@require_POST
def admin_model_test(request: HttpRequest) -> HttpResponse:
    """"Test configuration": answers an htmx fragment (or the same fragment as a page without htmx)."""
    serializer = s.ModelTestSerializer(data=request.POST)
    if not serializer.is_valid():
        result = {"success": False, "result": "invalid_input",
                  "message": "; ".join(f"{k}: {' '.join(v)}" for k, v in _serializer_errors(serializer.errors).items())}
    else:
        data = serializer.validated_data
        probe = services.model_test_configuration(
            actor=request.user, api_base=data["api_base"], backend_model_name=data["backend_model_name"],
            api_key=data.get("api_key", ""), model_id=data.get("model_id", ""),
            document_conversion=data["model_type"] == ModelType.DOCUMENT_CONVERSION,
        )
        result = {"success": probe.success, "result": probe.result, "message": probe.message,
                  "available_models": probe.available_models}
    return render(request, "subscriptions/_probe_result.html", {"result": result})


@_readonly_admin_required
@require_POST
def admin_model_sync(request: HttpRequest) -> HttpResponse:
    try:
        result = services.model_sync_from_litellm(actor=request.user, force=request.POST.get("force") == "on")
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.counts().items())
        if result.status == "succeeded":
            messages.success(request, _("Sync finished. %(summary)s") % {"summary": summary})
        else:
            messages.warning(request, _("Sync %(status)s: %(message)s") % {"status": result.status,
                                                                            "message": result.message})
    return redirect("subscriptions:admin-models")


# ---------------------------------------------------------------------------------------------------------
# Admin: review queue
# ---------------------------------------------------------------------------------------------------------
@_readonly_admin_required
def admin_queue(request: HttpRequest) -> HttpResponse:
    """Subscriptions filtered by status, model, user and date of the last change, with bulk actions."""
    params = request.GET
    statuses = [v for v in params.getlist("status") if v in SubscriptionStatus.values]
    if "status" not in params:
        statuses = [SubscriptionStatus.PENDING]
    try:
        date_from = drf_serializers.DateField().to_internal_value(params["date_from"]) if params.get("date_from") else None
        date_to = drf_serializers.DateField().to_internal_value(params["date_to"]) if params.get("date_to") else None
    except drf_serializers.ValidationError:
        date_from = date_to = None
        messages.error(request, _("Dates must look like 2025-01-31."))
    queryset = selectors.subscription_list_admin(
        statuses=statuses, model_ids=[params["model"]] if params.get("model") else None,
        date_from=date_from, date_to=date_to,
    )
    user_query = params.get("user", "").strip()
    if user_query:
        queryset = queryset.filter(user__username__icontains=user_query)
    page = Paginator(queryset, 50).get_page(params.get("page"))
    for subscription in page.object_list:
        subscription.admin_targets = targets_for(subscription.status, Actor.ADMIN)
    query = params.copy()
    query.pop("page", None)
    return render(request, "subscriptions/admin_queue.html", {
        "page": page, "statuses": SubscriptionStatus.choices, "selected_statuses": statuses,
        "models": selectors.model_list_admin().values_list("id", flat=True), "model_filter": params.get("model", ""),
        "user_filter": user_query, "date_from": params.get("date_from", ""), "date_to": params.get("date_to", ""),
        "query": query.urlencode(), "results": request.session.pop("bulk_results", None),
    })


@_readonly_admin_required
@require_POST
def admin_queue_bulk(request: HttpRequest) -> HttpResponse:
    """Approve or deny the checked subscriptions; the per-item results are shown on the queue page."""
    ids = request.POST.getlist("subscription_ids")
    action = request.POST.get("action")
    reason = request.POST.get("reason", "")
    if not ids:
        messages.error(request, _("Select at least one subscription."))
        return _back(request, reverse("subscriptions:admin-queue"))
    try:
        if action == "approve":
            result = services.subscriptions_bulk_approve(actor=request.user, subscription_ids=ids, comment=reason,
                                                         request=request)
        elif action == "deny":
            result = services.subscriptions_bulk_deny(actor=request.user, subscription_ids=ids, reason=reason,
                                                      request=request)
        else:
            messages.error(request, _("Unknown action."))
            return _back(request, reverse("subscriptions:admin-queue"))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return _back(request, reverse("subscriptions:admin-queue"))
    request.session["bulk_results"] = {"action": action, "successful": len(result.successful),
                                       "failed": result.failed}
    return _back(request, reverse("subscriptions:admin-queue"))


@_readonly_admin_required
@require_POST
def admin_subscription_status(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        subscription = services.subscription_change_status(
            actor=request.user, subscription_id=pk, new_status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""), request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Subscription is now %(status)s.") % {"status": subscription.get_status_display()})
    return _back(request, reverse("subscriptions:admin-queue"))


@_readonly_admin_required
@require_POST
def admin_subscription_delete(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        services.subscription_delete(actor=request.user, subscription_id=pk, reason=request.POST.get("reason", ""),
                                     request=request)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Subscription deleted."))
    return _back(request, reverse("subscriptions:admin-queue"))
