"""Announcement banners: targeting, schedule, dismissal, history, API contract and rendering."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from litemaas import portal_services as svc
from litemaas.models import AnnouncementDismissal, AnnouncementHistory, AuditEvent
from litemaas.portal_selectors import announcement_list_active_for_user

pytestmark = pytest.mark.django_db


def _banner(admin, **extra):
    data = {"name": "maintenance", "content": {"en": "Maintenance **tonight**", "fr": "Maintenance *ce soir*"},
            "is_active": True} | extra
    return svc.announcement_create(actor=admin, data=data)


def _ids(user):
    return [b["id"] for b in announcement_list_active_for_user(user=user)]


def test_untargeted_banner_reaches_everyone(admin_user, user, readonly_admin):
    b = _banner(admin_user)
    assert _ids(user) == _ids(readonly_admin) == _ids(admin_user) == [b.pk]


def test_role_targeting(admin_user, user, readonly_admin):
    b = _banner(admin_user, target_roles=["admin-readonly"])
    assert _ids(user) == []
    assert _ids(readonly_admin) == [b.pk]
    assert _ids(admin_user) == [b.pk]  # admins hold the read-only admin role too


def test_user_targeting(admin_user, user, other_user):
    b = _banner(admin_user, target_users=[str(user.pk)])
    assert _ids(user) == [b.pk]
    assert _ids(other_user) == []


def test_anonymous_sees_only_untargeted(admin_user):
    from django.contrib.auth.models import AnonymousUser

    everyone = _banner(admin_user)
    _banner(admin_user, name="users only", target_roles=["user"])
    assert _ids(AnonymousUser()) == [everyone.pk]


def test_hidden_and_out_of_window_banners_are_not_shown(admin_user, user):
    now = timezone.now()
    _banner(admin_user, is_active=False)
    _banner(admin_user, name="future", starts_at=now + dt.timedelta(hours=1))
    _banner(admin_user, name="past", starts_at=now - dt.timedelta(hours=2), ends_at=now - dt.timedelta(hours=1))
    assert _ids(user) == []


def test_dismissal_is_per_user_and_republishing_clears_it(admin_user, user, other_user):
    b = _banner(admin_user)
    svc.announcement_dismiss(user=user, announcement_id=b.pk)
    svc.announcement_dismiss(user=user, announcement_id=b.pk)  # idempotent
    assert _ids(user) == [] and _ids(other_user) == [b.pk]
    svc.announcement_update(actor=admin_user, announcement=b, data={"is_active": False})
    svc.announcement_update(actor=admin_user, announcement=b, data={"is_active": True})
    assert not AnnouncementDismissal.objects.filter(announcement=b).exists()
    assert _ids(user) == [b.pk]


def test_every_change_is_kept_in_history_even_after_delete(admin_user):
    b = _banner(admin_user)
    svc.announcement_update(actor=admin_user, announcement=b, data={"style": "warning"})
    svc.announcement_update(actor=admin_user, announcement=b, data={"style": "warning"})  # no change, no row
    svc.announcement_update(actor=admin_user, announcement=b, data={"is_active": False})
    pk = b.pk
    svc.announcement_delete(actor=admin_user, announcement=b)
    actions = list(AnnouncementHistory.objects.filter(announcement_ref=pk).order_by("id").values_list("action", flat=True))
    assert actions == ["create", "update", "deactivate", "delete"]
    assert AuditEvent.objects.filter(action="banner.delete", target_id=str(pk)).exists()


@pytest.mark.parametrize("data,field", [
    ({"name": "x", "content": {"fr": "seulement"}}, "content"),
    ({"name": "", "content": {"en": "x"}}, "name"),
    ({"name": "x", "content": {"en": "x" * 501}}, "content"),
    ({"name": "x", "content": {"en": "x"}, "style": "purple"}, "style"),
    ({"name": "x", "content": {"en": "x"}, "target_roles": ["root"]}, "target_roles"),
    ({"name": "x", "content": {"en": "x"}, "link_url": "javascript:alert(1)"}, "link_url"),
])
def test_validation_errors_name_the_field(admin_client, data, field):
    response = admin_client.post("/api/v1/admin/banners", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_admin_api_crud_and_history(admin_client):
    created = admin_client.post("/api/v1/admin/banners", {"name": "n", "content": {"en": "hello"},
                                                          "style": "success", "is_active": True}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert admin_client.patch(f"/api/v1/admin/banners/{pk}", {"priority": 5}, format="json").json()["priority"] == 5
    assert admin_client.get("/api/v1/admin/banners").json()["results"][0]["id"] == pk
    history = admin_client.get(f"/api/v1/admin/banners/{pk}/history").json()
    assert [h["action"] for h in history["results"]] == ["update", "create"]
    assert admin_client.delete(f"/api/v1/admin/banners/{pk}").status_code == 204


def test_readonly_admin_reads_but_cannot_write(admin_user, readonly_admin_client):
    b = _banner(admin_user)
    assert readonly_admin_client.get("/api/v1/admin/banners").status_code == 200
    assert readonly_admin_client.get(f"/api/v1/admin/banners/{b.pk}/history").status_code == 200
    assert readonly_admin_client.post("/api/v1/admin/banners", {"name": "x", "content": {"en": "x"}},
                                      format="json").status_code == 403
    assert readonly_admin_client.patch(f"/api/v1/admin/banners/{b.pk}", {"priority": 1},
                                       format="json").status_code == 403
    assert readonly_admin_client.delete(f"/api/v1/admin/banners/{b.pk}").status_code == 403


def test_users_cannot_reach_the_admin_api(user_client):
    assert user_client.get("/api/v1/admin/banners").status_code == 403


def test_public_banner_api_and_dismiss(admin_user, user_client, api_client):
    b = _banner(admin_user)
    fixed = _banner(admin_user, name="outage", dismissible=False)
    body = user_client.get("/api/v1/banners").json()
    assert {row["id"] for row in body} == {b.pk, fixed.pk}
    assert any("<strong>tonight</strong>" in row["html"] for row in body)
    assert api_client.get("/api/v1/banners").status_code == 200  # anonymous
    assert user_client.post(f"/api/v1/banners/{b.pk}/dismiss").status_code == 204
    not_dismissible = user_client.post(f"/api/v1/banners/{fixed.pk}/dismiss")
    assert not_dismissible.status_code == 400
    assert not_dismissible.json()["error"]["code"] == "not_dismissible"
    assert user_client.post("/api/v1/banners/999999/dismiss").status_code == 404
    assert [row["id"] for row in user_client.get("/api/v1/banners").json()] == [fixed.pk]


def test_banner_api_speaks_the_callers_language(admin_user, user_client):
    _banner(admin_user)
    rows = user_client.get("/api/v1/banners", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert rows[0]["text"] == "Maintenance *ce soir*"
    rows = user_client.get("/api/v1/banners", HTTP_ACCEPT_LANGUAGE="de").json()
    assert rows[0]["text"] == "Maintenance **tonight**"  # no German text: English


def test_banner_shows_on_pages_sanitised_and_dismiss_form_works(admin_user, user_page_client):
    b = _banner(admin_user, content={"en": "Read <script>alert(1)</script> **now**"})
    page = user_page_client.get(reverse("home")).content.decode()
    assert "<strong>now</strong>" in page and "<script>alert(1)" not in page
    response = user_page_client.post(reverse("portal:banner-dismiss", args=[b.pk]), {"next": "/"})
    assert response.status_code == 302
    assert f"portal-banner-{b.pk}" not in user_page_client.get(reverse("home")).content.decode()


def test_active_banners_cost_at_most_one_query_per_page(admin_user, user, django_assert_max_num_queries):
    _banner(admin_user)
    announcement_list_active_for_user(user=user)  # warm the cache
    with django_assert_max_num_queries(1):
        announcement_list_active_for_user(user=user)


def test_banner_pages_create_edit_and_toggle(admin_page_client, readonly_page_client, user):
    response = admin_page_client.post(reverse("portal:admin-banner-create"), {
        "name": "new models", "content_en": "Two new models", "style": "info", "is_active": "on",
        "dismissible": "on", "priority": "0", "target_users": user.username})
    assert response.status_code == 302, response.content.decode()[:2000]
    from litemaas.models import Announcement

    b = Announcement.objects.get(name="new models")
    assert list(b.target_users.all()) == [user]
    assert admin_page_client.post(reverse("portal:admin-banner-visibility", args=[b.pk]),
                                  {"is_active": "false"}).status_code == 302
    b.refresh_from_db()
    assert b.is_active is False
    assert admin_page_client.get(reverse("portal:admin-banner-history", args=[b.pk])).status_code == 200
    assert readonly_page_client.post(reverse("portal:admin-banner-visibility", args=[b.pk]),
                                     {"is_active": "true"}).status_code == 403
    bad = admin_page_client.post(reverse("portal:admin-banner-create"), {"name": "x", "content_en": ""})
    assert bad.status_code == 400
