"""The Django admin: admins only, read-only admins view-only, roles changed through the service."""
from __future__ import annotations

import pytest
from django.contrib import admin as django_admin
from django.test import Client

from accounts.models import Notification, PersonalAccessToken, User
from accounts.token_services import token_create
from litemaas.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
TOKENS = "/admin/accounts/personalaccesstoken/"
NOTIFICATIONS = "/admin/accounts/notification/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- who may enter ------------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_ordinary_user_cannot_enter(user):
    response = signed_in(user).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert signed_in(user).get(USERS).status_code == 302


@pytest.mark.parametrize("fixture", ["admin_user", "readonly_admin"])
def test_admins_and_readonly_admins_enter_and_see_the_portal_models(request, fixture):
    response = signed_in(request.getfixturevalue(fixture)).get("/admin/")
    assert response.status_code == 200
    content = response.content.decode()
    for url in (USERS, TOKENS, NOTIFICATIONS, "/admin/litemaas/auditevent/"):
        assert url in content


# --- read-only admin -----------------------------------------------------------------------------------------

def test_readonly_admin_views_but_cannot_change_a_user(readonly_admin, user):
    client = signed_in(readonly_admin)
    assert client.get(USERS).status_code == 200
    page = client.get(f"{USERS}{user.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content

    response = client.post(f"{USERS}{user.pk}/change/", {"role": "admin"})
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.role == "user"


def test_readonly_admin_cannot_add_or_delete(readonly_admin, user):
    client = signed_in(readonly_admin)
    assert client.get(f"{USERS}add/").status_code == 403
    assert client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


# --- users ---------------------------------------------------------------------------------------------------

def test_admin_changes_a_role_through_the_service(admin_user, user):
    response = signed_in(admin_user).post(f"{USERS}{user.pk}/change/", {"role": "admin-readonly"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.role == "admin-readonly" and user.is_staff is True
    event = AuditEvent.objects.get(action="user.role_change")
    assert event.actor == admin_user and event.metadata["to"] == "admin-readonly"


def test_admin_demoting_the_last_admin_gets_a_form_error(admin_user):
    response = signed_in(admin_user).post(f"{USERS}{admin_user.pk}/change/", {"role": "user"})

    assert response.status_code == 200
    assert b"last active admin" in response.content
    admin_user.refresh_from_db()
    assert admin_user.role == "admin"


def test_user_admin_cannot_add_or_delete_users_even_for_admins(admin_user, user):
    client = signed_in(admin_user)
    assert client.get(f"{USERS}add/").status_code == 403
    assert client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"}).status_code == 403


def test_user_admin_only_edits_the_role(admin_user, user):
    client = signed_in(admin_user)
    client.post(f"{USERS}{user.pk}/change/", {"role": "user", "is_staff": "on", "max_budget": "9999"})
    user.refresh_from_db()
    assert user.is_staff is False and user.max_budget is None


# --- tokens and notifications --------------------------------------------------------------------------------

def test_token_admin_never_shows_the_hash(admin_user, user):
    token, secret = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    client = signed_in(admin_user)
    for url in (TOKENS, f"{TOKENS}{token.pk}/change/"):
        content = client.get(url).content.decode()
        assert token.prefix in content
        assert token.token_hash not in content and secret not in content


def test_tokens_are_read_only_even_for_admins(admin_user, user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    client = signed_in(admin_user)
    assert client.post(f"{TOKENS}{token.pk}/change/", {"name": "renamed"}).status_code == 403
    assert client.get(f"{TOKENS}add/").status_code == 403
    assert client.post(f"{TOKENS}{token.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_can_revoke_tokens_in_bulk(admin_user, user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    response = signed_in(admin_user).post(
        TOKENS, {"action": "revoke_tokens", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.get(action="token.revoke").actor == admin_user


def test_readonly_admin_cannot_revoke_tokens(readonly_admin, user):
    token, _ = token_create(user=user, name="ci", scope="read", expires_in_days=None)
    client = signed_in(readonly_admin)
    assert b"revoke_tokens" not in client.get(TOKENS).content
    client.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [str(token.pk)]})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_notifications_are_viewable_not_editable(admin_user, user):
    note = Notification.objects.create(user=user, kind="test.kind", title="Hello")
    client = signed_in(admin_user)
    assert client.get(NOTIFICATIONS).status_code == 200
    assert client.get(f"{NOTIFICATIONS}{note.pk}/change/").status_code == 200
    assert client.post(f"{NOTIFICATIONS}{note.pk}/change/", {"title": "Changed"}).status_code == 403


def test_every_accounts_model_admin_uses_the_portal_base_class():
    from litemaas.admin import PortalModelAdmin

    for model in (User, PersonalAccessToken, Notification):
        assert isinstance(django_admin.site._registry[model], PortalModelAdmin)


def test_a_superuser_flag_alone_grants_nothing_in_portal_admins():
    sneaky = UserFactory(is_superuser=True, is_staff=True)  # role "user"
    response = signed_in(sneaky).get(USERS)
    assert response.status_code in (302, 403)
