"""Request-scoped middleware: request ids, deactivated-user sign-out and refusing NUL characters."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from litemaas.logging import request_id_var, user_id_var

# Accept a caller's id only if it is short and harmless, so it can go into logs and headers as is.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Take ``X-Request-ID`` from the caller (or make one), expose it to logs and echo it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        user_token = user_id_var.set("")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            user_id_var.reset(user_token)
        response["X-Request-ID"] = request_id
        return response


class ActiveUserMiddleware:
    """End the session of a user who was deactivated while signed in, and tag logs with the user id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if not user.is_active:
                logout(request)
            else:
                user_id_var.set(str(user.pk))
        return self.get_response(request)


# NUL in a URL, query string or body: PostgreSQL cannot store it in text (Django raises ValueError → 500)
# and no input of this portal can contain it. ``\u0000`` is its JSON escape, ``%00`` its URL encoding.
_NUL_MARKERS = (b"\x00", b"\\u0000", b"%00")
_CHECKED_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


class RejectNulMiddleware:
    """Refuse with 400 (``SuspiciousOperation``, the standard error shape on /api/) any request whose path,
    query string or JSON/form body carries a NUL character, before a view can pass it to the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            raise SuspiciousOperation("A NUL character is not allowed in the request.")
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        query = request.META.get("QUERY_STRING", "").encode("latin-1", "replace").lower()
        if any(marker in query for marker in (b"%00", b"\x00")):
            return True
        content_type = request.content_type or ""
        if request.method in ("GET", "HEAD", "OPTIONS") or content_type not in _CHECKED_BODY_TYPES:
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if not length or length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return False  # nothing to check, or Django itself refuses the oversized body when it is read
        body = request.body.lower()
        return any(marker in body for marker in _NUL_MARKERS)
