"""OpenShift login end to end: the portal against a fake OpenShift OAuth server over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.test import Client

from accounts.models import Role, User
from accounts.services import user_deactivate
from litemaas.models import AuditEvent
from tests.factories import UserFactory
from tests.fakes import authorize_at_idp, call_callback, oauth_login, serve_idp, signed_in_user, start_login
from tests.fakes.openshift import USER_API_PATH, FakeOpenShift

LOGIN_PATH = "/accounts/openshift/login/"


@pytest.fixture
def openshift(settings):
    """A running fake OpenShift, with the portal's provider settings pointing at it."""
    yield from serve_idp(FakeOpenShift(), settings, auth_provider="openshift")


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def login_as(client: Client, name: str):
    return oauth_login(client, LOGIN_PATH, login_as=name)


@pytest.mark.django_db
def test_login_creates_user_from_users_api_and_signs_in(openshift):
    account = openshift.add_user("alice", groups=["developers"], full_name="Alice Liddell")
    client = Client()

    response = login_as(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="alice")
    assert signed_in_user(client) == user
    assert user.full_name == "Alice Liddell"
    assert user.groups_from_idp == ["developers"]  # system:authenticated dropped
    assert user.role == Role.USER and user.is_staff is False
    social = SocialAccount.objects.get(user=user)
    assert (social.provider, social.uid) == ("openshift", account.uid)
    assert client.get("/").status_code == 200
    assert openshift.served(USER_API_PATH) == 1


@pytest.mark.django_db
def test_login_uses_state_pkce_s256_and_user_info_scope(openshift):
    openshift.add_user("alice")
    login_as(Client(), "alice")

    params = openshift.authorize_params[-1]
    assert params["scope"] == "user:info"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) >= 43
    assert len(params["state"]) >= 16
    assert params["redirect_uri"] == "http://testserver/accounts/openshift/login/callback/"


@pytest.mark.django_db
def test_openshift_token_is_used_once_and_never_stored(openshift):
    openshift.add_user("alice", groups=["developers"])
    login_as(Client(), "alice")

    token = openshift.issued_tokens[-1]
    assert SocialToken.objects.count() == 0
    social = SocialAccount.objects.get(user__username="alice")
    assert token not in json.dumps(social.extra_data)
    assert set(social.extra_data) == {"uid", "username", "full_name", "identities", "groups"}
    assert not any(token in json.dumps(event.metadata) for event in AuditEvent.objects.all())


@pytest.mark.django_db
def test_login_is_audited(openshift):
    openshift.add_user("alice")
    login_as(Client(), "alice")

    assert audit_actions() == ["user.create", "auth.login"]
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor.username == "alice"
    assert event.metadata["provider"] == "openshift"


@pytest.mark.django_db
def test_roles_are_rederived_at_every_login(openshift):
    person = openshift.add_user("carol", groups=["litemaas-admins"])
    client = Client()
    login_as(client, "carol")
    carol = User.objects.get(username="carol")
    assert (carol.role, carol.is_staff) == (Role.ADMIN, True)

    person.groups = ["litemaas-readonly"]
    client.post("/accounts/logout/")
    login_as(client, "carol")
    carol.refresh_from_db()
    assert (carol.role, carol.is_staff) == (Role.ADMIN_READONLY, True)

    person.groups = ["developers"]
    client.post("/accounts/logout/")
    login_as(client, "carol")
    carol.refresh_from_db()
    assert (carol.role, carol.is_staff) == (Role.USER, False)
    assert carol.groups_from_idp == ["developers"]
    changes = AuditEvent.objects.filter(action="user.role_change").order_by("id")
    assert [(e.metadata["previous_role"], e.metadata["role"]) for e in changes] == [
        ("admin", "admin-readonly"), ("admin-readonly", "user")]


@pytest.mark.django_db
def test_initial_admin_users_are_admins_without_any_group(openshift, settings):
    settings.INITIAL_ADMIN_USERS = ["root"]
    openshift.add_user("root")
    login_as(Client(), "root")

    root = User.objects.get(username="root")
    assert (root.role, root.is_staff) == (Role.ADMIN, True)


@pytest.mark.django_db
def test_allowed_groups_refuses_others_with_a_clear_page(openshift, settings):
    settings.ALLOWED_GROUPS = ["litemaas-users"]
    openshift.add_user("mallory", groups=["contractors"])
    client = Client()

    response = login_as(client, "mallory")

    assert response.status_code == 403
    assert "You are not in a group allowed to use this portal" in response.content.decode()
    assert not User.objects.filter(username="mallory").exists()
    assert SocialAccount.objects.count() == 0
    assert signed_in_user(client) is None
    event = AuditEvent.objects.get(action="auth.login_refused")
    assert event.success is False
    assert event.metadata["reason"] == "group_not_allowed"
    assert event.metadata["username"] == "mallory"


@pytest.mark.django_db
def test_allowed_groups_lets_members_and_admins_in(openshift, settings):
    settings.ALLOWED_GROUPS = ["litemaas-users"]
    openshift.add_user("bob", groups=["litemaas-users"])
    openshift.add_user("ada", groups=["litemaas-admins"])

    assert login_as(Client(), "bob").status_code == 302
    assert login_as(Client(), "ada").status_code == 302
    assert set(User.objects.values_list("username", flat=True)) == {"bob", "ada"}


@pytest.mark.django_db
def test_user_who_left_the_allowed_groups_is_refused_and_loses_roles(openshift, settings):
    settings.ALLOWED_GROUPS = ["litemaas-users"]
    person = openshift.add_user("bob", groups=["litemaas-users", "litemaas-readonly"])
    client = Client()
    login_as(client, "bob")
    client.post("/accounts/logout/")

    person.groups = []
    response = login_as(client, "bob")

    assert response.status_code == 403
    assert signed_in_user(client) is None
    bob = User.objects.get(username="bob")
    assert (bob.role, bob.is_staff, bob.groups_from_idp) == (Role.USER, False, [])


