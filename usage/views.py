"""Portal pages of ``usage`` (server-rendered, thin: selectors to read, services to write).

The user page (``usage:dashboard``) shows only the signed-in user's data; the admin page
(``usage:admin-dashboard``) is for admins and read-only admins, and only admins may "refresh today".
Charts are drawn by ``static/js/usage-charts.js`` from a JSON block; every chart has a table next to it.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from litemaas.exceptions import ApplicationError, ValidationFailed
from usage import selectors, services

PRESETS = (1, 7, 30, 90)
BREAKDOWN_PAGE_SIZE = 25


def _range_params(request: HttpRequest) -> tuple[str | None, str | None, str]:
    """(start, end, preset) from the query: a preset wins unless ``custom`` dates are given."""
    start, end = request.GET.get("start") or None, request.GET.get("end") or None
    preset = request.GET.get("preset", "")
    if start or end:
        return start, end, "custom"
    days = int(preset) if preset.isdigit() and int(preset) in PRESETS else 30
    today = services.utc_today()
    return (today - timedelta(days=days - 1)).isoformat(), today.isoformat(), str(days)


def _chart_data(analytics: dict[str, Any]) -> dict[str, Any]:
    """What the charts need, JSON-friendly (numbers as floats, dates as strings)."""
    models = [m["model_id"] for m in analytics["by_model"]]
    per_model: dict[str, list[float]] = {m: [] for m in models}
    cells = {row["date"]: {m["model_id"]: m for m in row["models"]} for row in analytics["daily_by_model"]}
    for day in analytics["daily"]:
        for model in models:
            per_model[model].append(float(cells.get(day["date"], {}).get(model, {}).get("total_tokens", 0)))
    return {
        "currency": analytics["currency"],
        "labels": [d["date"].isoformat() for d in analytics["daily"]],
        "daily": {metric: [float(d[metric]) for d in analytics["daily"]]
                  for metric in ("requests", "total_tokens", "prompt_tokens", "completion_tokens", "spend")},
        "per_model": [{"label": m, "data": per_model[m]} for m in models],
        "distribution": [{"label": m["model_id"], "value": float(m["spend"]), "tokens": m["total_tokens"]}
                         for m in analytics["by_model"]],
    }


# The parts of both usage pages drawn from the analytics alone (headline cards; charts with their tables,
# up to days x models rows): rendered once per analytics entry and language, then served from the cache.
# Rendering them is most of a page's time (a 30-day admin page has ~750 table rows of number formatting).
FRAGMENTS = {"cards": "usage/_cards.html", "charts": "usage/_charts.html"}
# Every template a fragment renders (includes too): their sources are part of the key, so a deploy that
# changes one never serves the old HTML.
FRAGMENT_TEMPLATES = ("usage/_cards.html", "usage/_card.html", "usage/_charts.html")


def _fragment_source_digest() -> str:
    sources = "\0".join(get_template(name).template.source for name in FRAGMENT_TEMPLATES)
    return hashlib.sha256(sources.encode()).hexdigest()[:16]


def _analytics_fragments(analytics: dict[str, Any], analytics_key: str | None) -> dict[str, SafeString]:
    """The cards and charts HTML of ``analytics``, from the cache when ``analytics_key`` is set.

    The key joins the analytics entry's key (data version, filters, scope, currency), the active language
    and the templates' sources; an entry expires with the analytics (``USAGE_ANALYTICS_CACHE_SECONDS``).
    The fragments use nothing of the request or the user beyond the analytics and the language. Values are
    what the template engine returned (``SafeString``, autoescaped while rendering; the cache pickles the
    type along), so nothing is marked safe here.
    """
    def render_all(names: list[str]) -> dict[str, SafeString]:
        context = {"analytics": analytics, "chart_data": _chart_data(analytics)}
        return {name: render_to_string(FRAGMENTS[name], context) for name in names}

    if analytics_key is None:
        return render_all(list(FRAGMENTS))
    suffix = f"{get_language() or settings.LANGUAGE_CODE}:{_fragment_source_digest()}"
    keys = {name: f"{analytics_key}:html:{name}:{suffix}" for name in FRAGMENTS}
    found = cache.get_many(list(keys.values()))
    html = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in FRAGMENTS if name not in html]
    if missing:
        rendered = render_all(missing)
        cache.set_many({keys[name]: rendered[name] for name in missing}, settings.USAGE_ANALYTICS_CACHE_SECONDS)
        html.update(rendered)
    return html


def _export_query(request: HttpRequest, start: str | None, end: str | None, keys: tuple[str, ...]) -> str:
    params: list[tuple[str, str]] = [("start", start or ""), ("end", end or "")]
    params += [(name, value) for name in keys for value in request.GET.getlist(name) if value]
    return urlencode(params)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The user's own usage: presets or a custom UTC range, model and own-key filters (options from the
    user's own data), headline cards with trends, charts with table alternatives, budget and runway."""
    start, end, preset = _range_params(request)
    error = None
    try:
        filters = selectors.build_filters(actor=request.user, start=start, end=end,
                                          models=request.GET.getlist("models"),
                                          api_keys=request.GET.getlist("api_keys"))
    except ValidationFailed as exc:
        error = exc
        filters = selectors.build_filters(actor=request.user, start=None, end=None)
        preset = "30"
    analytics, analytics_key = selectors.usage_analytics_entry(actor=request.user, filters=filters)
    context = {
        "error": error, "preset": preset, "presets": PRESETS, "filters": filters, "analytics": analytics,
        "fragments": _analytics_fragments(analytics, analytics_key),
        "options": selectors.usage_filter_options(actor=request.user, date_range=filters.range),
        "selected_models": set(filters.models), "selected_keys": {str(k) for k in filters.keys},
        "budget": selectors.usage_budget_for_user(user=request.user),
        "export_query": _export_query(request, filters.range.start.isoformat(), filters.range.end.isoformat(),
                                      ("models", "api_keys")),
    }
    return render(request, "usage/dashboard.html", context)


