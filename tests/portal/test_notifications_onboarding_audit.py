"""The notifications page, the first-login guide, the audit-log page and the system overview."""
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Notification
from accounts.notifications import notification_create
from litemaas.audit import audit_record

pytestmark = pytest.mark.django_db


def test_notifications_list_only_own_and_mark_read(user, other_user, user_page_client):
    mine = notification_create(user=user, kind="subscription.approved", title="Access approved", link="/models/")
    theirs = notification_create(user=other_user, kind="x", title="Someone else's")
    html = user_page_client.get(reverse("accounts:notifications")).content.decode()
    assert "Access approved" in html and "Someone else" not in html
    user_page_client.post(reverse("accounts:notifications-read"), {"id": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = user_page_client.post(reverse("accounts:notifications-read"), {"id": mine.pk, "follow": "/models/"})
    assert response["Location"] == "/models/"
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_all_read_and_empty_state(user, user_page_client):
    for i in range(3):
        notification_create(user=user, kind="x", title=f"n{i}")
    user_page_client.post(reverse("accounts:notifications-read"))
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    html = user_page_client.get(reverse("accounts:notifications") + "?unread=1").content.decode()
    assert "You are all caught up" in html


def test_bell_links_to_notifications(user, user_page_client):
    assert reverse("accounts:notifications") in user_page_client.get("/").content.decode()


def test_first_login_guide_shows_until_dismissed(user_page_client):
    assert 'id="portal-onboarding"' in user_page_client.get("/").content.decode()
    response = user_page_client.post(reverse("portal:onboarding-dismiss"), HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 204
    assert 'id="portal-onboarding"' not in user_page_client.get("/").content.decode()
    user_page_client.post(reverse("portal:onboarding-dismiss"), {"restore": "1"})
    assert 'id="portal-onboarding"' in user_page_client.get("/").content.decode()


def _events(admin_user, user):
    audit_record(action="apikey.create", actor=user, target_type="apikey", target_id="k1", metadata={"name": "ci"})
    audit_record(action="apikey.revoke", actor=user, target_type="apikey", target_id="k1")
    audit_record(action="settings.update", actor=admin_user, target_type="portal_settings", target_id="1",
                 metadata={"changes": {"currency_code": {"from": "", "to": "=HYPERLINK(1)"}}})
    audit_record(action="auth.login_failed", success=False, error="bad password", target_type="user")


def test_audit_page_filters(admin_user, user, readonly_page_client):
    _events(admin_user, user)
    url = reverse("portal:admin-audit")
    assert readonly_page_client.get(url).context["page"].paginator.count == 4
    assert readonly_page_client.get(url, {"action": "apikey.revoke"}).context["page"].paginator.count == 1
    assert readonly_page_client.get(url, {"target_type": "apikey"}).context["page"].paginator.count == 2
    assert readonly_page_client.get(url, {"actor": admin_user.username}).context["page"].paginator.count == 1
    assert readonly_page_client.get(url, {"q": "HYPERLINK"}).context["page"].paginator.count == 1
    assert readonly_page_client.get(url, {"outcome": "failure"}).context["page"].paginator.count == 1
    assert readonly_page_client.get(url, {"since": "2000-01-01", "until": "2000-01-02"}).context[
        "page"].paginator.count == 0
    html = readonly_page_client.get(url, {"q": "nothing-matches"}).content.decode()
    assert "No events match these filters" in html


def test_audit_csv_export_neutralises_formulas(admin_user, user, admin_page_client):
    _events(admin_user, user)
    response = admin_page_client.get(reverse("portal:admin-audit"), {"export": "csv", "target_type": "apikey"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "created_at" and len(rows) == 3
    everything = b"".join(admin_page_client.get(reverse("portal:admin-audit"),
                                                {"export": "csv"}).streaming_content).decode()
    assert '"=HYPERLINK' not in everything.replace('""', '"').split("metadata")[0]


def test_system_overview_shows_counts_and_health(admin_page_client, user):
    response = admin_page_client.get(reverse("portal:admin-overview"))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview["counts"]["users"] >= 2
    assert "status" in overview["litellm"]
