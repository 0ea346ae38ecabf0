"""The audit trail in the Django admin, the role-based admin base class and the admin site's entry rule."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin as django_admin
from django.test import Client, RequestFactory

from litemaas.admin_site import PortalAdminSite
from litemaas.audit import audit_record
from litemaas.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AUDIT = "/admin/litemaas/auditevent/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def event(user):
    return audit_record(action="token.create", actor=user, target_type="token", target_id="t-1",
                        metadata={"name": "ci"})


@pytest.mark.parametrize("fixture", ["admin_user", "readonly_admin"])
def test_audit_events_are_listed_filtered_and_searched(request, fixture, event):
    client = signed_in(request.getfixturevalue(fixture))
    assert b"token.create" in client.get(AUDIT).content
    assert client.get(AUDIT, {"action": "token.create", "success__exact": "1"}).status_code == 200
    assert client.get(AUDIT, {"target_type": "token"}).status_code == 200
    assert b"token.create" in client.get(AUDIT, {"q": "t-1"}).content
    assert client.get(f"{AUDIT}{event.pk}/change/").status_code == 200


@pytest.mark.parametrize("fixture", ["admin_user", "readonly_admin"])
def test_audit_events_cannot_be_added_changed_or_deleted_by_anyone(request, fixture, event):
    client = signed_in(request.getfixturevalue(fixture))
    assert client.get(f"{AUDIT}add/").status_code == 403
    assert client.post(f"{AUDIT}{event.pk}/change/", {"action": "forged"}).status_code == 403
    assert client.post(f"{AUDIT}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "token.create"


def test_audit_admin_permissions_follow_the_role(admin_user, readonly_admin, user):
    model_admin = django_admin.site._registry[AuditEvent]
    for person, can_view in ((admin_user, True), (readonly_admin, True), (user, False)):
        request = RequestFactory().get("/")
        request.user = person
        assert model_admin.has_view_permission(request) is can_view
        assert model_admin.has_module_permission(request) is can_view
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


@pytest.mark.parametrize(
    ("attrs", "allowed"),
    [
        ({"role": "admin"}, True),
        ({"role": "admin-readonly"}, True),
        ({"role": "user", "is_staff": True}, False),  # a stale is_staff alone does not open the admin
        ({"role": "user", "is_staff": True, "is_superuser": True}, False),
        ({"role": "admin", "is_active": False}, False),
    ],
)
def test_portal_admin_site_lets_in_by_role(attrs, allowed):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(**attrs)
    assert PortalAdminSite().has_permission(request) is allowed


@pytest.mark.skipif(
    "django.contrib.admin" in settings.INSTALLED_APPS,
    reason="INSTALLED_APPS still lists django.contrib.admin; wire litemaas.apps.PortalAdminConfig",
)
def test_the_default_admin_site_is_the_portal_site():
    assert isinstance(django_admin.site, PortalAdminSite)
    drifted = UserFactory(role="user", is_staff=True)
    assert signed_in(drifted).get("/admin/").status_code == 302
