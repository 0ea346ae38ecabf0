"""Ingestion: mapping through stored key hashes, unattributed usage, idempotency, day lifecycle, runs."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from integrations.models import SyncRun
from tests.usage.conftest import make_key, sha
from usage import services
from usage.models import DailyModelUsage, DailyUsage, DailyUserUsage, IngestedDay

D1 = date(2026, 3, 9)
D2 = date(2026, 3, 10)


def record(double, token, model, *, day, prompt=10, completion=5, spend=0.25, success=True):
    double.state.record_usage(token=token, model_group=model, provider_model=model, prompt_tokens=prompt,
                              completion_tokens=completion, spend=spend, success=success, day=day)


@pytest.fixture
def keys(user, other_user):
    return {
        "active": make_key(user, name="active"),
        "revoked": make_key(user, name="revoked", status="revoked"),
        "deleted": make_key(other_user, name="deleted", status="revoked", deleted=True),
    }


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_rows_map_to_users_through_every_stored_key_hash_and_strangers_are_unattributed(litellm_double, keys, user,
                                                                                        other_user):
    record(litellm_double, keys["active"].token_hash, "m1", day=D2)
    record(litellm_double, keys["active"].token_hash, "m1", day=D2, success=False, spend=0.0, prompt=0, completion=0)
    record(litellm_double, keys["revoked"].token_hash, "m2", day=D2)
    record(litellm_double, keys["deleted"].token_hash, "m1", day=D2)
    stranger = sha("sk-made-in-litellm")
    record(litellm_double, stranger, "m1", day=D2, spend=1.5)

    result = services.usage_ingest(days=[D2])

    assert result.run.status == SyncRun.Status.SUCCEEDED and result.rows == 4 and result.unattributed_rows == 1
    rows = {(r.key_hash, r.model_id): r for r in DailyUsage.objects.all()}
    active = rows[(keys["active"].token_hash, "m1")]
    assert (active.user_id, active.key_id, active.requests, active.successful_requests, active.failed_requests,
            active.prompt_tokens, active.completion_tokens, active.spend) == (
        user.pk, keys["active"].pk, 2, 1, 1, 10, 5, Decimal("0.25"))
    assert rows[(keys["revoked"].token_hash, "m2")].user_id == user.pk
    deleted = rows[(keys["deleted"].token_hash, "m1")]
    assert deleted.user_id == other_user.pk and deleted.key_id == keys["deleted"].pk and not deleted.unattributed
    orphan = rows[(stranger, "m1")]
    assert orphan.unattributed and orphan.user_id is None and orphan.spend == Decimal("1.5")
    assert DailyUserUsage.objects.get(date=D2, user_id__isnull=True).spend == Decimal("1.5")
    assert DailyModelUsage.objects.get(date=D2, model_id="m1").unattributed_requests == 1
    assert result.run.counts["rows"] == 4 and result.run.counts["days"] == 1


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_re_runs_are_idempotent_upserts(litellm_double, keys):
    record(litellm_double, keys["active"].token_hash, "m1", day=D1)
    record(litellm_double, keys["active"].token_hash, "m1", day=D2)
    services.usage_ingest(days=[D1, D2])
    first = list(DailyUsage.objects.order_by("date").values("date", "requests", "spend", "total_tokens"))
    services.usage_ingest(days=[D1, D2])
    assert list(DailyUsage.objects.order_by("date").values("date", "requests", "spend", "total_tokens")) == first
    assert DailyModelUsage.objects.count() == 2 and DailyUserUsage.objects.count() == 2
    # New traffic the same day updates the row in place.
    record(litellm_double, keys["active"].token_hash, "m1", day=D2)
    services.usage_ingest(days=[D2])
    assert DailyUsage.objects.get(date=D2).requests == 2 and DailyUsage.objects.count() == 2
    assert DailyModelUsage.objects.get(date=D2).requests == 2


@pytest.mark.django_db
def test_today_is_open_then_closed_after_midnight_then_frozen_after_the_grace(litellm_double, keys, settings):
    settings.USAGE_CLOSE_GRACE_MINUTES = 30
    settings.USAGE_INGEST_CATCHUP_DAYS = 1
    token = keys["active"].token_hash
    with time_machine.travel(datetime(2026, 3, 9, 23, 50, tzinfo=UTC), tick=False):
        record(litellm_double, token, "m1", day=D1)
        assert services.usage_days_due() == [date(2026, 3, 8), D1]
        services.usage_ingest_scheduled()
        assert IngestedDay.objects.get(date=D1).status == "open"
    record(litellm_double, token, "m1", day=D1)  # a late spend log for the 9th
    with time_machine.travel(datetime(2026, 3, 10, 0, 10, tzinfo=UTC), tick=False):
        assert services.usage_days_due() == [D1, D2]
        services.usage_ingest_scheduled()
        assert IngestedDay.objects.get(date=D1).status == "closed"
        assert IngestedDay.objects.get(date=D2).status == "open"
        assert DailyUsage.objects.get(date=D1).requests == 2
    with time_machine.travel(datetime(2026, 3, 10, 0, 40, tzinfo=UTC), tick=False):
        services.usage_ingest_scheduled()
        assert IngestedDay.objects.get(date=D1).status == "frozen"
    record(litellm_double, token, "m1", day=D1)  # too late: the day is frozen
    with time_machine.travel(datetime(2026, 3, 10, 1, 0, tzinfo=UTC), tick=False):
        assert services.usage_days_due() == [D2]
        services.usage_ingest_scheduled()
    assert DailyUsage.objects.get(date=D1).requests == 2
    assert IngestedDay.objects.get(date=D1).pulls == 3


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_zero_usage_days_are_recorded_so_they_are_not_pulled_again(litellm_double):
    services.usage_ingest(days=[D1])
    assert IngestedDay.objects.get(date=D1).status == "frozen" and IngestedDay.objects.get(date=D1).rows == 0


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_a_failed_pull_is_recorded_on_the_run_and_changes_nothing(litellm_double, keys, monkeypatch):
    from integrations.litellm.client import LiteLLMClient
    from integrations.litellm.errors import LiteLLMUnavailable

    def down(self, **kwargs):
        raise LiteLLMUnavailable("connection refused")

    monkeypatch.setattr(LiteLLMClient, "daily_activity", down)
    result = services.usage_ingest(days=[D2])
    assert result.run.status == SyncRun.Status.FAILED and "connection refused" in result.run.error
    assert not DailyUsage.objects.exists() and not IngestedDay.objects.exists()


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_future_days_are_refused(litellm_double):
    from litemaas.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.usage_ingest(days=[date(2026, 3, 11)])


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_backfill_command_pulls_the_range_with_progress(litellm_double, keys):
    for day in (date(2026, 3, 1), date(2026, 3, 5), D2):
        record(litellm_double, keys["active"].token_hash, "m1", day=day)
    out, err = io.StringIO(), io.StringIO()
    call_command("backfill_usage", "--start", "2026-03-01", "--end", "2026-03-10", "--chunk-days", "3",
                 stdout=out, stderr=err)
    assert DailyUsage.objects.count() == 3 and IngestedDay.objects.count() == 10
    assert "10/10 days" in err.getvalue() and "3 rows over 10 days" in out.getvalue()
    assert len(litellm_double.calls_to("/user/daily/activity")) == 4  # 3+3+3+1 days


@pytest.mark.django_db
def test_admin_refresh_today_and_readonly_admin_is_refused(litellm_double, keys, admin_client, readonly_admin_client):
    from django.utils import timezone

    record(litellm_double, keys["active"].token_hash, "m1", day=timezone.now().date())
    assert readonly_admin_client.post("/api/v1/admin/usage/refresh").status_code == 403
    assert not DailyUsage.objects.exists()
    response = admin_client.post("/api/v1/admin/usage/refresh")
    assert response.status_code == 200, response.json()
    assert response.json()["rows"] == 1 and response.json()["run"]["status"] == "succeeded"
    runs = admin_client.get("/api/v1/admin/usage/ingestion-runs").json()
    assert runs["count"] == 1 and runs["results"][0]["actor"]
    assert readonly_admin_client.get("/api/v1/admin/usage/ingestion-runs").status_code == 200


@pytest.mark.django_db
def test_admin_refresh_reports_litellm_down_as_503(admin_client, settings, refused_url, fast_retries):
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = refused_url
    settings.LITELLM_MASTER_KEY = "sk-x"
    get_litellm_client.cache_clear()
    response = admin_client.post("/api/v1/admin/usage/refresh")
    get_litellm_client.cache_clear()
    assert response.status_code == 503 and response.json()["error"]["code"] == "litellm_unavailable"
    assert "Retry-After" in response




@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_team_is_resolved_from_the_key_and_filters_and_groups(litellm_double, user, admin_client):
    from teams.models import Team

    team = Team.objects.create(name="Blue")
    key = make_key(user, name="team-key")
    key.team = team
    key.save(update_fields=["team"])
    record(litellm_double, key.token_hash, "m1", day=D2, spend=2.0)
    record(litellm_double, make_key(user).token_hash, "m1", day=D2, spend=1.0)
    services.usage_ingest(days=[D2])
    assert DailyUsage.objects.get(key_id=key.pk).team_id == team.pk
    base = "start=2026-03-10&end=2026-03-10"
    filtered = admin_client.get(f"/api/v1/admin/usage/analytics?{base}&teams={team.pk}").json()
    assert filtered["totals"]["spend"] == pytest.approx(2.0)
    rows = admin_client.get(f"/api/v1/admin/usage/breakdown?by=team&{base}").json()["results"]
    assert [(r["team_name"], r["spend"]) for r in rows] == [("Blue", 2.0), ("(no team)", 1.0)]
