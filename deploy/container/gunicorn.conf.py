"""gunicorn configuration for the litemaas web container (``gunicorn -c deploy/container/gunicorn.conf.py``).

Every value can be overridden by the environment (``GUNICORN_*``, ``PORT``) without rebuilding the image.
Logs: gunicorn's own error log and its access log are JSON lines in the same shape as Django's
(``litemaas.logging.JsonFormatter``), secrets masked, and the access log never contains the query string.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from gunicorn import glogging


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def cpu_limit() -> int:
    """CPUs this container may use: the cgroup quota when set (os.cpu_count() shows the whole node)."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
        if quota != "max":
            return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())  # cgroup v1
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota_us > 0:
            return max(1, -(-quota_us // period_us))
    except (OSError, ValueError):
        pass
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{_int_env('PORT', 8000)}")
# Web requests mostly wait on PostgreSQL and LiteLLM: 2 x CPUs + 1 sync workers, capped so the database
# connection count stays predictable (replicas x workers x 1 connection).
workers = _int_env("GUNICORN_WORKERS", min(2 * cpu_limit() + 1, _int_env("GUNICORN_MAX_WORKERS", 8)))
threads = _int_env("GUNICORN_THREADS", 1)  # > 1 switches gunicorn to the gthread worker
# One LiteLLM call can take LITELLM_READ_TIMEOUT_SECONDS (10) x LITELLM_RETRY_ATTEMPTS (3) plus backoff
# (up to LITELLM_RETRY_MAX_WAIT_SECONDS): about 40 s. A worker is killed only well after that.
timeout = _int_env("GUNICORN_TIMEOUT", 60)
# SIGTERM: stop accepting, finish in-flight requests for this long. terminationGracePeriodSeconds (45)
# covers this plus the preStop sleep that lets the router take the pod out of rotation first.
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int_env("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, staggered, so slow leaks never matter.
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int_env("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The heartbeat file lives in memory: the root filesystem is read-only and /tmp may be disk-backed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Only the OpenShift router / ingress controller reaches the pods (NetworkPolicy); trust its X-Forwarded-*.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
# No preload: each worker imports the app after the fork, so OpenTelemetry's exporter thread and the
# database connections belong to the worker that uses them.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
capture_output = False
proc_name = "litemaas-web"
# gunicorn >= 24 opens a control socket under $HOME, which is read-only in the pod; nothing uses it.
control_socket_disable = True
# Probes and scrapes hit every pod every few seconds; their successes would drown the access log.
QUIET_PATHS = frozenset(
    p.strip() for p in os.environ.get("GUNICORN_QUIET_PATHS", "/health/live,/health/ready,/metrics").split(",")
)


class JsonLogger(glogging.Logger):
    """gunicorn's logger with JSON lines (Django's formatter and filters) and a structured access log."""

    def setup(self, cfg):  # noqa: ANN001 - gunicorn's signature
        super().setup(cfg)
        from litemaas.logging import JsonFormatter, RequestContextFilter, SecretRedactingFilter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(RequestContextFilter())
                handler.addFilter(SecretRedactingFilter())

    def access(self, resp, req, environ, request_time):  # noqa: ANN001
        if not getattr(self, "access_log_enabled", True):
            return
        path = environ.get("PATH_INFO", "")  # never the query string: it may carry tokens or e-mails
        status = getattr(resp, "status_code", None)
        if status is None:
            status = int(str(resp.status).split(" ", 1)[0])
        if path in QUIET_PATHS and status < 400:
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        method = environ.get("REQUEST_METHOD", "-")
        try:
            self.access_log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "request_id": environ.get("litemaas.request_id") or headers.get("x-request-id") or "-",
                    "user_id": environ.get("litemaas.user_id", ""),
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "bytes": getattr(resp, "sent", None),
                    "remote_addr": environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
                    or environ.get("REMOTE_ADDR", ""),
                    "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
                },
            )
        except Exception:  # noqa: BLE001 - an access line must never break a response
            self.error_log.exception("access log failed")


logger_class = JsonLogger


def on_starting(server) -> None:  # noqa: ANN001
    """Start with an empty Prometheus multiprocess directory (stale files would add old counts)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def post_worker_init(worker) -> None:  # noqa: ANN001
    """Python warnings go through logging too, so even they come out as JSON lines."""
    logging.captureWarnings(True)


def child_exit(server, worker) -> None:  # noqa: ANN001
    """Drop a dead worker's live gauges from the multiprocess files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker) -> None:  # noqa: ANN001
    """Flush the spans a worker still holds before it goes."""
    try:
        from litemaas.observability import shutdown_tracing

        shutdown_tracing()
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).debug("tracing shutdown failed", exc_info=True)
