"""OIDC login through allauth's ``openid_connect`` provider against a fake OpenID provider on 127.0.0.1."""
from __future__ import annotations

import json

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.test import Client

from accounts.models import Role, User
from litemaas.models import AuditEvent
from tests.factories import UserFactory
from tests.fakes import oauth_login, serve_idp, signed_in_user
from tests.fakes.oidc import LOGIN_PATH, FakeOidcProvider


@pytest.fixture
def oidc(settings):
    """A running fake OpenID provider, with the portal's OIDC settings pointing at it."""
    yield from serve_idp(FakeOidcProvider(), settings, auth_provider="oidc", OIDC_GROUPS_CLAIM="groups")


@pytest.mark.django_db
def test_oidc_login_creates_user_with_claims_and_groups(oidc):
    person = oidc.add_user("dana", email="dana@example.com", name="Dana Scully", groups=["litemaas-admins"])
    client = Client()

    response = oauth_login(client, LOGIN_PATH, login_as="dana")

    assert response.status_code == 302
    dana = User.objects.get(username="dana")
    assert signed_in_user(client) == dana
    assert (dana.email, dana.full_name, dana.groups_from_idp) == ("dana@example.com", "Dana Scully", ["litemaas-admins"])
    assert (dana.role, dana.is_staff) == (Role.ADMIN, True)
    social = SocialAccount.objects.get(user=dana)
    assert (social.provider, social.uid) == ("oidc", person.sub)
    assert AuditEvent.objects.get(action="auth.login").metadata["provider"] == "oidc"


@pytest.mark.django_db
def test_oidc_login_uses_pkce_s256_state_and_configured_scopes(oidc, settings):
    settings.SOCIALACCOUNT_PROVIDERS = oidc.provider_settings(scopes=["openid", "profile", "email", "groups"])
    oidc.add_user("dana")
    oauth_login(Client(), LOGIN_PATH)

    params = oidc.authorize_params[-1]
    assert params["code_challenge_method"] == "S256"
    assert params["state"]
    assert set(params["scope"].split()) == {"openid", "profile", "email", "groups"}


@pytest.mark.django_db
def test_oidc_tokens_are_not_stored(oidc):
    oidc.add_user("dana", groups=["developers"])
    oauth_login(Client(), LOGIN_PATH)

    assert SocialToken.objects.count() == 0
    stored = json.dumps(SocialAccount.objects.get().extra_data)
    assert oidc.issued_tokens[-1] not in stored
    assert oidc.issued_id_tokens[-1] not in stored


@pytest.mark.django_db
def test_oidc_groups_claim_comes_from_settings(oidc, settings):
    oidc.groups_claim = "roles"
    settings.OIDC_GROUPS_CLAIM = "roles"
    oidc.add_user("erin", groups=["litemaas-readonly"])

    oauth_login(Client(), LOGIN_PATH)

    erin = User.objects.get(username="erin")
    assert (erin.groups_from_idp, erin.role) == (["litemaas-readonly"], Role.ADMIN_READONLY)


@pytest.mark.django_db
def test_oidc_role_is_removed_when_the_group_is(oidc):
    person = oidc.add_user("dana", groups=["litemaas-admins"])
    client = Client()
    oauth_login(client, LOGIN_PATH)
    client.post("/accounts/logout/")

    person.groups = []
    oauth_login(client, LOGIN_PATH)

    dana = User.objects.get(username="dana")
    assert (dana.role, dana.is_staff, dana.groups_from_idp) == (Role.USER, False, [])


@pytest.mark.django_db
def test_oidc_allowed_groups_gate(oidc, settings):
    settings.ALLOWED_GROUPS = ["litemaas-users"]
    oidc.add_user("eve", groups=["contractors"])
    client = Client()

    response = oauth_login(client, LOGIN_PATH)

    assert response.status_code == 403
    assert "You are not in a group allowed to use this portal" in response.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.filter(username="eve").exists()


@pytest.mark.django_db
def test_oidc_shared_email_does_not_divert_to_a_signup_form(oidc):
    UserFactory(username="someone-else", email="shared@example.com")
    oidc.add_user("frank", email="shared@example.com")

    response = oauth_login(Client(), LOGIN_PATH)

    assert response.status_code == 302 and response["Location"] == "/"
    assert User.objects.filter(username="frank").exists()


@pytest.mark.django_db
def test_oidc_username_collision_is_refused(oidc):
    UserFactory(username="grace")
    oidc.add_user("grace")

    response = oauth_login(Client(), LOGIN_PATH)

    assert response.status_code == 403
    assert SocialAccount.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/token", "/userinfo"])
def test_oidc_provider_errors_end_on_the_error_page(oidc, path):
    oidc.add_user("dana")
    oidc.fail[path] = 500
    client = Client()

    response = oauth_login(client, LOGIN_PATH)

    assert response.status_code == 401
    assert "Try again" in response.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("override", [{"aud": "another-client"}, {"iss": "https://evil.example.com"},
                                      {"exp": 1_000_000_000}])
def test_oidc_id_token_with_wrong_audience_issuer_or_expiry_is_rejected(oidc, override):
    oidc.add_user("dana")
    oidc.id_token_overrides = override
    client = Client()

    response = oauth_login(client, LOGIN_PATH)

    assert response.status_code == 401
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="auth.login_failed").metadata["reason"] == "token_exchange_failed"
