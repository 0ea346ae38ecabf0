"""Portal settings: currency and new-user defaults; validation, audit, read-only admins, the money filter."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from litemaas import portal_services as svc
from litemaas.exceptions import PermissionDeniedError, ValidationFailed
from litemaas.models import AuditEvent, PortalSettings
from litemaas.portal_selectors import current_currency, new_user_defaults

pytestmark = pytest.mark.django_db


def test_currency_falls_back_to_the_setting_then_follows_the_admin(settings, admin_user):
    settings.PORTAL_CURRENCY_CODE = "GBP"
    assert current_currency().code == "GBP"
    svc.portal_settings_update(actor=admin_user, currency_code="eur")
    assert current_currency().code == "EUR" and current_currency().symbol == "€"
    assert AuditEvent.objects.filter(action="settings.currency_update").count() == 1


def test_unknown_currency_is_refused(admin_user):
    with pytest.raises(ValidationFailed) as exc:
        svc.portal_settings_update(actor=admin_user, currency_code="XYZ")
    assert "currency_code" in exc.value.details["fields"]


def test_new_user_defaults_fall_back_to_environment(settings, admin_user):
    settings.DEFAULT_USER_MAX_BUDGET = Decimal("100")
    settings.DEFAULT_USER_TPM_LIMIT = 1000
    assert new_user_defaults()["max_budget"] == Decimal("100")
    svc.portal_settings_update(actor=admin_user, new_user_max_budget="25.5", new_user_budget_duration="monthly")
    defaults = new_user_defaults()
    assert defaults["max_budget"] == Decimal("25.50")
    assert defaults["budget_duration"] == "monthly"
    assert defaults["tpm_limit"] == 1000


@pytest.mark.parametrize("field,value", [("new_user_max_budget", "-1"), ("new_user_tpm_limit", "abc"),
                                         ("new_user_budget_duration", "fortnightly"), ("nonsense", "1")])
def test_invalid_defaults_are_refused(admin_user, field, value):
    with pytest.raises(ValidationFailed) as exc:
        svc.portal_settings_update(actor=admin_user, **{field: value})
    assert field in exc.value.details["fields"]


def test_unchanged_settings_write_no_audit(admin_user):
    svc.portal_settings_update(actor=admin_user, currency_code="USD")
    svc.portal_settings_update(actor=admin_user, currency_code="USD")
    assert AuditEvent.objects.filter(action__startswith="settings.").count() == 1


def test_readonly_admin_service_call_is_refused(readonly_admin):
    with pytest.raises(PermissionDeniedError):
        svc.portal_settings_update(actor=readonly_admin, currency_code="EUR")


def test_readonly_admin_sees_settings_page_disabled_and_post_is_403(readonly_page_client):
    page = readonly_page_client.get(reverse("portal:admin-settings"))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<fieldset class="portal-fieldset" disabled>' in html
    assert "Save settings" not in html
    response = readonly_page_client.post(reverse("portal:admin-settings"), {"currency_code": "EUR"})
    assert response.status_code == 403
    assert not PortalSettings.objects.filter(currency_code="EUR").exists()


def test_readonly_admin_api_reads_settings_and_cannot_patch(readonly_admin_client):
    assert readonly_admin_client.get("/api/v1/admin/settings").status_code == 200
    assert readonly_admin_client.patch("/api/v1/admin/settings", {"currency_code": "EUR"},
                                       format="json").status_code == 403


def test_admin_saves_settings_page_and_errors_show(admin_page_client):
    ok = admin_page_client.post(reverse("portal:admin-settings"), {"currency_code": "JPY",
                                                                   "new_user_tpm_limit": "5000"})
    assert ok.status_code == 302
    assert current_currency().code == "JPY"
    bad = admin_page_client.post(reverse("portal:admin-settings"), {"currency_code": "JPY",
                                                                    "new_user_rpm_limit": "-5"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.content.decode()


def test_admin_api_patch_settings(admin_client):
    response = admin_client.patch("/api/v1/admin/settings", {"currency_code": "CHF", "new_user_rpm_limit": 60},
                                  format="json")
    assert response.status_code == 200
    assert response.json()["currency"]["code"] == "CHF"
    assert response.json()["effective_new_user_defaults"]["rpm_limit"] == "60"
    bad = admin_client.patch("/api/v1/admin/settings", {"currency_code": "ZZZ"}, format="json")
    assert bad.status_code == 400 and "currency_code" in bad.json()["error"]["details"]["fields"]


def _money(value, arg=""):
    template = "{% load portal %}{{ value|money" + (f":{arg}" if arg else "") + " }}"
    return Template(template).render(Context({"value": value}))


@pytest.mark.parametrize("language,expected", [("en", "$1,234.50"), ("fr", "1\u202f234,50\u00a0$"),
                                               ("de", "1.234,50\u00a0$"), ("es", "1234,50\u00a0$")])
def test_money_filter_is_locale_aware(language, expected):
    with translation.override(language):
        result = _money(Decimal("1234.5"))
    assert result.replace("\u00a0", " ").replace("\u202f", " ").replace(" ", "") == \
        expected.replace("\u00a0", " ").replace("\u202f", " ").replace(" ", "")
    assert "$" in result


def test_money_filter_uses_the_chosen_currency_and_keeps_tiny_prices_visible(admin_user):
    svc.portal_settings_update(actor=admin_user, currency_code="EUR")
    with translation.override("en"):
        assert _money(Decimal("0.0003")) == "€0.0003"
        assert _money(None) == "—"
        assert _money(2, 3) == "€2.000"
    svc.portal_settings_update(actor=admin_user, currency_code="JPY")
    with translation.override("en"):
        assert _money(1500) == "¥1,500"


def test_subscription_serializer_currency_follows_the_setting(admin_user):
    from subscriptions.api.serializers import currency_code

    svc.portal_settings_update(actor=admin_user, currency_code="INR")
    assert currency_code() == "INR"
