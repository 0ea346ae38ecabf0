"""The kustomize overlays render with the real kustomize, validate, and keep their operational promises."""
from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from deploy.validate_manifests import OVERLAYS, render_all, validate_documents

LITEMAAS_COMPONENTS = {"web", "worker", "beat", "migrate", "backup"}


@pytest.fixture(scope="module")
def rendered():
    return render_all()


def _objects(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def _pod_spec(doc):
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _litemaas_workloads(docs):
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job", "CronJob"}:
            if doc["metadata"]["labels"].get("app.kubernetes.io/component") in LITEMAAS_COMPONENTS:
                yield doc


@pytest.mark.parametrize("overlay", [*OVERLAYS, "secrets"])
def test_every_overlay_is_valid_against_the_kubernetes_schemas(rendered, overlay):
    assert rendered[overlay], overlay
    assert validate_documents(rendered[overlay]) == []


def test_the_validator_rejects_a_bad_manifest():
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"replicas": "three", "selector": {}, "template": {}}}
    assert validate_documents([bad], versions=["1.37.0"])
    typo = {"apiVersion": "app/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    assert any("no schema" in e for e in validate_documents([typo], versions=["1.37.0"]))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_runs_three_replicas_with_probes_on_the_health_endpoints(rendered, overlay):
    (web,) = [d for d in _objects(rendered[overlay], "Deployment") if d["metadata"]["name"] == "litemaas-web"]
    assert web["spec"]["replicas"] == 3
    (container,) = [c for c in _pod_spec(web)["containers"] if c["name"] == "web"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # Probes must pass Django's host check: they send a Host that ALLOWED_HOSTS contains.
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert "localhost" in env["ALLOWED_HOSTS"].split(",")
    assert {"name": "Host", "value": "localhost"} in container["readinessProbe"]["httpGet"]["httpHeaders"]
    # gunicorn's graceful timeout (30 s) plus the preStop pause fit in the grace period.
    assert _pod_spec(web)["terminationGracePeriodSeconds"] >= 40
    kinds = Counter(d["kind"] for d in rendered[overlay])
    assert kinds["PodDisruptionBudget"] >= 1 and kinds["HorizontalPodAutoscaler"] >= 1
    assert kinds["NetworkPolicy"] >= 1 and kinds["ServiceMonitor"] >= 1 and kinds["PrometheusRule"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_is_a_single_replica_replaced_with_recreate(rendered, overlay):
    (beat,) = [d for d in _objects(rendered[overlay], "Deployment") if d["metadata"]["name"] == "litemaas-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [h for h in _objects(rendered[overlay], "HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["name"] == "litemaas-beat"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_shutdown_outlasts_the_celery_hard_time_limit(rendered, overlay):
    from django.conf import settings

    (worker,) = [d for d in _objects(rendered[overlay], "Deployment") if d["metadata"]["name"] == "litemaas-worker"]
    assert _pod_spec(worker)["terminationGracePeriodSeconds"] > settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_portal_pods_fit_the_restricted_security_profile(rendered, overlay):
    workloads = list(_litemaas_workloads(rendered[overlay]))
    assert {w["metadata"]["labels"]["app.kubernetes.io/component"] for w in workloads} == LITEMAAS_COMPONENTS
    for workload in workloads:
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "runAsUser" not in pod["securityContext"], "OpenShift assigns the UID"
        assert pod["automountServiceAccountToken"] is False
        mounts_tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod.get("initContainers", []) + pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            assert "runAsUser" not in ctx and "privileged" not in ctx
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in mounts_tmp


def test_openshift_overlay_has_an_edge_route_and_a_serviceaccount_oauth_client(rendered):
    docs = rendered["openshift"]
    (route,) = _objects(docs, "Route")
    assert route["spec"]["tls"]["termination"] == "edge"
    assert route["spec"]["tls"]["insecureEdgeTerminationPolicy"] == "Redirect"
    (config,) = _objects(docs, "ConfigMap")
    assert route["spec"]["host"] == config["data"]["LITEMAAS_HOST"]
    (oauth_sa,) = [s for s in _objects(docs, "ServiceAccount") if s["metadata"]["name"] == "litemaas-oauth"]
    annotation = oauth_sa["metadata"]["annotations"]["serviceaccounts.openshift.io/oauth-redirectreference.primary"]
    assert '"kind":"Route","name":"litemaas"' in annotation
    (web,) = [d for d in _objects(docs, "Deployment") if d["metadata"]["name"] == "litemaas-web"]
    env = [e["name"] for e in _pod_spec(web)["containers"][0]["env"]]
    # $(POD_NAMESPACE) is expanded only when defined before OAUTH_CLIENT_ID.
    assert env.index("POD_NAMESPACE") < env.index("OAUTH_CLIENT_ID")


def test_kubernetes_overlay_uses_an_ingress_for_the_configured_host(rendered):
    (ingress,) = [i for i in _objects(rendered["kubernetes"], "Ingress")]
    (config,) = _objects(rendered["kubernetes"], "ConfigMap")
    assert ingress["spec"]["rules"][0]["host"] == config["data"]["LITEMAAS_HOST"]
    assert not _objects(rendered["kubernetes"], "Route")


def test_bundled_overlay_adds_postgresql_redis_and_litellm(rendered):
    names = {d["metadata"]["name"] for d in rendered["bundled"]}
    assert {"litemaas-postgresql", "litemaas-redis", "litellm"} <= names


def test_alerts_cover_breaker_outbox_reconcile_5xx_and_budget_job(rendered):
    (rule,) = _objects(rendered["openshift"], "PrometheusRule")
    exprs = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert "litemaas_litellm_breaker_state" in exprs["LiteMaaSLiteLLMBreakerOpen"]
    assert "litemaas_outbox_oldest_age_seconds" in exprs["LiteMaaSOutboxBacklogOld"]
    assert "litemaas_sync_last_success_timestamp_seconds" in exprs["LiteMaaSReconcileStale"]
    assert "django_http_responses_total_by_status_total" in exprs["LiteMaaSHigh5xxRate"]
    assert "budget" in exprs["LiteMaaSBudgetAlertJobFailing"]


def test_breaker_alert_matches_the_broken_value_of_the_gauge():
    from integrations.litellm import metrics as litellm_metrics

    assert litellm_metrics.STATE_VALUES["BROKEN"] == 2


_REAL_LOOKING = [
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"ltm_[A-Za-z0-9_-]{8,}"),
    re.compile(r"-----BEGIN"),
]


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


@pytest.mark.parametrize("tree", [*OVERLAYS, "secrets"])
def test_no_secret_in_the_repository_holds_a_real_looking_value(rendered, tree):
    for secret in _objects(rendered[tree], "Secret"):
        values = {**(secret.get("stringData") or {}), **(secret.get("data") or {})}
        if secret["type"] == "kubernetes.io/service-account-token":
            assert not values, "the token controller fills this one"
            continue
        for key, value in values.items():
            assert "REPLACE_ME" in value, f"{secret['metadata']['name']}.{key} is not a placeholder"
            stripped = value.replace("REPLACE_ME", "")
            assert not any(p.search(stripped) for p in _REAL_LOOKING), key
            for token in re.findall(r"[A-Za-z0-9+/=_-]{20,}", stripped):
                assert _entropy(token) < 4.0, f"{key} contains a high-entropy string"
