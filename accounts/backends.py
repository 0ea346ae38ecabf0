"""Django authentication backend: allauth's username/password backend behind ``LOCAL_LOGIN_ENABLED``."""
from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class PortalAuthenticationBackend(AuthenticationBackend):
    """Checks passwords only while local login is enabled.

    This is the one place every password check passes through (allauth's login form, ``/admin/login/``,
    ``Client.login``), so switching local login off cannot be bypassed through another login page.
    Identity-provider logins never call ``authenticate()`` and are unaffected; ``get_user`` and the
    permission checks are inherited unchanged.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> AbstractBaseUser | None:  # type: ignore[override]
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().authenticate(request, **credentials)
