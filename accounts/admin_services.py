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


_UNSET: Any = object()


@transaction.atomic
def user_set_limits(*, user: User, actor: Any, max_budget: Any = _UNSET, budget_duration: Any = _UNSET,
                    tpm_limit: Any = _UNSET, rpm_limit: Any = _UNSET, push: bool = True, reason: str = "",
                    request: HttpRequest | None = None) -> User:
    """Set ``user``'s LiteLLM limits (``None`` = no limit; omitted = unchanged) and, with ``push``, record the
    change in the outbox in the same transaction so it reaches LiteLLM even while LiteLLM is down (the user
    shows ``pending`` sync until it is delivered). ``push=False`` is for adopting LiteLLM's values (the
    reconciler's ``litellm_wins``). Raises ``ValidationFailed`` for negative values. Audited ``user.limits``.
    Idempotent: unchanged values save nothing.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    wanted = {"max_budget": max_budget, "budget_duration": budget_duration, "tpm_limit": tpm_limit,
              "rpm_limit": rpm_limit}
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        if value is _UNSET:
            continue
        if name == "budget_duration":
            value = value or ""
        elif value is not None and value < 0:
            errors.setdefault(name, []).append("Must not be negative.")
            continue
        if getattr(user, name) != value:
            changes[name] = value
    if errors:
        raise ValidationFailed(details={"fields": errors})
    if not changes:
        return user
    for name, value in changes.items():
        setattr(user, name, value)
    fields = list(changes)
    if push:
        from integrations.outbox import outbox_enqueue

        user.litellm_sync_state = "pending"
        fields.append("litellm_sync_state")
        outbox_enqueue(object_type="user", object_id=user.pk, operation="user.sync",
                       payload={"fields": sorted(changes)})
    user.save(update_fields=fields)
    audit_record(action="user.limits", actor=actor, target_type="user", target_id=user.pk, request=request,
                 metadata={"username": user.username, "pushed": push, "reason": reason[:200],
                           "changes": {k: (None if v is None else str(v)) for k, v in changes.items()}})
    return user
