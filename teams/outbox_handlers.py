"""Outbox deliveries owned by ``teams`` (registered by ``TeamsConfig.ready``, so every process has them).

``team.member_cap``: push a member's per-member cap (``Membership.max_budget``) to LiteLLM's
``/team/member_update`` as ``max_budget_in_team``; LiteLLM then refuses the member's team keys once the
member's spend in the team reaches it. Entries are ordered per team with ``team.member_add``, so the member
exists in LiteLLM before its cap is sent.
"""
from __future__ import annotations

from integrations.litellm.errors import LiteLLMRejected
from integrations.models import Outbox
from integrations.outbox import outbox_handler


@outbox_handler("team.member_cap")
def deliver_team_member_cap(entry: Outbox) -> None:
    """Send the member's *current* cap (``payload.user_id``; None clears it). Idempotent: absolute value,
    read at delivery time, so an older entry never overwrites a newer cap. A membership the portal no
    longer has, or an archived team, is skipped. Raises what the client raises (the outbox retries
    ``LiteLLMUnavailable``)."""
    from integrations.litellm.client import get_litellm_client
    from teams.models import Membership, TeamStatus

    user_id = str(entry.payload.get("user_id") or "")
    if not user_id:
        raise LiteLLMRejected(status=0, reason="no user_id in the entry", endpoint="outbox")
    membership = (Membership.objects.select_related("team")
                  .filter(team_id=entry.object_id, user_id=user_id).first())
    if membership is None or membership.team.status != TeamStatus.ACTIVE:
        return
    cap = membership.max_budget
    get_litellm_client().team_member_update(entry.object_id, user_id,
                                            max_budget_in_team=None if cap is None else float(cap))
