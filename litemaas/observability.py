"""OpenTelemetry tracing for every litemaas process: web (Django), worker (Celery), outbound HTTP and SQL.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; then spans
go over OTLP/HTTP (protobuf) to ``<endpoint>/v1/traces``. Everything else follows the standard ``OTEL_*``
variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_TRACES_SAMPLER``...), which the SDK reads itself.

Where it is called:

- ``litemaas/wsgi.py`` before the WSGI handler is built (the Django instrumentation inserts a middleware,
  so it must run before the middleware chain is loaded). gunicorn does not preload the app, so each
  worker process builds its own exporter thread after the fork.
- ``litemaas/celery.py`` connects :func:`install_celery_hooks`, which sets tracing up in every prefork
  child (``worker_process_init``), as the Celery instrumentation requires.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_configured: dict[str, Any] = {}


def tracing_endpoint() -> str:
    """The OTLP endpoint from the environment, or "" when tracing is off."""
    if os.environ.get("OTEL_TRACING_ENABLED", "true").strip().lower() in {"0", "false", "no", "off"}:
        return ""
    return (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    )


def configure_tracing(component: str) -> bool:
    """Set up the tracer provider and instrumentations once per process; return whether tracing is on.

    ``component`` (``web``, ``worker``, ``beat``) becomes the ``service.instance.role`` resource attribute
    so one service name covers the whole portal. Idempotent: later calls return the first result. Never
    raises: a broken tracing setup is logged and the process runs untraced.
    """
    with _lock:
        if "enabled" in _configured:
            return bool(_configured["enabled"])
        endpoint = tracing_endpoint()
        if not endpoint:
            _configured["enabled"] = False
            return False
        try:
            _configured["provider"] = _setup_provider(component)
            _instrument_libraries(component)
        except Exception:  # noqa: BLE001 - tracing must never stop the portal from starting
            logger.exception("OpenTelemetry setup failed; running without tracing")
            _configured["enabled"] = False
            return False
        _configured["enabled"] = True
        logger.info("OpenTelemetry tracing on", extra={"otel_component": component})
        return True


def _setup_provider(component: str) -> Any:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {"service.instance.role": component}
    if "OTEL_SERVICE_NAME" not in os.environ:
        attributes["service.name"] = "litemaas"
    provider = TracerProvider(resource=Resource.create(attributes))
    # The exporter appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT (or uses the _TRACES_ one as is).
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _instrument_libraries(component: str) -> None:
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # Health probes and scrapes would drown real traffic: never trace them.
    os.environ.setdefault("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", "health/live,health/ready,metrics")
    os.environ.setdefault("OTEL_PYTHON_REQUESTS_EXCLUDED_URLS", "")
    RequestsInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    if component == "web":
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    else:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        CeleryInstrumentor().instrument()


def shutdown_tracing() -> None:
    """Flush and stop the exporter (called at process exit by gunicorn and Celery hooks)."""
    provider = _configured.get("provider")
    if provider is not None:
        try:
            provider.shutdown()
        except Exception:  # noqa: BLE001 - best effort at exit
            logger.warning("OpenTelemetry shutdown failed", exc_info=True)


def install_celery_hooks() -> None:
    """Connect the Celery signals that set tracing up in each worker child and flush it at shutdown."""
    from celery.signals import beat_init, worker_process_init, worker_process_shutdown

    def _init_child(**_: Any) -> None:
        configure_tracing("worker")

    def _init_beat(**_: Any) -> None:
        configure_tracing("beat")

    def _flush(**_: Any) -> None:
        shutdown_tracing()

    worker_process_init.connect(_init_child, weak=False)
    beat_init.connect(_init_beat, weak=False)
    worker_process_shutdown.connect(_flush, weak=False)


class AccessLogContextMiddleware:
    """Leave the request id and the user id in the WSGI environ for gunicorn's JSON access log.

    The access line is written after the response, when the request's logging context has been reset;
    ``request.META`` is the very environ dict gunicorn passes to its access logger, so the ids travel there.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        request.META["litemaas.request_id"] = getattr(request, "request_id", "")
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            request.META["litemaas.user_id"] = str(user.pk)
        return response
