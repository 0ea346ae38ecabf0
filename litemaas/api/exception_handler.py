"""One error shape for every API failure: ``{"error": {"code", "message", "details", "request_id"}}``.

DRF's own exceptions, Django's ``Http404``/``PermissionDenied``/``ValidationError``, our
``ApplicationError`` family and anything unexpected all end here; an unexpected exception is logged with
its traceback and answered with a generic 500 that never carries a stack trace.
"""
from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from litemaas.exceptions import ApplicationError, ServiceUnavailableError
from litemaas.logging import current_request_id

logger = logging.getLogger(__name__)

# A lost or unreachable database (restart, failover, connect/statement timeout) is an outage, not a bug:
# 503 with this Retry-After, so clients and load balancers back off briefly (reliability.md §5 scenario 20).
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable_body() -> dict[str, Any]:
    """The error body of a request that failed because the database could not be reached."""
    return error_body("database_unavailable", _("The service is temporarily unavailable. Please try again shortly."))


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Build the standard error body (also used by the 404/500 handlers for /api/ paths)."""
    return {
        "error": {
            "code": code,
            "message": str(message),
            "details": details if details is not None else {},
            "request_id": current_request_id(),
        }
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: map any exception to the standard error shape and status."""
    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        if isinstance(exc, ServiceUnavailableError):
            headers["Retry-After"] = str(exc.retry_after)
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code, headers=headers)

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=_django_validation_detail(exc))

    if isinstance(exc, drf_exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            # Round up: "0" would invite an immediate retry that is still throttled.
            headers["Retry-After"] = str(math.ceil(exc.wait))  # type: ignore[attr-defined]
        return Response(_drf_body(exc), status=exc.status_code, headers=headers)

    if isinstance(exc, DATABASE_ERRORS):
        logger.warning("Database unavailable: %s", type(exc).__name__, exc_info=True)
        return Response(database_unavailable_body(), status=503,
                        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})

    logger.exception("Unhandled API error", extra={"view": type(context.get("view")).__name__})
    return Response(error_body("server_error", _("An unexpected error occurred. It has been logged.")), status=500)


def _drf_body(exc: drf_exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = {key: _flatten(value) for key, value in detail.items() if key != "non_field_errors"}
            details: dict[str, Any] = {"fields": fields}
            if "non_field_errors" in detail:
                details["non_field_errors"] = _flatten(detail["non_field_errors"])
        else:
            details = {"non_field_errors": _flatten(detail)}
        return error_body("validation_error", _("Some fields are not valid."), details)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    message = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc.default_detail)
    details: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
        details["retry_after_seconds"] = math.ceil(exc.wait)
    return error_body(str(code), message, details)


def _flatten(value: Any) -> Any:
    if isinstance(value, list):
        return [_flatten(item) for item in value]
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    return str(value)


def _django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return exc.messages
