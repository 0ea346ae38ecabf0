"""OAuth2 adapter and views for the OpenShift provider."""
from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2CallbackView, OAuth2LoginView
from django.http import HttpRequest

USER_API_PATH = "/apis/user.openshift.io/v1/users/~"


class OpenShiftOAuth2Adapter(OAuth2Adapter):
    """Points allauth at the OAuth server's endpoints and reads the user from the API server.

    Both URLs come from the app's ``settings`` (``server_url``, ``api_url``), built by
    ``accounts.providers.config.openshift_provider_settings``. Hard paths are fine: OpenShift always serves
    ``/oauth/authorize`` and ``/oauth/token`` (also listed in ``/.well-known/oauth-authorization-server``).
    """

    provider_id = "openshift"

    def _app_setting(self, key: str) -> str:
        app = self.get_provider().app
        value = (app.settings or {}).get(key) or ""
        if not value:
            raise ProviderException(f"OpenShift provider is missing its '{key}' setting")
        return str(value).rstrip("/")

    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        return self._app_setting("server_url") + "/oauth/authorize"

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return self._app_setting("server_url") + "/oauth/token"

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any) -> SocialLogin:
        """Read ``users/~`` with the access token and build the (unsaved) social login.

        The token is used for this one call and then dropped (``SOCIALACCOUNT_STORE_TOKENS`` is off and
        ``extra_data`` keeps only identity fields). Raises ``requests.RequestException`` on transport errors
        and HTTP errors, ``ProviderException`` on an answer without a user name or uid; allauth turns both
        into its authentication error page.
        """
        url = self._app_setting("api_url") + USER_API_PATH
        with get_adapter().get_requests_session() as session:
            response = session.get(url, headers={"Authorization": f"Bearer {token.token}"})
            response.raise_for_status()
            data = response.json()
        metadata = data.get("metadata") if isinstance(data, dict) else None
        if not isinstance(metadata, dict) or not metadata.get("uid") or not metadata.get("name"):
            raise ProviderException("OpenShift users/~ answer has no metadata.name or metadata.uid")
        return self.get_provider().sociallogin_from_response(request, data)


oauth2_login = OAuth2LoginView.adapter_view(OpenShiftOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(OpenShiftOAuth2Adapter)
