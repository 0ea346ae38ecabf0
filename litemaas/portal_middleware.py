"""Activate the signed-in user's language (``User.preferred_language``) for pages and API errors.

``LocaleMiddleware`` runs before authentication, so it can only use the language cookie and the browser's
``Accept-Language``. This middleware runs after ``AuthenticationMiddleware``: a stored preference wins
and is copied into the language cookie, so the login page (and the next anonymous visit) matches it.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """Remember ``language`` in the browser, with the settings Django's own ``set_language`` view uses."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserLanguageMiddleware:
    """Use the signed-in user's preferred language when they have one (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.codes = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = ""
        if user is not None and user.is_authenticated:
            language = getattr(user, "preferred_language", "") or ""
            if language in self.codes:
                translation.activate(language)
                request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
            else:
                language = ""
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            set_language_cookie(response, language)
        return response
