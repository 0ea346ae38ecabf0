"""Theme and language preferences persist per user; the language applies to pages and API errors."""
from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.preference_services import user_set_preferences
from litemaas.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


def test_theme_is_stored_through_the_preference_service(user, user_page_client):
    response = user_page_client.post(reverse("set-theme"), {"theme": "dark"}, HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.preferred_theme == "dark"
    assert 'data-theme="dark"' in user_page_client.get("/").content.decode()


def test_unknown_preferences_are_refused(user):
    with pytest.raises(ValidationFailed):
        user_set_preferences(user=user, theme="neon")
    with pytest.raises(ValidationFailed):
        user_set_preferences(user=user, language="xx")


def test_language_switch_is_stored_and_applied(user, user_page_client):
    response = user_page_client.post(reverse("portal:set-language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    user.refresh_from_db()
    assert user.preferred_language == "fr"
    html = user_page_client.get("/").content.decode()
    assert '<html lang="fr"' in html
    assert "Accueil" in html  # "Home" in the navigation


def test_stored_language_wins_over_the_browser_and_sets_the_cookie(user):
    user_set_preferences(user=user, language="de")
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    response = client.get("/")
    assert '<html lang="de"' in response.content.decode()
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_login_page_follows_the_cookie_set_by_the_switcher():
    client = Client()
    response = client.post(reverse("portal:set-language"), {"language": "es", "next": reverse("account_login")})
    assert response.status_code == 302
    page = client.get(reverse("account_login")).content.decode()
    assert '<html lang="es"' in page and "Iniciar sesión" in page


def test_unknown_language_gets_400(user_page_client):
    assert user_page_client.post(reverse("portal:set-language"), {"language": "tlh"}).status_code == 400


def test_api_errors_are_translated(user_client):
    response = user_client.get("/api/v1/admin/banners", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Cette action nécessite le rôle administrateur."


def test_api_validation_error_message_is_translated(admin_client):
    response = admin_client.post("/api/v1/admin/banners", {"name": "", "content": {}}, format="json",
                                 HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Einige Felder sind ungültig."


def test_dates_are_formatted_per_locale(admin_user):
    from django.template import Context, Template
    from django.utils import translation

    moment = dt.datetime(2026, 3, 14, 15, 9, tzinfo=dt.UTC)
    template = Template('{{ moment|date:"SHORT_DATE_FORMAT" }}')
    with translation.override("de"):
        assert template.render(Context({"moment": moment})) == "14.03.2026"
    with translation.override("en"):
        assert template.render(Context({"moment": moment})) == "03/14/2026"
