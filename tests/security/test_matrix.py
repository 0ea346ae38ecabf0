"""The authorisation matrix (``matrix.py``) run cell by cell, and the guard that every route is in it.

Each cell (actor × owner) runs in a savepoint that is rolled back, against a LiteLLM double restored to the
same state, so cells cannot influence each other. A refused cell must also leave every portal table as it
was and must not have reached LiteLLM.
"""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.db import DatabaseError

from tests.security.conftest import (
    ACTORS,
    OWNERS,
    DoubleState,
    World,
    db_snapshot,
    diff_snapshots,
    isolated,
)
from tests.security.matrix import MATRIX, TEAM_MEMBER, TEAM_OF, TEAM_PEER, Row, is_refusal
from tests.security.routes import EXCLUDED_PREFIXES, project_routes


def placeholders(world: World, owner: str | None, kind: str) -> dict[str, str]:
    ctx = {"banner": str(world.banner.pk), "outbox": str(world.outbox.pk), "drift": str(world.drift.pk)}
    ctx.update({f"{name}_user": str(u.pk) for name, u in world.users.items()})
    if kind == "users":
        objs = world.objects[owner]
        ctx.update(user=str(objs["user"].pk), key=str(objs["key"].pk), sub=str(objs["sub"].pk),
                   pending=str(objs["pending"].pk), token=str(objs["token"].pk),
                   notification=str(objs["notification"].pk))
    elif kind == "teams":
        ctx.update(team=str(world.teams[owner].pk), member=str(world.users[TEAM_MEMBER[owner]].pk),
                   peer=str(world.users[TEAM_PEER[owner]].pk))
    return ctx


def fill(value: Any, ctx: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ctx)
    if isinstance(value, dict):
        return {k: fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    return value


def send(client: Any, row: Row, path: str, body: Any) -> Any:
    if row.method == "GET":
        return client.get(path)
    if row.form:
        return client.generic(row.method, path, _urlencode(body or {}),
                              content_type="application/x-www-form-urlencoded")
    payload = "" if body is None else json.dumps(body)
    return client.generic(row.method, path, payload, content_type="application/json")


def _urlencode(data: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


def owners_of(row: Row) -> tuple[str | None, ...]:
    if row.owners == "users":
        return OWNERS
    if row.owners == "teams":
        return ("A", "B")
    return (None,)


def run_row(world: World, row: Row) -> list[str]:
    """Every cell of ``row``; returns the failures as readable lines."""
    double = DoubleState(world.double)
    saved = double.save()
    failures: list[str] = []
    for owner in owners_of(row):
        ctx = placeholders(world, owner, row.owners)
        path, body = fill(row.path, ctx), fill(row.body, ctx)
        for actor in ACTORS:
            expected = row.expect(actor, owner)
            refusal = is_refusal(expected)
            double.restore(saved)
            world.double._server.calls.clear()
            cookies = copy.deepcopy(world.client(actor).cookies)  # e.g. the language cookie of set-language

            def cell(actor: str = actor, refusal: bool = refusal, path: str = path,
                     body: Any = body) -> tuple[int, list[str], str]:
                before = db_snapshot() if refusal else None
                response = send(world.client(actor), row, path, body)
                changed: list[str] = []
                if refusal:
                    try:
                        changed = diff_snapshots(before, db_snapshot())
                    except DatabaseError as exc:  # the request broke the transaction
                        changed = [f"database error after the request: {exc}"]
                raw = b"".join(response.streaming_content) if response.streaming else response.content
                return response.status_code, changed, raw[:300].decode(errors="replace")

            status, changed, content = isolated(cell)
            world.client(actor).cookies = cookies
            calls = [f"{c['method']} {c['path']}" for c in world.double.calls] if refusal else []
            where = f"{row.method} {path} as {actor}" + (f" on {owner}'s" if owner else "")
            if status != expected:
                failures.append(f"{where}: expected {int(expected)}, got {status}: {content[:160]}")
            if changed:
                failures.append(f"{where}: refused but changed {changed}")
            if calls:
                failures.append(f"{where}: refused but called LiteLLM {calls}")
    double.restore(saved)
    return failures


@pytest.mark.django_db
@pytest.mark.parametrize("row", MATRIX, ids=[f"{r.method} {r.route}{' (' + r.note + ')' if r.note else ''}"
                                             for r in MATRIX])
def test_authorisation_matrix(module_world: World, row: Row) -> None:
    failures = run_row(module_world, row)
    assert not failures, "\n".join(failures)


def test_every_route_and_method_is_in_the_matrix() -> None:
    """Walk the URL resolver: a new route or method fails here until it has a row in ``matrix.py``."""
    covered = {(row.route, row.method) for row in MATRIX}
    served = {(route.name, method) for route in project_routes() for method in route.methods}
    missing = sorted(served - covered)
    stale = sorted(covered - served)
    assert not missing, "routes missing from tests/security/matrix.py:\n" + "\n".join(f"{m} {r}" for r, m in missing)
    assert not stale, "matrix rows for routes that no longer exist:\n" + "\n".join(f"{m} {r}" for r, m in stale)


def test_exclusions_are_framework_routes_with_reasons() -> None:
    assert all(reason for reason in EXCLUDED_PREFIXES.values())
    assert set(EXCLUDED_PREFIXES) <= {"admin/", "accounts/", "api/schema/", "api/docs/", "api/redoc/", "health/",
                                      "metrics", "static/", "media/", "__debug__/"}


@pytest.mark.django_db
def test_team_fixture_matches_the_matrix(module_world: World) -> None:
    for name, team in TEAM_OF.items():
        assert module_world.users[name].team_memberships.filter(team=module_world.teams[team]).exists()
