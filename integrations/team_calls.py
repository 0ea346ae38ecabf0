"""LiteLLM calls teams need that ``LiteLLMClient`` does not offer yet (to be folded into the client).

Each uses the client's method when it exists, otherwise the client's own transport (same timeout, breaker
and retry policy), with absolute values so a retry is harmless.
"""
from __future__ import annotations

from typing import Any

from integrations.litellm.client import LiteLLMClient, get_litellm_client
from integrations.litellm.errors import LiteLLMRejected
from integrations.litellm.transport import parse_reply, token_of
from integrations.litellm.types import KeyInfo, TeamInfo


def key_set_team(key_or_token: str, team_id: str | None, *, client: LiteLLMClient | None = None) -> KeyInfo:
    """POST /key/update ``{"key": <hash>, "team_id": ...}``: charge the key to a team (``None`` = no team).
    Idempotent, retried. Raises LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected."""
    client = client or get_litellm_client()
    method = getattr(client, "key_set_team", None)
    if method is not None:
        return method(key_or_token, team_id)
    token = token_of(key_or_token)
    reply = client._transport.call("POST", "/key/update", endpoint="/key/update",  # noqa: SLF001
                                   body={"key": token, "team_id": team_id})
    return parse_reply("/key/update", KeyInfo.from_litellm, reply, token=token)


def team_reset_spend(team_id: str, *, client: LiteLLMClient | None = None) -> TeamInfo:
    """Set a team's spend to 0 (``/team/update`` with ``spend: 0``), then re-read it to be sure.

    LiteLLM 1.103.7's ``UpdateTeamRequest`` has no ``spend`` field, so a proxy that ignores it leaves the
    spend unchanged: that is reported as LiteLLMRejected (``team_spend_reset_unsupported``) rather than a
    false success. Idempotent, retried. Raises LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected.
    """
    client = client or get_litellm_client()
    method = getattr(client, "team_reset_spend", None)
    if method is not None:
        return method(team_id)
    client._transport.call("POST", "/team/update", endpoint="/team/update",  # noqa: SLF001
                           body={"team_id": team_id, "spend": 0})
    team = client.team_get(team_id)
    if team is None or team.spend > 0:
        raise LiteLLMRejected(
            "This LiteLLM proxy cannot reset a team's spend; it resets at the end of the budget period.",
            code="team_spend_reset_unsupported", status=400, reason="spend unchanged after /team/update",
            endpoint="/team/update")
    return team


def team_list(*, client: LiteLLMClient | None = None) -> list[TeamInfo] | None:
    """Every team from ``client.team_list()`` when the client has it, else ``None`` (callers then read
    ``/team/info`` per team). Raises LiteLLMUnavailable, LiteLLMRejected."""
    client = client or get_litellm_client()
    method: Any = getattr(client, "team_list", None)
    return list(method()) if method is not None else None


def user_list(*, client: LiteLLMClient | None = None) -> list[Any] | None:
    """Every user from ``client.user_list()`` when the client has it, else ``None``."""
    client = client or get_litellm_client()
    method: Any = getattr(client, "user_list", None)
    return list(method()) if method is not None else None
