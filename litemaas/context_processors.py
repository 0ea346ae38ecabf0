"""Template context shared by every page."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """Expose demo mode and the LiteLLM mode to the base template (the "demo LiteLLM" badge)."""
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "LITELLM_IS_DEMO": getattr(settings, "LITELLM_IS_DEMO", False),
        "LOCAL_LOGIN_ENABLED": settings.LOCAL_LOGIN_ENABLED,
    }
