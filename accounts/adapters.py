"""allauth adapters: thin glue between allauth's login flows and the rules in ``accounts.services``."""
from __future__ import annotations

from typing import Any

import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthError, AuthProcess, ProviderException
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from accounts import services
from accounts.services import IdpIdentity, LoginRefused
from accounts.views import render_login_refused


class AccountAdapter(DefaultAccountAdapter):
    """Local accounts: no self-signup; password login only while ``LOCAL_LOGIN_ENABLED``."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Refuse a password login outright (403 page, audited) when local login is disabled."""
        if not settings.LOCAL_LOGIN_ENABLED:
            raise ImmediateHttpResponse(
                _refuse(request, services.REFUSAL_LOCAL_LOGIN_DISABLED, username=str(credentials.get("username") or ""))
            )
        super().pre_authenticate(request, **credentials)

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        """Second guard: no non-IdP login of any kind (password reset, code) while local login is disabled."""
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if sociallogin is None and not settings.LOCAL_LOGIN_ENABLED:
            return _refuse(request, services.REFUSAL_LOCAL_LOGIN_DISABLED, username=user.get_username(), user=user)
        return super().pre_login(request, user, **kwargs)

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        services.provision_after_login(user)
        return response


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Identity-provider logins: accounts are created on first login and keyed by (provider, uid)."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.full_name = (data.get("full_name") or data.get("name") or "")[:255]
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Sync a known user's groups and role, then let ``services`` decide whether they may sign in."""
        identity = identity_from_sociallogin(sociallogin)
        user = sociallogin.user if sociallogin.is_existing else None
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # Linking a second identity to a signed-in account would merge identities; never allowed.
            raise ImmediateHttpResponse(_refuse(request, services.REFUSAL_CONNECT_DISABLED, identity=identity, user=user))
        if user is not None:
            services.user_apply_idp_identity(user=user, identity=identity, request=request)
        try:
            services.login_check_idp_identity(identity=identity, user=user)
        except LoginRefused as refusal:
            raise ImmediateHttpResponse(_refuse(request, refusal.code, identity=identity, user=user)) from None

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> Any:
        identity = identity_from_sociallogin(sociallogin)
        # allauth blanks a user name its validators dislike (e.g. OpenShift's "kube:admin") and invents
        # another; the identity's own name is kept (pre_social_login already refused a taken one).
        sociallogin.user.username = identity.username
        try:
            with transaction.atomic():
                user = super().save_user(request, sociallogin, form)
                services.user_apply_idp_identity(user=user, identity=identity, created=True, request=request)
        except IntegrityError:
            # Two first logins with the same name raced past the check in pre_social_login.
            raise ImmediateHttpResponse(_refuse(request, services.REFUSAL_USERNAME_TAKEN, identity=identity)) from None
        return user

    def on_authentication_error(
        self, request: HttpRequest, provider: Any, error: Any = None, exception: Any = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        reason, detail = classify_authentication_error(request, error, exception, extra_context or {})
        services.login_record_failed(
            reason=reason, provider=getattr(provider, "sub_id", str(provider)), detail=detail, request=request
        )
        super().on_authentication_error(request, provider, error=error, exception=exception,
                                        extra_context=extra_context)

    def get_requests_session(self) -> requests.Session:
        """allauth's session (with ``SOCIALACCOUNT_REQUESTS_TIMEOUT``), trusting the cluster CA when set."""
        session = super().get_requests_session()
        if settings.OPENSHIFT_CA_BUNDLE:
            session.verify = settings.OPENSHIFT_CA_BUNDLE
        return session


def _refuse(
    request: HttpRequest, code: str, *, identity: IdpIdentity | None = None, username: str = "", user: Any = None
) -> HttpResponse:
    refusal = services.login_refusal(code)
    services.login_record_refused(
        refusal=refusal,
        username=identity.username if identity else username,
        provider=identity.provider if identity else "",
        uid=identity.uid if identity else "",
        user=user,
        request=request,
    )
    return render_login_refused(request, refusal)


def identity_from_sociallogin(sociallogin: SocialLogin) -> IdpIdentity:
    """Read the provider's answer (already in ``extra_data``) into an ``IdpIdentity``.

    OpenShift: the fields kept by the provider (``system:*`` groups already dropped). OIDC: userinfo claims
    over ID-token claims; user name from ``preferred_username``, else e-mail, else ``sub``; groups from the
    ``OIDC_GROUPS_CLAIM`` claim (a dotted path such as ``realm_access.roles`` also works).
    """
    account = sociallogin.account
    data = account.extra_data if isinstance(account.extra_data, dict) else {}
    if account.provider == "openshift":
        return IdpIdentity(
            provider=account.provider,
            uid=account.uid,
            username=str(data.get("username") or ""),
            full_name=str(data.get("full_name") or ""),
            groups=tuple(g for g in data.get("groups") or () if isinstance(g, str)),
        )
    claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    full_name = claims.get("name") or " ".join(
        part for part in (claims.get("given_name"), claims.get("family_name")) if isinstance(part, str) and part
    )
    return IdpIdentity(
        provider=account.provider,
        uid=account.uid,
        username=str(claims.get("preferred_username") or claims.get("email") or account.uid),
        full_name=str(full_name or ""),
        email=str(claims.get("email") or ""),
        groups=_claim_groups(claims, settings.OIDC_GROUPS_CLAIM),
    )


def _claim_groups(claims: dict[str, Any], path: str) -> tuple[str, ...]:
    value: Any = claims.get(path)
    if value is None and "." in path:
        value = claims
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(g for g in value if isinstance(g, str) and g))


def classify_authentication_error(
    request: HttpRequest, error: Any, exception: Any, extra_context: dict[str, Any]
) -> tuple[str, str]:
    """A stable reason code and a short secret-free detail for allauth's authentication errors."""
    if isinstance(exception, OAuth2Error):
        return "token_exchange_failed", str(exception)
    if isinstance(exception, requests.RequestException):
        return "idp_unavailable", f"{type(exception).__name__}: {exception}"
    if isinstance(exception, ProviderException):
        return "idp_bad_answer", str(exception)
    if exception is not None:
        return "provider_error", type(exception).__name__
    if error == AuthError.CANCELLED:
        return "cancelled", str(request.GET.get("error", ""))[:100]
    if "state" not in extra_context:
        # The callback's state is unknown, expired or already used (a replayed or forged callback).
        return "bad_state", ""
    return "idp_error", str(request.GET.get("error", ""))[:100]
