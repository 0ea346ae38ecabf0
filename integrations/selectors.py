"""Read operations of ``integrations``: querysets already scoped to the acting user, LiteLLM status."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User


def users_pending_litellm_sync(*, limit: int = 100) -> QuerySet[User]:
    """Active users whose LiteLLM copy is still ``pending``, oldest first (for the provisioning sweep)."""
    from accounts.models import LiteLLMSyncState, User

    return User.objects.filter(is_active=True, litellm_sync_state=LiteLLMSyncState.PENDING).order_by(
        "date_joined")[:limit]


def litellm_status() -> dict[str, Any]:
    """Everything the admin status page/endpoint shows: reachability, latency, version, breaker details
    and the configured URLs (never the master key). Makes at most two quick calls to LiteLLM (liveness,
    readiness for the version), bypassing the health cache. Never raises."""
    from integrations.health import litellm_health

    return litellm_health(use_cache=False, include_version=True, include_breaker_details=True)
