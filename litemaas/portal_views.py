"""Portal pages of the project app: preferences, banners, branding images, help, onboarding and the
admin pages (overview, audit log, settings, banners, branding).

Views are thin: selectors read, services write, ``ApplicationError`` messages are shown on the form.
Admin pages are open to read-only admins; their writes answer 403 (and the forms are disabled).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.preference_services import user_set_preferences
from litemaas import portal_selectors as sel
from litemaas import portal_services as svc
from litemaas.currency import CURRENCIES
from litemaas.exceptions import ApplicationError
from litemaas.markdown import render_markdown
from litemaas.models import Announcement, BrandingImage
from litemaas.models.announcements import BANNER_TEXT_MAX_LENGTH, AnnouncementStyle
from litemaas.portal_middleware import set_language_cookie

AUDIT_PAGE_SIZE = 50
AUDIT_CSV_MAX_ROWS = 10_000
DOCS_DIR = Path(settings.BASE_DIR) / "docs"
# In-portal help: slug -> (file under docs/, title, who may read it).
HELP_PAGES = {
    "user-guide": ("user-guide.md", gettext_lazy("User guide"), Role.USER),
    "admin-guide": ("admin-guide.md", gettext_lazy("Administrator guide"), Role.ADMIN_READONLY),
}


def _safe_next(request: HttpRequest, fallback: str = "home") -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return next_url
    return reverse(fallback)


def _scripted(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch" or bool(request.headers.get("HX-Request"))


def admin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins and read-only admins may open the page; only admins may POST to it (else 403)."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_readonly_admin:
            raise PermissionDenied
        if request.method == "POST" and not request.user.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _errors(exc: ApplicationError) -> dict[str, list[str]]:
    details = exc.details if isinstance(exc.details, dict) else {}
    return details.get("fields", {}) or {"__all__": [exc.message]}


# --------------------------------------------------------------------------------------------- preferences
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: stored for the signed-in user, and in a cookie for everyone.

    An empty ``language`` means "follow the browser". Unknown languages get a 400 page.
    """
    language = request.POST.get("language", "")
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        return HttpResponse(_("Unknown language."), status=400, content_type="text/plain; charset=utf-8")
    if request.user.is_authenticated:
        user_set_preferences(user=request.user, language=language)
    response = HttpResponse(status=204) if _scripted(request) else HttpResponseRedirect(_safe_next(request))
    if language:
        translation.activate(language)
        set_language_cookie(response, language)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
    return response


@login_required
@require_POST
def banner_dismiss(request: HttpRequest, banner_id: int) -> HttpResponse:
    """Close a banner for the signed-in user (page fallback of ``POST /api/v1/banners/{id}/dismiss``)."""
    try:
        svc.announcement_dismiss(user=request.user, announcement_id=banner_id)
    except ApplicationError as exc:
        if _scripted(request):
            return HttpResponse(status=exc.status_code)
    return HttpResponse(status=204) if _scripted(request) else HttpResponseRedirect(_safe_next(request))


@login_required
@require_POST
def onboarding_dismiss(request: HttpRequest) -> HttpResponse:
    """Close the first-login guide for good (it can be shown again from the help page)."""
    if request.POST.get("restore"):
        svc.onboarding_guide_restore(user=request.user)
    else:
        svc.onboarding_guide_dismiss(user=request.user)
    return HttpResponse(status=204) if _scripted(request) else HttpResponseRedirect(_safe_next(request))


# --------------------------------------------------------------------------------------------- branding images
@require_GET
def branding_image(request: HttpRequest, kind: str) -> HttpResponse:
    """Serve an uploaded logo (public: the login page shows it) with a locked-down response.

    The bytes were re-encoded at upload (never SVG); ``nosniff`` and ``default-src 'none'`` make sure that
    even opened on its own the response can only ever be an image. ``?v=<hash>`` URLs are cached for a year.
    """
    image = sel.branding_image_get(kind)
    if image is None:
        raise Http404
    etag = f'"{image.sha256[:32]}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(bytes(image.data), content_type=image.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=31536000, immutable" if request.GET.get("v") else "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = f'inline; filename="{kind}"'
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --------------------------------------------------------------------------------------------- help
@login_required
def help_index(request: HttpRequest) -> HttpResponse:
    """The help hub: the guides this user may read and a way to see the first-login guide again."""
    pages = [{"slug": slug, "title": title} for slug, (_file, title, role) in HELP_PAGES.items()
             if role == Role.USER or request.user.is_readonly_admin]
    return render(request, "portal/help_index.html", {
        "pages": pages, "guide_hidden": not sel.onboarding_guide_visible(request.user)})