def _require_usage_admin(request: HttpRequest) -> None:
    # Admin pages do not exist for ordinary users (404, the portal's convention); read-only admins may read.
    if not (request.user.is_admin or request.user.is_readonly_admin):
        raise Http404


def _resolve_usernames(raw: str) -> tuple[list[str], list[str]]:
    """Comma-separated usernames (or ``unattributed``) → user ids, plus the names not found."""
    from accounts.models import User

    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        return [], []
    ids = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
    out = [selectors.UNATTRIBUTED if n == selectors.UNATTRIBUTED else str(ids[n]) for n in names
           if n in ids or n == selectors.UNATTRIBUTED]
    return out, [n for n in names if n not in ids and n != selectors.UNATTRIBUTED]


@login_required
def admin_dashboard(request: HttpRequest) -> HttpResponse:
    """Platform usage for admins and read-only admins: user, team, key, model and provider filters, top
    users, a paginated and sortable breakdown (server-side), the "as of" time and, for admins, "refresh
    today"."""
    _require_usage_admin(request)
    start, end, preset = _range_params(request)
    user_ids, unknown_users = _resolve_usernames(request.GET.get("usernames", ""))
    errors: list[str] = []
    if unknown_users:
        errors.append(_("Unknown users: %(names)s") % {"names": ", ".join(unknown_users)})
    if request.GET.get("usernames") and not user_ids:
        user_ids = ["00000000-0000-0000-0000-000000000000"]  # names given, none found: show nothing
    try:
        filters = selectors.build_filters(
            actor=request.user, start=start, end=end, models=request.GET.getlist("models"),
            providers=request.GET.getlist("providers"), users=user_ids, teams=request.GET.getlist("teams"),
            api_keys=request.GET.getlist("api_keys"), admin_view=True)
    except ValidationFailed as exc:
        errors.append(exc.message)
        filters = selectors.build_filters(actor=request.user, start=None, end=None, admin_view=True)
        preset = "30"
    analytics, analytics_key = selectors.usage_analytics_entry(actor=request.user, filters=filters)
    by = request.GET.get("by", "user")
    by = by if by in selectors.BREAKDOWN_DIMENSIONS else "user"
    sort = request.GET.get("sort", "-spend")
    try:
        rows = selectors.usage_breakdown(actor=request.user, filters=filters, by=by, sort=sort)
    except ValidationFailed:
        sort = "-spend"
        rows = selectors.usage_breakdown(actor=request.user, filters=filters, by=by, sort=sort)
    page = Paginator(rows, BREAKDOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    base = [(k, v) for k in ("preset", "start", "end", "usernames", "models", "providers", "teams", "api_keys")
            for v in request.GET.getlist(k) if v]
    context = {
        "errors": errors, "preset": preset, "presets": PRESETS, "filters": filters, "analytics": analytics,
        "fragments": _analytics_fragments(analytics, analytics_key), "by": by, "sort": sort,
        "dimensions": selectors.BREAKDOWN_DIMENSIONS,
        "page": page, "page_rows": selectors.enrich_breakdown(list(page.object_list), by=by),
        "query_without_page": urlencode([*base, ("by", by), ("sort", sort)]),
        "query_without_sort": urlencode([*base, ("by", by)]),
        "query_without_by": urlencode(base),
        "options": selectors.usage_filter_options(actor=request.user, date_range=filters.range, admin_view=True),
        "selected_models": set(filters.models), "selected_providers": set(filters.providers),
        "usernames": request.GET.get("usernames", ""), "teams": ",".join(request.GET.getlist("teams")),
        "api_keys": ",".join(request.GET.getlist("api_keys")),
        "export_query": _export_query(request, filters.range.start.isoformat(), filters.range.end.isoformat(),
                                      ("models", "providers", "teams", "api_keys")) + (
            "&" + urlencode([("users", u) for u in user_ids]) if user_ids else ""),
        "runs": list(selectors.usage_ingestion_runs()[:5]),
        "can_refresh": request.user.is_admin,
        "sort_fields": ["requests", "total_tokens", "prompt_tokens", "completion_tokens", "spend"],
    }
    return render(request, "usage/admin_dashboard.html", context)


@login_required
@require_POST
def admin_refresh(request: HttpRequest) -> HttpResponse:
    """Admin "refresh today": re-pull today from LiteLLM (admins only; read-only admins get 403)."""
    _require_usage_admin(request)
    if not request.user.is_admin:
        raise PermissionDenied
    try:
        result = services.usage_refresh_today(actor=request.user, request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Today's usage was refreshed (%(rows)s rows).") % {"rows": result.rows})
    return redirect("usage:admin-dashboard")
