"""Branding: upload validation (defect #16), the dedicated permission (defect #19), serving, pages."""
from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from litemaas import portal_services as svc
from litemaas.branding import BRANDING_IMAGE_MAX_BYTES, branding_image_clean
from litemaas.exceptions import PermissionDeniedError, ValidationFailed
from litemaas.models import AuditEvent, BrandingImage
from tests.portal.conftest import make_image

pytestmark = pytest.mark.django_db

SVG_WITH_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_accepts_and_reencodes_raster_images(fmt, content_type):
    raw = make_image(fmt) + b"<script>alert(1)</script>"  # trailing payload is dropped by re-encoding
    clean = branding_image_clean(raw)
    assert clean.content_type == content_type
    assert b"<script>" not in clean.data
    assert (clean.width, clean.height) == (64, 32)


@pytest.mark.parametrize("raw", [
    SVG_WITH_SCRIPT,
    b"  <svg onload=alert(1)></svg>",
    b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    b"GIF89a" + b"\x00" * 100,
    b"not an image at all",
    b"",
])
def test_rejects_svg_html_and_unknown_types(raw):
    with pytest.raises(ValidationFailed):
        branding_image_clean(raw)


def test_rejects_gif_even_when_valid():
    with pytest.raises(ValidationFailed):
        branding_image_clean(make_image("GIF"))


def test_rejects_oversize_uploads():
    with pytest.raises(ValidationFailed, match="KB"):
        branding_image_clean(b"\x89PNG" + b"\x00" * BRANDING_IMAGE_MAX_BYTES)


def test_rejects_huge_dimensions():
    with pytest.raises(ValidationFailed):
        branding_image_clean(make_image("PNG", size=(4000, 10)))


def test_image_endpoint_serves_with_locked_down_headers(admin_user, api_client):
    svc.branding_image_set(actor=admin_user, kind="login-logo", raw=make_image())
    response = api_client.get("/api/v1/branding/images/login-logo")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert "max-age" in response["Cache-Control"]
    assert api_client.get("/api/v1/branding/images/header-logo-dark").status_code == 404


def test_public_branding_get_works_anonymously(api_client):
    response = api_client.get("/api/v1/branding")
    assert response.status_code == 200
    assert response.json()["login_title_enabled"] is False


def test_users_cannot_change_branding_and_readonly_admins_neither(user_client, readonly_admin_client):
    for client in (user_client, readonly_admin_client):
        assert client.patch("/api/v1/branding", {"login_title": "x"}, format="json").status_code == 403


def test_branding_permission_lets_a_non_admin_change_branding(user, user_client):
    user.user_permissions.add(Permission.objects.get(codename="change_branding", content_type__app_label="litemaas"))
    response = user_client.patch("/api/v1/branding", {"login_title": "ACME AI", "login_title_enabled": True},
                                 format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["login_title"] == "ACME AI"
    assert AuditEvent.objects.filter(action="branding.update", actor=user).exists()


def test_admin_uploads_via_api_base64_and_svg_is_refused(admin_client):
    ok = admin_client.put("/api/v1/branding/images/header-logo-light",
                          {"data": base64.b64encode(make_image()).decode()}, format="json")
    assert ok.status_code == 200
    assert "header-logo-light" in ok.json()["images"]
    bad = admin_client.put("/api/v1/branding/images/header-logo-dark",
                           {"data": base64.b64encode(SVG_WITH_SCRIPT).decode()}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    assert not BrandingImage.objects.filter(kind="header-logo-dark").exists()


def test_service_refuses_actor_without_permission(user):
    with pytest.raises(PermissionDeniedError):
        svc.branding_update(actor=user, login_title="x")


def test_login_page_and_masthead_show_branding(admin_user, admin_page_client, client):
    svc.branding_update(actor=admin_user, login_title="ACME AI portal", login_title_enabled=True,
                        header_logo_enabled=True, login_logo_enabled=True)
    svc.branding_image_set(actor=admin_user, kind="header-logo-light", raw=make_image())
    svc.branding_image_set(actor=admin_user, kind="header-logo-dark", raw=make_image(color="white"))
    svc.branding_image_set(actor=admin_user, kind="login-logo", raw=make_image())
    login = client.get(reverse("account_login")).content.decode()
    assert "ACME AI portal" in login and "/branding/images/login-logo?v=" in login
    home = admin_page_client.get("/").content.decode()
    assert "portal-logo--light" in home and "portal-logo--dark" in home
    assert "/branding/images/header-logo-dark?v=" in home


def test_branding_page_upload_errors_show_on_the_form(admin_page_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("logo.svg", SVG_WITH_SCRIPT, content_type="image/svg+xml")
    response = admin_page_client.post(reverse("portal:admin-branding"),
                                      {"action": "upload:login-logo", "file_login-logo": upload})
    assert response.status_code == 400
    assert "SVG" in response.content.decode()


def test_readonly_admin_sees_branding_page_disabled_and_cannot_post(readonly_page_client):
    page = readonly_page_client.get(reverse("portal:admin-branding"))
    assert page.status_code == 200 and "disabled" in page.content.decode()
    assert readonly_page_client.post(reverse("portal:admin-branding"), {"action": "texts"}).status_code == 403
