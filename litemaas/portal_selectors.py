"""Reads of portal-wide things: settings, currency, branding, banners, onboarding and the admin overview.

The values every page needs (settings, branding, the list of visible banners) are cached for
``PORTAL_CACHE_SECONDS`` in the shared cache and dropped by ``litemaas.portal_services`` on every change,
so a page costs at most one small query (the user's dismissals) for them.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from litemaas.currency import CURRENCIES, DEFAULT_CURRENCY_CODE, Currency
from litemaas.models import (
    Announcement,
    AnnouncementDismissal,
    AnnouncementHistory,
    AuditEvent,
    BrandingImage,
    BrandingSettings,
    OnboardingState,
    PortalSettings,
)
from litemaas.models.portal import SINGLETON_ID
from litemaas.selectors import audit_event_list

PORTAL_CACHE_SECONDS = 30
SETTINGS_CACHE_KEY = "portal:settings:v1"
BRANDING_CACHE_KEY = "portal:branding:v1"
BANNERS_CACHE_KEY = "portal:banners:v1"
MAX_VISIBLE_BANNERS = 5


# --------------------------------------------------------------------------------------------- settings
def portal_settings_get() -> PortalSettings:
    """The settings row (created empty on first use). Not cached: for the settings page and services."""
    obj, _created = PortalSettings.objects.get_or_create(id=SINGLETON_ID)
    return obj


def _settings_snapshot() -> dict[str, Any]:
    snapshot = cache.get(SETTINGS_CACHE_KEY)
    if snapshot is None:
        row = PortalSettings.objects.filter(id=SINGLETON_ID).first()
        snapshot = {
            "currency_code": row.currency_code if row else "",
            "max_budget": row.new_user_max_budget if row else None,
            "tpm_limit": row.new_user_tpm_limit if row else None,
            "rpm_limit": row.new_user_rpm_limit if row else None,
            "budget_duration": row.new_user_budget_duration if row else "",
        }
        cache.set(SETTINGS_CACHE_KEY, snapshot, PORTAL_CACHE_SECONDS)
    return snapshot


def current_currency() -> Currency:
    """The display currency: the admin's choice, else ``settings.PORTAL_CURRENCY_CODE``, else USD."""
    code = _settings_snapshot()["currency_code"] or getattr(settings, "PORTAL_CURRENCY_CODE", "")
    return CURRENCIES.get((code or "").upper()) or CURRENCIES[DEFAULT_CURRENCY_CODE]


def env_user_defaults() -> dict[str, Any]:
    """The new-user defaults from the environment (``DEFAULT_USER_*``), the fallback of the settings page."""
    return {
        "max_budget": getattr(settings, "DEFAULT_USER_MAX_BUDGET", None),
        "tpm_limit": getattr(settings, "DEFAULT_USER_TPM_LIMIT", None),
        "rpm_limit": getattr(settings, "DEFAULT_USER_RPM_LIMIT", None),
        "budget_duration": getattr(settings, "DEFAULT_USER_BUDGET_DURATION", ""),
    }


def new_user_defaults() -> dict[str, Any]:
    """Limits a newly created user starts with: each admin value, or the environment default when empty.

    Returns ``{"max_budget": Decimal | None, "tpm_limit": int | None, "rpm_limit": int | None,
    "budget_duration": str}``.
    """
    snapshot, env = _settings_snapshot(), env_user_defaults()
    result = {key: snapshot[key] if snapshot[key] not in (None, "") else env[key] for key in env}
    if result["max_budget"] is not None:
        result["max_budget"] = Decimal(str(result["max_budget"]))
    return result


