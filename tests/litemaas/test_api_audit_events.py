"""Contract of GET /api/v1/admin/audit-events: admins and read-only admins read, nobody writes."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from litemaas.audit import audit_record
from tests.litemaas.assertions import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin/audit-events"


@pytest.fixture
def events(user, other_user):
    start = timezone.now() - timedelta(days=3)
    with time_machine.travel(start, tick=False):
        old = audit_record(action="token.create", actor=user, target_type="token", target_id="t1")
    with time_machine.travel(start + timedelta(days=1), tick=False):
        mid = audit_record(action="token.revoke", actor=user, target_type="token", target_id="t1")
    with time_machine.travel(start + timedelta(days=2), tick=False):
        new = audit_record(
            action="apikey.create", actor=other_user, target_type="apikey", target_id="k1",
            success=False, error="LiteLLM unavailable",
        )
    return {"old": old, "mid": mid, "new": new, "start": start}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("client_fixture", ["admin_client", "readonly_admin_client"])
def test_admins_and_readonly_admins_list_every_event_newest_first(request, client_fixture, events):
    client = request.getfixturevalue(client_fixture)
    response = client.get(URL)
    assert ids(response) == [events["new"].pk, events["mid"].pk, events["old"].pk]
    row = response.json()["results"][0]
    assert row["action"] == "apikey.create" and row["success"] is False and row["error"]
    assert set(row) >= {"created_at", "actor", "actor_label", "target_type", "target_id", "metadata", "request_id"}


def test_filters_combine(admin_client, events, user):
    assert ids(admin_client.get(URL, {"actor": str(user.pk)})) == [events["mid"].pk, events["old"].pk]
    assert ids(admin_client.get(URL, {"action": "token.revoke"})) == [events["mid"].pk]
    assert ids(admin_client.get(URL, {"target_type": "apikey"})) == [events["new"].pk]
    assert ids(admin_client.get(URL, {"target_type": "token", "target_id": "t1", "action": "token.create"})) == [
        events["old"].pk
    ]
    assert ids(admin_client.get(URL, {"success": "false"})) == [events["new"].pk]


def test_since_is_inclusive_and_until_exclusive(admin_client, events):
    since = events["mid"].created_at.isoformat()
    until = events["new"].created_at.isoformat()
    assert ids(admin_client.get(URL, {"since": since, "until": until})) == [events["mid"].pk]


def test_bad_filters_are_400_with_field_details(admin_client, events):
    error = assert_error(admin_client.get(URL, {"actor": "nope", "since": "yesterday"}), 400, "validation_error")
    assert set(error["details"]["fields"]) == {"actor", "since"}
    later, earlier = events["new"].created_at.isoformat(), events["old"].created_at.isoformat()
    assert_error(admin_client.get(URL, {"since": later, "until": earlier}), 400, "validation_error")


def test_is_paginated_with_a_bounded_number_of_queries(admin_client, admin_user, django_assert_max_num_queries):
    for number in range(30):
        audit_record(action="test.event", actor=admin_user, metadata={"n": number})
    with django_assert_max_num_queries(2):  # count + page; the actor is not joined
        response = admin_client.get(URL, {"page_size": 10, "page": 2})
    body = response.json()
    assert body["count"] == 30 and len(body["results"]) == 10 and body["previous"] and body["next"]


def test_ordinary_users_get_403(user_client, events):
    assert_error(user_client.get(URL), 403, "permission_denied")


def test_anonymous_gets_401(api_client):
    assert_error(api_client.get(URL), 401, "not_authenticated")


def test_readonly_admin_cannot_write_and_admin_finds_no_write_method(readonly_admin_client, admin_client):
    assert_error(readonly_admin_client.post(URL, {}), 403, "permission_denied")
    assert_error(readonly_admin_client.delete(URL), 403, "permission_denied")
    assert_error(admin_client.post(URL, {}), 405, "method_not_allowed")