@pytest.mark.django_db
def test_new_uid_with_an_existing_username_is_refused_not_merged(openshift):
    openshift.add_user("alice", uid="uid-1")
    login_as(Client(), "alice")
    # The OpenShift user is deleted and recreated: same name, new uid.
    openshift.add_user("alice", uid="uid-2", groups=["litemaas-admins"])
    client = Client()

    response = login_as(client, "alice")

    assert response.status_code == 403
    assert "already exists for a different identity" in response.content.decode()
    assert signed_in_user(client) is None
    assert User.objects.filter(username__startswith="alice").count() == 1
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["uid-1"]
    assert User.objects.get(username="alice").role == Role.USER
    event = AuditEvent.objects.get(action="auth.login_refused")
    assert (event.metadata["reason"], event.metadata["uid"]) == ("username_taken", "uid-2")


@pytest.mark.django_db
def test_idp_login_never_takes_over_a_local_account(openshift):
    UserFactory(username="admin", role=Role.ADMIN)
    openshift.add_user("admin")

    response = login_as(Client(), "admin")

    assert response.status_code == 403
    assert SocialAccount.objects.count() == 0


@pytest.mark.django_db
def test_username_openshift_allows_is_kept_as_is(openshift):
    openshift.add_user("kube:admin")
    assert login_as(Client(), "kube:admin").status_code == 302
    assert User.objects.filter(username="kube:admin").exists()


@pytest.mark.django_db
def test_deactivated_user_is_refused(openshift):
    openshift.add_user("alice")
    login_as(Client(), "alice")
    user_deactivate(user=User.objects.get(username="alice"), actor=None)
    client = Client()

    response = login_as(client, "alice")

    assert response.status_code == 403
    assert "deactivated" in response.content.decode()
    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_bad_state_ends_on_the_error_page(openshift):
    openshift.add_user("alice")
    client = Client()
    callback = authorize_at_idp(start_login(client, LOGIN_PATH))
    parts = urlsplit(callback)
    query = dict(parse_qsl(parts.query))
    query["state"] = "forged-state-value"

    response = client.get(parts.path, query)

    assert response.status_code == 401
    assert "Try again" in response.content.decode()
    assert signed_in_user(client) is None
    assert openshift.served("/oauth/token") == 0  # never exchanged
    assert not User.objects.exists()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.metadata["reason"] == "bad_state"


@pytest.mark.django_db
def test_replayed_callback_and_replayed_code_end_on_the_error_page(openshift):
    openshift.add_user("alice")
    client = Client()
    first_callback = authorize_at_idp(start_login(client, LOGIN_PATH))
    assert call_callback(client, first_callback).status_code == 302
    client.post("/accounts/logout/")

    # The same callback again: its state was used up.
    assert call_callback(client, first_callback).status_code == 401
    # The old code with a fresh, valid state: the IdP refuses the spent code.
    fresh = authorize_at_idp(start_login(client, LOGIN_PATH))
    fresh_query = dict(parse_qsl(urlsplit(fresh).query))
    old_query = dict(parse_qsl(urlsplit(first_callback).query))
    response = client.get(urlsplit(fresh).path, {"code": old_query["code"], "state": fresh_query["state"]})

    assert response.status_code == 401
    assert signed_in_user(client) is None
    reasons = [e.metadata["reason"] for e in AuditEvent.objects.filter(action="auth.login_failed").order_by("id")]
    assert reasons == ["bad_state", "token_exchange_failed"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/oauth/token", USER_API_PATH])
def test_idp_server_error_ends_on_the_error_page(openshift, path):
    openshift.add_user("alice")
    openshift.fail[path] = 503
    client = Client()

    response = login_as(client, "alice")

    assert response.status_code == 401
    assert "Try again" in response.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.metadata["reason"] in {"token_exchange_failed", "idp_unavailable"}


@pytest.mark.django_db
def test_users_api_answer_without_uid_is_an_error(openshift):
    openshift.add_user("alice").uid = ""
    response = login_as(Client(), "alice")

    assert response.status_code == 401
    assert AuditEvent.objects.get(action="auth.login_failed").metadata["reason"] == "idp_bad_answer"


@pytest.mark.django_db
def test_denied_at_the_idp_ends_without_login(openshift):
    openshift.add_user("alice")
    client = Client()

    response = oauth_login(client, LOGIN_PATH, deny="1")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/3rdparty/login/cancelled/"
    assert signed_in_user(client) is None
    assert AuditEvent.objects.get(action="auth.login_failed").metadata["reason"] == "cancelled"


@pytest.mark.django_db
def test_successful_login_hands_the_user_to_integrations(openshift, monkeypatch):
    import integrations.services

    provisioned = []
    monkeypatch.setattr(integrations.services, "provision_user_after_login", provisioned.append, raising=False)
    openshift.add_user("alice")

    login_as(Client(), "alice")

    assert [u.username for u in provisioned] == ["alice"]


@pytest.mark.django_db
def test_racing_first_logins_with_one_username_are_refused_not_a_server_error(openshift, monkeypatch):
    import accounts.services

    UserFactory(username="alice")
    openshift.add_user("alice")
    # Simulate the other request winning between the check and the insert.
    monkeypatch.setattr(accounts.services, "login_check_idp_identity", lambda **kwargs: None)

    response = login_as(Client(), "alice")

    assert response.status_code == 403
    assert SocialAccount.objects.count() == 0