# --------------------------------------------------------------------------------------------- branding
def branding_can_change(user: Any) -> bool:
    """True when ``user`` may change the branding: admins by role, or anyone granted ``litemaas.change_branding``."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return bool(getattr(user, "is_admin", False) or user.has_perm("litemaas.change_branding"))


def branding_get() -> dict[str, Any]:
    """Branding as pages and ``GET /api/v1/branding`` show it (cached): texts, switches and image versions.

    ``images`` maps each uploaded image kind to its SHA-256 prefix (the cache-busting version).
    """
    data = cache.get(BRANDING_CACHE_KEY)
    if data is None:
        stored = BrandingSettings.objects.filter(id=SINGLETON_ID).first()
        row = stored or BrandingSettings()
        # Uploading an image always creates the settings row, so no row means no images (one query when empty).
        images = dict(BrandingImage.objects.values_list("kind", "sha256")) if stored else {}
        data = {
            "login_logo_enabled": row.login_logo_enabled,
            "login_title_enabled": row.login_title_enabled,
            "login_title": row.login_title,
            "login_subtitle_enabled": row.login_subtitle_enabled,
            "login_subtitle": row.login_subtitle,
            "header_logo_enabled": row.header_logo_enabled,
            "images": {kind: sha[:12] for kind, sha in images.items()},
            "updated_at": row.updated_at.isoformat() if stored else None,
        }
        cache.set(BRANDING_CACHE_KEY, data, PORTAL_CACHE_SECONDS)
    return data


def branding_settings_get() -> BrandingSettings:
    """The branding row (created empty on first use), for the admin page and services."""
    obj, _created = BrandingSettings.objects.get_or_create(id=SINGLETON_ID)
    return obj


def branding_image_get(kind: str) -> BrandingImage | None:
    """The stored image of ``kind``, or ``None``."""
    return BrandingImage.objects.filter(kind=kind).first()


# --------------------------------------------------------------------------------------------- banners
def _banner_snapshot(a: Announcement) -> dict[str, Any]:
    return {
        "id": a.pk, "content": a.content, "style": a.style, "dismissible": a.dismissible, "priority": a.priority,
        "starts_at": a.starts_at, "ends_at": a.ends_at, "target_roles": list(a.target_roles or []),
        "target_users": sorted(str(u) for u in a.target_users.values_list("pk", flat=True)),
        "link_url": a.link_url, "link_text": a.link_text, "updated_at": a.updated_at,
    }


def _published_banners() -> list[dict[str, Any]]:
    banners = cache.get(BANNERS_CACHE_KEY)
    if banners is None:
        rows = Announcement.objects.filter(is_active=True).prefetch_related("target_users")
        banners = [_banner_snapshot(a) for a in rows.order_by("-priority", "-updated_at")]
        cache.set(BANNERS_CACHE_KEY, banners, PORTAL_CACHE_SECONDS)
    return banners


def announcement_list_active_for_user(*, user: Any, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The banners ``user`` (possibly anonymous) should see now, highest priority first, at most five.

    Visible, inside the start/end window, targeted at the user's role (any of ``user.roles``) or at the
    user themselves (no target = everyone), and not dismissed by them. Anonymous visitors only get banners
    without targets. Costs one query (the user's dismissals), and only when a candidate is dismissible.
    """
    now = now or timezone.now()
    authenticated = bool(getattr(user, "is_authenticated", False))
    roles = set(getattr(user, "roles", []) or []) if authenticated else set()
    user_id = str(user.pk) if authenticated else None
    candidates = []
    for banner in _published_banners():
        if banner["starts_at"] and banner["starts_at"] > now:
            continue
        if banner["ends_at"] and banner["ends_at"] <= now:
            continue
        targeted = banner["target_roles"] or banner["target_users"]
        if targeted and not (roles & set(banner["target_roles"]) or user_id in banner["target_users"]):
            continue
        candidates.append(banner)
    dismissible_ids = [b["id"] for b in candidates if b["dismissible"]]
    if authenticated and dismissible_ids:
        dismissed = set(AnnouncementDismissal.objects.filter(user=user, announcement_id__in=dismissible_ids)
                        .values_list("announcement_id", flat=True))
        candidates = [b for b in candidates if b["id"] not in dismissed]
    return candidates[:MAX_VISIBLE_BANNERS]


