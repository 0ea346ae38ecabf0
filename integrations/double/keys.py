"""The double's virtual keys, daily activity and model traffic (chat completions and embeddings)."""
from __future__ import annotations

import copy
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from integrations.double.state import (
    CHAT_COMPLETION_TOKENS,
    CHAT_PROMPT_TOKENS,
    ENTERPRISE_MESSAGE,
    DoubleState,
    Reply,
    budget_reset,
    detail,
    err,
    err_repr,
    iso,
    now,
    seconds_of,
    sha256,
)

_KEY_LIMITS = ("max_budget", "tpm_limit", "rpm_limit", "max_parallel_requests", "budget_duration")
_METADATA_LIMITS = ("model_rpm_limit", "model_tpm_limit")


def _token_of(value: str) -> str:
    return sha256(value) if value.startswith("sk-") else value


def key_generate(state: DoubleState, body: dict[str, Any]) -> Reply:
    """POST /key/generate (a duplicate key answers 200 and changes nothing, like 1.103.7's upsert)."""
    secret = body.get("key") or f"sk-{uuid.uuid4().hex}"
    if not secret.startswith("sk-"):
        return err_repr(400, f"Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: {secret[:4]}****")
    if len(secret) < 16:
        return err_repr(400, "Invalid key format. LiteLLM Virtual Key must be at least 16 characters long.")
    if body.get("model_max_budget"):
        return err(500, ENTERPRISE_MESSAGE)
    token = sha256(secret)
    metadata = dict(body.get("metadata") or {})
    for name in _METADATA_LIMITS:
        if body.get(name):
            metadata[name] = body[name]
    expires = now() + timedelta(seconds=seconds_of(body["duration"])) if body.get("duration") else None
    key = {
        "token": token, "key_name": f"sk-...{secret[-4:]}", "key_alias": body.get("key_alias"),
        "user_id": body.get("user_id"), "team_id": body.get("team_id"), "models": list(body.get("models") or []),
        "spend": 0.0, "max_budget": body.get("max_budget"), "tpm_limit": body.get("tpm_limit"),
        "rpm_limit": body.get("rpm_limit"), "max_parallel_requests": body.get("max_parallel_requests"),
        "budget_duration": body.get("budget_duration"), "budget_reset_at": budget_reset(body.get("budget_duration")),
        "expires": iso(expires), "blocked": None, "metadata": metadata, "model_max_budget": {},
        "created_at": iso(now()), "_soft_budget": body.get("soft_budget"),
    }
    with state.lock:
        state.keys.setdefault(token, key)  # upsert with an empty "update": an existing key is left alone
    echo = {**{k: v for k, v in key.items() if not k.startswith("_")}, "key": secret, "token_id": token,
            "litellm_budget_table": {"soft_budget": key["_soft_budget"]} if key["_soft_budget"] is not None else None}
    return 200, echo


def key_info(state: DoubleState, query_key: str | None, caller: str) -> Reply:
    """GET /key/info: ``?key=`` with the master key, or the caller's own key when none is given."""
    lookup = query_key or (caller if caller != state.master_key else None)
    with state.lock:
        key = state.keys.get(_token_of(lookup)) if lookup else None
        if key is None:
            return err(404, "Key not found in database", "not_found_error", "key")
        info = state.key_row(key)
        info.pop("token")
        info["status"] = "blocked" if key["blocked"] else "active"
        return 200, {"key": lookup, "info": info}


def key_update(state: DoubleState, body: dict[str, Any]) -> Reply:
    """POST /key/update with 1.103.7's null rules (see integrations/litellm/limits.py)."""
    if body.get("model_max_budget"):
        return err(400, "Authentication Error, " + ENTERPRISE_MESSAGE, "auth_error")
    with state.lock:
        key = state.keys.get(_token_of(str(body.get("key") or "")))
        if key is None:
            return err(404, "Key not found.", "not_found_error", "key")
        refused = _team_change_refused(state, key, body.get("team_id"))
        if refused is not None:
            return refused
        if "metadata" in body:
            key["metadata"] = dict(body["metadata"] or {})  # replaced wholesale, as the proxy does
        for name in _METADATA_LIMITS:
            if body.get(name) is not None:  # null is skipped; {} clears
                key["metadata"][name] = body[name]
        for name in ("models", "key_alias", "team_id", "user_id", "spend", *_KEY_LIMITS):
            if name in body:
                key[name] = body[name]
        if "budget_duration" in body:
            key["budget_reset_at"] = budget_reset(body["budget_duration"])
        if "soft_budget" in body:
            key["_soft_budget"] = body["soft_budget"]
        if "model_max_budget" in body:
            key["model_max_budget"] = body["model_max_budget"]
        if "duration" in body:  # "expires" itself is ignored by the proxy
            duration = body["duration"]
            key["expires"] = (None if duration in (None, "-1")
                              else iso(now() + timedelta(seconds=seconds_of(duration))))
        return 200, {"key": key["token"], **state.key_row(key)}


