"""Typed results of LiteLLM calls: every reply is parsed into one of these before it leaves the client.

LiteLLM adds fields in almost every release, so unknown fields are ignored; the fields the portal reads are
validated. Version differences in *shape* (flat vs nested ``/key/info``, ``models`` vs ``model_groups`` in
daily activity, sentinel "no limit" values) are resolved in the ``from_litellm`` constructors, once.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from integrations.litellm.limits import read_limit


def _none_to_false(value: Any) -> Any:
    return False if value is None else value


def _none_to_zero(value: Any) -> Any:
    return 0 if value is None else value


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_empty_dict(value: Any) -> Any:
    return {} if value is None else value


Limit = Annotated[int | None, BeforeValidator(read_limit)]
Money = Annotated[float | None, BeforeValidator(read_limit)]
Flag = Annotated[bool, BeforeValidator(_none_to_false)]
Amount = Annotated[float, BeforeValidator(_none_to_zero)]
Count = Annotated[int, BeforeValidator(_none_to_zero)]
StrList = Annotated[list[str], BeforeValidator(_none_to_empty_list)]
JsonObject = Annotated[dict[str, JsonValue], BeforeValidator(_none_to_empty_dict)]


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Liveness(_Result):
    """``/health/liveness``: ``"I'm alive!"`` as a JSON string (≥1.81) or a JSON object (older)."""

    alive: bool
    message: str


class Readiness(_Result):
    """``/health/readiness[/details]``: database state and, when LiteLLM tells, its version."""

    status: str
    db: str | None = None
    version: str | None = Field(default=None, validation_alias="litellm_version")


class ModelParams(BaseModel):
    """``litellm_params`` of a deployment; unknown fields are kept so the sync can store the object."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: str | None = None
    api_base: str | None = None
    custom_llm_provider: str | None = None
    tpm: int | None = None
    rpm: int | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None


class ModelDetails(BaseModel):
    """``model_info`` of a deployment (``id`` is the deployment id used for update/delete)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    db_model: bool | None = None
    max_tokens: int | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    supports_vision: bool | None = None
    supports_function_calling: bool | None = None
    supports_parallel_function_calling: bool | None = None
    supports_tool_choice: bool | None = None
    supports_embeddings: bool | None = None
    supports_embedding: bool | None = None
    direct_access: bool | None = None


class ModelDeployment(_Result):
    """One entry of ``/model/info``: public ``model_name`` plus the deployment's params and info."""

    model_name: str
    litellm_params: ModelParams
    model_info: ModelDetails

    @property
    def id(self) -> str:
        """The deployment id (``model_info.id``)."""
        return self.model_info.id


class ModelBudget(_Result):
    """One entry of a key's ``model_max_budget``."""

    budget_limit: float
    time_period: str | None = None


class KeyInfo(_Result):
    """A virtual key as LiteLLM reports it; ``token`` is the SHA-256 hex of the secret."""

    token: str
    key_alias: str | None = None
    key_name: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    models: StrList = []
    spend: Amount = 0.0
    max_budget: Money = None
    soft_budget: Money = None
    tpm_limit: Limit = None
    rpm_limit: Limit = None
    max_parallel_requests: Limit = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    expires: datetime | None = None
    blocked: Flag = False
    metadata: JsonObject = {}
    model_max_budget: dict[str, ModelBudget] | None = None
    model_rpm_limit: dict[str, int] | None = None
    model_tpm_limit: dict[str, int] | None = None
    created_at: datetime | None = None

    @classmethod
    def from_litellm(cls, raw: Mapping[str, Any], *, token: str | None = None) -> KeyInfo:
        """Parse any of LiteLLM's key shapes (generate/update/block/list rows, ``/key/info``'s ``info``).

        ``soft_budget`` lives in ``litellm_budget_table`` and the per-model rate maps in ``metadata`` on
        1.103.7; older releases had them top-level. ``token`` fills in the hash ``/key/info`` omits.
        """
        data = dict(raw)
        data["token"] = data.get("token") or token
        budget_table = data.get("litellm_budget_table") or {}
        if data.get("soft_budget") is None and isinstance(budget_table, dict):
            data["soft_budget"] = budget_table.get("soft_budget")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        for name in ("model_rpm_limit", "model_tpm_limit", "model_max_budget"):
            value = data.get(name) or metadata.get(name)
            data[name] = read_limit(value)
        return cls.model_validate(data)


class TeamMember(_Result):
    """A member as ``members_with_roles`` lists it."""

    user_id: str | None = None
    user_email: str | None = None
    role: str = "user"


