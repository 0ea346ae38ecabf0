"""Login rules without an identity provider: role mapping, deactivation, the demo accounts, provider config."""
from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from accounts.adapters import SocialAccountAdapter
from accounts.models import PersonalAccessToken, Role, User
from accounts.providers.config import derive_openshift_api_url, openshift_provider_settings
from accounts.providers.openshift.provider import idp_groups
from accounts.services import role_for_groups, user_activate, user_deactivate
from accounts.token_services import token_create
from litemaas.exceptions import InvalidTransition
from litemaas.models import AuditEvent
from tests.factories import UserFactory


@pytest.fixture
def role_settings(settings):
    settings.ADMIN_GROUPS = ["litemaas-admins", "administrators"]
    settings.READONLY_ADMIN_GROUPS = ["litemaas-readonly"]
    settings.INITIAL_ADMIN_USERS = ["boot"]


# --- role mapping ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("username", "groups", "role"), [
    ("a", ["administrators"], Role.ADMIN),
    ("a", ["litemaas-readonly", "litemaas-admins"], Role.ADMIN),
    ("a", ["litemaas-readonly"], Role.ADMIN_READONLY),
    ("a", ["developers"], Role.USER),
    ("a", [], Role.USER),
    ("boot", [], Role.ADMIN),
    ("Boot", [], Role.USER),  # exact names only
    ("a", ["Litemaas-Admins"], Role.USER),
])
def test_role_for_groups(role_settings, username, groups, role):
    assert role_for_groups(username=username, groups=groups) == role


def test_openshift_system_groups_are_dropped():
    data = {"groups": ["team-a", "system:authenticated", "system:authenticated:oauth", "team-a", 7]}
    assert idp_groups(data) == ["team-a"]


@pytest.mark.parametrize(("oauth_url", "api_url"), [
    ("https://oauth-openshift.apps.ocp.example.com", "https://api.ocp.example.com:6443"),
    ("https://oauth-openshift.apps.ocp.example.com/", "https://api.ocp.example.com:6443"),
    ("https://oauth-openshift.apps.ocp.example.com:443", "https://api.ocp.example.com:6443"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_openshift_api_url_is_derived_from_the_oauth_url(oauth_url, api_url):
    assert derive_openshift_api_url(oauth_url) == api_url


def test_openshift_provider_settings_prefer_an_explicit_api_url():
    built = openshift_provider_settings(client_id="c", secret="s", oauth_url="https://oauth-openshift.apps.x.io",
                                        api_url="https://kube.internal:6443/")
    app = built["APPS"][0]
    assert app["settings"]["api_url"] == "https://kube.internal:6443"
    assert app["settings"]["oauth_pkce_enabled"] is True
    assert built["SCOPE"] == ["user:info"]


def test_identity_provider_calls_verify_tls_with_the_ca_bundle(settings):
    settings.OPENSHIFT_CA_BUNDLE = "/etc/pki/cluster-ca.pem"
    assert SocialAccountAdapter().get_requests_session().verify == "/etc/pki/cluster-ca.pem"
    settings.OPENSHIFT_CA_BUNDLE = ""
    assert SocialAccountAdapter().get_requests_session().verify is True


# --- deactivation ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_deactivation_ends_sessions_and_revokes_tokens(admin_user):
    alice, bob = UserFactory(), UserFactory()
    alice_browsers = [Client(), Client()]
    for client in alice_browsers:
        client.force_login(alice)
    bob_browser = Client()
    bob_browser.force_login(bob)
    token, _ = token_create(user=alice, name="ci", scope="read-write", expires_in_days=None)
    bob_token, _ = token_create(user=bob, name="ci", scope="read-write", expires_in_days=None)

    user_deactivate(user=alice, actor=admin_user)

    alice.refresh_from_db()
    assert alice.is_active is False
    assert all(c.session.session_key is None or not Session.objects.filter(
        session_key=c.session.session_key).exists() for c in alice_browsers)
    assert alice_browsers[0].get("/").status_code == 302  # back to the login page
    assert Session.objects.filter(session_key=bob_browser.session.session_key).exists()
    assert bob_browser.get("/").status_code == 200
    assert PersonalAccessToken.objects.get(pk=token.pk).revoked_at is not None
    assert PersonalAccessToken.objects.get(pk=bob_token.pk).revoked_at is None
    event = AuditEvent.objects.get(action="user.deactivate")
    assert (event.actor, event.metadata["ended_sessions"], event.metadata["revoked_pats"]) == (admin_user, 2, 1)


@pytest.mark.django_db
def test_deactivating_oneself_is_refused(admin_user):
    with pytest.raises(InvalidTransition):
        user_deactivate(user=admin_user, actor=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


@pytest.mark.django_db
def test_activation_lets_the_user_back_in(admin_user, user):
    user_deactivate(user=user, actor=admin_user)
    user_activate(user=user, actor=admin_user)
    user_activate(user=user, actor=admin_user)

    user.refresh_from_db()
    assert user.is_active is True
    assert AuditEvent.objects.filter(action="user.activate").count() == 1


# --- demo accounts --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_seed_demo_creates_admin_and_alice_and_prints_how_to_log_in(monkeypatch, capsys, settings):
    settings.LOCAL_LOGIN_ENABLED = True
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("DEMO_USER_PASSWORD", "alice-Demo-pass-42")

    call_command("seed_demo")

    out = capsys.readouterr().out
    admin, alice = User.objects.get(username="admin"), User.objects.get(username="alice")
    assert (admin.role, admin.is_staff, alice.role, alice.is_staff) == (Role.ADMIN, True, Role.USER, False)
    assert alice.check_password("alice-Demo-pass-42")
    generated = next(line for line in out.splitlines() if line.strip().startswith("admin")).split("password ")[1].split()[0]
    assert admin.check_password(generated)
    assert "http://127.0.0.1:8000/accounts/login/" in out
    client = Client()
    assert client.post("/accounts/login/", {"login": "admin", "password": generated}).status_code == 302


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_resets_passwords_only_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "first-Admin-pass-1")
    monkeypatch.setenv("DEMO_USER_PASSWORD", "first-User-pass-1")
    call_command("seed_demo")

    monkeypatch.delenv("DEMO_ADMIN_PASSWORD")
    monkeypatch.delenv("DEMO_USER_PASSWORD")
    call_command("seed_demo")
    assert "unchanged" in capsys.readouterr().out
    assert User.objects.get(username="admin").check_password("first-Admin-pass-1")

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "second-Admin-pass-2")
    call_command("seed_demo")
    assert User.objects.get(username="admin").check_password("second-Admin-pass-2")
    assert User.objects.get(username="alice").check_password("first-User-pass-1")
    assert User.objects.filter(username__in=["admin", "alice"]).count() == 2


@pytest.mark.parametrize(("claims", "path", "groups"), [
    ({"groups": ["a", "b", "a"]}, "groups", ("a", "b")),
    ({"groups": "solo"}, "groups", ("solo",)),
    ({"realm_access": {"roles": ["x"]}}, "realm_access.roles", ("x",)),
    ({"groups": None}, "groups", ()),
    ({}, "missing.path", ()),
])
def test_oidc_groups_claim_accepts_lists_strings_and_dotted_paths(claims, path, groups):
    from accounts.adapters import _claim_groups

    assert _claim_groups(claims, path) == groups
