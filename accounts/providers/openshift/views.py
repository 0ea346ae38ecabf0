"""OAuth2 adapter and views for the OpenShift provider."""
from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2CallbackView, OAuth2LoginView
from django.conf import settings


def openshift_api_url() -> str:
    """The API server that answers ``users/~``: the setting, or derived from the OAuth server URL.

    ``https://oauth-openshift.apps.X`` becomes ``https://api.X:6443``, the standard OpenShift layout.
    """
    if settings.OPENSHIFT_API_URL:
        return settings.OPENSHIFT_API_URL.rstrip("/")
    oauth = settings.OPENSHIFT_OAUTH_URL.rstrip("/")
    scheme, _, host = oauth.partition("://")
    host = host.split("/", 1)[0]
    if host.startswith("oauth-openshift.apps."):
        return f"{scheme}://api.{host.removeprefix('oauth-openshift.apps.').split(':', 1)[0]}:6443"
    return oauth


class OpenShiftOAuth2Adapter(OAuth2Adapter):
    """Points allauth at the OAuth server's authorize/token endpoints and reads the user from the API."""

    provider_id = "openshift"

    @property
    def authorize_url(self) -> str:
        return settings.OPENSHIFT_OAUTH_URL.rstrip("/") + "/oauth/authorize"

    @property
    def access_token_url(self) -> str:
        return settings.OPENSHIFT_OAUTH_URL.rstrip("/") + "/oauth/token"

    def complete_login(self, request: Any, app: Any, token: Any, **kwargs: Any) -> Any:
        """Fetch ``users/~`` with the access token (used once, never stored) and build the social login."""
        url = openshift_api_url() + "/apis/user.openshift.io/v1/users/~"
        with get_adapter().get_requests_session() as session:
            response = session.get(
                url,
                headers={"Authorization": f"Bearer {token.token}"},
                timeout=settings.OPENSHIFT_TIMEOUT_SECONDS,
                verify=settings.OPENSHIFT_CA_BUNDLE or True,
            )
            response.raise_for_status()
            data = response.json()
        return self.get_provider().sociallogin_from_response(request, data)


oauth2_login = OAuth2LoginView.adapter_view(OpenShiftOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(OpenShiftOAuth2Adapter)
