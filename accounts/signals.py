"""Audit hooks on the login signals (connected in ``AccountsConfig.ready``); no domain logic here."""
from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import services
from litemaas.audit import audit_record


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``auth.login`` for every completed portal login (allauth sends it for passwords and providers)."""
    sociallogin = kwargs.get("sociallogin")
    metadata: dict[str, Any] = {"method": "password", "provider": "local"}
    if sociallogin is not None:
        metadata = {"method": "socialaccount", "provider": sociallogin.account.provider,
                    "uid": sociallogin.account.uid}
    audit_record(action="auth.login", actor=user, target_type="user", target_id=user.pk, metadata=metadata,
                 request=request)


@receiver(user_logged_out, dispatch_uid="accounts.audit_logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``auth.logout`` whenever a signed-in session ends through ``logout()``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    audit_record(action="auth.logout", actor=user, target_type="user", target_id=user.pk, request=request)


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """``auth.login_failed`` for a wrong password; ``auth.login_refused`` when local login is disabled.

    Django has already masked the password in ``credentials``; only the user name is kept.
    """
    username = str(credentials.get("username") or "")[:150]
    if not settings.LOCAL_LOGIN_ENABLED:
        services.login_record_refused(
            refusal=services.login_refusal(services.REFUSAL_LOCAL_LOGIN_DISABLED), username=username,
            request=request,
        )
        return
    services.login_record_failed(reason="bad_credentials", provider="local", username=username, request=request)