def _team_change_refused(state: DoubleState, key: dict[str, Any], team_id: Any) -> Reply | None:
    """1.103.7's checks on ``team_id`` in /key/update: the team must exist; a *change* of team also needs
    the team to allow every model of the key, the key's tpm/rpm within the team's, and its owner a member.
    ``null`` (no team) and the current team are never checked."""
    if team_id is None:
        return None
    team = state.teams.get(str(team_id))
    if team is None:
        return err_repr(404, f"Team doesn't exist in db. Team={team_id}. Create team via `/team/new` call.",
                        "auth_error")
    if team_id == key["team_id"]:
        return None
    for model in key["models"]:
        if team["models"] and model not in team["models"] and "all-proxy-models" not in team["models"]:
            return err(403, f"The requested model '{model}' is not available for this API key, or the model name "
                            "is invalid. Check the models available to you and try again.",
                       "team_model_access_denied", "model")
    # As in the proxy, the rpm check only runs when the key has a tpm limit.
    for limit in ("tpm_limit", "rpm_limit") if key["tpm_limit"] is not None else ():
        if key[limit] is not None and team[limit] and key[limit] > team[limit]:
            return err(403, f"Key={key['token']} has a {limit}={key[limit]} which is greater than the team's "
                            f"{limit}={team[limit]}.", "auth_error", "None")
    members = {m["user_id"] for m in team["members_with_roles"]}
    if key["user_id"] is not None and key["user_id"] not in members:
        return err(403, f"User={key['user_id']} is not a member of the team={team_id}. Check team members via "
                        "`/team/info`.", "auth_error", "None")
    return None


def key_delete(state: DoubleState, body: dict[str, Any]) -> Reply:
    """POST /key/delete by key or hash (404 "No keys found" when none matched)."""
    with state.lock:
        tokens = [_token_of(str(k)) for k in body.get("keys") or []]
        deleted = [t for t in tokens if state.keys.pop(t, None) is not None]
        if not deleted:
            return err_repr(404, "No keys found")
        return 200, {"deleted_keys": deleted}


def key_block(state: DoubleState, body: dict[str, Any], *, blocked: bool) -> Reply:
    """POST /key/block and /key/unblock (idempotent)."""
    with state.lock:
        key = state.keys.get(_token_of(str(body.get("key") or "")))
        if key is None:
            return err(404, "Key not found.", "not_found_error", "key")
        key["blocked"] = blocked
        return 200, state.key_row(key)