class TeamInfo(_Result):
    """A LiteLLM team (``team_id`` = the portal team UUID)."""

    team_id: str
    team_alias: str | None = None
    max_budget: Money = None
    soft_budget: Money = None
    tpm_limit: Limit = None
    rpm_limit: Limit = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    models: StrList = []
    blocked: Flag = False
    spend: Amount = 0.0
    members: list[TeamMember] = Field(default_factory=list, validation_alias="members_with_roles")

    @property
    def member_ids(self) -> set[str]:
        """User ids of every member."""
        return {m.user_id for m in self.members if m.user_id}


class TeamMemberLimits(_Result):
    """A member's own limits inside a team (``/team/member_update``'s reply; ``None`` = no limit)."""

    team_id: str
    user_id: str
    max_budget_in_team: Money = None
    tpm_limit: Limit = None
    rpm_limit: Limit = None


class UserInfo(_Result):
    """A LiteLLM user (``user_id`` = the portal user UUID) with the keys LiteLLM lists for it."""

    user_id: str
    user_email: str | None = None
    user_alias: str | None = None
    user_role: str | None = None
    max_budget: Money = None
    spend: Amount = 0.0
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    tpm_limit: Limit = None
    rpm_limit: Limit = None
    max_parallel_requests: Limit = None
    teams: StrList = []
    keys: list[KeyInfo] = []

    @classmethod
    def from_litellm(cls, raw: Mapping[str, Any], keys: list[Mapping[str, Any]] | None = None) -> UserInfo:
        """Parse a user object (``user_info`` of ``/user/info``, ``data`` of ``/user/update``, or the
        flat ``/user/new`` reply) and the optional key list."""
        data = dict(raw)
        teams = data.get("teams") or []
        # /user/info's top-level "teams" are objects; user_info.teams and /user/new's are ids.
        data["teams"] = [t.get("team_id") if isinstance(t, dict) else t for t in teams]
        data["keys"] = [KeyInfo.from_litellm(k) for k in keys or [] if isinstance(k, dict) and k.get("token")]
        return cls.model_validate(data)


class UsageMetrics(_Result):
    """Counters LiteLLM reports per day / model / key."""

    spend: Amount = 0.0
    prompt_tokens: Count = 0
    completion_tokens: Count = 0
    total_tokens: Count = 0
    api_requests: Count = 0
    successful_requests: Count = 0
    failed_requests: Count = 0

    def plus(self, other: UsageMetrics) -> UsageMetrics:
        """Field-wise sum (the same day/model/key can appear on several pages)."""
        return type(self)(**{name: getattr(self, name) + getattr(other, name)
                             for name in UsageMetrics.model_fields})


class DailyActivityRow(UsageMetrics):
    """Usage of one key on one model on one UTC day (the portal's DailyUsage grain)."""

    date: date
    model: str
    api_key_hash: str
    user_id: str | None = None
    key_alias: str | None = None


class DailyActivity(_Result):
    """All pages of ``/user/daily/activity`` merged: rows by (date, model, key) and overall totals.

    ``totals`` also counts requests that never reached a model (auth failures), which have no row.
    """

    rows: list[DailyActivityRow]
    totals: UsageMetrics
    pages: int

    @classmethod
    def from_pages(cls, pages: list[Any]) -> DailyActivity:
        """Merge raw pages: sum rows sharing (date, model, key) and the day-level metrics for totals."""
        merged: dict[tuple[str, str, str], dict[str, Any]] = {}
        totals = UsageMetrics()
        for page in pages:
            for day in page.get("results") or []:
                totals = totals.plus(UsageMetrics.model_validate(day.get("metrics") or {}))
                breakdown = day.get("breakdown") or {}
                # model_groups (public model_name) exists since ~1.80; before, "models" was keyed by it.
                groups = breakdown["model_groups"] if "model_groups" in breakdown else breakdown.get("models")
                for model, entry in (groups or {}).items():
                    for token, per_key in ((entry or {}).get("api_key_breakdown") or {}).items():
                        metrics = UsageMetrics.model_validate(per_key.get("metrics") or {})
                        meta = per_key.get("metadata") or {}
                        slot = merged.setdefault((day["date"], model, token), {
                            "metrics": UsageMetrics(), "user_id": meta.get("user_id"),
                            "key_alias": meta.get("key_alias")})
                        slot["metrics"] = slot["metrics"].plus(metrics)
        rows = [DailyActivityRow(date=day_, model=model, api_key_hash=token, user_id=slot["user_id"],
                                 key_alias=slot["key_alias"], **slot["metrics"].model_dump())
                for (day_, model, token), slot in sorted(merged.items())]
        return cls(rows=rows, totals=totals, pages=len(pages))


class KeyDeleteResult(_Result):
    """Hashes LiteLLM says it deleted (empty when nothing matched and ``missing_ok`` was set)."""

    deleted: list[str]
