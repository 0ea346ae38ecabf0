"""Budget alerts (once per threshold and period, re-armed on reset, not lost across a restart), the e2e
path against the double, signed webhooks with bounded retries, runway maths, effective limits."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core import mail

from accounts.models import Notification
from teams import alerts, selectors, services
from teams.models import BudgetAlert, BudgetAlertDelivery
from tests.apikeys.conftest import make_model, subscribe

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def key(litellm, user):
    from apikeys.services import apikey_create

    subscribe(user, make_model("gpt-test"))
    return apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="laptop", max_budget=Decimal("10"),
                         budget_duration="30d").key


def _spend(litellm, key, amount: float) -> None:
    litellm.state.keys[key.token_hash]["spend"] = amount


def test_key_past_80_percent_gives_one_in_app_alert_and_one_email(litellm, key, user):
    # End to end: real model traffic recorded by the double, then the beat task.
    from teams.tasks import check_budget_alerts

    litellm.state.record_usage(token=key.token_hash, model_group="gpt-test", provider_model="openai/x",
                               prompt_tokens=10, completion_tokens=5, spend=8.5, success=True)
    check_budget_alerts.delay()
    notes = Notification.objects.filter(user=user, kind__startswith="budget.")
    assert [n.kind for n in notes] == ["budget.80"]
    assert "80 %" in notes[0].title and "laptop" in notes[0].title
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    # Next tick: nothing new.
    check_budget_alerts.delay()
    assert Notification.objects.filter(user=user, kind__startswith="budget.").count() == 1
    assert len(mail.outbox) == 1


def test_jump_past_several_thresholds_claims_all_but_delivers_the_highest(litellm, key, user):
    _spend(litellm, key, 10.0)
    alerts.check_budget_alerts(now=NOW)
    claims = BudgetAlert.objects.filter(target_type="key", target_id=str(key.pk))
    assert sorted(c.threshold for c in claims) == ["100", "80", "95"]
    assert [n.kind for n in Notification.objects.filter(user=user)] == ["budget.100"]


def test_sent_once_per_period_rearmed_after_reset_and_not_lost_across_restart(litellm, key, user):
    remote = litellm.state.keys[key.token_hash]
    with time_machine.travel(NOW, tick=False):
        remote["budget_reset_at"] = (NOW + timedelta(days=20)).isoformat()
        _spend(litellm, key, 8.2)
        assert alerts.check_budget_alerts().claimed == 1
        # A "restart": nothing in memory survives, the lock is gone; the claim in the database decides.
        from django.core.cache import cache

        cache.clear()
        assert alerts.check_budget_alerts().claimed == 0
    with time_machine.travel(NOW + timedelta(days=21), tick=False):
        # LiteLLM reset the budget: spend back to 0, next reset 30 days on.
        remote["budget_reset_at"] = (NOW + timedelta(days=50)).isoformat()
        _spend(litellm, key, 1.0)
        assert alerts.check_budget_alerts().claimed == 0
        _spend(litellm, key, 8.5)
        assert alerts.check_budget_alerts().claimed == 1
    periods = sorted(BudgetAlert.objects.filter(threshold="80").values_list("period_start", flat=True))
    assert len(periods) == 2 and periods[1] - periods[0] == timedelta(days=30)
    assert Notification.objects.filter(user=user, kind="budget.80").count() == 2


def test_reset_spend_rearms_the_key(litellm, key, user):
    from apikeys.services import apikey_reset_spend

    _spend(litellm, key, 8.5)
    alerts.check_budget_alerts(now=NOW)
    apikey_reset_spend(key=key, actor=user)
    _spend(litellm, key, 8.6)
    assert alerts.check_budget_alerts(now=NOW).claimed == 1


def test_single_flight(litellm, key):
    from django.core.cache import cache

    cache.add(alerts.LOCK_KEY, 1, 60)
    assert alerts.check_budget_alerts(now=NOW).skipped is True


def test_pending_email_is_sent_by_a_later_run(litellm, key, user, monkeypatch):
    _spend(litellm, key, 8.5)
    monkeypatch.setattr("teams.alerts.alert_send_email", lambda **kw: (_ for _ in ()).throw(OSError("smtp down")))
    alerts.check_budget_alerts(now=NOW)
    delivery = BudgetAlertDelivery.objects.get()
    assert delivery.status == "pending" and "smtp down" in delivery.last_error
    monkeypatch.undo()
    BudgetAlertDelivery.objects.update(created_at=NOW - timedelta(hours=1))
    alerts.check_budget_alerts(now=NOW)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(mail.outbox) == 1


def test_user_preferences_choose_thresholds_and_channels(litellm, key, user, user_client):
    response = user_client.put("/api/v1/notification-preferences",
                               {"thresholds": [50], "channel_email": False, "channel_in_app": True}, format="json")
    assert response.status_code == 200, response.json()
    assert user_client.get("/api/v1/notification-preferences").json()["thresholds"] == [50]
    _spend(litellm, key, 6.0)
    alerts.check_budget_alerts(now=NOW)
    assert [n.kind for n in Notification.objects.filter(user=user)] == ["budget.50"]
    assert mail.outbox == []
    bad = user_client.put("/api/v1/notification-preferences", {"thresholds": [0]}, format="json")
    assert bad.status_code == 400


def test_team_alerts_go_to_managers_and_admin_digest_once_a_day(litellm, make_team, user, other_user, admin_user):
    team = make_team(owner=user, max_budget=Decimal("100"))
    services.team_member_add(team=team, user=other_user, actor=user)
    litellm.state.teams[str(team.pk)]["spend"] = 97.0
    alerts.check_budget_alerts(now=NOW)
    assert Notification.objects.filter(user=user, kind="budget.95").exists()
    assert not Notification.objects.filter(user=other_user, kind__startswith="budget.").exists()
    digest = Notification.objects.filter(user=admin_user, kind="budget.digest")
    assert digest.count() == 1 and "Research" in digest[0].body
    alerts.check_budget_alerts(now=NOW + timedelta(hours=1))
    assert Notification.objects.filter(user=admin_user, kind="budget.digest").count() == 1


# ---------------------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    status = 200
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE = True
    _Receiver.received = []
    _Receiver.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_is_signed_with_hmac_sha256(litellm, key, user, receiver):
    from accounts.alert_preferences import notification_preference_update
    from integrations.webhooks import SIGNATURE_HEADER, verify

    handler, url = receiver
    pref = notification_preference_update(user=user, values={"channel_webhook": True, "webhook_url": url})
    _spend(litellm, key, 9.6)
    alerts.check_budget_alerts(now=NOW)
    assert len(handler.received) == 1
    headers, body = handler.received[0]
    assert verify(body, pref.webhook_secret, headers[SIGNATURE_HEADER])
    assert not verify(body, "wrong-secret", headers[SIGNATURE_HEADER])
    payload = json.loads(body)
    assert payload["threshold"] == "95" and payload["target_id"] == str(key.pk)
    assert payload["url"] == payload["link"] == f"/api-keys/{key.pk}/"  # no PORTAL_BASE_URL: relative


def test_alert_email_and_webhook_links_are_absolute_with_portal_base_url(litellm, key, user, receiver, settings):
    from accounts.alert_preferences import notification_preference_update

    settings.PORTAL_BASE_URL = "https://portal.example.com"
    handler, url = receiver
    notification_preference_update(user=user, values={"channel_webhook": True, "webhook_url": url})
    _spend(litellm, key, 8.2)
    alerts.check_budget_alerts(now=NOW)
    assert mail.outbox[-1].body.endswith(f"\n\nhttps://portal.example.com/api-keys/{key.pk}/")
    payload = json.loads(handler.received[0][1])
    assert payload["link"] == f"/api-keys/{key.pk}/"
    assert payload["url"] == f"https://portal.example.com/api-keys/{key.pk}/"


# ---------------------------------------------------------------------------------------------------------
# Reading spend in batches
# ---------------------------------------------------------------------------------------------------------
def _budget_users(litellm, n: int, *, spend: float = 85.0) -> list:
    from integrations.services import ensure_litellm_user
    from tests.factories import UserFactory

    users = [UserFactory(max_budget=Decimal("100"), budget_duration="30d") for _ in range(n)]
    for u in users:
        ensure_litellm_user(u)
        litellm.state.users[str(u.pk)]["spend"] = spend
    return users


def test_user_and_team_spend_come_from_the_paged_lists(litellm, make_team, user):
    users = _budget_users(litellm, 3)
    team = make_team(owner=user, max_budget=Decimal("100"))
    litellm.state.teams[str(team.pk)]["spend"] = 90.0
    litellm._server.calls.clear()
    result = alerts.check_budget_alerts(now=NOW)
    assert (result.users, result.teams) == (3, 2)  # with the Default Team (it has a budget)
    assert litellm.calls_to("/user/info") == [] and litellm.calls_to("/team/info") == []
    assert [c["params"]["page_size"] for c in litellm.calls_to("/user/list")] == ["100"]
    assert [c["params"]["page_size"] for c in litellm.calls_to("/v2/team/list")] == ["100"]
    for u in users:
        assert BudgetAlert.objects.filter(target_type="user", target_id=str(u.pk), threshold="80").exists()
    assert BudgetAlert.objects.filter(target_type="team", target_id=str(team.pk), threshold="80").exists()


def test_few_budgets_among_many_users_are_read_one_by_one(litellm, monkeypatch):
    budgeted = _budget_users(litellm, 2)
    monkeypatch.setattr(alerts, "LIST_PAGE_SIZE", 1)  # listing 2+ users would now take more calls than 2 reads
    from tests.factories import UserFactory

    UserFactory()
    litellm._server.calls.clear()
    assert alerts.check_budget_alerts(now=NOW).users == 2
    assert litellm.calls_to("/user/list") == []
    assert sorted(c["params"]["user_id"] for c in litellm.calls_to("/user/info")) == sorted(str(u.pk) for u in budgeted)


def test_a_proxy_without_the_paged_team_list_falls_back_to_team_info(litellm, make_team, user):
    team = make_team(owner=user, max_budget=Decimal("100"))
    litellm.state.teams[str(team.pk)]["spend"] = 96.0
    litellm.set_fault("error", status=404, paths=["/v2/team/list"])
    result = alerts.check_budget_alerts(now=NOW)
    assert result.teams == 1 and not result.errors  # (the Default Team is not in LiteLLM here)
    assert str(team.pk) in [c["params"]["team_id"] for c in litellm.calls_to("/team/info")]
    assert BudgetAlert.objects.filter(target_type="team", target_id=str(team.pk), threshold="95").exists()


def test_webhook_retries_are_bounded(receiver):
    from integrations.webhooks import webhook_post

    handler, url = receiver
    handler.status = 503
    sleeps: list[float] = []
    result = webhook_post(url=url, secret="s", event="test", payload={"a": 1}, attempts=3, sleep=sleeps.append)
    assert not result.ok and result.attempts == 3 and len(handler.received) == 3 and len(sleeps) == 2
    handler.status = 400  # a permanent refusal is not retried
    handler.received.clear()
    assert webhook_post(url=url, secret="s", event="test", payload={}, attempts=3, sleep=sleeps.append).attempts == 1


def test_webhook_refuses_private_addresses_unless_allowed(settings):
    from integrations.webhooks import url_is_allowed

    settings.BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE = False
    assert not url_is_allowed("http://127.0.0.1:9/x")
    assert not url_is_allowed("ftp://example.com/x")


# ---------------------------------------------------------------------------------------------------------
# Runway and effective limits
# ---------------------------------------------------------------------------------------------------------
def _target(**kw):
    base = {"kind": "key", "id": "k", "name": "laptop", "spend": Decimal("40"), "max_budget": Decimal("100"),
            "soft_budget": None, "reset_at": NOW + timedelta(days=20), "duration": "30d", "recipients": [],
            "link": ""}
    return alerts.Target(**{**base, **kw})


def test_runway_alert_when_pace_runs_out_before_reset():
    # 60 left at 5/day → 12 days, reset in 20: alert, "hits its cap on the 22nd".
    r = alerts.runway_alert_due(_target(), Decimal("5"), NOW)
    assert r is not None and r.exhausted_at == NOW + timedelta(days=12)
    title, _ = alerts.alert_text(_target(), "runway", r)
    assert title == "At this pace key “laptop” hits its cap on the 22nd"
    assert alerts.runway_alert_due(_target(), Decimal("2"), NOW) is None  # 30 days > reset
    assert alerts.runway_alert_due(_target(), Decimal("0"), NOW) is None
    assert alerts.runway_alert_due(_target(reset_at=None, duration=None), Decimal("10"), NOW) is not None
    assert alerts.runway_alert_due(_target(reset_at=None, duration=None), Decimal("1"), NOW) is None


def test_runway_alert_from_ingested_usage(litellm, key, user):
    from usage.models import DailyUsage

    for day in range(1, 8):
        DailyUsage.objects.create(date=(NOW - timedelta(days=day)).date(), key_hash=key.token_hash, model_id="gpt-test",
                                  user_id=user.pk, key_id=key.pk, spend=Decimal("1"))
    litellm.state.keys[key.token_hash]["budget_reset_at"] = (NOW + timedelta(days=25)).isoformat()
    _spend(litellm, key, 2.0)  # 8 left at 1/day: out in 8 days, before the reset in 25
    alerts.check_budget_alerts(now=NOW)
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == ["runway"]
    assert "hits its cap on the 18th" in Notification.objects.get(user=user).title


def test_crossed_thresholds_and_soft_budget():
    t = _target(spend=Decimal("96"), soft_budget=Decimal("50"))
    assert alerts.crossed_thresholds(t, [80, 95, 100]) == ["80", "95", "soft"]
    assert alerts.crossed_thresholds(_target(max_budget=None), [80]) == []


def test_effective_limits_take_the_tightest_level():
    lv = selectors.LimitLevel
    limits = selectors.compute_effective_limits([
        lv("key", "Key", Decimal("50"), Decimal("10"), 1000, None, "litellm"),
        lv("member", "Cap", Decimal("30"), Decimal("25"), None, None, "portal"),
        lv("team", "Team", Decimal("1000"), Decimal("990"), 500, 60, "litellm"),
        lv("user", "You", None, Decimal("3"), None, 100, "litellm"),
    ])
    assert limits.remaining_budget == Decimal("5") and limits.budget_level == "member"
    assert (limits.tpm_limit, limits.tpm_level) == (500, "team")
    assert (limits.rpm_limit, limits.rpm_level) == (60, "team")
    none = selectors.compute_effective_limits([lv("key", "Key", None, None, None, None, "litellm")])
    assert none.remaining_budget is None and none.tpm_limit is None


def test_key_charged_to_team_respects_member_cap_and_shows_effective_limits(litellm, make_team, user, user_client,
                                                                             other_user):
    from apikeys.services import apikey_create
    from litemaas.exceptions import ValidationFailed

    team = make_team(owner=other_user, max_budget=Decimal("100"), tpm_limit=700)
    services.team_member_add(team=team, user=user, actor=other_user, max_budget=Decimal("20"))
    subscribe(user, make_model("gpt-test"))
    created = apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="team key", max_budget=Decimal("15"),
                            team_id=team.pk).key
    assert litellm.state.keys[created.token_hash]["team_id"] == str(team.pk)
    with pytest.raises(ValidationFailed):
        apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="too much", max_budget=Decimal("10"),
                      team_id=team.pk)
    response = user_client.get(f"/api/v1/api-keys/{created.pk}/effective-limits")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [lv["level"] for lv in body["levels"]] == ["key", "member", "team", "user"]
    assert body["effective"]["tpm_limit"] == 700 and body["effective"]["tpm_level"] == "team"
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.force_authenticate(other_user)
    assert stranger.get(f"/api/v1/api-keys/{created.pk}/effective-limits").status_code == 404
    # Not a member of a team → refused.
    lonely = make_team(owner=other_user, name="Other")
    with pytest.raises(ValidationFailed):
        apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="x", team_id=lonely.pk)


def test_key_page_shows_effective_limits(litellm, key, client, user):
    client.force_login(user)
    page = client.get(f"/api-keys/{key.pk}/").content.decode()
    assert "Effective limits" in page
