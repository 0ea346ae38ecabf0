"""Local username/password login: only while LOCAL_LOGIN_ENABLED; failures, refusals and logouts are audited."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from litemaas.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory's password


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


@pytest.fixture
def local_on(settings):
    settings.LOCAL_LOGIN_ENABLED = True


@pytest.fixture
def local_off(settings):
    settings.LOCAL_LOGIN_ENABLED = False


@pytest.mark.django_db
def test_local_login_signs_in_and_is_audited(local_on, user):
    client = Client()

    response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_user(client) == user
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == user
    assert event.metadata == {"method": "password", "provider": "local"}


@pytest.mark.django_db
def test_local_login_hands_the_user_to_integrations(local_on, user, monkeypatch):
    import integrations.services

    provisioned = []
    monkeypatch.setattr(integrations.services, "provision_user_after_login", provisioned.append, raising=False)

    Client().post("/accounts/login/", {"login": user.username, "password": PASSWORD})

    assert provisioned == [user]


@pytest.mark.django_db
def test_wrong_password_fails_and_is_audited_without_the_password(local_on, user):
    client = Client()

    response = client.post("/accounts/login/", {"login": user.username, "password": "wrong-password-1"})

    assert response.status_code == 200
    assert signed_in_user(client) is None
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert (event.success, event.metadata["reason"], event.metadata["username"]) == (
        False, "bad_credentials", user.username)
    assert "wrong-password-1" not in str(event.metadata)


@pytest.mark.django_db
def test_deactivated_local_user_cannot_log_in(local_on, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    client = Client()

    client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})

    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_login_page_offers_no_password_form_when_local_login_is_disabled(local_off):
    page = Client().get("/accounts/login/").content.decode()

    assert 'type="password"' not in page


@pytest.mark.django_db
def test_login_page_offers_the_password_form_when_enabled(local_on):
    page = Client().get("/accounts/login/").content.decode()

    assert 'type="password"' in page


@pytest.mark.django_db
def test_password_post_is_refused_when_local_login_is_disabled(local_off, user):
    client = Client()

    response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})

    assert response.status_code == 403
    assert "disabled" in response.content.decode()
    assert signed_in_user(client) is None
    event = AuditEvent.objects.get(action="auth.login_refused")
    assert (event.metadata["reason"], event.metadata["username"]) == ("local_login_disabled", user.username)


@pytest.mark.django_db
def test_admin_site_login_is_refused_too_when_local_login_is_disabled(local_off):
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    client = Client()

    client.post("/admin/login/", {"username": admin.username, "password": PASSWORD, "next": "/admin/"})

    assert signed_in_user(client) is None
    assert client.login(username=admin.username, password=PASSWORD) is False
    assert AuditEvent.objects.filter(action="auth.login_refused", metadata__reason="local_login_disabled").exists()


@pytest.mark.django_db
def test_logout_is_audited(local_on, user):
    client = Client()
    client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert signed_in_user(client) is None
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor == user