def announcement_list(*, user: Any) -> QuerySet[Announcement]:
    """Every banner, for admins and read-only admins (nobody else: empty)."""
    if not getattr(user, "is_readonly_admin", False):
        return Announcement.objects.none()
    return Announcement.objects.prefetch_related("target_users").order_by("-is_active", "-priority", "-updated_at")


def announcement_history_list(*, user: Any, announcement_id: int | None = None) -> QuerySet[AnnouncementHistory]:
    """Banner history, newest first (admins and read-only admins only), optionally for one banner."""
    if not getattr(user, "is_readonly_admin", False):
        return AnnouncementHistory.objects.none()
    rows = AnnouncementHistory.objects.all()
    if announcement_id is not None:
        rows = rows.filter(announcement_ref=announcement_id)
    return rows.order_by("-changed_at", "-id")


# --------------------------------------------------------------------------------------------- onboarding
def onboarding_guide_visible(user: Any) -> bool:
    """True until the user closes the first-login guide."""
    if not getattr(user, "is_authenticated", False):
        return False
    return not OnboardingState.objects.filter(user=user, guide_dismissed_at__isnull=False).exists()


# --------------------------------------------------------------------------------------------- audit page
def audit_event_search(*, user: Any, text: str = "", **filters: Any) -> QuerySet[AuditEvent]:
    """``litemaas.selectors.audit_event_list`` plus a free-text search over action, target, actor and metadata."""
    events = audit_event_list(user=user, **filters)
    if text:
        events = events.annotate(metadata_text=Cast("metadata", TextField())).filter(
            Q(action__icontains=text) | Q(target_id__icontains=text) | Q(target_type__icontains=text)
            | Q(actor_label__icontains=text) | Q(error__icontains=text) | Q(metadata_text__icontains=text)
        )
    return events


def audit_filter_choices() -> dict[str, list[str]]:
    """Distinct actions and target types seen so far, for the audit page's drop-downs."""
    actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    target_types = (AuditEvent.objects.exclude(target_type="").order_by("target_type")
                    .values_list("target_type", flat=True).distinct())
    return {"actions": list(actions), "target_types": list(target_types)}


# --------------------------------------------------------------------------------------------- overview
def system_overview(*, user: Any) -> dict[str, Any]:
    """Counts and health for the admin overview page; parts whose app is missing are left out."""
    from django.apps import apps

    from accounts.models import User

    counts: dict[str, int | None] = {"users": User.objects.filter(is_active=True).count()}
    for label, model_path, extra in (
        ("models", "subscriptions.LlmModel", {"availability": "available"}),
        ("subscriptions", "subscriptions.Subscription", {"status": "active"}),
        ("pending_approvals", "subscriptions.Subscription", {"status": "pending"}),
        ("keys", "apikeys.ApiKey", {"status": "active"}),
    ):
        try:
            model = apps.get_model(model_path)
        except LookupError:
            counts[label] = None
            continue
        field_names = {f.name for f in model._meta.get_fields()}
        counts[label] = model.objects.filter(**{k: v for k, v in extra.items() if k in field_names}).count()

    outbox_depth = None
    for model in apps.get_models():
        if model.__name__.lower() in ("outbox", "outboxmessage", "outboxevent"):
            status_field = {f.name for f in model._meta.get_fields()}
            rows = model.objects.all()
            if "status" in status_field:
                rows = rows.filter(status__in=["pending", "queued", "retrying"])
            outbox_depth = rows.count()
            break

    last_sync = None
    try:
        sync_run = apps.get_model("integrations.SyncRun")
        last_sync = sync_run.objects.filter(kind="models").order_by("-started_at").first()
    except LookupError:
        pass

    try:
        from integrations.health import litellm_health

        health = litellm_health()
    except Exception:  # noqa: BLE001 - the overview must render even when the health probe itself breaks
        health = {"status": "unknown", "configured": False}
    return {"counts": counts, "last_sync": last_sync, "litellm": health, "outbox_depth": outbox_depth}
