"""The ``ApplicationError`` family: the errors services raise on purpose.

The API exception handler renders each as ``{"error": {"code", "message", "details", "request_id"}}`` with
the class's ``status_code``; page views show ``message`` to the user. A service never raises a bare
``Exception`` for a user mistake.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A user-facing failure with a stable machine-readable code (400 unless a subclass says otherwise)."""

    status_code = 400
    default_code = "invalid"
    default_message = _("The request could not be processed.")

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None) -> None:
        self.message = str(message or self.default_message)
        self.code = code or self.default_code
        self.details = details if details is not None else {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    """Input that breaks a business rule (field details under ``details.fields``)."""

    status_code = 400
    default_code = "validation_error"
    default_message = _("Some fields are not valid.")


class InvalidTransition(ApplicationError):
    """A state change the object's lifecycle does not allow (e.g. a user approving their own request)."""

    status_code = 400
    default_code = "invalid_transition"
    default_message = _("This change is not allowed from the object's current state.")


class NotFoundError(ApplicationError):
    """The object does not exist or is not the caller's (never say which)."""

    status_code = 404
    default_code = "not_found"
    default_message = _("Not found.")


class PermissionDeniedError(ApplicationError):
    """The caller is known but may not do this."""

    status_code = 403
    default_code = "permission_denied"
    default_message = _("You do not have permission to perform this action.")


class ConflictError(ApplicationError):
    """The change collides with existing state (duplicates, concurrent edits)."""

    status_code = 409
    default_code = "conflict"
    default_message = _("This change conflicts with the current state.")


class ServiceUnavailableError(ApplicationError):
    """A dependency is down; nothing was changed and the client should retry after ``retry_after`` seconds."""

    status_code = 503
    default_code = "service_unavailable"
    default_message = _("A service the portal depends on is unavailable right now; nothing was changed.")

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None,
                 retry_after: int = 30) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class UpstreamRejectedError(ApplicationError):
    """A dependency refused a request the portal considered valid (its reason is in ``details``)."""

    status_code = 502
    default_code = "upstream_rejected"
    default_message = _("The upstream service rejected the request.")
