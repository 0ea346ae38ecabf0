"""The web shell's pages: login/logout, home, theme preference, error pages and the API tokens page."""
from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from accounts.models import Notification, PersonalAccessToken
from accounts.token_services import token_create, token_hash
from litemaas import views

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.litemaas.shell_urls")]

OIDC_PROVIDERS = {
    "openid_connect": {
        "APPS": [{
            "provider_id": "oidc",
            "name": "Corporate SSO",
            "client_id": "portal",
            "secret": "s3cret",
            "settings": {"server_url": "https://idp.example.com"},
        }],
    }
}


def _client(person=None) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


# --------------------------------------------------------------------------------------------- login / logout
def test_anonymous_home_redirects_to_login():
    response = _client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_shows_local_form_when_enabled(settings):
    settings.LOCAL_LOGIN_ENABLED = True
    html = _client().get("/accounts/login/").content.decode()
    assert "pf-v6-c-login" in html
    assert 'name="login"' in html and 'name="password"' in html


def test_login_page_hides_local_form_when_disabled_and_lists_providers_as_post_forms(settings):
    settings.LOCAL_LOGIN_ENABLED = False
    settings.SOCIALACCOUNT_PROVIDERS = OIDC_PROVIDERS
    html = _client().get("/accounts/login/").content.decode()
    assert 'name="password"' not in html
    assert "Log in with Corporate SSO" in html
    # allauth 65 only starts a provider login on POST (SOCIALACCOUNT_LOGIN_ON_GET is off).
    assert '<form method="post" action="/accounts/oidc/oidc/login/?process=login">' in html
    assert "csrfmiddlewaretoken" in html


def test_login_page_warns_when_no_sign_in_method_is_configured(settings):
    settings.LOCAL_LOGIN_ENABLED = False
    settings.SOCIALACCOUNT_PROVIDERS = {}
    html = _client().get("/accounts/login/").content.decode()
    assert "No sign-in method is configured" in html


