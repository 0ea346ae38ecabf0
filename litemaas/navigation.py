"""The portal's navigation registry: one list drives the sidebar and the home page's quick links.

An item whose URL name does not resolve yet is skipped, so a feature appears in the navigation as soon as
its app registers the URL, with no change here. Roles follow ``accounts.models.Role``: ``user`` items are
for everyone signed in, ``admin-readonly`` items for read-only admins and admins, ``admin`` for admins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

USER = "user"
ADMIN = "admin"


@dataclass(frozen=True)
class NavItem:
    """One navigation entry; ``icon`` is a Font Awesome (solid) name as shipped with PatternFly."""

    label: str | Promise
    url_name: str
    icon: str
    section: str = USER
    required_role: str = "user"
    description: str | Promise = ""
    on_home: bool = True


@dataclass(frozen=True)
class ResolvedNavItem:
    """A ``NavItem`` whose URL resolved for this request."""

    item: NavItem
    url: str
    current: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.item, name)


NAV_ITEMS: list[NavItem] = [
    NavItem(_("Home"), "home", "home", on_home=False),
    NavItem(_("Models"), "subscriptions:catalogue", "cubes",
            description=_("Browse the models this portal offers, with prices and capabilities.")),
    NavItem(_("Subscriptions"), "subscriptions:list", "clipboard-check",
            description=_("The models you are subscribed to, and requests waiting for approval.")),
    NavItem(_("API keys"), "apikeys:list", "key",
            description=_("Keys for calling the models from your code, each limited to chosen models.")),
    NavItem(_("Usage"), "usage:dashboard", "chart-line",
            description=_("Requests, tokens and spend over time, per model and per key.")),
    NavItem(_("Playground"), "apikeys:playground", "comments",
            description=_("Try a chat model in the browser with one of your keys.")),
    NavItem(_("Teams"), "teams:list", "users",
            description=_("The teams you belong to and their shared budgets.")),
    NavItem(_("Alerts"), "teams:notification-settings", "bell", description=_("Budget alert thresholds and channels.")),
    NavItem(_("Tokens"), "accounts:tokens", "id-badge",
            description=_("Personal access tokens for this portal's REST API.")),
    NavItem(_("Help"), "portal:help", "question-circle",
            description=_("How subscriptions, keys, budgets and usage work, step by step.")),
    # Administration: read-only admins see every page; the pages themselves refuse their writes.
    NavItem(_("System overview"), "portal:admin-overview", "tachometer-alt", ADMIN, "admin-readonly"),
    NavItem(_("Users"), "teams:admin-users", "user-cog", ADMIN, "admin-readonly"),
    NavItem(_("Models"), "subscriptions:admin-models", "server", ADMIN, "admin-readonly"),
    NavItem(_("Approvals"), "subscriptions:admin-queue", "tasks", ADMIN, "admin-readonly"),
    NavItem(_("Usage"), "usage:admin-dashboard", "chart-bar", ADMIN, "admin-readonly"),
    NavItem(_("LiteLLM status"), "integrations:litellm-status", "heartbeat", ADMIN, "admin-readonly"),
    NavItem(_("Sync"), "integrations:admin-sync", "sync-alt", ADMIN, "admin-readonly"),
    NavItem(_("Audit log"), "portal:admin-audit", "history", ADMIN, "admin-readonly"),
    NavItem(_("Banners"), "portal:admin-banners", "bullhorn", ADMIN, "admin-readonly"),
    NavItem(_("Branding"), "portal:admin-branding", "palette", ADMIN, "admin-readonly"),
    NavItem(_("Settings"), "portal:admin-settings", "cog", ADMIN, "admin-readonly"),
    NavItem(_("Django admin"), "admin:index", "tools", ADMIN, "admin-readonly"),
]


def user_has_role(user: Any, role: str) -> bool:
    """True when ``user`` (possibly anonymous) holds ``role`` or a role that includes it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if role == "admin":
        return bool(getattr(user, "is_admin", False))
    if role == "admin-readonly":
        return bool(getattr(user, "is_readonly_admin", False))
    return True


def _resolve(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _is_current(url: str, path: str) -> bool:
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url.rstrip("/") + "/")


def nav_items_for(user: Any, *, section: str | None = None, path: str = "",
                  items: list[NavItem] | None = None) -> list[ResolvedNavItem]:
    """The items ``user`` may see (optionally one ``section``), skipping URL names that don't resolve.

    ``path`` marks the item whose URL is the current page, or its longest prefix, as current.
    """
    resolved = []
    for item in NAV_ITEMS if items is None else items:
        if section is not None and item.section != section:
            continue
        if not user_has_role(user, item.required_role):
            continue
        url = _resolve(item.url_name)
        if url is not None:
            resolved.append((item, url))
    # Only the most specific match is current (e.g. /usage/admin/ over /usage/).
    matches = [url for _item, url in resolved if path and _is_current(url, path)]
    current = max(matches, key=len) if matches else None
    return [ResolvedNavItem(item, url, url == current) for item, url in resolved]