def key_list(state: DoubleState, params: dict[str, str]) -> Reply:
    """GET /key/list with page/size, user_id/team_id filters and ``return_full_object``."""
    page, size = int(params.get("page", 1)), int(params.get("size", 10))
    with state.lock:
        rows = [k for k in state.keys.values()
                if (not params.get("user_id") or k["user_id"] == params["user_id"])
                and (not params.get("team_id") or k["team_id"] == params["team_id"])]
        chunk = rows[(page - 1) * size: page * size]
        full = params.get("return_full_object") == "true"
        keys = [state.key_row(k) if full else k["token"] for k in chunk]
    return 200, {"keys": keys, "total_count": len(rows), "current_page": page,
                 "total_pages": max(1, -(-len(rows) // size))}


_METRIC_NAMES = ("spend", "prompt_tokens", "completion_tokens", "total_tokens", "successful_requests",
                 "failed_requests", "api_requests")


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_METRIC_NAMES, 0)
    out["spend"] = 0.0
    for r in rows:
        out["spend"] += r["spend"]
        out["prompt_tokens"] += r["prompt_tokens"]
        out["completion_tokens"] += r["completion_tokens"]
        out["total_tokens"] += r["prompt_tokens"] + r["completion_tokens"]
        out["api_requests"] += 1
        out["successful_requests" if r["success"] else "failed_requests"] += 1
    return out


def _breakdown(rows: list[dict[str, Any]], field: str) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r[field]:
            groups[r[field]].append(r)
    out = {}
    for name, members in groups.items():
        per_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in members:
            per_key[r["api_key"]].append(r)
        out[name] = {"metrics": _metrics(members), "metadata": {}, "api_key_breakdown": {
            token: {"metrics": _metrics(rs), "metadata": {"key_alias": rs[0]["key_alias"], "team_id": rs[0]["team_id"],
                                                          "user_id": rs[0]["user_id"]}}
            for token, rs in per_key.items()}}
    return out


def daily_activity(state: DoubleState, params: dict[str, str]) -> Reply:
    """GET /user/daily/activity, paginated like 1.103.7: a page holds ``page_size`` aggregated
    (date, user, key, model) rows, a day can span pages, and ``metadata`` totals only that page."""
    start, end = params.get("start_date"), params.get("end_date")
    if not start or not end:
        return detail(400, "Please provide start_date and end_date")
    page, size = int(params.get("page", 1)), int(params.get("page_size", 50))
    token = params.get("api_key")
    with state.lock:
        rows = [r for r in state.spend_rows if start <= r["date"] <= end
                and (not token or r["api_key"] == token)
                and (not params.get("user_id") or r["user_id"] == params["user_id"])]
    buckets: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        buckets[(r["date"], r["user_id"] or "", r["api_key"], r["model_group"], r["model"])].append(r)
    ordered = sorted(buckets)
    total_pages = -(-len(ordered) // size) if ordered else 0
    chosen = [r for b in ordered[(page - 1) * size: page * size] for r in buckets[b]]
    results = []
    for day in sorted({r["date"] for r in chosen}):
        day_rows = [r for r in chosen if r["date"] == day]
        results.append({"date": day, "metrics": _metrics(day_rows), "breakdown": {
            "models": _breakdown(day_rows, "model"), "model_groups": _breakdown(day_rows, "model_group"),
            "api_keys": {t: {"metrics": _metrics([r for r in day_rows if r["api_key"] == t])}
                         for t in {r["api_key"] for r in day_rows}},
            "providers": {}, "entities": {}, "mcp_servers": {}, "endpoints": {}}})
    totals = {f"total_{k}": v for k, v in _metrics(chosen).items()}
    return 200, {"results": results, "metadata": {**totals, "page": page, "total_pages": total_pages,
                                                  "has_more": page < total_pages}}


def authorize_model_call(state: DoubleState, secret: str, model_name: str | None) -> tuple[Reply | None, dict[str, Any]]:
    """Check a virtual key for a model call the way the proxy does; returns (error reply or None, model)."""
    with state.lock:
        key = state.keys.get(sha256(secret)) if secret.startswith("sk-") else None
        if key is None:
            return err(401, f"Authentication Error, Invalid proxy server token passed. Received API Key = "
                            f"sk-...{secret[-4:]}, Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
                       "token_not_found_in_db", "key"), {}
        if key["blocked"]:
            return err(401, "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
                       "auth_error", "None"), {}
        if key["expires"] and datetime.fromisoformat(key["expires"].replace("Z", "+00:00")) < now():
            return err(401, f"Authentication Error - Expired Key. Key Expiry time {key['expires']}", "expired_key"), {}
        model = state.model_by_name(model_name or "")
        if model is None:
            return err(400, f"/chat/completions: Invalid model name passed in model={model_name}. Call `/v1/models` "
                            "to view available models for your key.", "invalid_request_error"), {}
        fail = None
        if key["models"] and model_name not in key["models"]:
            fail = err(403, f"The requested model '{model_name}' is not available for this API key, or the model "
                            "name is invalid.", "key_model_access_denied", "model")
        user = state.users.get(key["user_id"] or "")
        over_key = key["max_budget"] is not None and key["spend"] >= key["max_budget"]
        over_user = user is not None and user["max_budget"] is not None and user["spend"] >= user["max_budget"]
        if fail is None and (over_key or over_user):
            spent, cap = (key["spend"], key["max_budget"]) if over_key else (user["spend"], user["max_budget"])
            fail = err(429, f"Budget has been exceeded! Key=key ({key['key_name']}) Current cost: {spent}, "
                            f"Max budget: {cap}", "budget_exceeded")
        member = state.member_budgets.get((key.get("team_id") or "", key["user_id"] or ""))
        if fail is None and member is not None and member.get("max_budget") is not None \
                and member["spend"] >= member["max_budget"]:
            fail = err(429, f"Budget has been exceeded! TeamMember={key['user_id']}:{key['team_id']} Current cost: "
                            f"{member['spend']}, Max budget: {member['max_budget']}", "budget_exceeded")
        if fail is not None:
            state.record_usage(token=key["token"], model_group=model_name or "", provider_model=model_name or "",
                               prompt_tokens=0, completion_tokens=0, spend=0.0, success=False)
            return fail, {}
        return None, copy.deepcopy(model)


def model_call(state: DoubleState, secret: str, body: dict[str, Any], *, kind: str) -> tuple[Reply, dict[str, Any]]:
    """Serve a chat completion or embedding for a virtual key and record its usage.

    Returns the reply and, for chat, the pieces the server needs to stream it as SSE.
    """
    failure, model = authorize_model_call(state, secret, body.get("model"))
    if failure is not None:
        return failure, {}
    params = {**model.get("model_info", {}), **model.get("litellm_params", {})}
    if kind == "embeddings":
        inputs = body.get("input")
        inputs = inputs if isinstance(inputs, list) else [inputs]
        prompt, completion = 3 * len(inputs), 0
    else:
        prompt, completion = CHAT_PROMPT_TOKENS, CHAT_COMPLETION_TOKENS
    cost = prompt * float(params.get("input_cost_per_token") or 0) + completion * float(params.get("output_cost_per_token") or 0)
    state.record_usage(token=sha256(secret), model_group=body["model"], provider_model=params.get("model") or body["model"],
                       prompt_tokens=prompt, completion_tokens=completion, spend=cost, success=True)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if kind == "embeddings":
        data = [{"object": "embedding", "index": i, "embedding": [0.125, 0.25, 0.375, 0.5]} for i in range(len(inputs))]
        return (200, {"object": "list", "model": body["model"], "data": data, "usage": usage}), {}
    messages = body.get("messages") or [{}]
    content = f"pong: {messages[-1].get('content', '')}"
    reply = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
             "model": body["model"], "usage": usage,
             "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}
    return (200, reply), {"content": content, "usage": {**usage, "cost": cost}}
