"""Business gauges read at scrape time, Celery task metrics and the /metrics endpoint."""
from __future__ import annotations

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from litemaas import metrics
from litemaas.metrics import Sample, run_probes


@pytest.fixture(autouse=True)
def _no_metrics_cache(settings):
    settings.METRICS_BUSINESS_CACHE_SECONDS = 0
    settings.METRICS_TOKEN = ""


def _up(samples, probe):
    return next(s.value for s in samples if s.name == "litemaas_business_probe_up" and s.labels == {"probe": probe})


def test_a_missing_model_yields_no_sample_and_no_error(db):
    def probe_not_written_yet(now):
        metrics._model("usage", "ThingThatDoesNotExist")
        yield Sample("never", "never", 1)

    samples = run_probes([probe_not_written_yet])
    assert [s.name for s in samples] == ["litemaas_business_probe_up"]
    assert _up(samples, "not_written_yet") == 0


def test_a_missing_table_only_fails_its_own_probe_and_leaves_the_transaction_usable(db):
    def probe_broken(now):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM table_that_is_not_migrated_yet")
        yield Sample("never", "never", 1)

    samples = run_probes([probe_broken, metrics.probe_users])
    assert _up(samples, "broken") == 0
    assert _up(samples, "users") == 1
    with connection.cursor() as cursor:  # the outer (test) transaction survived
        cursor.execute("SELECT 1")


def test_the_existing_probes_report_real_counts(db, user, other_user):
    samples = run_probes()
    users = [s for s in samples if s.name == "litemaas_users"]
    assert sum(s.value for s in users) == 2
    # Every probe either ran or is reported down; none raised.
    assert {s.labels["probe"] for s in samples if s.name == "litemaas_business_probe_up"} == {
        p.__name__.removeprefix("probe_") for p in metrics.PROBES
    }
    assert _up(samples, "subscriptions") == 1
    assert _up(samples, "api_keys") == 1
    assert _up(samples, "sync_runs") == 1


def test_the_metrics_endpoint_serves_business_gauges_to_direct_scrapes_only(client, user, settings):
    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'litemaas_business_probe_up{probe="users"} 1.0' in body
    assert "litemaas_users{" in body
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 404
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    assert client.get("/metrics").status_code == 404
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests")
    assert ok.status_code == 200


def test_results_are_shared_through_the_cache(db, settings, user):
    settings.METRICS_BUSINESS_CACHE_SECONDS = 30
    first = metrics.cached_samples()
    user.delete()
    assert metrics.cached_samples() == first


def test_celery_tasks_are_counted_and_timed(db):
    from litemaas.celery import app

    @app.task(name="litemaas.tests.deploy_metrics_probe")
    def deploy_metrics_probe(fail: bool = False) -> str:
        if fail:
            raise RuntimeError("boom")
        return "ok"

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    task = "litemaas.tests.deploy_metrics_probe"
    before_ok = value("litemaas_celery_tasks_total", task=task, state="success")
    before_failed = value("litemaas_celery_tasks_total", task=task, state="failure")
    deploy_metrics_probe.apply()
    deploy_metrics_probe.apply(kwargs={"fail": True}, throw=False)
    assert value("litemaas_celery_tasks_total", task=task, state="success") == before_ok + 1
    assert value("litemaas_celery_tasks_total", task=task, state="failure") == before_failed + 1
    assert value("litemaas_celery_task_duration_seconds_count", task=task) >= 2
    assert value("litemaas_celery_task_last_success_timestamp_seconds", task=task) > 0


def test_dashboard_and_alerts_only_use_metrics_the_code_exports():
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = (root / "litemaas" / "metrics.py").read_text() + (root / "integrations/litellm/metrics.py").read_text()
    exported = set(re.findall(r'"(litemaas_[a-z0-9_]+)"', sources))
    dashboard = json.loads((root / "deploy/grafana/litemaas-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append((root / "deploy/kustomize/components/monitoring/prometheusrule.yaml").read_text())
    used = {re.sub(r"_(total|bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"litemaas_[a-z0-9_]+", e)}
    exported |= {re.sub(r"_total$", "", n) for n in exported}
    assert used - exported == set()
