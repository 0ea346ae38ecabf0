"""Admin-only write operations on users (used by the Django admin and the admin API)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.models import Role, User
from litemaas.audit import audit_record
from litemaas.exceptions import InvalidTransition, ValidationFailed

STAFF_ROLES = (Role.ADMIN, Role.ADMIN_READONLY)


def user_role_change_check(*, user: User, role: str) -> None:
    """Raise if ``user`` may not be given ``role``; shared by ``user_set_role`` and admin form validation.

    Raises ``ValidationFailed`` (unknown role) and ``InvalidTransition`` (it would demote the last active
    admin, leaving nobody able to change roles back). Reads only.
    """
    if role not in Role.values:
        raise ValidationFailed(details={"fields": {"role": [f"Must be one of: {', '.join(Role.values)}."]}})
    if user.role == Role.ADMIN and role != Role.ADMIN and user.is_active:
        other_admins = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
        if not other_admins.exists():
            raise InvalidTransition("The last active admin cannot be demoted; promote someone else first.")


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: Any, request: HttpRequest | None = None) -> User:
    """Give ``user`` the portal role ``role`` and keep ``is_staff`` in step with it.

    ``is_staff`` is true exactly for ``admin`` and ``admin-readonly``. Raises what
    ``user_role_change_check`` raises. Idempotent: an unchanged role (with a consistent ``is_staff``) saves
    nothing and writes no audit event; otherwise audits ``user.role_change``.
    """
    # Lock the row so two admins changing the same user serialise; the last-admin check reads after it.
    user = User.objects.select_for_update().get(pk=user.pk)
    user_role_change_check(user=user, role=role)
    is_staff = role in STAFF_ROLES
    if user.role == role and user.is_staff == is_staff:
        return user
    previous = user.role
    user.role = role
    user.is_staff = is_staff
    user.save(update_fields=["role", "is_staff"])
    audit_record(
        action="user.role_change",
        actor=actor,
        target_type="user",
        target_id=user.pk,
        metadata={"username": user.username, "from": previous, "to": role},
        request=request,
    )
    return user

