"""Key and usage calls of ``LiteLLMClient`` (a mixin, kept apart so each file stays readable).

Keys are always addressed by their SHA-256 hash; the secret is sent once, to ``/key/generate``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from integrations.litellm.errors import LiteLLMAlreadyExists, LiteLLMNotFound
from integrations.litellm.limits import UNSET, limit_fields
from integrations.litellm.transport import hash_key, parse_reply, token_of
from integrations.litellm.types import DailyActivity, KeyDeleteResult, KeyInfo, UserInfo

if TYPE_CHECKING:
    from integrations.litellm.transport import Transport

KEY_LIST_PAGE_SIZE: Final = 100
DAILY_ACTIVITY_PAGE_SIZE: Final = 1000
DAILY_ACTIVITY_MAX_PAGES: Final = 10_000


class KeyCalls:
    """``/key/*`` and ``/user/daily/activity``; needs ``self._transport``."""

    _transport: Transport

    def key_generate(self, *, key: str, models: Sequence[str], user_id: str | None = None,
                     team_id: str | None = None, key_alias: str | None = None,
                     metadata: Mapping[str, Any] | None = None, max_budget: Any = UNSET, soft_budget: Any = UNSET,
                     budget_duration: Any = UNSET, tpm_limit: Any = UNSET, rpm_limit: Any = UNSET,
                     max_parallel_requests: Any = UNSET, model_max_budget: Any = UNSET,
                     model_rpm_limit: Any = UNSET, model_tpm_limit: Any = UNSET, expires: Any = UNSET) -> KeyInfo:
        """POST /key/generate with the portal-chosen secret ``key`` (the only call that carries it).

        Retried because the key value identifies the result: before a retry, and on "already exists",
        ``/key/info`` by hash confirms whether an earlier attempt landed (then that key is the result;
        a key with the same hash but another owner raises LiteLLMAlreadyExists). 1.103.7 answers a
        duplicate with 200 *without* storing anything, which is why the lookup, not the reply, decides.
        ``models`` must not be empty (LiteLLM reads [] as "every model"): ValueError. Raises
        LiteLLMUnavailable, LiteLLMRejected (LiteLLMEnterpriseRequired for ``model_max_budget``).
        """
        if not models:
            raise ValueError("a key needs at least one model ([] means every model in LiteLLM)")
        token = hash_key(key)
        meta = dict(metadata or {})
        body: dict[str, Any] = {"key": key, "models": list(models), "metadata": meta}
        for name, value in (("user_id", user_id), ("team_id", team_id), ("key_alias", key_alias)):
            if value:
                body[name] = value
        body.update(limit_fields("key", creating=True, max_budget=max_budget, soft_budget=soft_budget,
                                 budget_duration=budget_duration, tpm_limit=tpm_limit, rpm_limit=rpm_limit,
                                 max_parallel_requests=max_parallel_requests, model_max_budget=model_max_budget,
                                 model_rpm_limit=model_rpm_limit, model_tpm_limit=model_tpm_limit,
                                 expires=expires))

        def confirm() -> dict[str, Any] | None:
            return self._confirm_key(token, user_id=user_id, metadata=meta)

        try:
            reply = self._transport.call("POST", "/key/generate", endpoint="/key/generate", body=body,
                                         confirm=confirm)
        except LiteLLMAlreadyExists:
            reply = confirm()
            if reply is None:
                raise
        return parse_reply("/key/generate", KeyInfo.from_litellm, reply, token=token)

    def _confirm_key(self, token: str, *, user_id: str | None, metadata: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            body = self._transport.send("GET", "/key/info", endpoint="/key/info", params={"key": token})
        except LiteLLMNotFound:
            return None
        info = dict(body.get("info") or body) if isinstance(body, dict) else {}
        stored_meta = info.get("metadata") if isinstance(info.get("metadata"), dict) else {}
        if info.get("user_id") != user_id or any(stored_meta.get(k) != v for k, v in metadata.items()
                                                 if k == "portal_key_id"):
            raise LiteLLMAlreadyExists(status=409, reason="a different key with this value exists",
                                       endpoint="/key/generate")
        info["token"] = token
        return info

    def key_get(self, key_or_token: str) -> KeyInfo | None:
        """GET /key/info?key=<hash> with the master key; None when unknown (404). Note LiteLLM may keep
        answering for a just-deleted key from its cache. Idempotent, retried."""
        token = token_of(key_or_token)
        try:
            body = self._transport.call("GET", "/key/info", endpoint="/key/info", params={"key": token})
        except LiteLLMNotFound:
            return None
        # ≥1.81 nests the key under "info"; ≤1.74 answered the key object flat.
        return parse_reply("/key/info", lambda b: KeyInfo.from_litellm(b.get("info") or b, token=token), body)

    def key_get_self(self, key: str) -> KeyInfo:
        """GET /key/info authenticated *as the virtual key* (no master key involved): the key's own view.
        Raises LiteLLMRejected (401) for an invalid/blocked/expired key, LiteLLMUnavailable. Idempotent."""
        body = self._transport.call("GET", "/key/info", endpoint="/key/info", api_key=key)
        return parse_reply("/key/info", lambda b: KeyInfo.from_litellm(b.get("info") or b, token=hash_key(key)), body)

    def key_update(self, key_or_token: str, *, models: Any = UNSET, key_alias: Any = UNSET,
                   metadata: Any = UNSET, max_budget: Any = UNSET, soft_budget: Any = UNSET,
                   budget_duration: Any = UNSET, tpm_limit: Any = UNSET, rpm_limit: Any = UNSET,
                   max_parallel_requests: Any = UNSET, model_max_budget: Any = UNSET,
                   model_rpm_limit: Any = UNSET, model_tpm_limit: Any = UNSET, expires: Any = UNSET) -> KeyInfo:
        """POST /key/update by hash with absolute values (None clears, see ``limits.py``; ``expires=None``
        removes the expiry). An empty ``models`` list is refused (ValueError): LiteLLM reads it as "every
        model". Idempotent, retried. Raises LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected."""
        token = token_of(key_or_token)
        body: dict[str, Any] = {"key": token}
        if models is not UNSET:
            if not models:
                raise ValueError("never send an empty model list ([] means every model in LiteLLM)")
            body["models"] = list(models)
        if key_alias is not UNSET:
            body["key_alias"] = key_alias
        if metadata is not UNSET:
            body["metadata"] = self._metadata_keeping_limits(token, metadata, model_rpm_limit, model_tpm_limit)
        body.update(limit_fields("key", max_budget=max_budget, soft_budget=soft_budget,
                                 budget_duration=budget_duration, tpm_limit=tpm_limit, rpm_limit=rpm_limit,
                                 max_parallel_requests=max_parallel_requests, model_max_budget=model_max_budget,
                                 model_rpm_limit=model_rpm_limit, model_tpm_limit=model_tpm_limit,
                                 expires=expires))
        reply = self._transport.call("POST", "/key/update", endpoint="/key/update", body=body)
        return parse_reply("/key/update", KeyInfo.from_litellm, reply, token=token)

    def _metadata_keeping_limits(self, token: str, metadata: Any, rpm: Any, tpm: Any) -> dict[str, Any]:
        # LiteLLM replaces a key's metadata wholesale on update, and 1.103.7 keeps the per-model rate maps
        # *inside* metadata: carry the current maps over unless this update sets them itself.
        merged = dict(metadata or {})
        current = self.key_get(token)
        if current is not None:
            for name, requested in (("model_rpm_limit", rpm), ("model_tpm_limit", tpm)):
                value = getattr(current, name)
                if requested is UNSET and value and name not in merged:
                    merged[name] = value
        return merged

    def key_delete(self, keys: Sequence[str], *, missing_ok: bool = True) -> KeyDeleteResult:
        """POST /key/delete by hash. Returns the hashes LiteLLM deleted; with ``missing_ok`` a 404 "No keys
        found" is an empty result (so it is idempotent and safely retried). Raises LiteLLMUnavailable,
        LiteLLMRejected (LiteLLMNotFound without ``missing_ok``)."""
        tokens = [token_of(k) for k in keys]
        if not tokens:
            return KeyDeleteResult(deleted=[])
        try:
            reply = self._transport.call("POST", "/key/delete", endpoint="/key/delete", body={"keys": tokens})
        except LiteLLMNotFound:
            if missing_ok:
                return KeyDeleteResult(deleted=[])
            raise
        return parse_reply("/key/delete", lambda r: KeyDeleteResult(deleted=list(r.get("deleted_keys") or [])), reply)

    def key_block(self, key_or_token: str) -> KeyInfo:
        """POST /key/block by hash (200 again if already blocked). Idempotent, retried. Raises
        LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected."""
        token = token_of(key_or_token)
        reply = self._transport.call("POST", "/key/block", endpoint="/key/block", body={"key": token})
        return parse_reply("/key/block", KeyInfo.from_litellm, reply, token=token)

    def key_unblock(self, key_or_token: str) -> KeyInfo:
        """POST /key/unblock by hash (200 again if not blocked). Idempotent, retried. Raises
        LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected."""
        token = token_of(key_or_token)
        reply = self._transport.call("POST", "/key/unblock", endpoint="/key/unblock", body={"key": token})
        return parse_reply("/key/unblock", KeyInfo.from_litellm, reply, token=token)

    def key_list(self, *, user_id: str | None = None, team_id: str | None = None,
                 page_size: int = KEY_LIST_PAGE_SIZE) -> list[KeyInfo]:
        """GET /key/list (full objects, every page), optionally for one user or team. Idempotent, retried.
        Raises LiteLLMUnavailable, LiteLLMRejected."""
        params: dict[str, Any] = {"return_full_object": "true", "include_team_keys": "false", "size": page_size}
        if user_id:
            params["user_id"] = user_id
        if team_id:
            params["team_id"] = team_id
        keys: list[KeyInfo] = []
        page = 1
        while True:
            body = self._transport.call("GET", "/key/list", endpoint="/key/list", params={**params, "page": page})
            rows = parse_reply("/key/list", lambda b: b.get("keys", b.get("data")) or [], body)
            keys.extend(parse_reply("/key/list", KeyInfo.from_litellm, row) for row in rows if isinstance(row, dict))
            total_pages = int(body.get("total_pages") or 1)
            if page >= total_pages or not rows:
                return keys
            page += 1

    def key_set_team(self, key_or_token: str, team_id: str | None) -> KeyInfo:
        """POST /key/update ``{"key": <hash>, "team_id": …}``: charge the key to a team (``None`` = no team).

        On 1.103.7 a move to another team is validated: the key's owner must already be a member (403
        "is not a member of the team"), the team must allow every model of the key (403
        ``team_model_access_denied``) and the key's tpm/rpm may not exceed the team's (403). An unknown
        team is a 404 like an unknown key (both LiteLLMNotFound). ``None`` clears without any check.
        Idempotent (absolute value; setting the current team again is not re-validated), retried. Raises
        LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected.
        """
        token = token_of(key_or_token)
        reply = self._transport.call("POST", "/key/update", endpoint="/key/update",
                                     body={"key": token, "team_id": team_id or None})
        return parse_reply("/key/update", KeyInfo.from_litellm, reply, token=token)

    def key_reset_spend(self, key_or_token: str) -> KeyInfo:
        """POST /key/update ``{"spend": 0}`` by hash. Idempotent (absolute value), retried. Raises
        LiteLLMNotFound, LiteLLMUnavailable, LiteLLMRejected."""
        token = token_of(key_or_token)
        reply = self._transport.call("POST", "/key/update", endpoint="/key/update", body={"key": token, "spend": 0})
        return parse_reply("/key/update", KeyInfo.from_litellm, reply, token=token)

    def user_reset_spend(self, user_id: str) -> UserInfo:
        """POST /user/update ``{"spend": 0}``. Idempotent, retried. Raises LiteLLMUnavailable/Rejected
        (note 1.103.7 creates an unknown user here, as for any user update)."""
        reply = self._transport.call("POST", "/user/update", endpoint="/user/update",
                                     body={"user_id": user_id, "spend": 0})
        return parse_reply("/user/update", lambda r: UserInfo.from_litellm(r.get("data") or r), reply)

    # -- usage -----------------------------------------------------------------------------------------

    def daily_activity(self, *, start_date: date, end_date: date, api_key: str | None = None,
                       user_id: str | None = None, page_size: int = DAILY_ACTIVITY_PAGE_SIZE) -> DailyActivity:
        """GET /user/daily/activity over every page, merged into (date, model, key) rows plus totals.

        On 1.103.7 pages cut through days (one day can span pages) and each page's ``metadata`` totals
        only that page, so rows are summed across pages. Models are the public ``model_groups`` (the
        portal's model ids), falling back to ``models`` on releases without groups. ``api_key`` may be a
        secret or a hash. Idempotent, retried. Raises LiteLLMUnavailable, LiteLLMRejected.
        """
        params: dict[str, Any] = {"start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
                                  "page_size": page_size}
        if api_key:
            params["api_key"] = token_of(api_key)
        if user_id:
            params["user_id"] = user_id
        pages: list[Any] = []
        for page in range(1, DAILY_ACTIVITY_MAX_PAGES + 1):
            body = self._transport.call("GET", "/user/daily/activity", endpoint="/user/daily/activity",
                                        params={**params, "page": page})
            pages.append(body)
            metadata = body.get("metadata") if isinstance(body, dict) else None
            if not isinstance(metadata, dict) or not metadata.get("has_more"):
                break
        return parse_reply("/user/daily/activity", DailyActivity.from_pages, pages)
