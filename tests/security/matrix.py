"""The authorisation matrix: for every route and method, the status each actor gets on each owner's objects.

Actors (``tests/security/conftest.py``): ``anon``; ``alice`` (member of team A); ``bob`` (member of team B);
``carol`` (admin of team A, an ordinary portal user); ``ro`` (portal admin-readonly); ``admin``.

Each row names the route (namespaced URL name, as the resolver walk in ``routes.py`` reports it), the method,
a path template and, for object routes, whose objects it is tried on:

- ``owners="users"``: once per owner in ``alice bob carol ro admin``; placeholders ``{key} {sub} {pending}
  {token} {user} {notification}`` are that owner's objects.
- ``owners="teams"``: once per team ``A`` and ``B``; ``{team}`` is the team, ``{member}`` its plain member
  (alice in A, bob in B).
- otherwise one cell per actor; ``{banner} {outbox} {drift}`` are shared objects, ``{alice_user}`` etc. ids.

``expect`` maps (actor, owner) to the expected status. A status >= 400, or one wrapped in ``refused()``
(pages that redirect back with an error message), is a refusal: the test then also proves that no portal
table changed and that LiteLLM received no call.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

USERS = ("alice", "bob", "carol")
TEAM_OF = {"alice": "A", "carol": "A", "bob": "B"}
TEAM_MANAGERS = {"A": ("carol", "admin"), "B": ("admin",)}
TEAM_MEMBERS = {"A": ("alice", "carol", "admin"), "B": ("bob", "admin")}
TEAM_MEMBER = {"A": "alice", "B": "bob"}  # {member}: the team's plain member
TEAM_PEER = {"A": "carol", "B": "admin"}  # {peer}: another member (A's team admin, B's only owner)


class Refused(int):
    """A status that is a refusal although it is not an error (a page redirecting back with a message)."""

    refused = True


def refused(status: int) -> Refused:
    return Refused(status)


class Attempted(int):
    """An error status that is not a refusal: the caller was authorised and the operation ran and failed
    (it may record the failure, e.g. on the drift item)."""

    refused = False


def is_refusal(status: int) -> bool:
    flag = getattr(status, "refused", None)
    return flag if flag is not None else status >= 400


Expect = Callable[[str, str | None], int]


@dataclass(frozen=True)
class Row:
    route: str
    method: str
    path: str
    expect: Expect
    owners: str = ""  # "", "users" or "teams"
    body: Any = None
    form: bool = False  # page POST: form-encoded (otherwise JSON)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- policies
def table(default: int, **per_actor: int | Callable[[str | None], int]) -> Expect:
    """``default`` for everyone, ``per_actor`` overrides (a value may depend on the owner)."""

    def expect(actor: str, owner: str | None) -> int:
        value = per_actor.get(actor, default)
        return value(owner) if callable(value) else value

    return expect


def api_signed_in(ok: int = 200) -> Expect:
    """Any signed-in actor, about themselves (no owner)."""
    return table(ok, anon=401)


def public(ok: int = 200) -> Expect:
    return table(ok)


def api_admin_read(ok: int = 200, *, user: int = 403) -> Expect:
    """Read by both admin roles; ordinary users get ``user``."""
    return table(ok, anon=401, alice=user, bob=user, carol=user)


def api_admin_write(ok: int = 200, *, user: int = 403, ro: int = 403) -> Expect:
    """Only full admins; the read-only admin gets ``ro``."""
    return table(ok, anon=401, alice=user, bob=user, carol=user, ro=ro)


def api_own(ok: int = 200, *, other: int = 404, anon: int = 401, admins: int | None = None) -> Expect:
    """Object routes scoped to the caller: the owner gets ``ok``, everyone else ``other`` (both admin roles
    too, unless ``admins`` says otherwise)."""

    def expect(actor: str, owner: str | None) -> int:
        if actor == "anon":
            return anon
        if actor == owner:
            return ok
        if admins is not None and actor in ("ro", "admin"):
            return admins
        return other

    return expect


def api_team(ok: int = 200, *, manage: bool = False, member_refused: int = 403, ro: int | None = None,
             anon: int = 401, manager: int | None = None, self_ok: bool = False, last_owner: int | None = None,
             target: str = "member") -> Expect:
    """Team routes: members (or managers, when ``manage``) get ``ok``; other members ``member_refused``;
    outsiders 404. Portal admins own both teams. ``ro`` (admin-readonly, not a member) defaults to 404;
    ``manager`` overrides what team managers get; ``self_ok`` lets a member act on their own membership
    (``target`` = the placeholder the path uses); ``last_owner`` is what removing B's only owner gives."""

    def expect(actor: str, team: str | None) -> int:
        subject = TEAM_PEER[team] if target == "peer" else TEAM_MEMBER[team]
        if actor == "anon":
            return anon
        if actor == "ro":
            return 404 if ro is None else ro
        if last_owner is not None and subject == "admin" and actor == "admin":
            return last_owner
        if actor == "admin":
            return ok
        if actor not in TEAM_MEMBERS[team]:
            return 404
        if self_ok and actor == subject:
            return ok
        if manage and actor in TEAM_MANAGERS[team] and manager is not None:
            return manager
        if manage and actor not in TEAM_MANAGERS[team]:
            return member_refused
        return ok

    return expect


