"""The OpenShift OAuth2 provider: identity comes from ``/apis/user.openshift.io/v1/users/~``.

OpenShift's built-in OAuth server is not an OpenID provider (no ID token, no userinfo), so allauth's generic
``openid_connect`` provider cannot be used; allauth ships no OpenShift provider either.
"""
from __future__ import annotations

from typing import Any

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from accounts.providers.openshift.views import OpenShiftOAuth2Adapter

# Virtual groups every authenticated OpenShift user has (system:authenticated, system:authenticated:oauth);
# they say nothing about the person, so they never reach the role mapping.
SYSTEM_GROUP_PREFIX = "system:"


def idp_groups(data: dict[str, Any]) -> list[str]:
    """The user's OpenShift groups without the ``system:*`` virtual groups, de-duplicated, in order."""
    groups = data.get("groups") or []
    if not isinstance(groups, list):
        return []
    seen: dict[str, None] = {}
    for group in groups:
        if isinstance(group, str) and group and not group.startswith(SYSTEM_GROUP_PREFIX):
            seen.setdefault(group, None)
    return list(seen)


class OpenShiftAccount(ProviderAccount):
    """Shows the OpenShift user name for a linked account."""

    def to_str(self) -> str:
        return self.account.extra_data.get("username") or super().to_str()


class OpenShiftProvider(OAuth2Provider):
    """Authorization-code flow with state and PKCE (S256) against the cluster's OAuth server."""

    id = "openshift"
    name = "OpenShift"
    account_class = OpenShiftAccount
    oauth2_adapter_class = OpenShiftOAuth2Adapter
    pkce_enabled_default = True

    def get_default_scope(self) -> list[str]:
        return ["user:info"]

    def extract_uid(self, data: dict[str, Any]) -> str:
        return str(data["metadata"]["uid"])

    def extract_extra_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """Keep only the identity fields (never the token, never the whole API object)."""
        metadata = data.get("metadata") or {}
        return {
            "uid": str(metadata.get("uid", "")),
            "username": metadata.get("name", ""),
            "full_name": data.get("fullName") or "",
            "identities": [i for i in (data.get("identities") or []) if isinstance(i, str)],
            "groups": idp_groups(data),
        }

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"username": data["metadata"]["name"], "full_name": data.get("fullName") or ""}


provider_classes = [OpenShiftProvider]
