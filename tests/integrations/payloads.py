"""Reply bodies recorded from LiteLLM 1.103.7 (trimmed of fields the portal never reads)."""
from __future__ import annotations

BASE = "http://litellm.test"
MASTER = "sk-master-secret-value-1234"
USER_ID = "7a7fb132-89d1-417e-8a66-89de85bd5e9d"
TEAM_ID = "a0000000-0000-4000-8000-000000000001"
KEY = "sk-probe-e19f363458414d83ad98eef7c0b8adcd"
TOKEN = "3588b3d55c84d51f8380d56fc0f2aacbbf15730807d7c9bc7bffd195af155bbf"  # sha256(KEY)

MODEL_INFO = {"data": [{
    "model_name": "fake-gpt",
    "litellm_params": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                       "api_base": "http://127.0.0.1:18180/v1", "use_in_pass_through": False, "model": "openai/fake-gpt"},
    "model_info": {"id": "a4e8432089394f620adef6efbaebc12613f982c4612128b6b9ee9cbc4891a161", "db_model": False,
                   "direct_access": True, "key": "openai/fake-gpt", "max_tokens": None, "supports_vision": None},
}]}

MODEL_NEW = {"model_id": "m-1", "model_name": "probe-m1",
             "litellm_params": {"rpm": 10, "tpm": 100, "model": "m6VDYJ8fAP4Ze==", "api_base": "nkmoe3agE3Z31A=="},
             "model_info": {"id": "m-1", "db_model": True, "max_tokens": 4096}}

USER_INFO = {
    "user_id": USER_ID,
    "user_info": {"user_id": USER_ID, "user_alias": "alice", "teams": [TEAM_ID], "user_role": "internal_user",
                  "max_budget": 10.0, "spend": 0.5, "user_email": "a@b.c", "tpm_limit": 2147483647, "rpm_limit": 10,
                  "budget_duration": "30d", "budget_reset_at": "2026-12-01T00:00:00Z", "model_max_budget": {}},
    "keys": [{"token": TOKEN, "key_name": "sk-...adcd", "key_alias": "probe", "spend": 0.0, "max_budget": 5.0,
              "models": ["fake-gpt"], "user_id": USER_ID, "metadata": {}, "blocked": None}],
    "teams": [{"team_id": TEAM_ID, "team_alias": "Default Team"}],
}
USER_NOT_FOUND = {"error": {"message": f"User {USER_ID} not found", "type": "internal_server_error",
                            "param": None, "code": "404"}}
USER_EXISTS = {"error": {"message": f"{{'error': 'User with id {USER_ID} already exists'}}",
                         "type": "internal_server_error", "param": None, "code": "409"}}
USER_NEW = {"key_alias": None, "models": [], "spend": 0.0, "max_budget": 10.0, "user_id": USER_ID, "team_id": None,
            "metadata": {}, "tpm_limit": 1000, "rpm_limit": 10, "budget_duration": "30d", "key": "",
            "user_email": "a@b.c", "user_role": "internal_user", "teams": [TEAM_ID], "user_alias": "alice"}

TEAM = {"team_alias": "Default Team", "team_id": TEAM_ID, "admins": [], "members": [],
        "members_with_roles": [{"user_id": "default_user_id", "user_email": None, "role": "admin"},
                               {"user_id": USER_ID, "user_email": "a@b.c", "role": "user"}],
        "metadata": {}, "tpm_limit": 50000, "rpm_limit": 1000, "max_budget": 10000.0, "soft_budget": None,
        "budget_duration": None, "models": [], "blocked": False, "spend": 0.0}
TEAM_INFO = {"team_id": TEAM_ID, "team_info": TEAM, "keys": [], "team_memberships": []}
TEAM_NOT_FOUND = {"error": {"message": f"{{'message': 'Team not found, passed team id: {TEAM_ID}.'}}",
                            "type": "auth_error", "param": "None", "code": "404"}}
TEAM_EXISTS = {"error": {"message": f"{{'error': 'Team id = {TEAM_ID} already exists. Please use a different team id.'}}",
                         "type": "internal_server_error", "param": None, "code": "400"}}
MEMBER_ALREADY = {"error": {"message": "All users are already in team. Existing members=[...]",
                            "type": "team_member_already_in_team", "param": "member", "code": "400"}}
MEMBER_NOT_IN_TEAM = {"detail": {"error": "User not found in team"}}

