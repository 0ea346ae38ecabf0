"""Base permissions shared by every API: token scope, admin and read-only admin roles."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class TokenScopePermission(BasePermission):
    """A read-only personal access token may only make safe (GET/HEAD/OPTIONS) requests.

    ``PersonalAccessTokenAuthentication`` already refuses such requests for every view, including views
    that replace the default permission classes; this stays as the documented default and a second guard.
    """

    message = _("This token is read-only.")
    code = "token_read_only"

    def has_permission(self, request: Request, view: Any) -> bool:
        token = getattr(request, "auth", None)
        if token is None or not hasattr(token, "is_read_only"):
            return True
        return request.method in SAFE_METHODS or not token.is_read_only


class IsPortalAdmin(BasePermission):
    """Only full admins (role ``admin``)."""

    message = _("This action needs the admin role.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_admin", False))


class IsAdminOrReadOnlyAdmin(BasePermission):
    """Admins may do anything; read-only admins may read (safe methods) and nothing else."""

    message = _("This action needs the admin role.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if getattr(user, "is_admin", False):
            return True
        return request.method in SAFE_METHODS and getattr(user, "is_readonly_admin", False)
