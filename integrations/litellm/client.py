"""``LiteLLMClient``: one method per LiteLLM admin call the portal makes, each returning a typed result.

Built once from settings by :func:`get_litellm_client`. Every call has an explicit timeout, goes through
the shared circuit breaker and, when it is safe, bounded retries (see ``transport.py``). Version
differences (flat vs nested ``/key/info``, 404 vs empty reply for unknown users, text vs JSON liveness,
``models`` vs ``model_groups`` in daily activity) are handled here and nowhere else.

Keys are always addressed by their SHA-256 hash (the secret is sent once, to ``/key/generate``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.signals import setting_changed

from integrations.litellm.breaker import CircuitBreaker
from integrations.litellm.errors import (
    LiteLLMAlreadyExists,
    LiteLLMNotConfigured,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from integrations.litellm.key_calls import KeyCalls
from integrations.litellm.limits import UNSET, limit_fields
from integrations.litellm.transport import Transport, parse_reply
from integrations.litellm.transport import hash_key as hash_key  # re-exported for callers
from integrations.litellm.types import (
    Liveness,
    ModelDeployment,
    Readiness,
    TeamInfo,
    TeamMemberLimits,
    UserInfo,
)

# The only LiteLLM roles the portal ever gives (never proxy_admin: portal admins administer the portal,
# not LiteLLM, and a proxy_admin user could mint keys outside the portal).
ALLOWED_USER_ROLES: Final = ("internal_user", "internal_user_viewer")
# LiteLLM's /model/info answers 500 with this when no model is configured at all (treated as empty).
_NO_MODELS_MESSAGE: Final = "llm model list not loaded"
# /user/list answers 422 for a larger page (1.103.7).
USER_LIST_MAX_PAGE_SIZE: Final = 100
# /v2/team/list answers 422 for a larger page (1.103.7).
TEAM_LIST_MAX_PAGE_SIZE: Final = 100


class LiteLLMClient(KeyCalls):
    """Typed access to one LiteLLM proxy's admin API (see the module docstring)."""

    def __init__(self, *, base_url: str, master_key: str, connect_timeout: float = 3.0,
                 read_timeout: float = 10.0, retry_attempts: int = 3, retry_max_wait: float = 8.0,
                 retry_after_cap: float = 4.0, breaker: CircuitBreaker | None = None,
                 session: requests.Session | None = None) -> None:
        self._transport = Transport(base_url=base_url, master_key=master_key, connect_timeout=connect_timeout,
                                    read_timeout=read_timeout, retry_attempts=retry_attempts,
                                    retry_max_wait=retry_max_wait, retry_after_cap=retry_after_cap,
                                    breaker=breaker, session=session)
        self._master_key = master_key

    def __repr__(self) -> str:
        return f"LiteLLMClient(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The LiteLLM base URL (no trailing slash)."""
        return self._transport.base_url

    @property
    def breaker(self) -> CircuitBreaker | None:
        """The shared circuit breaker (None when built without one)."""
        return self._transport.breaker

    def with_options(self, *, read_timeout: float | None = None, connect_timeout: float | None = None,
                     retry_attempts: int | None = None, retry_max_wait: float | None = None) -> LiteLLMClient:
        """A copy sharing the session and breaker with tighter limits (e.g. the login path)."""
        t = self._transport
        return LiteLLMClient(
            base_url=t.base_url, master_key=self._master_key,
            connect_timeout=connect_timeout if connect_timeout is not None else t.connect_timeout,
            read_timeout=read_timeout if read_timeout is not None else t.read_timeout,
            retry_attempts=retry_attempts if retry_attempts is not None else t.retry_attempts,
            retry_max_wait=retry_max_wait if retry_max_wait is not None else t.retry_max_wait,
            retry_after_cap=t.retry_after_cap, breaker=t.breaker, session=t.session)

    # -- health ----------------------------------------------------------------------------------------

    def liveness(self, *, timeout: float | None = None) -> Liveness:
        """GET /health/liveness (no auth, no retry, not counted by the breaker). Raises LiteLLMUnavailable
        when unreachable. Idempotent. LiteLLM ≥1.81 answers the JSON string ``"I'm alive!"``; older ones
        answered an object or plain text: all count as alive."""
        t = (min(timeout, self._transport.connect_timeout), timeout) if timeout else None
        body = self._transport.call("GET", "/health/liveness", endpoint="/health/liveness", retry=False,
                                    allow_text=True, use_breaker=False, timeout=t)
        if isinstance(body, dict):
            return Liveness(alive=str(body.get("status", "healthy")).lower() in ("healthy", "ok", "alive"),
                            message=str(body.get("status", "")))
        return Liveness(alive=True, message=str(body))

    def readiness(self, *, timeout: float | None = None) -> Readiness:
        """GET /health/readiness/details (authenticated; carries ``litellm_version`` on 1.103.7), falling back
        to /health/readiness on releases without it. No retry, not counted by the breaker. Idempotent."""
        t = (min(timeout, self._transport.connect_timeout), timeout) if timeout else None
        try:
            body = self._transport.call("GET", "/health/readiness/details", endpoint="/health/readiness",
                                        retry=False, use_breaker=False, timeout=t)
        except LiteLLMNotFound:
            body = self._transport.call("GET", "/health/readiness", endpoint="/health/readiness",
                                        retry=False, use_breaker=False, timeout=t)
        return parse_reply("/health/readiness", Readiness.model_validate, body)

    # -- models ----------------------------------------------------------------------------------------

    def model_list(self) -> list[ModelDeployment]:
        """GET /model/info: every deployment (config and DB models). Idempotent, retried.

        Raises LiteLLMUnavailable/LiteLLMRejected. "LLM Model List not loaded" (no model at all) → [].
        """
        try:
            body = self._transport.call("GET", "/model/info", endpoint="/model/info")
        except LiteLLMUnavailable as exc:
            if _NO_MODELS_MESSAGE in str(exc.details.get("reason", "")).lower():
                return []
            raise
        return parse_reply("/model/info", lambda b: [ModelDeployment.model_validate(d) for d in b["data"]], body)

    def model_get(self, model_id: str) -> ModelDeployment | None:
        """GET /model/info?litellm_model_id=…: one deployment, or None if absent (LiteLLM says 400 "not
        found"). Idempotent, retried."""
        try:
            body = self._transport.call("GET", "/model/info", endpoint="/model/info",
                                        params={"litellm_model_id": model_id})
        except LiteLLMNotFound:
            return None
        rows = parse_reply("/model/info", lambda b: [ModelDeployment.model_validate(d) for d in b["data"]], body)
        return next((r for r in rows if r.id == model_id), None)

    def model_create(self, *, model_name: str, litellm_params: Mapping[str, Any],
                     model_info: Mapping[str, Any] | None = None, model_id: str | None = None) -> ModelDeployment:
        """POST /model/new, then re-read the deployment (the reply's ``litellm_params`` are encrypted).

        LiteLLM accepts duplicate ``model_name``s, so this is retried only when the caller chooses
        ``model_id``: before a retry the client looks the id up and treats "already there" as success.
        Raises LiteLLMUnavailable/LiteLLMRejected.
        """
        info = dict(model_info or {})
        if model_id:
            info["id"] = model_id
        body = {"model_name": model_name, "litellm_params": dict(litellm_params), "model_info": info}

        def confirm() -> Any:
            found = self._model_probe(model_id) if model_id else None
            return {"model_id": model_id} if found else None

        reply = self._transport.call("POST", "/model/new", endpoint="/model/new", body=body,
                                     retry=bool(model_id), confirm=confirm if model_id else None)
        new_id = parse_reply("/model/new", lambda r: str(r.get("model_id") or r["model_info"]["id"]), reply)
        created = self.model_get(new_id)
        if created is None:
            raise LiteLLMUnavailable(code="litellm_bad_response",
                                     details={"endpoint": "/model/new", "problem": "created model not readable"})
        return created

    def _model_probe(self, model_id: str) -> bool:
        try:
            body = self._transport.send("GET", "/model/info", endpoint="/model/info",
                                        params={"litellm_model_id": model_id})
        except LiteLLMNotFound:
            return False
        return bool(isinstance(body, dict) and body.get("data"))

    def model_update(self, model_id: str, *, model_name: str | None = None,
                     litellm_params: Mapping[str, Any] | None = None,
                     model_info: Mapping[str, Any] | None = None) -> ModelDeployment:
        """PATCH /model/{id}/update with only the given parts, then re-read the deployment (the reply's
        ``model_info.id`` is not the deployment id on 1.103.7). Idempotent (absolute values), retried.
        Raises LiteLLMNotFound when the deployment is gone, LiteLLMUnavailable, LiteLLMRejected."""
        body: dict[str, Any] = {}
        if model_name is not None:
            body["model_name"] = model_name
        if litellm_params is not None:
            body["litellm_params"] = dict(litellm_params)
        if model_info is not None:
            body["model_info"] = dict(model_info)
        self._transport.call("PATCH", f"/model/{quote(model_id, safe='')}/update",
                             endpoint="/model/{id}/update", body=body)
        updated = self.model_get(model_id)
        if updated is None:
            raise LiteLLMNotFound(status=404, reason=f"model {model_id} vanished after update",
                                  endpoint="/model/{id}/update")
        return updated

    def model_delete(self, model_id: str, *, missing_ok: bool = True) -> bool:
        """POST /model/delete. Returns True if deleted, False if it was already gone (``missing_ok``;
        LiteLLM says 400 "not found in db"). Idempotent, retried. Raises LiteLLMUnavailable/Rejected."""
        try:
            self._transport.call("POST", "/model/delete", endpoint="/model/delete", body={"id": model_id})
        except LiteLLMNotFound:
            if missing_ok:
                return False
            raise
        return True

    # -- users -----------------------------------------------------------------------------------------

    def user_get(self, user_id: str) -> UserInfo | None:
        """GET /user/info?user_id=…: the user and its keys, or None when LiteLLM does not know it (404 on
        ≥1.81; older releases answered 200 with an empty ``user_info``). Idempotent, retried."""
        try:
            body = self._transport.call("GET", "/user/info", endpoint="/user/info", params={"user_id": user_id})
        except LiteLLMNotFound:
            return None
        raw = body.get("user_info") if isinstance(body, dict) else None
        if not isinstance(raw, dict) or not raw.get("user_id"):
            return None
        return parse_reply("/user/info", UserInfo.from_litellm, raw, body.get("keys") or [])

    def user_create(self, *, user_id: str, user_email: str | None = None, user_alias: str | None = None,
                    user_role: str = "internal_user", teams: Sequence[str] = (), max_budget: Any = UNSET,
                    budget_duration: Any = UNSET, tpm_limit: Any = UNSET, rpm_limit: Any = UNSET) -> UserInfo:
        """POST /user/new (no auto-created key). ``teams`` must already exist: LiteLLM silently drops
        unknown team ids. Retried (the id is ours); raises LiteLLMAlreadyExists (409) if the user exists,
        ValueError for a role other than internal_user[_viewer], LiteLLMUnavailable, LiteLLMRejected."""
        _check_role(user_role)
        body: dict[str, Any] = {"user_id": user_id, "user_role": user_role, "auto_create_key": False,
                                "teams": list(teams)}
        if user_email:
            body["user_email"] = user_email
        if user_alias:
            body["user_alias"] = user_alias
        body.update(limit_fields("user", creating=True, max_budget=max_budget, budget_duration=budget_duration,
                                 tpm_limit=tpm_limit, rpm_limit=rpm_limit))
        reply = self._transport.call("POST", "/user/new", endpoint="/user/new", body=body)
        return parse_reply("/user/new", UserInfo.from_litellm, reply)

    def user_update(self, user_id: str, *, user_email: Any = UNSET, user_alias: Any = UNSET,
                    user_role: Any = UNSET, max_budget: Any = UNSET, budget_duration: Any = UNSET,
                    tpm_limit: Any = UNSET, rpm_limit: Any = UNSET) -> UserInfo:
        """POST /user/update with absolute values (None clears a limit the way LiteLLM really clears it,
        see ``limits.py``). Caution: 1.103.7 *creates* an unknown user here (with no role), so call
        ``user_get``/``user_create`` first. Idempotent, retried. Raises LiteLLMUnavailable/Rejected."""
        body: dict[str, Any] = {"user_id": user_id}
        if user_role is not UNSET:
            _check_role(user_role)
            body["user_role"] = user_role
        for name, value in (("user_email", user_email), ("user_alias", user_alias)):
            if value is not UNSET:
                body[name] = value
        body.update(limit_fields("user", max_budget=max_budget, budget_duration=budget_duration,
                                 tpm_limit=tpm_limit, rpm_limit=rpm_limit))
        reply = self._transport.call("POST", "/user/update", endpoint="/user/update", body=body)
        return parse_reply("/user/update", lambda r: UserInfo.from_litellm(r.get("data") or r), reply)

    def user_list(self, *, page_size: int = USER_LIST_MAX_PAGE_SIZE) -> list[UserInfo]:
        """GET /user/list over every page: every LiteLLM user (no keys), e.g. for the reconciler.

        1.103.7 answers ``{"users", "total", "page", "page_size", "total_pages"}``, refuses a ``page_size``
        above 100 (422, so a larger one is a ValueError here) and orders by ``created_at desc`` unless told
        otherwise: the walk asks for ``user_id asc`` so users created meanwhile cannot shift a page, and
        drops repeats. The list includes LiteLLM's own ``default_user_id`` (created with the first team).
        Idempotent, retried. Raises LiteLLMUnavailable, LiteLLMRejected.
        """
        if not 1 <= page_size <= USER_LIST_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{USER_LIST_MAX_PAGE_SIZE} (LiteLLM answers 422 otherwise)")
        users: dict[str, UserInfo] = {}
        page = 1
        while True:
            body = self._transport.call("GET", "/user/list", endpoint="/user/list",
                                        params={"page": page, "page_size": page_size, "sort_by": "user_id",
                                                "sort_order": "asc"})
            rows = parse_reply("/user/list", lambda b: b["users"] if isinstance(b, dict) else b, body) or []
            for row in rows:
                if isinstance(row, dict):
                    user = parse_reply("/user/list", UserInfo.from_litellm, row)
                    users.setdefault(user.user_id, user)
            total_pages = int(body.get("total_pages") or 0) if isinstance(body, dict) else 0
            if page >= total_pages or not rows:
                return list(users.values())
            page += 1

    # -- teams -----------------------------------------------------------------------------------------

    def team_get(self, team_id: str) -> TeamInfo | None:
        """GET /team/info?team_id=…, or None when the team does not exist (404). Idempotent, retried."""
        try:
            body = self._transport.call("GET", "/team/info", endpoint="/team/info", params={"team_id": team_id})
        except LiteLLMNotFound:
            return None
        return parse_reply("/team/info", lambda b: TeamInfo.model_validate(b.get("team_info") or b), body)

    def team_create(self, *, team_id: str, team_alias: str, models: Sequence[str] = (), max_budget: Any = UNSET,
                    soft_budget: Any = UNSET, budget_duration: Any = UNSET, tpm_limit: Any = UNSET,
                    rpm_limit: Any = UNSET) -> TeamInfo:
        """POST /team/new (``models`` empty = every model). Retried (the id is ours); raises
        LiteLLMAlreadyExists (LiteLLM: 400 "already exists"), LiteLLMUnavailable, LiteLLMRejected."""
        body: dict[str, Any] = {"team_id": team_id, "team_alias": team_alias, "models": list(models)}
        body.update(limit_fields("team", creating=True, max_budget=max_budget, soft_budget=soft_budget,
                                 budget_duration=budget_duration, tpm_limit=tpm_limit, rpm_limit=rpm_limit))
        reply = self._transport.call("POST", "/team/new", endpoint="/team/new", body=body)
        return parse_reply("/team/new", TeamInfo.model_validate, reply)

    def team_update(self, team_id: str, *, team_alias: Any = UNSET, models: Any = UNSET, max_budget: Any = UNSET,
                    soft_budget: Any = UNSET, budget_duration: Any = UNSET, tpm_limit: Any = UNSET,
                    rpm_limit: Any = UNSET) -> TeamInfo:
        """POST /team/update with absolute values (None clears). Idempotent, retried. Raises
        LiteLLMNotFound for an unknown team, LiteLLMUnavailable, LiteLLMRejected."""
        body: dict[str, Any] = {"team_id": team_id}
        if team_alias is not UNSET:
            body["team_alias"] = team_alias
        if models is not UNSET:
            body["models"] = list(models)
        body.update(limit_fields("team", max_budget=max_budget, soft_budget=soft_budget,
                                 budget_duration=budget_duration, tpm_limit=tpm_limit, rpm_limit=rpm_limit))
        reply = self._transport.call("POST", "/team/update", endpoint="/team/update", body=body)
        return parse_reply("/team/update", lambda r: TeamInfo.model_validate(r.get("data") or r), reply)

    def team_list(self) -> list[TeamInfo]:
        """GET /team/list: every team the master key sees, in one reply.

        1.103.7 answers a bare JSON list sorted by ``team_alias``, with no paging (``page``/``page_size``
        are ignored) and each row carrying its ``team_memberships`` and *all* its key rows (not parsed
        here); older releases wrapped the list in ``teams``/``data``, still accepted. Idempotent, retried.
        Raises LiteLLMUnavailable, LiteLLMRejected.
        """
        body = self._transport.call("GET", "/team/list", endpoint="/team/list")
        rows = body if isinstance(body, list) else (body.get("teams") or body.get("data") or [])
        return parse_reply("/team/list", lambda r: [TeamInfo.model_validate(t) for t in r if isinstance(t, dict)], rows)

    def team_list_paged(self, *, page_size: int = TEAM_LIST_MAX_PAGE_SIZE) -> list[TeamInfo]:
        """GET /v2/team/list over every page: every team with its spend and budget, *without* key rows.

        1.103.7 answers ``{"teams", "total", "page", "page_size", "total_pages"}``; rows are team rows with
        ``members_with_roles``, ``keys_count`` and ``members_count`` but no keys (unlike ``/team/list``,
        whose rows carry every key of the team). ``page_size`` above 100 is a 422 (a ValueError here). The
        walk asks for ``team_id asc`` and drops repeats. Releases without the route answer 404
        (LiteLLMNotFound: the caller falls back to ``team_get`` per team). Idempotent, retried. Raises
        LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected.
        """
        if not 1 <= page_size <= TEAM_LIST_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{TEAM_LIST_MAX_PAGE_SIZE} (LiteLLM answers 422 otherwise)")
        teams: dict[str, TeamInfo] = {}
        page = 1
        while True:
            body = self._transport.call("GET", "/v2/team/list", endpoint="/v2/team/list",
                                        params={"page": page, "page_size": page_size, "sort_by": "team_id",
                                                "sort_order": "asc"})
            rows = parse_reply("/v2/team/list", lambda b: b["teams"], body) or []
            for team in parse_reply("/v2/team/list",
                                    lambda r: [TeamInfo.model_validate(t) for t in r if isinstance(t, dict)], rows):
                teams.setdefault(team.team_id, team)
            total_pages = int(body.get("total_pages") or 0) if isinstance(body, dict) else 0
            if page >= total_pages or not rows:
                return list(teams.values())
            page += 1

    def team_reset_spend(self, team_id: str) -> TeamInfo:
        """Set a team's spend to 0 with POST /team/update ``{"spend": 0}``, then re-read the team to be sure.

        LiteLLM 1.103.7 has no ``spend`` on ``/team/update``: it answers 200 and leaves the spend as it was
        (a team's spend only resets at the end of its budget period). A spend still above 0 is therefore
        reported as LiteLLMRejected code ``team_spend_reset_unsupported`` rather than a false success; a
        team already at 0 is returned as is. Idempotent, retried. Raises LiteLLMNotFound (unknown team),
        LiteLLMUnavailable, LiteLLMRejected.
        """
        self._transport.call("POST", "/team/update", endpoint="/team/update", body={"team_id": team_id, "spend": 0})
        team = self.team_get(team_id)
        if team is None:
            raise LiteLLMNotFound(status=404, reason=f"team {team_id} vanished after update", endpoint="/team/update")
        if team.spend > 0:
            raise LiteLLMRejected(
                "This LiteLLM proxy cannot reset a team's spend; it resets at the end of the budget period.",
                code="team_spend_reset_unsupported", status=400, reason="spend unchanged after /team/update",
                endpoint="/team/update")
        return team

    def team_member_add(self, team_id: str, user_id: str, *, role: str = "user", exist_ok: bool = True) -> bool:
        """POST /team/member_add. True if added, False if already a member (``exist_ok``). Idempotent,
        retried. Raises LiteLLMNotFound for an unknown team, LiteLLMUnavailable, LiteLLMRejected."""
        body = {"team_id": team_id, "member": [{"user_id": user_id, "role": role}]}
        try:
            self._transport.call("POST", "/team/member_add", endpoint="/team/member_add", body=body)
        except LiteLLMAlreadyExists:
            if exist_ok:
                return False
            raise
        return True

    def team_member_update(self, team_id: str, user_id: str, *, max_budget_in_team: Any = UNSET,
                           tpm_limit: Any = UNSET, rpm_limit: Any = UNSET) -> TeamMemberLimits:
        """POST /team/member_update: the member's own budget (and tpm/rpm) inside the team, which LiteLLM
        enforces on the member's keys charged to the team (429 ``budget_exceeded`` "TeamMember=…",
        429 ``throttling_error`` for rate limits).

        1.103.7 merge-patches the membership's budget row: a given value sets, ``None`` clears, an omitted
        field stays. It does **not** check membership (a non-member gets a budget row and a 200), so call
        it for members only; an unknown team is a 400 "does not exist in db" (LiteLLMNotFound). The role is
        never sent (team ``admin`` needs an Enterprise licence). Idempotent (absolute values), retried.
        Raises LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected.
        """
        body: dict[str, Any] = {"team_id": team_id, "user_id": user_id}
        for name, value in (("max_budget_in_team", max_budget_in_team), ("tpm_limit", tpm_limit),
                            ("rpm_limit", rpm_limit)):
            if value is not UNSET:
                body[name] = None if value is None else (float(value) if name == "max_budget_in_team" else int(value))
        reply = self._transport.call("POST", "/team/member_update", endpoint="/team/member_update", body=body)
        return parse_reply("/team/member_update", TeamMemberLimits.model_validate, reply)

    def team_member_delete(self, team_id: str, user_id: str, *, missing_ok: bool = True) -> bool:
        """POST /team/member_delete. True if removed, False if the user was not a member (``missing_ok``).
        Idempotent, retried. Raises LiteLLMUnavailable, LiteLLMRejected."""
        try:
            self._transport.call("POST", "/team/member_delete", endpoint="/team/member_delete",
                                 body={"team_id": team_id, "user_id": user_id})
        except LiteLLMNotFound:
            if missing_ok:
                return False
            raise
        return True


