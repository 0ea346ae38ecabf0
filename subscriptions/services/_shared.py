"""Helpers every ``subscriptions`` service module uses: the machine-readable causes stored on a
subscription and its history, the cross-app key cascade, owner notifications and the admin check."""
from __future__ import annotations

import logging
from typing import Any

from litemaas.exceptions import PermissionDeniedError
from subscriptions.models import SubscriptionStatus

logger = logging.getLogger(__name__)

S = SubscriptionStatus


# Machine-readable causes stored on the subscription and its history.
CAUSE_SUBSCRIBE = "subscribe"
CAUSE_RESUBSCRIBE = "resubscribe"
CAUSE_USER_CANCEL = "user_cancel"
CAUSE_REVIEW_REQUESTED = "review_requested"
CAUSE_APPROVED = "approved"
CAUSE_DENIED = "denied"
CAUSE_ADMIN_STATUS = "admin_status_change"
CAUSE_MODEL_GONE = "model_gone"
CAUSE_MODEL_RETURNED = "model_returned"
CAUSE_MODEL_RESTRICTED = "model_restricted"
CAUSE_MODEL_UNRESTRICTED = "model_unrestricted"
CAUSE_EXPIRED = "expired"


def _keys_cascade(function_name: str, **kwargs: Any) -> Any:
    """Call ``apikeys.services.<function_name>(**kwargs)`` if apikeys provides it (issue #6).

    The contract: the function is safe inside the caller's transaction (it changes key rows locally and
    pushes the change to LiteLLM after commit, via the outbox), never sends ``models: []`` to LiteLLM and
    blocks a key left with no model. Until it exists the cascade is logged and skipped.
    """
    try:
        from apikeys import services as apikey_services
    except ImportError:  # pragma: no cover - the app always exists; kept for partial checkouts
        apikey_services = None
    function = getattr(apikey_services, function_name, None)
    if function is None:
        logger.warning("apikeys.services.%s is missing; key cascade skipped", function_name,
                       extra={"cascade_args": {k: str(v) for k, v in kwargs.items()}})
        return None
    return function(**kwargs)


def _notify(*, user: Any, kind: str, title: str, body: str = "", link: str = "", level: str = "info") -> None:
    from accounts.notifications import notification_create

    notification_create(user=user, kind=kind, title=title, body=body, link=link, level=level)


def _require_admin(actor: Any) -> None:
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError()
