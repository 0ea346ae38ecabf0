"""The navigation registry: role filtering, skipping unregistered URLs, the current item, the sidebar tag."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from litemaas.navigation import ADMIN, NAV_ITEMS, USER, NavItem, nav_items_for, user_has_role

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.litemaas.shell_urls")]


def _names(items):
    return [i.url_name for i in items]


def test_registry_lists_every_planned_page_once():
    names = _names(NAV_ITEMS)
    assert len(names) == len(set(names))
    for expected in ("home", "subscriptions:catalogue", "apikeys:list", "usage:dashboard", "accounts:tokens",
                     "teams:admin-users", "integrations:litellm-status", "portal:admin-audit", "admin:index"):
        assert expected in names


def test_skips_items_whose_url_name_does_not_resolve(user):
    items = [NavItem("Home", "home", "home"), NavItem("Later", "nowhere:yet", "clock")]
    assert _names(nav_items_for(user, items=items)) == ["home"]


def test_user_sees_no_admin_section(user):
    items = nav_items_for(user)
    assert items, "home at least resolves"
    assert all(i.section == USER for i in items)


@pytest.mark.parametrize("fixture", ["admin_user", "readonly_admin"])
def test_admins_and_readonly_admins_see_the_admin_section_with_django_admin(request, fixture):
    person = request.getfixturevalue(fixture)
    admin_items = nav_items_for(person, section=ADMIN)
    assert "admin:index" in _names(admin_items)


def test_anonymous_visitor_sees_nothing():
    assert nav_items_for(AnonymousUser()) == []


def test_admin_only_item_is_hidden_from_readonly_admin(readonly_admin, admin_user):
    items = [NavItem("Danger", "admin:index", "bomb", ADMIN, "admin")]
    assert nav_items_for(readonly_admin, items=items) == []
    assert _names(nav_items_for(admin_user, items=items)) == ["admin:index"]


def test_marks_the_most_specific_matching_item_current(user):
    items = nav_items_for(user, path="/tokens/")
    current = [i.url_name for i in items if i.current]
    assert current == ["accounts:tokens"]


def test_home_is_current_only_on_the_root_path(user):
    assert [i.url_name for i in nav_items_for(user, path="/") if i.current] == ["home"]
    assert not [i for i in nav_items_for(user, path="/elsewhere/") if i.url_name == "home" and i.current]


def test_user_has_role_follows_role_inclusion(user, readonly_admin, admin_user):
    assert user_has_role(user, "user") and not user_has_role(user, "admin-readonly")
    assert user_has_role(readonly_admin, "admin-readonly") and not user_has_role(readonly_admin, "admin")
    assert user_has_role(admin_user, "admin")
    assert not user_has_role(AnonymousUser(), "user")


def _render_nav(user, path="/"):
    request = RequestFactory().get(path)
    request.user = user
    return Template("{% load portal %}{% portal_nav %}").render(Context({"request": request}))


def test_sidebar_tag_hides_admin_section_from_users(user):
    html = _render_nav(user)
    assert "Administration" not in html
    assert 'href="/admin/"' not in html
    assert 'aria-current="page"' in html  # Home, on "/"


def test_sidebar_tag_shows_admin_section_and_django_admin_link_to_admins(admin_user):
    html = _render_nav(admin_user)
    assert "Administration" in html
    assert 'href="/admin/"' in html


def test_portal_url_tag_is_empty_for_unknown_names():
    html = Template('{% load portal %}[{% portal_url "nowhere:yet" %}][{% portal_url "home" %}]').render(Context())
    assert html == "[][/]"
