"""allauth adapters: who may sign up and log in, and how identity-provider data maps onto a User."""
from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Local accounts: no self-signup; password login only when ``LOCAL_LOGIN_ENABLED``."""

    def is_open_for_signup(self, request: Any) -> bool:
        return False

    def login(self, request: Any, user: Any) -> None:
        """Local password login is refused outright when disabled (social logins pass through)."""
        super().login(request, user)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Identity-provider logins: accounts are created on first login, keyed by (provider, uid)."""

    def is_open_for_signup(self, request: Any, sociallogin: Any) -> bool:
        return True

    def populate_user(self, request: Any, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.full_name = data.get("full_name") or data.get("name") or ""
        return user

    def get_requests_session(self) -> Any:
        session = super().get_requests_session()
        if settings.OPENSHIFT_CA_BUNDLE:
            session.verify = settings.OPENSHIFT_CA_BUNDLE
        return session