@login_required
def help_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One Markdown guide from ``docs/`` rendered with the safe renderer (404 for guides the user may not read)."""
    entry = HELP_PAGES.get(slug)
    if entry is None or (entry[2] != Role.USER and not request.user.is_readonly_admin):
        raise Http404
    path = DOCS_DIR / entry[0]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    # The guide's own "# Title" becomes the page header.
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        text = "\n".join(lines[1:])
    return render(request, "portal/help_page.html", {"title": entry[1], "body": render_markdown(text, toc=True)})


# --------------------------------------------------------------------------------------------- admin: overview
@admin_page
def admin_overview(request: HttpRequest) -> HttpResponse:
    """Counts of users, models, subscriptions and keys, LiteLLM health, last model sync, pending approvals."""
    overview = sel.system_overview(user=request.user)
    return render(request, "portal/admin_overview.html", {"overview": overview,
                                                          "approvals_url": _url_or_empty("subscriptions:admin-queue"),
                                                          "sync_url": _url_or_empty("integrations:admin-sync")
                                                          or _url_or_empty("subscriptions:admin-models"),
                                                          "status_url": _url_or_empty("integrations:litellm-status")})


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


# --------------------------------------------------------------------------------------------- admin: audit
def _audit_filters(request: HttpRequest) -> tuple[dict[str, Any], dict[str, str]]:
    raw = {key: request.GET.get(key, "").strip() for key in ("actor", "action", "target_type", "since", "until",
                                                              "q", "outcome")}
    filters: dict[str, Any] = {}
    if raw["action"]:
        filters["action"] = raw["action"]
    if raw["target_type"]:
        filters["target_type"] = raw["target_type"]
    if raw["outcome"] in ("success", "failure"):
        filters["success"] = raw["outcome"] == "success"
    since, until = parse_date(raw["since"] or ""), parse_date(raw["until"] or "")
    tz = timezone.get_current_timezone()
    if since:
        filters["since"] = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    if until:  # inclusive day in the form, exclusive bound in the selector
        filters["until"] = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return filters, raw


@admin_page
def admin_audit(request: HttpRequest) -> HttpResponse:
    """The audit log: filters (actor, action, target type, dates, outcome, free text), pages, CSV export."""
    filters, raw = _audit_filters(request)
    events = sel.audit_event_search(user=request.user, text=raw["q"], **filters)
    if raw["actor"]:
        events = events.filter(actor_label__icontains=raw["actor"])
    if request.GET.get("export") == "csv":
        return _audit_csv(events)
    page = Paginator(events.select_related(None), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"event": e, "metadata_json": json.dumps(e.metadata, indent=2, sort_keys=True, ensure_ascii=False)}
            for e in page.object_list]
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(request, "portal/admin_audit.html", {
        "page": page, "rows": rows, "filters": raw, "query": query, "choices": sel.audit_filter_choices(),
        "filtered": any(raw.values())})


class _Echo:
    def write(self, value: str) -> str:
        return value


def _audit_csv(events: Any) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    header = ["created_at", "actor", "action", "target_type", "target_id", "success", "error", "ip_address",
              "request_id", "metadata"]

    def rows():
        yield writer.writerow(header)
        for e in events[:AUDIT_CSV_MAX_ROWS].iterator():
            # Cells starting with = + - @ are prefixed so spreadsheets never run them as formulas.
            cells = [e.created_at.isoformat(), e.actor_label, e.action, e.target_type, e.target_id,
                     "true" if e.success else "false", e.error, e.ip_address or "", e.request_id,
                     json.dumps(e.metadata, sort_keys=True, ensure_ascii=False)]
            yield writer.writerow(["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c
                                   for c in cells])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


# --------------------------------------------------------------------------------------------- admin: settings
SETTINGS_FIELDS = ("currency_code", "new_user_max_budget", "new_user_tpm_limit", "new_user_rpm_limit",
                   "new_user_budget_duration")


@admin_page
@require_http_methods(["GET", "POST"])
def admin_settings(request: HttpRequest) -> HttpResponse:
    """Display currency and new-user defaults (read-only admins see the form disabled; POST is 403)."""
    row = sel.portal_settings_get()
    errors: dict[str, list[str]] = {}
    values = {field: getattr(row, field) for field in SETTINGS_FIELDS}
    if request.method == "POST":
        values = {field: request.POST.get(field, "") for field in SETTINGS_FIELDS}
        try:
            changed = svc.portal_settings_update(actor=request.user, request=request, **values)
        except ApplicationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("Settings saved.") if changed else _("Nothing changed."))
            return HttpResponseRedirect(reverse("portal:admin-settings"))
    env = sel.env_user_defaults()
    return render(request, "portal/admin_settings.html", {
        "values": values, "errors": errors, "env": env, "currencies": CURRENCIES.values(),
        "fallback_currency": getattr(settings, "PORTAL_CURRENCY_CODE", "USD"),
        "can_edit": request.user.is_admin, "apikey_settings_url": _url_or_empty("apikeys:settings"),
        "branding_url": reverse("portal:admin-branding"), "banners_url": reverse("portal:admin-banners"),
        "sync_url": _url_or_empty("integrations:admin-sync")}, status=400 if errors else 200)


# --------------------------------------------------------------------------------------------- admin: banners
@admin_page
def admin_banners(request: HttpRequest) -> HttpResponse:
    """Every banner with its visibility, style, targets and last change."""
    banners = list(sel.announcement_list(user=request.user))
    return render(request, "portal/admin_banners.html", {"banners": banners, "can_edit": request.user.is_admin})


def _banner_form_data(request: HttpRequest) -> dict[str, Any]:
    content = {code: request.POST.get(f"content_{code}", "") for code, _name in settings.LANGUAGES}
    users = [u.strip() for u in request.POST.get("target_users", "").replace(",", " ").split() if u.strip()]
    from accounts.models import User

    found = dict(User.objects.filter(username__in=users).values_list("username", "pk"))
    data = {
        "name": request.POST.get("name", ""), "content": content, "style": request.POST.get("style", ""),
        "dismissible": bool(request.POST.get("dismissible")), "is_active": bool(request.POST.get("is_active")),
        "priority": request.POST.get("priority", "0"), "starts_at": request.POST.get("starts_at", ""),
        "ends_at": request.POST.get("ends_at", ""), "target_roles": request.POST.getlist("target_roles"),
        "target_users": [str(pk) for pk in found.values()], "link_url": request.POST.get("link_url", ""),
        "link_text": request.POST.get("link_text", ""),
    }
    missing = [u for u in users if u not in found]
    return data | ({"_missing_users": missing} if missing else {})


def _local_input(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


@admin_page
@require_http_methods(["GET", "POST"])
def admin_banner_edit(request: HttpRequest, banner_id: int | None = None) -> HttpResponse:
    """Create or edit a banner: name, text per language (English required), style, schedule, targets, link."""
    banner = get_object_or_404(Announcement, pk=banner_id) if banner_id is not None else None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = _banner_form_data(request)
        missing = data.pop("_missing_users", None)
        try:
            if missing:
                raise svc._fail({"target_users": [_("Unknown user names: %(names)s.") % {"names": ", ".join(missing)}]})
            if banner is None:
                banner = svc.announcement_create(actor=request.user, data=data, request=request)
            else:
                svc.announcement_update(actor=request.user, announcement=banner, data=data, request=request)
        except ApplicationError as exc:
            errors = _errors(exc)
            form = data | {"target_usernames": request.POST.get("target_users", "")}
        else:
            messages.success(request, _("Banner “%(name)s” saved.") % {"name": data["name"]})
            return HttpResponseRedirect(reverse("portal:admin-banners"))
    elif banner is not None:
        form = {"name": banner.name, "content": banner.content, "style": banner.style,
                "dismissible": banner.dismissible, "is_active": banner.is_active, "priority": banner.priority,
                "starts_at": banner.starts_at, "ends_at": banner.ends_at, "target_roles": banner.target_roles,
                "target_usernames": " ".join(banner.target_users.values_list("username", flat=True)),
                "link_url": banner.link_url, "link_text": banner.link_text}
    else:
        form = {"name": "", "content": {}, "style": "info", "dismissible": True, "is_active": False, "priority": 0,
                "starts_at": None, "ends_at": None, "target_roles": [], "target_usernames": "", "link_url": "",
                "link_text": ""}
    form["starts_at"], form["ends_at"] = _local_input(form["starts_at"]), _local_input(form["ends_at"])
    languages = [{"code": code, "name": name, "text": (form["content"] or {}).get(code, "")}
                 for code, name in settings.LANGUAGES]
    return render(request, "portal/admin_banner_form.html", {
        "banner": banner, "form": form, "errors": errors, "languages": languages, "styles": AnnouncementStyle.choices,
        "roles": Role.choices, "max_length": BANNER_TEXT_MAX_LENGTH, "can_edit": request.user.is_admin,
    }, status=400 if errors else 200)


@admin_page
@require_POST
def admin_banner_visibility(request: HttpRequest, banner_id: int) -> HttpResponse:
    """Show or hide a banner (the switch in the list)."""
    banner = get_object_or_404(Announcement, pk=banner_id)
    visible = request.POST.get("is_active") == "true"
    svc.announcement_update(actor=request.user, announcement=banner, data={"is_active": visible}, request=request)
    messages.success(request, (_("Banner “%(name)s” is now shown.") if visible
                               else _("Banner “%(name)s” is now hidden.")) % {"name": banner.name})
    return HttpResponseRedirect(reverse("portal:admin-banners"))


@admin_page
@require_POST
def admin_banner_delete(request: HttpRequest, banner_id: int) -> HttpResponse:
    """Delete a banner (its history stays)."""
    banner = get_object_or_404(Announcement, pk=banner_id)
    name = banner.name
    svc.announcement_delete(actor=request.user, announcement=banner, request=request)
    messages.success(request, _("Banner “%(name)s” deleted.") % {"name": name})
    return HttpResponseRedirect(reverse("portal:admin-banners"))


@admin_page
def admin_banner_history(request: HttpRequest, banner_id: int) -> HttpResponse:
    """Every change of one banner, with the state before and after (also after deletion)."""
    rows = list(sel.announcement_history_list(user=request.user, announcement_id=banner_id)[:200])
    if not rows:
        raise Http404
    banner = Announcement.objects.filter(pk=banner_id).first()
    name = banner.name if banner else (rows[0].previous_state or rows[0].new_state or {}).get("name", "")
    entries = [{"row": r, "changes": _state_diff(r.previous_state, r.new_state)} for r in rows]
    return render(request, "portal/admin_banner_history.html", {"entries": entries, "name": name})


def _state_diff(before: dict | None, after: dict | None) -> list[dict[str, Any]]:
    before, after = before or {}, after or {}
    return [{"field": key, "before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


# --------------------------------------------------------------------------------------------- admin: branding
@login_required
@require_http_methods(["GET", "POST"])
def admin_branding(request: HttpRequest) -> HttpResponse:
    """Login texts, logo switches and the three logos. Needs ``litemaas.change_branding`` to change anything;
    read-only admins see the page disabled."""
    can_edit = sel.branding_can_change(request.user)
    if not (request.user.is_readonly_admin or can_edit):
        raise PermissionDenied
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    row = sel.branding_settings_get()
    if request.method == "POST":
        action = request.POST.get("action", "texts")
        try:
            if action == "texts":
                svc.branding_update(actor=request.user, request=request, **{
                    "login_title": request.POST.get("login_title", ""),
                    "login_subtitle": request.POST.get("login_subtitle", ""),
                    **{flag: bool(request.POST.get(flag)) for flag in svc.BRANDING_FLAGS}})
                messages.success(request, _("Branding saved."))
            elif action.startswith("upload:"):
                kind = action.split(":", 1)[1]
                upload = request.FILES.get(f"file_{kind}")
                raw = upload.read(svc_max_bytes() + 1) if upload else b""
                try:
                    svc.branding_image_set(actor=request.user, kind=kind, raw=raw, request=request)
                except ApplicationError as exc:
                    raise type(exc)(exc.message, details={"fields": {f"file_{kind}": [exc.message]}}) from exc
                messages.success(request, _("Image uploaded."))
            elif action.startswith("delete:"):
                svc.branding_image_delete(actor=request.user, kind=action.split(":", 1)[1], request=request)
                messages.success(request, _("Image removed."))
        except ApplicationError as exc:
            errors = _errors(exc)
            row = sel.branding_settings_get()
        else:
            return HttpResponseRedirect(reverse("portal:admin-branding"))
    images = {img.kind: img for img in BrandingImage.objects.defer("data")}
    slots = [{"kind": kind, "label": label, "image": images.get(kind),
              "version": images[kind].sha256[:12] if kind in images else ""} for kind, label in BrandingImage.Kind.choices]
    return render(request, "portal/admin_branding.html", {
        "row": row, "slots": slots, "errors": errors, "can_edit": can_edit,
        "max_kb": svc_max_bytes() // 1024}, status=400 if errors else 200)


def svc_max_bytes() -> int:
    from litemaas.branding import BRANDING_IMAGE_MAX_BYTES

    return BRANDING_IMAGE_MAX_BYTES