def test_login_page_shows_wrong_password_error(settings, user):
    settings.LOCAL_LOGIN_ENABLED = True
    response = _client().post("/accounts/login/", {"login": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "pf-v6-c-alert pf-m-inline pf-m-danger" in response.content.decode()


def test_logout_page_asks_for_confirmation_with_a_post_form(user):
    html = _client(user).get("/accounts/logout/").content.decode()
    assert 'method="post" action="/accounts/logout/"' in html


def test_logout_via_user_menu_post_ends_the_session(user):
    client = _client(user)
    assert 'action="/accounts/logout/"' in client.get("/").content.decode()  # the user menu's form
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_other_allauth_pages_use_the_login_card_layout():
    html = _client().get("/accounts/inactive/").content.decode()
    assert "pf-v6-c-login" in html
    assert "Account Inactive" in html


# --------------------------------------------------------------------------------------------- home and shell
def test_home_for_user_greets_shows_role_and_no_admin_section(user):
    html = _client(user).get("/").content.decode()
    assert f"Welcome, {user.display_name}" in html
    assert "User" in html
    assert "Start here" in html
    assert "Administration" not in html
    assert 'href="/admin/"' not in html
    assert 'href="#main-content"' in html  # skip link
    assert 'id="main-content"' in html
    assert "X-CSRFToken" in html  # htmx sends the CSRF token


@pytest.mark.parametrize("fixture", ["admin_user", "readonly_admin"])
def test_home_for_admins_shows_admin_section_and_django_admin_link(request, fixture):
    person = request.getfixturevalue(fixture)
    html = _client(person).get("/").content.decode()
    assert "Administration" in html
    assert 'href="/admin/"' in html


def test_home_links_only_to_pages_that_exist(user):
    html = _client(user).get("/").content.decode()
    assert 'href="/tokens/"' in html
    for step in views.START_STEPS:
        if views._url_or_empty(step[0]) == "":
            assert str(step[1]) in html  # shown as text, not as a dead link


def test_demo_label_appears_only_in_demo_mode(settings, user):
    settings.LITELLM_IS_DEMO = False
    assert "demo LiteLLM" not in _client(user).get("/").content.decode()
    settings.LITELLM_IS_DEMO = True
    assert "demo LiteLLM" in _client(user).get("/").content.decode()


def test_bell_counts_only_own_unread_notifications(user, other_user):
    Notification.objects.create(user=user, kind="t", title="one")
    Notification.objects.create(user=user, kind="t", title="two")
    Notification.objects.create(user=user, kind="t", title="read", read_at="2024-01-01T00:00:00Z")
    Notification.objects.create(user=other_user, kind="t", title="not mine")
    html = _client(user).get("/").content.decode()
    assert "2 unread notifications" in html
    assert "pf-m-unread" in html


def test_home_renders_in_a_bounded_number_of_queries(user, django_assert_max_num_queries):
    client = _client(user)
    with django_assert_max_num_queries(6):  # session, user, unread count, and what middleware needs
        client.get("/")


def test_dark_preference_is_applied_on_the_server_before_first_paint(user):
    user.preferred_theme = "dark"
    user.save(update_fields=["preferred_theme"])
    html = _client(user).get("/").content.decode()
    assert '<html lang="en" data-theme="dark" class="pf-v6-theme-dark">' in html


# --------------------------------------------------------------------------------------------- theme endpoint
def test_theme_endpoint_persists_and_redirects_back(user):
    client = _client(user)
    response = client.post("/preferences/theme", {"theme": "dark", "next": "/tokens/"})
    assert response.status_code == 302 and response["Location"] == "/tokens/"
    user.refresh_from_db()
    assert user.preferred_theme == "dark"


def test_theme_endpoint_answers_scripts_with_204(user):
    response = _client(user).post("/preferences/theme", {"theme": "system"}, HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.preferred_theme == "system"


@pytest.mark.parametrize("value", ["", "purple", "DARK", "dark "])
def test_theme_endpoint_rejects_unknown_values(user, value):
    response = _client(user).post("/preferences/theme", {"theme": value})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["theme"]
    user.refresh_from_db()
    assert user.preferred_theme == ""


def test_theme_endpoint_refuses_get_and_foreign_redirects(user):
    client = _client(user)
    assert client.get("/preferences/theme").status_code == 405
    response = client.post("/preferences/theme", {"theme": "light", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_theme_endpoint_stores_nothing_for_anonymous_visitors():
    response = _client().post("/preferences/theme", {"theme": "dark", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_theme_endpoint_requires_csrf(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/preferences/theme", {"theme": "dark"}).status_code == 403


# --------------------------------------------------------------------------------------------- error pages
def test_unknown_page_renders_friendly_404(user):
    response = _client(user).get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "pf-v6-c-empty-state" in html


def test_unknown_api_path_gets_json_404(user):
    response = _client(user).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("handler", "status", "text"), [
    (views.error_400, 400, "Bad request"),
    (views.error_403, 403, "Access denied"),
    (views.error_404, 404, "Page not found"),
])
def test_error_handlers_render_pages(user, handler, status, text):
    request = RequestFactory().get("/somewhere/")
    request.user = user
    response = handler(request, Exception("x"))
    assert response.status_code == status
    assert text in response.content.decode()


def test_500_page_needs_no_database_and_no_request_context(django_assert_num_queries):
    request = RequestFactory().get("/boom/")
    request.request_id = "abc123"
    with django_assert_num_queries(0):
        response = views.error_500(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "abc123" in html


# --------------------------------------------------------------------------------------------- tokens page
def test_tokens_page_lists_own_tokens_only(user, other_user):
    token_create(user=user, name="laptop", scope="read", expires_in_days=30)
    token_create(user=other_user, name="someone else", scope="read", expires_in_days=30)
    html = _client(user).get("/tokens/").content.decode()
    assert "laptop" in html and "someone else" not in html


def test_creating_a_token_shows_its_secret_once(user):
    client = _client(user)
    response = client.post("/tokens/", {"name": "CI pipeline", "scope": "read-write", "expires_in_days": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = PersonalAccessToken.objects.get(user=user, name="CI pipeline")
    html = response.content.decode()
    start = html.index('id="new-token-secret"') - 300
    secret = html[start:].split('value="', 1)[1].split('"', 1)[0]
    assert token_hash(secret) == token.token_hash
    assert "you will not see it again" in html
    assert token.scope == "read-write"
    assert secret not in client.get("/tokens/").content.decode()


def test_creating_a_token_with_htmx_returns_the_page_for_the_region_swap(user):
    response = _client(user).post("/tokens/", {"name": "x", "scope": "read", "expires_in_days": "7"},
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="tokens-region"' in response.content.decode()


@pytest.mark.parametrize("data", [
    {"name": "", "scope": "read", "expires_in_days": "30"},
    {"name": "x", "scope": "admin", "expires_in_days": "30"},
    {"name": "x", "scope": "read", "expires_in_days": "100000"},
])
def test_invalid_token_form_is_refused_with_field_errors(user, data):
    response = _client(user).post("/tokens/", data)
    assert response.status_code == 422
    assert "pf-v6-c-helper-text__item pf-m-error" in response.content.decode()
    assert not PersonalAccessToken.objects.filter(user=user).exists()


def test_expiry_choices_never_exceed_the_configured_maximum(settings, user):
    settings.PERSONAL_TOKEN_MAX_DAYS = 45
    html = _client(user).get("/tokens/").content.decode()
    assert '<option value="45"' in html and '<option value="90"' not in html


def test_revoke_asks_for_confirmation_then_revokes(user):
    token, _secret = token_create(user=user, name="old", scope="read", expires_in_days=30)
    client = _client(user)
    url = f"/tokens/{token.pk}/revoke/"
    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == "/tokens/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    html = client.get("/tokens/").content.decode()
    assert "was revoked" in html
    assert "old</td>" not in html


def test_another_users_token_cannot_be_revoked(user, other_user):
    token, _secret = token_create(user=other_user, name="theirs", scope="read", expires_in_days=30)
    response = _client(user).post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_page_requires_login():
    assert _client().get("/tokens/").status_code == 302
