"""Walk Django's URL resolver and list every (route, method) the project serves.

A route is identified by its namespaced URL name (``apikeys-api:apikey-detail``), or by its pattern when it
has no name. Methods come from the view itself: a DRF router's ``actions`` map, a class-based view's
handlers (``http_method_names`` it implements) or, for a function view, the list given to
``require_http_methods``/``require_POST``/``require_GET`` (an undecorated function view serves GET, and
POST too when its body reads ``request.method``/``request.POST``).
"""
from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Framework routes that are not ours to authorise, each with the reason it is left out of the matrix.
EXCLUDED_PREFIXES: dict[str, str] = {
    "admin/": "Django admin internals (staff-only by django.contrib.admin; tests/litemaas/test_admin_site.py)",
    "accounts/": "allauth internals (login, logout, signup, OAuth/OIDC callbacks; tests/accounts/)",
    "api/schema/": "OpenAPI schema (drf-spectacular; fuzzed by tests/fuzz/)",
    "api/docs/": "Swagger UI page of the schema (login_required wrapper around drf-spectacular)",
    "api/redoc/": "ReDoc page of the schema (login_required wrapper around drf-spectacular)",
    "health/": "liveness/readiness probes, anonymous by design (tests/litemaas/test_health.py)",
    "metrics": "Prometheus scrape endpoint (tests/deploy/test_metrics.py)",
    "static/": "static files",
    "media/": "uploaded media",
    "__debug__/": "debug toolbar",
}

SKIP_METHODS = {"options", "head", "trace"}  # answered by the framework for every route


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name, or the pattern when unnamed
    pattern: str
    methods: tuple[str, ...]


def _unwrap_chain(func):
    seen = set()
    while func is not None and id(func) not in seen:
        seen.add(id(func))
        yield func
        func = getattr(func, "__wrapped__", None)


def function_view_methods(callback) -> tuple[str, ...]:
    """Methods a function view accepts (see the module docstring)."""
    for func in _unwrap_chain(callback):
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (list, tuple)) and value and all(
                isinstance(v, str) and v.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} for v in value
            ):
                return tuple(sorted({v.upper() for v in value} - {"HEAD"}))
    innermost = list(_unwrap_chain(callback))[-1]
    try:
        source = inspect.getsource(innermost)
    except (OSError, TypeError):
        source = ""
    methods = {"GET"}
    if "request.method" in source or "request.POST" in source or "request.FILES" in source:
        methods.add("POST")
    return tuple(sorted(methods))


def view_methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(sorted(m.upper() for m in actions if m not in SKIP_METHODS))
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return tuple(sorted(m.upper() for m in cls.http_method_names
                            if m not in SKIP_METHODS and hasattr(cls, m)))
    return function_view_methods(callback)


def _walk(patterns, prefix: str, namespace: str | None) -> Iterator[tuple[str, str | None, object]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace if entry.namespace is None else (
                f"{namespace}:{entry.namespace}" if namespace else entry.namespace)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, entry.callback


def excluded_reason(pattern: str) -> str | None:
    for prefix, reason in EXCLUDED_PREFIXES.items():
        if pattern.startswith(prefix):
            return reason
    return None


def project_routes() -> list[Route]:
    """Every route of the project not covered by ``EXCLUDED_PREFIXES``, with its methods."""
    routes: dict[str, Route] = {}
    for pattern, name, callback in _walk(get_resolver().url_patterns, "", None):
        if excluded_reason(pattern):
            continue
        key = name or pattern
        methods = view_methods(callback)
        if key in routes:  # the same name mounted twice: union of methods
            methods = tuple(sorted(set(methods) | set(routes[key].methods)))
        routes[key] = Route(key, pattern, methods)
    return sorted(routes.values(), key=lambda r: r.name)
