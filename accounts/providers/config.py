"""Pure builders for the login providers' settings (no Django imports: ``settings.py`` and tests use them)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

_OAUTH_HOST_PREFIX = "oauth-openshift.apps."
_API_PORT = 6443


def derive_openshift_api_url(oauth_url: str) -> str:
    """The API server URL for an OAuth server URL, following the standard OpenShift layout.

    ``https://oauth-openshift.apps.example.com`` becomes ``https://api.example.com:6443``. A URL that does
    not follow the layout is returned unchanged (one host serving both, as in tests); set
    ``OPENSHIFT_API_URL`` explicitly in that case.
    """
    oauth_url = oauth_url.rstrip("/")
    parts = urlsplit(oauth_url)
    host = parts.hostname or ""
    if not host.startswith(_OAUTH_HOST_PREFIX):
        return oauth_url
    cluster_domain = host.removeprefix(_OAUTH_HOST_PREFIX)
    return f"{parts.scheme}://api.{cluster_domain}:{_API_PORT}"


def openshift_provider_settings(
    *, client_id: str, secret: str, oauth_url: str, api_url: str = "", scope: list[str] | None = None
) -> dict[str, Any]:
    """The ``SOCIALACCOUNT_PROVIDERS["openshift"]`` entry (also used by tests to point at a fake server).

    The OAuth and API server URLs travel in the app's ``settings`` so the provider never reads Django
    settings directly; PKCE (S256) is always on.
    """
    return {
        "APPS": [
            {
                "client_id": client_id,
                "secret": secret,
                "settings": {
                    "server_url": oauth_url.rstrip("/"),
                    "api_url": (api_url or derive_openshift_api_url(oauth_url)).rstrip("/"),
                    "oauth_pkce_enabled": True,
                },
            }
        ],
        "SCOPE": list(scope or ["user:info"]),
        "OAUTH_PKCE_ENABLED": True,
    }


def oidc_provider_settings(
    *, client_id: str, secret: str, issuer: str, scopes: list[str], name: str = "Single sign-on"
) -> dict[str, Any]:
    """The ``SOCIALACCOUNT_PROVIDERS["openid_connect"]`` entry for one OIDC identity provider.

    The app's ``provider_id`` is ``oidc``, so social accounts are stored as provider ``oidc`` and the
    callback is ``/accounts/oidc/oidc/login/callback/``. PKCE (S256) is always on.
    """
    return {
        "APPS": [
            {
                "provider_id": "oidc",
                "name": name,
                "client_id": client_id,
                "secret": secret,
                "settings": {"server_url": issuer.rstrip("/"), "oauth_pkce_enabled": True},
            }
        ],
        "SCOPE": list(scopes),
        "OAUTH_PKCE_ENABLED": True,
    }
