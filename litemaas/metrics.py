"""Prometheus metrics owned by the project package: business gauges, Celery task metrics, the scrape view.

Business gauges are not updated by the code paths that change the data; a collector reads cheap aggregate
queries at scrape time (and shares the result through the cache for ``METRICS_BUSINESS_CACHE_SECONDS``),
so the numbers are always right, whichever replica or process changed them. The collector is a list of
small probe functions: each runs inside its own savepoint, and a model, table or field that does not exist
yet (apps are still being written) yields no sample and ``litemaas_business_probe_up{probe} 0`` instead of
an error.

Processes and the multiprocess mode: gunicorn runs several worker processes and Celery several prefork
children, each with its own memory. With ``PROMETHEUS_MULTIPROC_DIR`` set (the container entrypoint sets
it), counters and histograms are written to files there and :func:`metrics_view` (web) or the worker's
metrics port (``CELERY_METRICS_PORT``) adds them up across processes. Without it (development, tests) the
default registry is served as is.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CACHE_KEY = "metrics:business:v1"


def multiprocess_mode() -> bool:
    """True when prometheus_client writes to ``PROMETHEUS_MULTIPROC_DIR`` (set before it was imported)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))


# ---------------------------------------------------------------------------------------------------------
# Business probes
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One gauge sample: metric name, help text, labels and value (plain data, so it can be cached)."""

    name: str
    documentation: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


Probe = Callable[[datetime], Iterable[Sample]]


def _model(app_label: str, *names: str) -> Any:
    """The first of ``names`` that exists in ``app_label``; LookupError when none does (yet)."""
    from django.apps import apps

    for name in names:
        try:
            return apps.get_model(app_label, name)
        except LookupError:
            continue
    raise LookupError(f"{app_label}: none of {names}")


def _model_by_prefix(app_label: str, prefix: str) -> Any:
    from django.apps import apps

    for model in apps.get_app_config(app_label).get_models():
        if model.__name__.startswith(prefix):
            return model
    raise LookupError(f"{app_label}: no model named {prefix}*")


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


def probe_subscriptions(now: datetime) -> Iterator[Sample]:
    """Subscriptions by status, pending approvals and the age of the oldest pending request."""
    from django.db.models import Count, Min

    subscription = _model("subscriptions", "Subscription")
    for row in subscription.objects.order_by().values("status").annotate(n=Count("pk")):
        yield Sample("litemaas_subscriptions", "Subscriptions by status.", row["n"], {"status": row["status"]})
    pending = subscription.objects.filter(status="pending").aggregate(n=Count("pk"), oldest=Min("status_changed_at"))
    yield Sample("litemaas_subscriptions_pending_approvals", "Subscriptions waiting for an admin.", pending["n"])
    yield Sample(
        "litemaas_subscriptions_pending_oldest_age_seconds",
        "Age of the oldest pending subscription request (0 when none).",
        _age(now, pending["oldest"]),
    )


def probe_api_keys(now: datetime) -> Iterator[Sample]:
    """API keys by lifecycle status (``status="active"`` is the number of usable keys)."""
    from django.db.models import Count

    api_key = _model("apikeys", "ApiKey")
    for row in api_key.objects.order_by().values("status").annotate(n=Count("pk")):
        yield Sample("litemaas_api_keys", "API keys by status.", row["n"], {"status": row["status"]})


def probe_users(now: datetime) -> Iterator[Sample]:
    """Active users by LiteLLM provisioning state (``pending`` ones wait for the retry job)."""
    from django.db.models import Count

    user = _model("accounts", "User")
    rows = user.objects.filter(is_active=True).order_by().values("litellm_sync_state").annotate(n=Count("pk"))
    for row in rows:
        yield Sample(
            "litemaas_users", "Active users by LiteLLM sync state.", row["n"], {"litellm_sync_state": row["litellm_sync_state"]}
        )


# Outbox rows in one of these states still have to reach LiteLLM.
OUTBOX_OPEN_STATES = ("pending", "in_flight", "failed")


def probe_outbox(now: datetime) -> Iterator[Sample]:
    """Outbox depth (rows still to deliver) and the age of the oldest one."""
    from django.db.models import Count, Min

    outbox = _model_by_prefix("integrations", "Outbox")
    row = outbox.objects.filter(status__in=OUTBOX_OPEN_STATES).aggregate(n=Count("pk"), oldest=Min("created_at"))
    yield Sample("litemaas_outbox_depth", "Outbox entries not yet delivered to LiteLLM.", row["n"])
    yield Sample(
        "litemaas_outbox_oldest_age_seconds",
        "Age of the oldest undelivered outbox entry (0 when empty).",
        _age(now, row["oldest"]),
    )
    dead = outbox.objects.filter(status="dead").count()
    yield Sample("litemaas_outbox_dead", "Outbox entries given up (an admin must retry them).", dead)


def probe_sync_runs(now: datetime) -> Iterator[Sample]:
    """Per sync kind: time of the last successful run, and the drift the last finished run reported."""
    from django.db.models import Max

    sync_run = _model("integrations", "SyncRun")
    last_ok = sync_run.objects.filter(status="succeeded").order_by().values("kind").annotate(at=Max("finished_at"))
    for row in last_ok:
        if row["at"] is not None:
            yield Sample(
                "litemaas_sync_last_success_timestamp_seconds",
                "Unix time of the last successful sync run, by kind.",
                row["at"].timestamp(),
                {"kind": row["kind"]},
            )
    for kind in ("keys", "users", "teams", "models", "reconcile"):
        latest = (
            sync_run.objects.filter(kind=kind, finished_at__isnull=False).order_by("-finished_at").only("counts").first()
        )
        counts = latest.counts if latest is not None and isinstance(latest.counts, dict) else {}
        for key in ("drift", "drifted", "conflicts"):
            value = counts.get(key)
            if isinstance(value, dict):  # the reconciler reports drift per class
                for cls, n in value.items():
                    yield Sample("litemaas_sync_drift", "Drifted objects found by the last run, by kind.", n,
                                 {"kind": kind, "class": cls})
                break
            if isinstance(value, int | float):
                yield Sample("litemaas_sync_drift", "Drifted objects found by the last run, by kind.", value, {"kind": kind})
                break


def probe_usage_ingestion(now: datetime) -> Iterator[Sample]:
    """Seconds since usage ingestion last succeeded (from the usage app's runs, else from SyncRun)."""
    from django.db.models import Max

    try:
        run = _model("usage", "IngestionRun", "UsageIngestionRun")
    except LookupError:
        run = _model("integrations", "SyncRun")
        last = run.objects.filter(kind="usage", status="succeeded").aggregate(at=Max("finished_at"))["at"]
    else:
        last = run.objects.filter(status="succeeded").aggregate(at=Max("finished_at"))["at"]
    if last is not None:
        yield Sample("litemaas_usage_ingestion_lag_seconds", "Seconds since usage ingestion last succeeded.", _age(now, last))


def probe_budget_alerts(now: datetime) -> Iterator[Sample]:
    """Budget alerts sent in the last 24 hours."""
    from datetime import timedelta

    alert = _model("usage", "BudgetAlert", "BudgetAlertEvent", "SentAlert")
    count = alert.objects.filter(sent_at__gte=now - timedelta(hours=24)).count()
    yield Sample("litemaas_budget_alerts_sent_24h", "Budget alerts sent in the last 24 hours.", count)


PROBES: list[Probe] = [
    probe_subscriptions,
    probe_api_keys,
    probe_users,
    probe_outbox,
    probe_sync_runs,
    probe_usage_ingestion,
    probe_budget_alerts,
]


def run_probes(probes: Iterable[Probe] | None = None) -> list[Sample]:
    """Run every probe, each in its own savepoint; a failing probe yields only ``probe_up 0``.

    Never raises: a missing model (LookupError), field (FieldError) or table (DatabaseError) and any other
    error of one probe leave the others untouched.
    """
    from django.db import transaction
    from django.utils import timezone

    now = timezone.now()
    samples: list[Sample] = []
    for probe in PROBES if probes is None else probes:
        name = probe.__name__.removeprefix("probe_")
        try:
            with transaction.atomic():
                found = list(probe(now))
        except LookupError:
            up = 0.0  # the app has not got that model (yet): silent
            found = []
        except Exception as exc:  # noqa: BLE001 - one bad probe must not break the scrape
            logger.info("business metrics probe %s skipped: %s", name, type(exc).__name__)
            up = 0.0
            found = []
        else:
            up = 1.0
        samples.extend(found)
        samples.append(Sample("litemaas_business_probe_up", "1 when the business metrics probe ran.", up, {"probe": name}))
    return samples


def cached_samples() -> list[Sample]:
    """Probe results, shared through the cache for ``METRICS_BUSINESS_CACHE_SECONDS`` across replicas."""
    from django.conf import settings
    from django.core.cache import cache

    ttl = getattr(settings, "METRICS_BUSINESS_CACHE_SECONDS", 15)
    if ttl:
        try:
            cached = cache.get(CACHE_KEY)
        except Exception:  # noqa: BLE001 - a cache outage only costs a fresh round of queries
            cached = None
        if cached is not None:
            return [Sample(**item) for item in cached]
    samples = run_probes()
    if ttl:
        try:
            cache.set(CACHE_KEY, [s.__dict__ for s in samples], ttl)
        except Exception:  # noqa: BLE001
            logger.debug("business metrics not cached", exc_info=True)
    return samples


class BusinessMetricsCollector(Collector):
    """Turns probe samples into gauge families at scrape time."""

    def describe(self) -> list[Any]:
        # Nothing to describe up front: registering must not run queries (it happens at import time).
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.conf import settings

        if not getattr(settings, "METRICS_BUSINESS_ENABLED", True):
            return
        families: dict[str, GaugeMetricFamily] = {}
        for sample in cached_samples():
            family = families.get(sample.name)
            if family is None:
                family = GaugeMetricFamily(sample.name, sample.documentation, labels=sorted(sample.labels))
                families[sample.name] = family
            family.add_metric([sample.labels[k] for k in sorted(sample.labels)], sample.value)
        yield from families.values()


BUSINESS_COLLECTOR = BusinessMetricsCollector()
_registered = threading.Lock()
_registered_once: list[bool] = []


def register_business_collector(registry: CollectorRegistry = REGISTRY) -> None:
    """Register the business collector on the default registry, once per process."""
    with _registered:
        if not _registered_once:
            registry.register(BUSINESS_COLLECTOR)
            _registered_once.append(True)


register_business_collector()


def scrape_registry() -> CollectorRegistry:
    """The registry a web scrape reads: all processes' files in multiprocess mode, else the default one."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(BUSINESS_COLLECTOR)
    return registry


def metrics_view(request: Any) -> Any:
    """``GET /metrics``: the Prometheus text format (replaces django-prometheus' view, which cannot serve a
    custom collector in multiprocess mode).

    Prometheus scrapes pods directly. A request that came through the Route/Ingress (it carries
    ``X-Forwarded-For``) gets a 404, so the numbers are never public; with ``METRICS_TOKEN`` set, a matching
    ``Authorization: Bearer`` header is required as well.
    """
    import hmac

    from django.conf import settings
    from django.http import Http404, HttpResponse

    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Http404
    elif "HTTP_X_FORWARDED_FOR" in request.META and not getattr(settings, "METRICS_ALLOW_PROXIED", False):
        raise Http404
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


# ---------------------------------------------------------------------------------------------------------
# Celery task metrics
# ---------------------------------------------------------------------------------------------------------
TASKS = Counter("litemaas_celery_tasks_total", "Finished Celery task runs by task and state.", ["task", "state"])
TASK_DURATION = Histogram(
    "litemaas_celery_task_duration_seconds",
    "Run time of Celery tasks.",
    ["task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TASK_LAST_SUCCESS = Gauge(
    "litemaas_celery_task_last_success_timestamp_seconds",
    "Unix time a task last succeeded.",
    ["task"],
    multiprocess_mode="max",
)
_started: dict[str, float] = {}


def _task_name(sender: Any, task: Any = None) -> str:
    target = task or sender
    return str(getattr(target, "name", None) or target or "unknown")


def _on_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


def _on_postrun(sender: Any = None, task_id: str | None = None, task: Any = None, state: str | None = None,
                **_: Any) -> None:
    name = _task_name(sender, task)
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        TASK_DURATION.labels(task=name).observe(time.monotonic() - started)
    label = (state or "unknown").lower()
    TASKS.labels(task=name, state=label).inc()
    if label == "success":
        TASK_LAST_SUCCESS.labels(task=name).set(time.time())


def _on_worker_init(**_: Any) -> None:
    port = os.environ.get("CELERY_METRICS_PORT", "").strip()
    if not port:
        return
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    start_http_server(int(port), addr=os.environ.get("CELERY_METRICS_ADDR", "0.0.0.0"), registry=registry)  # noqa: S104
    logger.info("Celery metrics on port %s", port)


class _ProcessMetrics(Collector):
    """The default registry minus the business collector (only the web replicas export those)."""

    def collect(self) -> Iterator[Any]:
        for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 - no public iterator exists
            if collector is not BUSINESS_COLLECTOR:
                yield from collector.collect()


def _on_child_exit(**_: Any) -> None:
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())


_installed: list[bool] = []


def install_task_metrics() -> None:
    """Connect the Celery signals that count and time tasks; in a worker, serve them on ``CELERY_METRICS_PORT``."""
    if _installed:
        return
    from celery.signals import task_postrun, task_prerun, worker_init, worker_process_shutdown

    task_prerun.connect(_on_prerun, weak=False)
    task_postrun.connect(_on_postrun, weak=False)
    worker_init.connect(_on_worker_init, weak=False)
    worker_process_shutdown.connect(_on_child_exit, weak=False)
    _installed.append(True)
