"""In-memory LiteLLM: users, teams, keys (by SHA-256), models and spend rows, with 1.103.7's semantics.

Each method returns ``(status, body)`` exactly as the real proxy would, quirks included (they are what the
contract suite checks on both): a duplicate ``/key/generate`` answers 200 and stores nothing, ``/user/update``
creates unknown users, user rate limits ignore ``null``, key metadata is replaced wholesale, errors come in
the proxy's three shapes. Not modelled: rate limiting (tpm/rpm), organisations, guardrails, SSO.
"""
from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

Reply = tuple[int, Any]

DEFAULT_ADMIN = {"user_id": "default_user_id", "user_email": None, "role": "admin"}
USER_ROLES = ("proxy_admin", "proxy_admin_viewer", "internal_user", "internal_user_viewer")
# The fake backend behind the real kit answers every chat with 11 prompt + 7 completion tokens.
CHAT_PROMPT_TOKENS, CHAT_COMPLETION_TOKENS = 11, 7
ENTERPRISE_MESSAGE = ("Invalid model_max_budget: You must have an enterprise license to set model_max_budget. "
                      "You must be a LiteLLM Enterprise user to use this feature.")
DEMO_MODELS = [
    {"model_name": "demo-chat", "litellm_params": {"model": "openai/demo-chat", "api_base": "http://double.invalid/v1",
                                                   "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
     "model_info": {"id": "demo-chat-deployment", "max_tokens": 8192, "supports_function_calling": True}},
    {"model_name": "demo-embed", "litellm_params": {"model": "openai/demo-embed", "api_base": "http://double.invalid/v1",
                                                    "input_cost_per_token": 1e-7, "output_cost_per_token": 0.0},
     "model_info": {"id": "demo-embed-deployment", "max_tokens": 512, "supports_embeddings": True,
                    "mode": "embedding"}},
]


def sha256(value: str) -> str:
    """LiteLLM's ``hash_token``."""
    return hashlib.sha256(value.encode()).hexdigest()


def now() -> datetime:
    """UTC now (one place, so tests could patch it)."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with a ``Z`` like the proxy's pydantic output."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def err(status: int, message: str, type_: str = "internal_server_error", param: Any = None) -> Reply:
    """The ``{"error": {...}}`` shape (most endpoints)."""
    return status, {"error": {"message": message, "type": type_, "param": param, "code": str(status)}}


def err_repr(status: int, message: str, type_: str = "internal_server_error") -> Reply:
    """The shape whose message is ``str({'error': ...})`` (HTTPException details re-wrapped)."""
    return err(status, str({"error": message}), type_)


def detail(status: int, message: str) -> Reply:
    """The FastAPI ``{"detail": {"error": ...}}`` shape."""
    return status, {"detail": {"error": message}}


def seconds_of(duration: str) -> int:
    """LiteLLM's ``duration_in_seconds`` for the forms the portal sends (s, m, h, d, mo)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "mo": 30 * 86400}
    for unit in ("mo", "s", "m", "h", "d"):
        if duration.endswith(unit) and duration[: -len(unit)].isdigit():
            return int(duration[: -len(unit)]) * units[unit]
    raise ValueError(f"Invalid duration {duration!r}")


def budget_reset(duration: str | None) -> str | None:
    """A plausible ``budget_reset_at`` (the proxy aligns to calendar boundaries; close enough here)."""
    if not duration:
        return None
    return iso(now() + timedelta(seconds=seconds_of(duration)))


class DoubleState:
    """All objects of one double instance, guarded by one lock."""

    def __init__(self, master_key: str) -> None:
        self.master_key = master_key
        self.lock = threading.RLock()
        self.reset()

    def reset(self, *, seed_models: bool = False) -> None:
        """Forget everything (optionally re-seed the demo models)."""
        with self.lock:
            self.users: dict[str, dict[str, Any]] = {}
            self.teams: dict[str, dict[str, Any]] = {}
            self.keys: dict[str, dict[str, Any]] = {}
            self.models: dict[str, dict[str, Any]] = {}
            self.spend_rows: list[dict[str, Any]] = []
            # (team_id, user_id) → the membership's spend and budget row (``/team/member_update``).
            self.member_budgets: dict[tuple[str, str], dict[str, Any]] = {}
            if seed_models:
                self.seed_models()

    def seed_models(self) -> None:
        """Add the demo models (idempotent)."""
        with self.lock:
            for model in DEMO_MODELS:
                self.models.setdefault(model["model_info"]["id"], copy.deepcopy(model))

    # -- models ----------------------------------------------------------------------------------------

    def model_info(self, model_id: str | None) -> Reply:
        """GET /model/info (all, or one by ``litellm_model_id``)."""
        with self.lock:
            if model_id:
                if model_id not in self.models:
                    return detail(400, f"Model id = {model_id} not found on litellm proxy")
                return 200, {"data": [copy.deepcopy(self.models[model_id])]}
            return 200, {"data": [copy.deepcopy(m) for m in self.models.values()]}

    def model_new(self, body: dict[str, Any]) -> Reply:
        """POST /model/new (the caller may choose ``model_info.id``; a duplicate id is a 500)."""
        params, info = body.get("litellm_params"), dict(body.get("model_info") or {})
        if not body.get("model_name") or not isinstance(params, dict) or not params.get("model"):
            return err(500, "Internal server error")  # what 1.103.7 answers for a missing litellm_params
        with self.lock:
            model_id = str(info.get("id") or uuid.uuid4())
            if model_id in self.models:
                return err_repr(500, "Failed to add model to db. Check your server logs for more details.",
                                "auth_error")
            info["id"] = model_id
            info.setdefault("db_model", False)
            model = {"model_name": body["model_name"], "litellm_params": dict(params), "model_info": info}
            self.models[model_id] = model
            return 200, {"model_id": model_id, **copy.deepcopy(model), "blocked": False,
                         "created_at": iso(now()), "created_by": "default_user_id"}

    def model_update(self, model_id: str, body: dict[str, Any]) -> Reply:
        """PATCH /model/{id}/update (merges params and info)."""
        with self.lock:
            model = self.models.get(model_id)
            if model is None:
                return err(404, f"Model {model_id} not found on proxy.", "not_found_error")
            if body.get("model_name"):
                model["model_name"] = body["model_name"]
            model["litellm_params"].update(body.get("litellm_params") or {})
            model["model_info"].update({k: v for k, v in (body.get("model_info") or {}).items() if k != "id"})
            return 200, {"model_id": model_id, **copy.deepcopy(model)}

    def model_delete(self, model_id: str) -> Reply:
        """POST /model/delete (400 "not found in db" when unknown)."""
        with self.lock:
            if self.models.pop(model_id, None) is None:
                return err_repr(400, f"Model with id={model_id} not found in db", "auth_error")
            return 200, {"message": f"Model: {model_id} deleted successfully"}

    def model_by_name(self, name: str) -> dict[str, Any] | None:
        """The deployment serving a public model name, if any."""
        with self.lock:
            return next((m for m in self.models.values() if m["model_name"] == name), None)

    # -- users -----------------------------------------------------------------------------------------

    def _new_user(self, user_id: str, role: str | None = None) -> dict[str, Any]:
        return {"user_id": user_id, "user_email": None, "user_alias": None, "user_role": role, "teams": [],
                "max_budget": None, "spend": 0.0, "budget_duration": None, "budget_reset_at": None,
                "tpm_limit": None, "rpm_limit": None, "max_parallel_requests": None, "models": [],
                "metadata": {}, "created_at": iso(now()), "updated_at": iso(now())}

    def user_new(self, body: dict[str, Any]) -> Reply:
        """POST /user/new (409 for a duplicate id or e-mail; unknown teams dropped)."""
        role = body.get("user_role")
        if role is not None and role not in USER_ROLES:
            return 422, {"detail": [{"type": "literal_error", "loc": ["body", "user_role"],
                                     "msg": f"Input should be one of {', '.join(USER_ROLES)}", "input": role}]}
        with self.lock:
            user_id = str(body.get("user_id") or uuid.uuid4())
            if user_id in self.users:
                return err_repr(409, f"User with id {user_id} already exists")
            email = (body.get("user_email") or "").lower()
            if email and any((u.get("user_email") or "").lower() == email for u in self.users.values()):
                return err_repr(409, f"User with email {body['user_email']} already exists")
            user = self._new_user(user_id, role)
            for name in ("user_email", "user_alias", "max_budget", "budget_duration", "tpm_limit", "rpm_limit",
                         "max_parallel_requests", "metadata"):
                if body.get(name) is not None:
                    user[name] = body[name]
            user["budget_reset_at"] = budget_reset(user["budget_duration"])
            # Unknown team ids are dropped silently, as the proxy does.
            for team_id in body.get("teams") or []:
                if team_id in self.teams:
                    self._join(team_id, user, "user")
            self.users[user_id] = user
            return 200, {**copy.deepcopy(user), "key": "", "models": [], "spend": 0.0}

    def user_info(self, user_id: str | None) -> Reply:
        """GET /user/info (404 when unknown)."""
        with self.lock:
            user = self.users.get(user_id or "")
            if user is None:
                return err(404, f"User {user_id} not found")
            keys = [self.key_row(k) for k in self.keys.values() if k["user_id"] == user_id]
            teams = [copy.deepcopy(self.teams[t]) for t in user["teams"] if t in self.teams]
            return 200, {"user_id": user_id, "user_info": copy.deepcopy(user), "keys": keys, "teams": teams}

    def user_update(self, body: dict[str, Any]) -> Reply:
        """POST /user/update (upsert; only max_budget/budget_duration honour null)."""
        user_id = body.get("user_id")
        with self.lock:
            # 1.103.7 upserts: an unknown user_id is created (with no role).
            user = self.users.setdefault(user_id, self._new_user(user_id))
            for name, value in body.items():
                if name in ("max_budget", "budget_duration"):
                    user[name] = value  # explicit null clears these two
                    if name == "budget_duration":
                        user["budget_reset_at"] = budget_reset(value)
                elif name in user and name not in ("user_id", "teams") and value is not None and value not in ([], {}):
                    user[name] = value  # every other null is skipped
            user["updated_at"] = iso(now())
            return 200, {"user_id": user_id, "data": copy.deepcopy(user)}

    def user_list(self, params: dict[str, str]) -> Reply:
        """GET /user/list: ``page`` ≥ 1 and ``page_size`` 1..100 (default 25) or 422, ``created_at desc``
        unless ``sort_by``/``sort_order`` say otherwise; rows carry ``key_count`` and no keys."""
        page, size = int(params.get("page", 1)), int(params.get("page_size", 25))
        if page < 1 or not 1 <= size <= 100:
            name, bound = ("page", "greater than or equal to 1") if page < 1 else (
                "page_size", "less than or equal to 100" if size > 100 else "greater than or equal to 1")
            return 422, {"detail": [{"type": "less_than_equal" if "less" in bound else "greater_than_equal",
                                     "loc": ["query", name], "msg": f"Input should be {bound}",
                                     "input": params.get(name)}]}
        sort_by, order = params.get("sort_by"), (params.get("sort_order") or "asc").lower()
        if sort_by is not None and sort_by not in ("user_id", "user_email", "created_at", "spend", "user_alias",
                                                   "user_role"):
            return detail(400, "Invalid sort column. Must be one of: user_id, user_email, created_at, spend, "
                               "user_alias, user_role")
        with self.lock:
            rows = list(self.users.values())
            if sort_by is None:
                rows.sort(key=lambda u: u["created_at"] or "", reverse=True)
            else:
                rows.sort(key=lambda u: (u.get(sort_by) is None, "" if u.get(sort_by) is None else u[sort_by]),
                          reverse=order == "desc")
            page_rows = rows[(page - 1) * size: page * size]
            wanted = {u["user_id"] for u in page_rows}
            counts: dict[str, int] = {}
            for k in self.keys.values():  # one pass over the keys per page, not one per user
                if k["user_id"] in wanted:
                    counts[k["user_id"]] = counts.get(k["user_id"], 0) + 1
            chunk = [{**copy.deepcopy(u), "key_count": counts.get(u["user_id"], 0)} for u in page_rows]
        return 200, {"users": chunk, "total": len(rows), "page": page, "page_size": size,
                     "total_pages": -(-len(rows) // size)}

    # -- teams -----------------------------------------------------------------------------------------

    def _join(self, team_id: str, user: dict[str, Any], role: str) -> None:
        team = self.teams[team_id]
        team["members_with_roles"].append({"user_id": user["user_id"], "user_email": user.get("user_email"),
                                           "role": role})
        if team_id not in user["teams"]:
            user["teams"].append(team_id)

    def team_new(self, body: dict[str, Any]) -> Reply:
        """POST /team/new (400 "already exists" for a duplicate)."""
        with self.lock:
            team_id = str(body.get("team_id") or uuid.uuid4())
            if team_id in self.teams:
                return err_repr(400, f"Team id = {team_id} already exists. Please use a different team id.")
            team = {"team_id": team_id, "team_alias": body.get("team_alias"), "members_with_roles": [dict(DEFAULT_ADMIN)],
                    "models": list(body.get("models") or []), "blocked": False, "spend": 0.0, "metadata": {},
                    "max_budget": body.get("max_budget"), "soft_budget": body.get("soft_budget"),
                    "tpm_limit": body.get("tpm_limit"), "rpm_limit": body.get("rpm_limit"),
                    "budget_duration": body.get("budget_duration"), "max_parallel_requests": None,
                    "created_at": iso(now())}
            team["budget_reset_at"] = budget_reset(team["budget_duration"])
            self.teams[team_id] = team
            # The proxy upserts the master key's user (an internal_user) as the new team's admin.
            admin = self.users.setdefault(DEFAULT_ADMIN["user_id"],
                                          self._new_user(DEFAULT_ADMIN["user_id"], "internal_user"))
            admin["teams"].append(team_id)
            return 200, copy.deepcopy(team)

    def team_info(self, team_id: str | None) -> Reply:
        """GET /team/info (404 when unknown)."""
        with self.lock:
            team = self.teams.get(team_id or "")
            if team is None:
                return err(404, str({"message": f"Team not found, passed team id: {team_id}."}), "auth_error")
            keys = [self.key_row(k) for k in self.keys.values() if k["team_id"] == team_id]
            return 200, {"team_id": team_id, "team_info": copy.deepcopy(team), "keys": keys,
                         "team_memberships": self.team_memberships(team)}

    def team_memberships(self, team: dict[str, Any]) -> list[dict[str, Any]]:
        """``team_memberships`` of ``/team/info`` and ``/team/list``: every member, plus any user given a
        budget by ``/team/member_update`` without being a member (1.103.7 creates that row)."""
        team_id = team["team_id"]
        users = [m["user_id"] for m in team["members_with_roles"]]
        users += [u for (t, u) in self.member_budgets if t == team_id and u not in users]
        rows = []
        for user_id in users:
            slot = self.member_budgets.get((team_id, user_id))
            table = None if slot is None or slot.get("budget_id") is None else {
                k: slot.get(k) for k in ("budget_id", "max_budget", "tpm_limit", "rpm_limit", "budget_duration")}
            spend = 0.0 if slot is None else slot.get("spend", 0.0)
            rows.append({"user_id": user_id, "team_id": team_id, "budget_id": None if table is None else table["budget_id"],
                         "spend": spend, "total_spend": spend, "litellm_budget_table": table})
        return rows

    def team_member_update(self, body: dict[str, Any]) -> Reply:
        """POST /team/member_update: merge-patch the member's budget row (a value sets, null clears, absent
        keeps); no membership check (a non-member gets a row); ``role: admin`` is an Enterprise feature."""
        team_id, user_id = body.get("team_id"), body.get("user_id")
        if team_id is None:
            return detail(400, "No team id passed in")
        if body.get("role") == "admin":
            return 400, {"detail": "Assigning team admins is a premium feature. You must be a LiteLLM Enterprise "
                                   "user to use this feature."}
        if user_id is None and body.get("user_email") is None:
            return detail(400, "Either user_id or user_email needs to be passed in")
        with self.lock:
            team = self.teams.get(team_id)
            if team is None:
                return detail(400, f"Team id={team_id} does not exist in db")
            if user_id is None:
                user_id = next((m["user_id"] for m in team["members_with_roles"]
                                if m.get("user_email") and m["user_email"] == body.get("user_email")), None)
                if user_id is None:
                    return detail(400, f"User id doesn't exist in team table. Data={body}")
            slot = self.member_budgets.setdefault((team_id, user_id), {"spend": 0.0})
            for field, column in (("max_budget_in_team", "max_budget"), ("tpm_limit", "tpm_limit"),
                                  ("rpm_limit", "rpm_limit"), ("budget_duration", "budget_duration")):
                if field in body:
                    slot[column] = body[field]
                    slot.setdefault("budget_id", str(uuid.uuid4()))
        return 200, {"user_id": user_id, "user_email": body.get("user_email"), "team_id": team_id,
                     **{name: body.get(name) for name in ("max_budget_in_team", "tpm_limit", "rpm_limit",
                                                          "budget_duration", "allowed_models", "temp_budget_increase",
                                                          "temp_budget_expiry")}}

    def team_list_v2(self, params: dict[str, str]) -> Reply:
        """GET /v2/team/list: ``page`` ≥ 1 and ``page_size`` 1..100 (default 10) or 422; rows are team rows
        with ``keys_count`` and ``members_count``, no keys and no memberships."""
        page, size = int(params.get("page", 1)), int(params.get("page_size", 10))
        if page < 1 or not 1 <= size <= 100:
            name, bound = ("page", "greater than or equal to 1") if page < 1 else (
                "page_size", "less than or equal to 100" if size > 100 else "greater than or equal to 1")
            return 422, {"detail": [{"type": "less_than_equal" if "less" in bound else "greater_than_equal",
                                     "loc": ["query", name], "msg": f"Input should be {bound}",
                                     "input": params.get(name)}]}
        sort_by, order = params.get("sort_by") or "", (params.get("sort_order") or "asc").lower()
        with self.lock:
            rows = list(self.teams.values())
            if sort_by in ("team_id", "team_alias", "created_at", "spend"):
                rows.sort(key=lambda t: (t.get(sort_by) is None, "" if t.get(sort_by) is None else t[sort_by]),
                          reverse=order == "desc")
            chunk = [{**copy.deepcopy(t), "members_count": len(t["members_with_roles"]),
                      "keys_count": sum(k["team_id"] == t["team_id"] for k in self.keys.values())}
                     for t in rows[(page - 1) * size: page * size]]
        return 200, {"teams": chunk, "total": len(rows), "page": page, "page_size": size,
                     "total_pages": -(-len(rows) // size)}

    def team_list(self) -> Reply:
        """GET /team/list: a bare list of every team sorted by alias, no paging, each with its
        ``team_memberships`` and every key row of the team."""
        with self.lock:
            rows = []
            for team in sorted(self.teams.values(), key=lambda t: t.get("team_alias") or ""):
                memberships = self.team_memberships(team)
                keys = [self.key_row(k) for k in self.keys.values() if k["team_id"] == team["team_id"]]
                rows.append({**copy.deepcopy(team), "team_memberships": memberships, "keys": keys})
            return 200, rows

    def team_update(self, body: dict[str, Any]) -> Reply:
        """POST /team/update (null clears every limit; ``spend`` is not a field: ignored, still 200)."""
        team_id = body.get("team_id")
        with self.lock:
            team = self.teams.get(team_id or "")
            if team is None:
                return err_repr(404, f"Team not found, passed team_id={team_id}")
            for name in ("team_alias", "models", "max_budget", "soft_budget", "tpm_limit", "rpm_limit",
                         "budget_duration"):
                if name in body:
                    team[name] = body[name]
            team["budget_reset_at"] = budget_reset(team["budget_duration"])
            return 200, {"team_id": team_id, "data": copy.deepcopy(team)}

    def team_member_add(self, body: dict[str, Any]) -> Reply:
        """POST /team/member_add (400 when all are members; creates unknown users)."""
        team_id = body.get("team_id")
        members = body.get("member")
        many = isinstance(members, list)
        members = members if many else [members]
        with self.lock:
            if team_id not in self.teams:
                return detail(404, f"Team doesn't exist in db. Team={team_id}. Create team via `/team/new` call.")
            team = self.teams[team_id]
            existing = {m["user_id"] for m in team["members_with_roles"]}
            new = [m for m in members if isinstance(m, dict) and m.get("user_id") not in existing]
            if not new:
                what = "All users are already in team." if many else "User already in team."
                return err(400, f"{what} Existing members={sorted(existing)}", "team_member_already_in_team", "member")
            for member in new:
                # The proxy creates a user it does not know yet.
                user = self.users.setdefault(member["user_id"], self._new_user(member["user_id"], "internal_user"))
                self._join(team_id, user, member.get("role") or "user")
            return 200, copy.deepcopy(team)

    def team_member_delete(self, body: dict[str, Any]) -> Reply:
        """POST /team/member_delete (400 when not a member)."""
        team_id, user_id = body.get("team_id"), body.get("user_id")
        with self.lock:
            team = self.teams.get(team_id or "")
            if team is None:
                return detail(400, f"Team id={team_id} does not exist in db")
            before = len(team["members_with_roles"])
            team["members_with_roles"] = [m for m in team["members_with_roles"] if m["user_id"] != user_id]
            if len(team["members_with_roles"]) == before:
                return detail(400, "User not found in team")
            user = self.users.get(user_id or "")
            if user and team_id in user["teams"]:
                user["teams"].remove(team_id)
            return 200, copy.deepcopy(team)

    # -- keys: see keys.py (mixed in below) ------------------------------------------------------------

    def key_row(self, key: dict[str, Any]) -> dict[str, Any]:
        """A key as ``/key/list``, ``/user/info`` and write replies show it (no secret)."""
        row = {k: copy.deepcopy(v) for k, v in key.items() if not k.startswith("_")}
        row["litellm_budget_table"] = ({"soft_budget": key["_soft_budget"]}
                                       if key.get("_soft_budget") is not None else None)
        return row

    def record_usage(self, *, token: str, model_group: str, provider_model: str, prompt_tokens: int,
                     completion_tokens: int, spend: float, success: bool, day: date | None = None) -> None:
        """Add one spend row (the proxy's daily tables aggregate these)."""
        with self.lock:
            key = self.keys.get(token, {})
            self.spend_rows.append({
                "date": (day or now().date()).isoformat(), "api_key": token, "user_id": key.get("user_id"),
                "key_alias": key.get("key_alias"), "team_id": key.get("team_id"), "model_group": model_group,
                "model": provider_model, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "spend": spend, "success": success,
            })
            if key and success:
                key["spend"] = key.get("spend", 0.0) + spend
                user = self.users.get(key.get("user_id") or "")
                if user is not None:
                    user["spend"] = user.get("spend", 0.0) + spend
                team = self.teams.get(key.get("team_id") or "")
                if team is not None:
                    team["spend"] = team.get("spend", 0.0) + spend
                    member = self.member_budgets.setdefault((team["team_id"], key.get("user_id") or ""),
                                                            {"spend": 0.0})
                    member["spend"] = member.get("spend", 0.0) + spend
