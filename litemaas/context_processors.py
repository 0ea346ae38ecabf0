"""Template context shared by every page."""
from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

THEMES = ("light", "dark", "system")
# The bell shows "99+" past this, so the count query never scans more rows than that.
UNREAD_NOTIFICATIONS_CAP = 100


def portal(request: HttpRequest) -> dict[str, Any]:
    """Expose demo mode, the theme preference and the unread-notification count to the base template.

    The count is a lazy callable: the query runs only when a template shows the bell (full pages, not
    htmx fragments), once per render, and never for anonymous visitors.
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

    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "LITELLM_IS_DEMO": getattr(settings, "LITELLM_IS_DEMO", False),
        "LOCAL_LOGIN_ENABLED": settings.LOCAL_LOGIN_ENABLED,
        "PORTAL_THEME": theme if theme in THEMES else "",
        "unread_notifications": unread_notifications,
    }
