"""The subscription state machine: every allowed status change, and who may make it, in one table.

A change missing here does not exist; ``subscription_transition`` refuses it with 400 ``invalid_transition``
(defect #2 of the inventory: owners could set any status, including approving themselves).
"""
from __future__ import annotations

from enum import StrEnum

from subscriptions.models import SubscriptionStatus as S


class Actor(StrEnum):
    """Who makes a change: the subscription's owner, an admin, or the portal itself (sync, expiry)."""

    OWNER = "owner"
    ADMIN = "admin"
    SYSTEM = "system"


# (from, to) -> who may make the move. ``None`` as "from" is the creation of a new row.
TRANSITIONS: dict[tuple[str | None, str], frozenset[Actor]] = {
    # Subscribe: unrestricted models go straight to active, restricted ones wait for approval.
    # An admin may grant access directly (e.g. while creating a key for a user), bypassing approval.
    (None, S.ACTIVE): frozenset({Actor.OWNER, Actor.ADMIN}),
    (None, S.PENDING): frozenset({Actor.OWNER}),
    # Approval workflow; the system approves when a model stops being restricted.
    (S.PENDING, S.ACTIVE): frozenset({Actor.ADMIN, Actor.SYSTEM}),
    (S.PENDING, S.DENIED): frozenset({Actor.ADMIN}),
    # The owner withdraws a request; the system when the model disappears from LiteLLM.
    (S.PENDING, S.INACTIVE): frozenset({Actor.OWNER, Actor.SYSTEM}),
    # Cancel / model gone; back to review (admin revert, model became restricted); denial; expiry.
    (S.ACTIVE, S.INACTIVE): frozenset({Actor.OWNER, Actor.SYSTEM}),
    (S.ACTIVE, S.PENDING): frozenset({Actor.ADMIN, Actor.SYSTEM}),
    (S.ACTIVE, S.DENIED): frozenset({Actor.ADMIN}),
    (S.ACTIVE, S.EXPIRED): frozenset({Actor.SYSTEM}),
    # The owner asks for another review; an admin reverts a denial either way.
    (S.DENIED, S.PENDING): frozenset({Actor.OWNER, Actor.ADMIN}),
    (S.DENIED, S.ACTIVE): frozenset({Actor.ADMIN}),
    # Re-subscribe (reuses the row), or the model came back after the sync marked it gone.
    (S.INACTIVE, S.ACTIVE): frozenset({Actor.OWNER, Actor.SYSTEM, Actor.ADMIN}),
    (S.INACTIVE, S.PENDING): frozenset({Actor.OWNER, Actor.SYSTEM}),
    (S.EXPIRED, S.ACTIVE): frozenset({Actor.OWNER, Actor.ADMIN}),
    (S.EXPIRED, S.PENDING): frozenset({Actor.OWNER}),
}


def is_allowed(old: str | None, new: str, actor: Actor) -> bool:
    """True when ``actor`` may move a subscription from ``old`` to ``new``."""
    return actor in TRANSITIONS.get((old, new), frozenset())


def targets_for(old: str, actor: Actor) -> list[str]:
    """Statuses ``actor`` may move a subscription in ``old`` to (for admin pages' status pickers)."""
    return [new for (frm, new), actors in TRANSITIONS.items() if frm == old and actor in actors]