def page_signed_in(ok: int = 200) -> Expect:
    return table(ok, anon=302)


def page_own(ok: int = 200, *, other: int = 404) -> Expect:
    return api_own(ok, other=other, anon=302)


def page_admin_read(ok: int = 200, *, user: int = 404) -> Expect:
    return table(ok, anon=302, alice=user, bob=user, carol=user)


def page_admin_write(ok: int = 302, *, user: int = 404, ro: int = 403) -> Expect:
    return table(ok, anon=302, alice=user, bob=user, carol=user, ro=ro)


def page_team(ok: int = 200, *, manage: bool = False, member_refused: int = 403, ro: int | None = None) -> Expect:
    return api_team(ok, manage=manage, member_refused=member_refused, ro=ro, anon=302)



# --------------------------------------------------------------------------------------------- bodies
KEY_BODY = {"name": "new-key", "model_ids": ["gpt-sec"]}
BANNER_BODY = {"name": "New", "content": {"en": "Hello"}, "style": "info", "is_active": False}
MODEL_BODY = {"id": "gpt-new", "backend_model_name": "openai/gpt-new", "api_base": "http://127.0.0.1:9/v1",
              "provider": "openai"}
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")

A = "/api/v1"

# --------------------------------------------------------------------------------------------- the matrix
MATRIX: list[Row] = [
    # ---- accounts: /me and personal access tokens
    Row("accounts-api:me", "GET", f"{A}/me", api_signed_in()),
    Row("accounts-api:me", "PATCH", f"{A}/me", api_signed_in(), body={"full_name": "Renamed"}),
    Row("accounts-api:token-list", "GET", f"{A}/tokens", api_signed_in()),
    Row("accounts-api:token-list", "POST", f"{A}/tokens", api_signed_in(201),
        body={"name": "ci", "scope": "read", "expires_in_days": 7}),
    Row("accounts-api:token-detail", "DELETE", f"{A}/tokens/{{token}}", api_own(204), owners="users"),
    Row("accounts:tokens", "GET", "/tokens/", page_signed_in()),
    Row("accounts:tokens", "POST", "/tokens/", page_signed_in(200), form=True,
        body={"name": "ci", "scope": "read", "expires_in_days": "7"}),
    Row("accounts:token-revoke", "GET", "/tokens/{token}/revoke/", page_own(), owners="users"),
    Row("accounts:token-revoke", "POST", "/tokens/{token}/revoke/", page_own(302), owners="users", form=True),
    Row("accounts:notifications", "GET", "/notifications/", page_signed_in()),
    Row("accounts:notifications-read", "POST", "/notifications/read", page_own(302, other=refused(302)),
        owners="users", form=True, body={"id": "{notification}"}, note="someone else's id is ignored"),
    # ---- portal (litemaas): banners, branding, settings, audit
    Row("litemaas-api:banners", "GET", f"{A}/banners", public(), note="the login page shows banners too"),
    Row("litemaas-api:banner-dismiss", "POST", f"{A}/banners/{{banner}}/dismiss", api_signed_in(204)),
    Row("litemaas-api:branding", "GET", f"{A}/branding", public()),
    Row("litemaas-api:branding", "PATCH", f"{A}/branding", api_admin_write(), body={"login_title": "Hi"}),
    Row("litemaas-api:branding-image", "GET", f"{A}/branding/images/login-logo", public(404)),
    Row("litemaas-api:branding-image", "PUT", f"{A}/branding/images/login-logo", api_admin_write(),
        body={"data": PNG_1PX}),
    Row("litemaas-api:branding-image", "DELETE", f"{A}/branding/images/login-logo", api_admin_write(204)),
    Row("litemaas-api:currencies", "GET", f"{A}/currencies", api_signed_in()),
    Row("litemaas-api:admin-settings", "GET", f"{A}/admin/settings", api_admin_read()),
    Row("litemaas-api:admin-settings", "PATCH", f"{A}/admin/settings", api_admin_write(),
        body={"new_user_rpm_limit": 60}),
    Row("litemaas-api:audit-event-list", "GET", f"{A}/admin/audit-events", api_admin_read()),
    Row("litemaas-api:admin-banner-list", "GET", f"{A}/admin/banners", api_admin_read()),
    Row("litemaas-api:admin-banner-list", "POST", f"{A}/admin/banners", api_admin_write(201), body=BANNER_BODY),
    Row("litemaas-api:admin-banner-detail", "GET", f"{A}/admin/banners/{{banner}}", api_admin_read()),
    Row("litemaas-api:admin-banner-detail", "PUT", f"{A}/admin/banners/{{banner}}", api_admin_write(),
        body=BANNER_BODY),
    Row("litemaas-api:admin-banner-detail", "PATCH", f"{A}/admin/banners/{{banner}}", api_admin_write(),
        body={"priority": 3}),
    Row("litemaas-api:admin-banner-detail", "DELETE", f"{A}/admin/banners/{{banner}}", api_admin_write(204)),
    Row("litemaas-api:admin-banner-history", "GET", f"{A}/admin/banners/{{banner}}/history", api_admin_read()),
    Row("home", "GET", "/", page_signed_in()),
    Row("set-theme", "POST", "/preferences/theme", page_signed_in(302), form=True, body={"theme": "dark"}),
    Row("portal:set-language", "POST", "/preferences/language", public(302), form=True, body={"language": "fr"}),
    Row("portal:onboarding-dismiss", "POST", "/preferences/onboarding", page_signed_in(302), form=True),
    Row("portal:banner-dismiss", "POST", "/banners/{banner}/dismiss", page_signed_in(302), form=True),
    Row("portal:branding-image", "GET", "/branding/images/login-logo", public(404)),
    Row("portal:help", "GET", "/help/", page_signed_in()),
    Row("portal:help-page", "GET", "/help/admin-guide/", page_admin_read(user=404)),
    Row("portal:admin-overview", "GET", "/manage/overview/", page_admin_read(user=403)),
    Row("portal:admin-audit", "GET", "/manage/audit/", page_admin_read(user=403)),
    Row("portal:admin-settings", "GET", "/manage/settings/", page_admin_read(user=403)),
    Row("portal:admin-settings", "POST", "/manage/settings/", page_admin_write(user=403), form=True,
        body={"currency_code": "USD", "new_user_rpm_limit": "60"}),
    Row("portal:admin-banners", "GET", "/manage/banners/", page_admin_read(user=403)),
    Row("portal:admin-banner-create", "GET", "/manage/banners/new", page_admin_read(user=403)),
    Row("portal:admin-banner-create", "POST", "/manage/banners/new", page_admin_write(user=403), form=True,
        body={"name": "New", "content_en": "Hello", "style": "info"}),
    Row("portal:admin-banner-edit", "GET", "/manage/banners/{banner}/", page_admin_read(user=403)),
    Row("portal:admin-banner-edit", "POST", "/manage/banners/{banner}/", page_admin_write(user=403), form=True,
        body={"name": "Renamed", "content_en": "Hello", "style": "info"}),
    Row("portal:admin-banner-visibility", "POST", "/manage/banners/{banner}/visibility", page_admin_write(user=403),
        form=True, body={"is_active": "false"}),
    Row("portal:admin-banner-delete", "POST", "/manage/banners/{banner}/delete", page_admin_write(user=403), form=True),
    Row("portal:admin-banner-history", "GET", "/manage/banners/{banner}/history", page_admin_read(user=403)),
    Row("portal:admin-branding", "GET", "/manage/branding/", page_admin_read(user=403)),
    Row("portal:admin-branding", "POST", "/manage/branding/", page_admin_write(user=403), form=True,
        body={"action": "texts", "login_title": "Hi"}),
    # ---- subscriptions: catalogue, own subscriptions, admin queue and models
    Row("subscriptions-api:model-list", "GET", f"{A}/models", public()),
    Row("subscriptions-api:model-detail", "GET", f"{A}/models/gpt-sec", public()),
    Row("subscriptions-api:subscription-list", "GET", f"{A}/subscriptions", api_signed_in()),
    Row("subscriptions-api:subscription-list", "POST", f"{A}/subscriptions", api_signed_in(201),
        body={"model_id": "gpt-spare"}),
    Row("subscriptions-api:subscription-detail", "GET", f"{A}/subscriptions/{{sub}}", api_own(), owners="users"),
    Row("subscriptions-api:subscription-cancel", "POST", f"{A}/subscriptions/{{sub}}/cancel", api_own(),
        owners="users"),
    Row("subscriptions-api:subscription-request-review", "POST", f"{A}/subscriptions/{{pending}}/request-review",
        api_own(), owners="users", body={"reason": "please"}),
    Row("subscriptions-api:admin-subscription-list", "GET", f"{A}/admin/subscriptions", api_admin_read()),
    Row("subscriptions-api:admin-subscription-detail", "GET", f"{A}/admin/subscriptions/{{pending}}",
        api_admin_read(), owners="users"),
    Row("subscriptions-api:admin-subscription-detail", "DELETE", f"{A}/admin/subscriptions/{{pending}}",
        api_admin_write(204), owners="users"),
    Row("subscriptions-api:admin-subscription-status", "POST", f"{A}/admin/subscriptions/{{pending}}/status",
        api_admin_write(), owners="users", body={"status": "active", "reason": "ok"}),
    Row("subscriptions-api:admin-subscription-approve", "POST", f"{A}/admin/subscriptions/approve",
        api_admin_write(), owners="users", body={"subscription_ids": ["{pending}"], "reason": "ok"}),
    Row("subscriptions-api:admin-subscription-deny", "POST", f"{A}/admin/subscriptions/deny",
        api_admin_write(), owners="users", body={"subscription_ids": ["{pending}"], "reason": "no"}),
    Row("subscriptions-api:admin-model-list", "GET", f"{A}/admin/models", api_admin_read()),
    Row("subscriptions-api:admin-model-list", "POST", f"{A}/admin/models", api_admin_write(201), body=MODEL_BODY),
    Row("subscriptions-api:admin-model-detail", "GET", f"{A}/admin/models/gpt-sec", api_admin_read()),
    Row("subscriptions-api:admin-model-detail", "PUT", f"{A}/admin/models/gpt-sec", api_admin_write(),
        body={"description": "x"}),
    Row("subscriptions-api:admin-model-detail", "PATCH", f"{A}/admin/models/gpt-sec", api_admin_write(),
        body={"description": "x"}),
    Row("subscriptions-api:admin-model-detail", "DELETE", f"{A}/admin/models/gpt-sec", api_admin_write(204)),
    Row("subscriptions-api:admin-model-sync", "POST", f"{A}/admin/models/sync", api_admin_write(), body={}),
    Row("subscriptions-api:admin-model-test", "POST", f"{A}/admin/models/test", api_admin_write(),
        body={"api_base": "http://127.0.0.1:9/v1", "backend_model_name": "openai/x"}),
    Row("subscriptions-api:admin-sync-run-list", "GET", f"{A}/admin/sync-runs", api_admin_read()),
    Row("subscriptions:catalogue", "GET", "/models/", public(), note="the catalogue is public"),
    Row("subscriptions:model-detail", "GET", "/models/gpt-sec", public()),
    Row("subscriptions:list", "GET", "/subscriptions/", page_signed_in()),
    Row("subscriptions:subscribe", "POST", "/subscriptions/new", page_signed_in(302), form=True,
        body={"model_id": "gpt-spare"}),
    Row("subscriptions:cancel", "POST", "/subscriptions/{sub}/cancel", page_own(302, other=refused(302)),
        owners="users", form=True),
    Row("subscriptions:request-review", "POST", "/subscriptions/{pending}/request-review",
        page_own(302, other=refused(302)), owners="users", form=True, body={"reason": "please"}),
    Row("subscriptions:admin-models", "GET", "/manage/models/", page_admin_read(user=403)),
    Row("subscriptions:admin-models", "POST", "/manage/models/", page_admin_write(user=403), form=True, body=MODEL_BODY),
    Row("subscriptions:admin-model-edit", "GET", "/manage/models/edit/gpt-sec", page_admin_read(user=403)),
    Row("subscriptions:admin-model-edit", "POST", "/manage/models/edit/gpt-sec", page_admin_write(user=403), form=True,
        body={"description": "x"}),
    Row("subscriptions:admin-model-delete", "POST", "/manage/models/delete/gpt-sec", page_admin_write(user=403), form=True),
    Row("subscriptions:admin-model-sync", "POST", "/manage/models/sync", page_admin_write(user=403), form=True),
    Row("subscriptions:admin-model-test", "POST", "/manage/models/test", page_admin_write(200, user=403), form=True,
        body={"api_base": "http://127.0.0.1:9/v1", "backend_model_name": "openai/x"}),
    Row("subscriptions:admin-queue", "GET", "/manage/subscriptions/", page_admin_read(user=403)),
    Row("subscriptions:admin-queue-bulk", "POST", "/manage/subscriptions/bulk", page_admin_write(user=403), owners="users",
        form=True, body={"subscription_ids": "{pending}", "action": "approve", "reason": "ok"}),
    Row("subscriptions:admin-subscription-status", "POST", "/manage/subscriptions/{pending}/status",
        page_admin_write(user=403), owners="users", form=True, body={"status": "active", "reason": "ok"}),
    Row("subscriptions:admin-subscription-delete", "POST", "/manage/subscriptions/{pending}/delete",
        page_admin_write(user=403), owners="users", form=True, body={"reason": "gone"}),
    # ---- apikeys: own keys, admin keys for users, settings, playground
    Row("apikeys-api:apikey-list", "GET", f"{A}/api-keys", api_signed_in()),
    Row("apikeys-api:apikey-list", "POST", f"{A}/api-keys", api_signed_in(201), body=KEY_BODY),
    Row("apikeys-api:apikey-detail", "GET", f"{A}/api-keys/{{key}}", api_own(), owners="users"),
    Row("apikeys-api:apikey-detail", "PATCH", f"{A}/api-keys/{{key}}", api_own(), owners="users",
        body={"name": "renamed"}),
    Row("apikeys-api:apikey-detail", "DELETE", f"{A}/api-keys/{{key}}", api_own(), owners="users",
        note="revocation answers the key (200, or 202 while LiteLLM is pending)"),
    Row("apikeys-api:apikey-block", "POST", f"{A}/api-keys/{{key}}/block", api_own(), owners="users", body={}),
    Row("apikeys-api:apikey-unblock", "POST", f"{A}/api-keys/{{key}}/unblock", api_own(), owners="users",
        note="unblocking an active key is a no-op"),
    Row("apikeys-api:apikey-reset-spend", "POST", f"{A}/api-keys/{{key}}/reset-spend", api_own(),
        owners="users"),
    Row("apikeys-api:apikey-revoke", "POST", f"{A}/api-keys/{{key}}/revoke", api_own(), owners="users", body={}),
    Row("apikeys-api:apikey-rotate", "POST", f"{A}/api-keys/{{key}}/rotate", api_own(201), owners="users",
        body={}),
    Row("apikeys-api:key-self", "GET", f"{A}/keys/self", table(401)),
    Row("apikeys-api:settings", "GET", f"{A}/admin/settings/api-key-limits", api_admin_read()),
    Row("apikeys-api:settings", "PUT", f"{A}/admin/settings/api-key-limits", api_admin_write(),
        body={"max_active_keys_per_user": 20}),
    Row("apikeys-api:admin-user-apikey-list", "GET", f"{A}/admin/users/{{user}}/api-keys", api_admin_read(),
        owners="users"),
    Row("apikeys-api:admin-user-apikey-list", "POST", f"{A}/admin/users/{{user}}/api-keys",
        api_admin_write(201), owners="users", body=KEY_BODY),
    Row("apikeys-api:admin-user-apikey-detail", "GET", f"{A}/admin/users/{{user}}/api-keys/{{key}}",
        api_admin_read(), owners="users"),
    Row("apikeys-api:admin-user-apikey-detail", "PATCH", f"{A}/admin/users/{{user}}/api-keys/{{key}}",
        api_admin_write(), owners="users", body={"name": "renamed"}),
    Row("apikeys-api:admin-user-apikey-detail", "DELETE", f"{A}/admin/users/{{user}}/api-keys/{{key}}",
        api_admin_write(), owners="users"),
    Row("apikeys-api:admin-user-apikey-block", "POST", f"{A}/admin/users/{{user}}/api-keys/{{key}}/block",
        api_admin_write(), owners="users", body={}),
    Row("apikeys-api:admin-user-apikey-unblock", "POST", f"{A}/admin/users/{{user}}/api-keys/{{key}}/unblock",
        api_admin_write(), owners="users"),
    Row("apikeys-api:admin-user-apikey-reset-spend", "POST",
        f"{A}/admin/users/{{user}}/api-keys/{{key}}/reset-spend", api_admin_write(), owners="users"),
    Row("apikeys-api:admin-user-apikey-revoke", "POST", f"{A}/admin/users/{{user}}/api-keys/{{key}}/revoke",
        api_admin_write(), owners="users", body={}),
    Row("apikeys-api:admin-user-apikey-rotate", "POST", f"{A}/admin/users/{{user}}/api-keys/{{key}}/rotate",
        api_admin_write(201), owners="users", body={}),
    Row("apikeys:list", "GET", "/api-keys/", page_signed_in()),
    Row("apikeys:create", "GET", "/api-keys/new", page_signed_in()),
    Row("apikeys:create", "POST", "/api-keys/new", page_signed_in(200), form=True, note="shows the secret once",
        body={"name": "new-key", "model_ids": "gpt-sec", "expiry": "30"}),
    Row("apikeys:settings", "GET", "/api-keys/settings", page_admin_read()),
    Row("apikeys:settings", "POST", "/api-keys/settings", page_admin_write(), form=True,
        body={"max_active_keys_per_user": "20"}),
    Row("apikeys:detail", "GET", "/api-keys/{key}/", page_own(), owners="users"),
    Row("apikeys:edit", "GET", "/api-keys/{key}/edit", page_own(), owners="users"),
    Row("apikeys:edit", "POST", "/api-keys/{key}/edit", page_own(302), owners="users", form=True,
        body={"name": "renamed", "model_ids": "gpt-sec", "expiry": "keep"}),
    Row("apikeys:action", "POST", "/api-keys/{key}/revoke", page_own(302), owners="users", form=True),
    Row("apikeys:playground", "GET", "/playground/", page_signed_in()),
    Row("apikeys:playground-session", "POST", "/playground/session", page_signed_in(200), form=True,
        body={"model": "gpt-sec"}),
    # ---- teams
    Row("teams-api:team-list", "GET", f"{A}/teams", api_signed_in()),
    # Self-service: any signed-in user may create a team they own (capped by TEAM_MAX_OWNED_PER_USER).
    Row("teams-api:team-list", "POST", f"{A}/teams", table(201, anon=401, ro=403), body={"name": "Team C"}),
    Row("teams-api:team-detail", "GET", f"{A}/teams/{{team}}", api_team(ro=200), owners="teams"),
    Row("teams-api:team-detail", "PATCH", f"{A}/teams/{{team}}", api_team(manage=True, ro=403), owners="teams",
        body={"description": "changed"}),
    Row("teams-api:team-detail", "DELETE", f"{A}/teams/{{team}}", api_team(manage=True, ro=403, manager=403),
        owners="teams", note="archiving a team is for portal admins; it answers the archived team"),
    Row("teams-api:team-member-list", "GET", f"{A}/teams/{{team}}/members", api_team(ro=200), owners="teams"),
    Row("teams-api:team-member-list", "POST", f"{A}/teams/{{team}}/members", api_team(201, manage=True, ro=403),
        owners="teams", body={"username": "ro", "role": "member"}),
    Row("teams-api:team-member-detail", "PATCH", f"{A}/teams/{{team}}/members/{{member}}",
        api_team(manage=True, ro=403), owners="teams", body={"max_budget": "5"}),
    Row("teams-api:team-member-detail", "DELETE", f"{A}/teams/{{team}}/members/{{member}}",
        api_team(204, manage=True, ro=403, self_ok=True), owners="teams", note="a member may leave"),
    Row("teams-api:team-member-detail", "DELETE", f"{A}/teams/{{team}}/members/{{peer}}",
        api_team(204, manage=True, ro=403, self_ok=True, last_owner=400, target="peer"), owners="teams",
        note="removing someone else; B's peer is its only owner"),
    Row("teams-api:admin-team-list", "GET", f"{A}/admin/teams", api_admin_read()),
    Row("teams-api:admin-team-detail", "GET", f"{A}/admin/teams/{{team}}", api_admin_read(), owners="teams"),
    Row("teams-api:admin-team-reset-spend", "POST", f"{A}/admin/teams/{{team}}/reset-spend", api_admin_write(),
        owners="teams"),
    Row("teams-api:admin-user-list", "GET", f"{A}/admin/users", api_admin_read()),
    Row("teams-api:admin-user-detail", "GET", f"{A}/admin/users/{{user}}", api_admin_read(), owners="users"),
    Row("teams-api:admin-user-detail", "PATCH", f"{A}/admin/users/{{user}}", api_admin_write(), owners="users",
        body={"rpm_limit": 10}),
    Row("teams-api:admin-user-reset-spend", "POST", f"{A}/admin/users/{{user}}/reset-spend", api_admin_write(),
        owners="users"),
    Row("teams-api:admin-user-bulk-limits", "POST", f"{A}/admin/users/bulk-limits", api_admin_write(),
        body={"rpm_limit": 10}),
    Row("teams-api:effective-limits", "GET", f"{A}/api-keys/{{key}}/effective-limits", api_own(admins=200),
        owners="users", note="both admin roles may inspect any key"),
    Row("teams-api:notification-preferences", "GET", f"{A}/notification-preferences", api_signed_in()),
    Row("teams-api:notification-preferences", "PUT", f"{A}/notification-preferences", api_signed_in(),
        body={"thresholds": [50, 90]}),
    Row("teams:list", "GET", "/teams/", page_signed_in()),
    Row("teams:detail", "GET", "/teams/{team}/", page_team(ro=200), owners="teams"),
    Row("teams:action", "POST", "/teams/{team}/rename",
        page_team(302, manage=True, member_refused=refused(302), ro=refused(302)),
        owners="teams", form=True, body={"name": "Renamed", "description": "x"}),
    Row("teams:create", "POST", "/teams/new", table(302, ro=403), form=True,
        body={"name": "Team C", "description": "x"}),
    Row("teams:admin-list", "GET", "/admin-teams/", page_admin_read()),
    Row("teams:admin-create", "POST", "/admin-teams/new", page_admin_write(ro=refused(302)), form=True,
        body={"name": "Team C"}),
    Row("teams:admin-users", "GET", "/admin-users/", page_admin_read()),
    Row("teams:admin-user-detail", "GET", "/admin-users/{user}/", page_admin_read(), owners="users"),
    Row("teams:admin-user-detail", "POST", "/admin-users/{user}/", page_admin_write(), owners="users", form=True,
        body={"action": "limits", "rpm_limit": "10"}),
    # An admin managing a user's keys from the user page's Keys tab (read-only admins: 403 on every form).
    Row("teams:admin-user-key-create", "GET", "/admin-users/{user}/keys/new", page_admin_write(200), owners="users"),
    Row("teams:admin-user-key-create", "POST", "/admin-users/{user}/keys/new", page_admin_write(200),
        owners="users", form=True, note="shows the secret once, to the admin",
        body={"name": "new-key", "model_ids": "gpt-sec", "expiry": "30"}),
    Row("teams:admin-user-key-edit", "GET", "/admin-users/{user}/keys/{key}/edit", page_admin_write(200),
        owners="users"),
    Row("teams:admin-user-key-edit", "POST", "/admin-users/{user}/keys/{key}/edit", page_admin_write(),
        owners="users", form=True, body={"name": "renamed", "model_ids": "gpt-sec", "expiry": "keep"}),
    Row("teams:admin-user-key-delete", "GET", "/admin-users/{user}/keys/{key}/delete", page_admin_write(200),
        owners="users", note="the confirmation page behind the dialog"),
    Row("teams:admin-user-key-delete", "POST", "/admin-users/{user}/keys/{key}/delete", page_admin_write(),
        owners="users", form=True),
    Row("teams:admin-user-key-action", "POST", "/admin-users/{user}/keys/{key}/block", page_admin_write(),
        owners="users", form=True),
    Row("teams:notification-settings", "GET", "/settings/notifications", page_signed_in()),
    Row("teams:notification-settings", "POST", "/settings/notifications", page_signed_in(302), form=True,
        body={"thresholds": "50,90", "channel_in_app": "on"}),
    # ---- usage
    Row("usage-api:analytics", "GET", f"{A}/usage/analytics", api_signed_in()),
    Row("usage-api:export", "GET", f"{A}/usage/export", api_signed_in()),
    Row("usage-api:budget", "GET", f"{A}/usage/budget", api_signed_in()),
    Row("usage-api:filter-options", "GET", f"{A}/usage/filter-options", api_signed_in()),
    Row("usage-api:admin-analytics", "GET", f"{A}/admin/usage/analytics", api_admin_read()),
    Row("usage-api:admin-breakdown", "GET", f"{A}/admin/usage/breakdown", api_admin_read()),
    Row("usage-api:admin-export", "GET", f"{A}/admin/usage/export", api_admin_read()),
    Row("usage-api:admin-refresh", "POST", f"{A}/admin/usage/refresh", api_admin_write()),
    Row("usage-api:admin-ingestion-runs", "GET", f"{A}/admin/usage/ingestion-runs", api_admin_read()),
    Row("usage:dashboard", "GET", "/usage/", page_signed_in()),
    Row("usage:admin-dashboard", "GET", "/usage/admin/", page_admin_read()),
    Row("usage:admin-refresh", "POST", "/usage/admin/refresh", page_admin_write(), form=True),
    # ---- integrations
    Row("integrations-api:litellm-status", "GET", f"{A}/admin/litellm/status", api_admin_read()),
    Row("integrations-api:sync-drift", "GET", f"{A}/admin/sync/drift", api_admin_read()),
    Row("integrations-api:sync-drift-repair", "POST", f"{A}/admin/sync/drift/{{drift}}/repair", api_admin_write(Attempted(409)),
        note="the fixture's drift is report-only: authorised, then refused as a conflict"),
    Row("integrations-api:sync-reconcile", "POST", f"{A}/admin/sync/reconcile", api_admin_write(202),
        body={"dry_run": True}),
    Row("integrations-api:outbox-list", "GET", f"{A}/admin/outbox", api_admin_read()),
    Row("integrations-api:outbox-retry", "POST", f"{A}/admin/outbox/{{outbox}}/retry", api_admin_write()),
    Row("integrations:litellm-status", "GET", "/admin-tools/litellm/", page_admin_read(user=403)),
    Row("integrations:admin-sync", "GET", "/admin-tools/sync/", page_admin_read(user=403)),
    Row("integrations:admin-sync", "POST", "/admin-tools/sync/", page_admin_write(user=403), form=True,
        body={"action": "reconcile", "dry_run": "on"}),
]
