"""Test-only URLconf: the real project URLs plus views that fail in every way an API view can fail.

Used with ``@pytest.mark.urls("tests.litemaas.urls")``; the error handlers are re-exported because Django
looks them up on the active root URLconf.
"""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from litemaas import exceptions
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, IsPortalAdmin
from litemaas.urls import handler400, handler403, handler404, handler500  # noqa: F401
from litemaas.urls import urlpatterns as project_urlpatterns

logger = logging.getLogger("tests.litemaas")

APPLICATION_ERRORS = {
    "validation": exceptions.ValidationFailed(details={"fields": {"name": ["Too short."]}}),
    "transition": exceptions.InvalidTransition(),
    "not-found": exceptions.NotFoundError(),
    "denied": exceptions.PermissionDeniedError(),
    "conflict": exceptions.ConflictError(),
    "upstream": exceptions.UpstreamRejectedError(details={"status": 422}),
    "unavailable": exceptions.ServiceUnavailableError(retry_after=17),
}


class ApplicationErrorView(APIView):
    def get(self, request, kind: str):
        raise APPLICATION_ERRORS[kind]


class DjangoErrorView(APIView):
    def get(self, request, kind: str):
        if kind == "http404":
            raise Http404("nothing here")
        if kind == "permission":
            raise PermissionDenied
        raise DjangoValidationError({"when": ["Not a date."]})


class CrashView(APIView):
    def get(self, request):
        raise RuntimeError("database password is hunter2")


def plain_crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("database password is hunter2")


class OnePerMinute(UserRateThrottle):
    rate = "1/minute"


class ThrottledView(APIView):
    throttle_classes = [OnePerMinute]

    def get(self, request):
        return Response({"ok": True})


class AdminAreaView(APIView):
    """An admin endpoint that reads and writes, like every real one."""

    permission_classes = [IsAuthenticated, IsAdminOrReadOnlyAdmin]

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"written": True})


class AdminOnlyView(APIView):
    permission_classes = [IsPortalAdmin]  # deliberately without TokenScopePermission

    def post(self, request):
        return Response({"written": True})


class LoggingView(APIView):
    def get(self, request):
        logger.warning("inside the view")
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/test/app-error/<str:kind>", ApplicationErrorView.as_view()),
    path("api/v1/test/django-error/<str:kind>", DjangoErrorView.as_view()),
    path("api/v1/test/crash", CrashView.as_view()),
    path("api/v1/test/plain-crash", plain_crash),
    path("api/v1/test/throttled", ThrottledView.as_view()),
    path("api/v1/test/admin-area", AdminAreaView.as_view()),
    path("api/v1/test/admin-only", AdminOnlyView.as_view()),
    path("api/v1/test/log", LoggingView.as_view()),
    *project_urlpatterns,
]
