"""Write operations on a user's own profile (the fields a user may change about themselves)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from litemaas.audit import audit_record

# The only fields a user may change about themselves; role, limits and flags go through admin services.
SELF_EDITABLE_FIELDS = ("full_name", "preferred_language", "preferred_theme")


@transaction.atomic
def user_update_profile(*, user: User, changes: dict[str, Any], request: HttpRequest | None = None) -> User:
    """Apply ``changes`` (a subset of ``SELF_EDITABLE_FIELDS``, already validated) to ``user``'s profile.

    Raises ``ValueError`` for any other field (a programming error: the API refuses them first). Saves and
    audits ``user.profile_update`` only when a value actually changes, so it is idempotent.
    """
    forbidden = set(changes) - set(SELF_EDITABLE_FIELDS)
    if forbidden:
        raise ValueError(f"not self-editable: {sorted(forbidden)}")
    changed = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if not changed:
        return user
    for name, value in changed.items():
        setattr(user, name, value)
    user.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in changed])
    user.save(update_fields=sorted(changed))
    audit_record(
        action="user.profile_update",
        actor=user,
        target_type="user",
        target_id=user.pk,
        metadata={"changed": sorted(changed)},
        request=request,
    )
    return user