def _check_role(role: str) -> None:
    if role not in ALLOWED_USER_ROLES:
        raise ValueError(f"the portal never gives the LiteLLM role {role!r}")


@lru_cache(maxsize=1)
def get_litellm_client() -> LiteLLMClient:
    """The process-wide client built from settings (cached; rebuilt when a LITELLM_* setting changes in
    tests). Raises LiteLLMNotConfigured when ``LITELLM_API_URL`` is empty."""
    base_url = str(getattr(settings, "LITELLM_API_URL", "") or "")
    if not base_url:
        raise LiteLLMNotConfigured()
    connect = float(getattr(settings, "LITELLM_CONNECT_TIMEOUT_SECONDS", 3.0))
    read = float(getattr(settings, "LITELLM_READ_TIMEOUT_SECONDS", 10.0))
    breaker = CircuitBreaker(
        name=hashlib.sha256(base_url.encode()).hexdigest()[:12],  # one breaker per LiteLLM instance
        failure_threshold=int(getattr(settings, "LITELLM_BREAKER_FAILURE_THRESHOLD", 5)),
        window_seconds=float(getattr(settings, "LITELLM_BREAKER_WINDOW_SECONDS", 60)),
        cooldown_seconds=float(getattr(settings, "LITELLM_BREAKER_COOLDOWN_SECONDS", 30)),
        recovery_successes=int(getattr(settings, "LITELLM_BREAKER_RECOVERY_SUCCESSES", 2)),
        # A trial call that never reports back frees its slot after one full attempt.
        trial_timeout_seconds=connect + read + 1,
    )
    return LiteLLMClient(
        base_url=base_url,
        master_key=str(getattr(settings, "LITELLM_MASTER_KEY", "") or ""),
        connect_timeout=connect,
        read_timeout=read,
        retry_attempts=int(getattr(settings, "LITELLM_RETRY_ATTEMPTS", 3)),
        retry_max_wait=float(getattr(settings, "LITELLM_RETRY_MAX_WAIT_SECONDS", 8.0)),
        retry_after_cap=float(getattr(settings, "LITELLM_RETRY_AFTER_CAP_SECONDS", 4.0)),
        breaker=breaker,
    )


def _reset_client_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("LITELLM_"):
        get_litellm_client.cache_clear()


setting_changed.connect(_reset_client_on_setting_change, dispatch_uid="integrations.litellm.client")

