"""The OpenShift OAuth2 provider: identity comes from ``/apis/user.openshift.io/v1/users/~``."""
from __future__ import annotations

from typing import Any

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from accounts.providers.openshift.views import OpenShiftOAuth2Adapter


class OpenShiftAccount(ProviderAccount):
    """Shows the OpenShift user name for a linked account."""

    def to_str(self) -> str:
        return self.account.extra_data.get("metadata", {}).get("name") or super().to_str()


class OpenShiftProvider(OAuth2Provider):
    """Authorization-code flow with PKCE against the cluster's OAuth server."""

    id = "openshift"
    name = "OpenShift"
    account_class = OpenShiftAccount
    oauth2_adapter_class = OpenShiftOAuth2Adapter
    pkce_enabled_default = True

    def get_default_scope(self) -> list[str]:
        return ["user:info"]

    def extract_uid(self, data: dict[str, Any]) -> str:
        return str(data["metadata"]["uid"])

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"username": data["metadata"]["name"], "full_name": data.get("fullName", "")}


provider_classes = [OpenShiftProvider]
