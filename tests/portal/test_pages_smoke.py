"""Every page of the portal app renders for admins, read-only admins and users as it should."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["portal:admin-overview", "portal:admin-audit", "portal:admin-settings", "portal:admin-banners",
               "portal:admin-banner-create", "portal:admin-branding"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_render_for_admins_and_readonly_admins(name, admin_user, readonly_admin):
    for person in (admin_user, readonly_admin):
        response = _client(person).get(reverse(name))
        assert response.status_code == 200, (name, person.role)


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_are_forbidden_to_users(name, user):
    assert _client(user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["portal:help", "accounts:notifications", "home"])
def test_user_pages_render(name, user):
    assert _client(user).get(reverse(name)).status_code == 200


def test_user_guide_renders_and_admin_guide_is_hidden_from_users(user, readonly_admin):
    assert _client(user).get(reverse("portal:help-page", args=["user-guide"])).status_code == 200
    assert _client(user).get(reverse("portal:help-page", args=["admin-guide"])).status_code == 404
    assert _client(readonly_admin).get(reverse("portal:help-page", args=["admin-guide"])).status_code == 200
