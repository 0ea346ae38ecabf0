"""Template context shared by every page."""
from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language

THEMES = ("light", "dark", "system")
# The bell shows "99+" past this, so the count query never scans more rows than that.
UNREAD_NOTIFICATIONS_CAP = 100


def portal(request: HttpRequest) -> dict[str, Any]:
    """Expose demo mode, the theme preference, the unread-notification count, the visible banners, the
    branding and the display currency to the base template.

    Each of the last four is a lazy callable: its (cached) query runs only when a template uses it (full
    pages, not htmx fragments), once per render; the count never runs for anonymous visitors.
    """
    user = getattr(request, "user", None)
    authenticated = bool(getattr(user, "is_authenticated", False))
    theme = getattr(user, "preferred_theme", "") if authenticated else ""

    @cache
    def unread_notifications() -> int:
        if not authenticated:
            return 0
        from accounts.models import Notification

        return Notification.objects.filter(user=user, read_at__isnull=True)[:UNREAD_NOTIFICATIONS_CAP].count()

    @cache
    def banners() -> list[dict[str, Any]]:
        from litemaas.markdown import render_markdown_inline
        from litemaas.portal_selectors import announcement_list_active_for_user

        language = get_language() or settings.LANGUAGE_CODE
        rows = announcement_list_active_for_user(user=user)
        return [{"id": b["id"], "style": b["style"], "dismissible": b["dismissible"] and authenticated,
                 "html": render_markdown_inline(b["content"].get(language.split("-")[0])
                                                 or b["content"].get("en", "")),
                 "link_url": b["link_url"], "link_text": b["link_text"]} for b in rows]

    @cache
    def branding() -> dict[str, Any]:
        from django.urls import reverse

        from litemaas.portal_selectors import branding_get

        data = dict(branding_get())
        urls = {kind: reverse("portal:branding-image", args=[kind]) + f"?v={version}"
                for kind, version in data["images"].items()}
        light, dark = urls.get("header-logo-light"), urls.get("header-logo-dark")
        data["header_logo_light_url"] = (light or dark or "") if data["header_logo_enabled"] else ""
        data["header_logo_dark_url"] = (dark or light or "") if data["header_logo_enabled"] else ""
        data["login_logo_url"] = urls.get("login-logo", "") if data["login_logo_enabled"] else ""
        return data

    @cache
    def currency() -> Any:
        from litemaas.portal_selectors import current_currency

        return current_currency()

    @cache
    def onboarding() -> bool:
        from litemaas.portal_selectors import onboarding_guide_visible

        return onboarding_guide_visible(user)

    return {
        "PORTAL_ONBOARDING": onboarding,
        "PORTAL_BANNERS": banners,
        "PORTAL_BRANDING": branding,
        "PORTAL_CURRENCY": currency,
        "DEMO_MODE": settings.DEMO_MODE,
        "LITELLM_IS_DEMO": getattr(settings, "LITELLM_IS_DEMO", False),
        "LOCAL_LOGIN_ENABLED": settings.LOCAL_LOGIN_ENABLED,
        "PORTAL_THEME": theme if theme in THEMES else "",
        "unread_notifications": unread_notifications,
    }