KEY_ROW = {"key_alias": "probe_305bedab", "models": ["fake-gpt"], "spend": 0.0, "max_budget": 5.0, "user_id": USER_ID,
           "team_id": None, "max_parallel_requests": 2,
           "metadata": {"portal_key_id": "abc", "model_rpm_limit": {"fake-gpt": 5}, "model_tpm_limit": {"fake-gpt": 50}},
           "tpm_limit": 100, "rpm_limit": 10, "budget_duration": "30d", "model_max_budget": {},
           "model_rpm_limit": None, "model_tpm_limit": None, "blocked": None, "key": KEY, "key_name": "sk-...adcd",
           "expires": "2026-12-23T08:39:33.105744Z", "token_id": TOKEN, "token": TOKEN,
           "litellm_budget_table": {"budget_id": "b1", "max_budget": None, "soft_budget": 4.0}}
KEY_INFO_NESTED = {"key": TOKEN, "info": {k: v for k, v in KEY_ROW.items() if k not in ("key", "token", "token_id")}}
KEY_INFO_FLAT = {k: v for k, v in KEY_ROW.items() if k not in ("key", "token_id")}  # ≤1.74 shape
KEY_NOT_FOUND = {"error": {"message": "Key not found in database", "type": "not_found_error", "param": "key", "code": "404"}}
NO_KEYS_FOUND = {"error": {"message": "{'error': 'No keys found'}", "type": "internal_server_error", "param": None,
                           "code": "404"}}
ENTERPRISE_500 = {"error": {"message": "Invalid model_max_budget: You must have an enterprise license to set "
                                       "model_max_budget. You must be a LiteLLM Enterprise user to use this feature.",
                            "type": "internal_server_error", "param": None, "code": "500"}}


def _metrics(requests: int, spend: float = 0.0, ok: int | None = None) -> dict:
    ok = requests if ok is None else ok
    return {"spend": spend, "prompt_tokens": 11 * ok, "completion_tokens": 7 * ok, "total_tokens": 18 * ok,
            "successful_requests": ok, "failed_requests": requests - ok, "api_requests": requests}


def activity_page(page: int, total_pages: int, rows: list[tuple[str, str, str, int, float]]) -> dict:
    """A /user/daily/activity page from (date, model_group, token, requests, spend) rows."""
    results = {}
    for day, model, token, n, spend in rows:
        entry = results.setdefault(day, {"date": day, "metrics": _metrics(0), "breakdown": {
            "models": {}, "model_groups": {}, "providers": {}, "api_keys": {}, "entities": {}}})
        for name in _metrics(0):
            entry["metrics"][name] += _metrics(n, spend)[name]
        group = entry["breakdown"]["model_groups"].setdefault(model, {"metrics": _metrics(0), "metadata": {},
                                                                      "api_key_breakdown": {}})
        group["api_key_breakdown"][token] = {"metrics": _metrics(n, spend),
                                             "metadata": {"key_alias": None, "user_id": USER_ID}}
        entry["breakdown"]["models"][f"openai/{model}"] = {"metrics": _metrics(n, spend), "api_key_breakdown": {}}
    return {"results": list(results.values()),
            "metadata": {"total_spend": 0.0, "page": page, "total_pages": total_pages, "has_more": page < total_pages}}

# /team/list on 1.103.7: a bare list, each row with its memberships and every key row of the team.
TEAM_LIST = [{**TEAM, "spend": 2.5e-05, "team_memberships": [
    {"user_id": "default_user_id", "team_id": TEAM_ID, "budget_id": None, "spend": 0.0, "total_spend": 0.0,
     "litellm_budget_table": None}], "keys": [{**KEY_ROW, "team_id": TEAM_ID}]}]
KEY_NOT_A_TEAM_MEMBER = {"error": {"message": f"User={USER_ID} is not a member of the team={TEAM_ID}. Check team members "
                                              "via `/team/info`.", "type": "auth_error", "param": "None", "code": "403"}}
TEAM_NOT_IN_DB = {"error": {"message": f"{{'error': \"Team doesn't exist in db. Team={TEAM_ID}. Create team via "
                                       "`/team/new` call.\"}", "type": "auth_error", "param": "None", "code": "404"}}


def user_row(user_id: str, **extra: object) -> dict:
    """One /user/list row (1.103.7: team ids, ``key_count``, no keys)."""
    return {"user_id": user_id, "user_alias": None, "team_id": None, "teams": [TEAM_ID], "user_role": "internal_user",
            "max_budget": None, "spend": 0.0, "user_email": None, "models": [], "metadata": {},
            "max_parallel_requests": None, "tpm_limit": None, "rpm_limit": None, "budget_duration": None,
            "budget_reset_at": None, "key_count": 1, **extra}


def user_list_page(page: int, page_size: int, total: int, user_ids: list[str]) -> dict:
    """One /user/list page as 1.103.7 answers it (``total_pages`` is 0 when there is no user)."""
    return {"users": [user_row(u) for u in user_ids], "total": total, "page": page, "page_size": page_size,
            "total_pages": -(-total // page_size)}
