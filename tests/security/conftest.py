"""The security world: six actors, each owning objects, and the means to prove a refusal changed nothing.

Actors: ``anon``; ``alice`` (member of team A); ``bob`` (member of team B); ``carol`` (admin of team A);
``ro`` (portal admin-readonly); ``admin`` (portal admin, owner of both teams). Every signed-in actor owns an
active subscription, a pending subscription to a restricted model, an API key, a personal access token and
a notification. Built through the services against the LiteLLM double.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings

from tests.factories import UserFactory
from tests.fixtures.litellm import (  # noqa: F401 - re-exported fixtures
    DOUBLE_MASTER_KEY,
    litellm_double_server,
)

ACTORS = ("anon", "alice", "bob", "carol", "ro", "admin")
OWNERS = ("alice", "bob", "carol", "ro", "admin")
OPEN_MODEL = "gpt-sec"
SPARE_MODEL = "gpt-spare"
RESTRICTED_MODEL = "gpt-restricted"
RESTRICTED_MODEL_2 = "gpt-restricted-2"  # nobody subscribes to it in the world

# Tables a refused request must leave alone; what is deliberately not compared, and why.
SNAPSHOT_APPS = ("accounts", "teams", "subscriptions", "apikeys", "usage", "integrations", "litemaas")
SNAPSHOT_SKIP_MODELS = {
    "litemaas.auditevent",  # a refusal may (and should) be audited: ASVS 16.3.2
}
SNAPSHOT_SKIP_FIELDS = {
    "accounts.user": {"last_login", "password"},  # sign-in bookkeeping, not the refused operation
    "accounts.personalaccesstoken": {"last_used_at"},  # authentication bookkeeping
}


LITELLM_TEST_SETTINGS = {
    "LITELLM_MASTER_KEY": DOUBLE_MASTER_KEY,
    "LITELLM_RETRY_ATTEMPTS": 1,
    "LITELLM_READ_TIMEOUT_SECONDS": 2,
    "LITELLM_BREAKER_FAILURE_THRESHOLD": 100000,
    "NOTIFICATION_EMAIL_ENABLED": False,
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


@contextmanager
def portal_on_double(double: Any) -> Iterator[None]:
    """Point the portal at ``double`` (fresh client, no throttling) for the duration of the block."""
    from django.conf import settings

    from integrations.litellm.client import get_litellm_client

    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    with override_settings(LITELLM_API_URL=double.url, REST_FRAMEWORK=rest, **LITELLM_TEST_SETTINGS):
        get_litellm_client.cache_clear()
        breaker = get_litellm_client().breaker
        if breaker is not None:
            breaker.reset()
        try:
            yield
        finally:
            get_litellm_client.cache_clear()


@dataclass
class World:
    users: dict[str, Any]
    teams: dict[str, Any]
    double: Any
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # owner -> {kind: object}
    secrets: dict[str, str] = field(default_factory=dict)  # owner -> personal access token secret
    banner: Any = None
    outbox: Any = None
    drift: Any = None
    clients: dict[str, Client] = field(default_factory=dict)

    def obj(self, owner: str, kind: str) -> Any:
        return self.objects[owner][kind]

    def client(self, actor: str) -> Client:
        return self.clients[actor]


def _make_model(model_id: str, *, restricted: bool = False):
    from decimal import Decimal

    from subscriptions.models import LlmModel

    return LlmModel.objects.create(id=model_id, model_type="chat", provider="openai", restricted=restricted,
                                   backend_model_name=f"openai/{model_id}",
                                   input_cost_per_token=Decimal("0.000001"),
                                   output_cost_per_token=Decimal("0.000002"))


@pytest.fixture
def world(db, litellm_double_server) -> Iterator[World]:  # noqa: F811
    """A fresh world for one test."""
    litellm_double_server.reset(seed_models=False)
    with portal_on_double(litellm_double_server):
        yield build_world(litellm_double_server)


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker, litellm_double_server) -> Iterator[World]:  # noqa: F811
    """One world for a whole module, in a transaction rolled back at the end (tests add savepoints)."""
    with django_db_blocker.unblock():
        litellm_double_server.reset(seed_models=False)
        with portal_on_double(litellm_double_server):
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                yield build_world(litellm_double_server)
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)


def build_world(litellm: Any) -> World:
    from accounts.models import TokenScope
    from accounts.notifications import notification_create
    from accounts.token_services import token_create
    from apikeys import services as key_services
    from litemaas.portal_services import announcement_create
    from subscriptions import services as sub_services
    from teams import services as team_services
    from teams.models import TeamRole

    users = {
        "alice": UserFactory(username="alice"),
        "bob": UserFactory(username="bob"),
        "carol": UserFactory(username="carol"),
        "ro": UserFactory(username="ro", role="admin-readonly", is_staff=True),
        "admin": UserFactory(username="admin", role="admin", is_staff=True),
    }
    for model_id in (OPEN_MODEL, SPARE_MODEL):
        _make_model(model_id)
    _make_model(RESTRICTED_MODEL, restricted=True)
    _make_model(RESTRICTED_MODEL_2, restricted=True)
    admin = users["admin"]
    team_a = team_services.team_create(actor=admin, name="Team A")
    team_b = team_services.team_create(actor=admin, name="Team B")
    team_services.team_member_add(team=team_a, user=users["alice"], actor=admin)
    team_services.team_member_add(team=team_a, user=users["carol"], actor=admin, role=TeamRole.ADMIN)
    team_services.team_member_add(team=team_b, user=users["bob"], actor=admin)
    world = World(users=users, teams={"A": team_a, "B": team_b}, double=litellm)
    for name, user in users.items():
        sub = sub_services.subscription_create(user=user, model_id=OPEN_MODEL)
        pending = sub_services.subscription_create(user=user, model_id=RESTRICTED_MODEL)
        key = key_services.apikey_create(user=user, actor=user, model_ids=[OPEN_MODEL], name=f"{name}-key").key
        token, secret = token_create(user=user, name=f"{name}-token", scope=TokenScope.READ_WRITE,
                                     expires_in_days=30)
        note = notification_create(user=user, kind="security.test", title=f"hello {name}")
        membership = user.team_memberships.filter(team__in=[team_a, team_b]).order_by("team__name").first()
        world.objects[name] = {"user": user, "sub": sub, "pending": pending, "key": key, "token": token,
                               "notification": note, "membership": membership}
        world.secrets[name] = secret
    world.banner = announcement_create(actor=admin, data={"name": "Maintenance", "content": {"en": "Tonight"},
                                                          "is_active": True})
    world.outbox, world.drift = _integration_rows()
    for actor in ACTORS:
        client = Client(raise_request_exception=False)
        if actor != "anon":
            client.force_login(users[actor])
        world.clients[actor] = client
    return world


def _integration_rows() -> tuple[Any, Any]:
    from integrations.models import DriftItem, Outbox, SyncRun

    outbox = Outbox.objects.create(object_type=Outbox.ObjectType.APIKEY, object_id="0" * 64, operation="noop",
                                   sequence=1, status=Outbox.Status.DEAD, last_error="gave up")
    run = SyncRun.objects.create(kind=SyncRun._meta.get_field("kind").choices[0][0])
    drift = DriftItem.objects.create(run=run, object_type="key", object_id="x", drift_class="missing_remote")
    return outbox, drift


# --------------------------------------------------------------------------------------------- snapshots
_SNAPSHOT_SQL: dict[str, str] = {}


def _snapshot_sql() -> dict[str, str]:
    """One plain SELECT per portal table (compiled once: the ORM's per-query cost dominates otherwise)."""
    if not _SNAPSHOT_SQL:
        qn = connection.ops.quote_name
        for model in apps.get_models():
            meta = model._meta
            if meta.app_label not in SNAPSHOT_APPS or meta.label_lower in SNAPSHOT_SKIP_MODELS:
                continue
            skip = SNAPSHOT_SKIP_FIELDS.get(meta.label_lower, set())
            columns = ", ".join(qn(f.column) for f in meta.concrete_fields if f.name not in skip)
            _SNAPSHOT_SQL[meta.label_lower] = (f"SELECT {columns} FROM {qn(meta.db_table)} "
                                               f"ORDER BY {qn(meta.pk.column)}")
    return _SNAPSHOT_SQL


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every portal table (minus the documented exceptions), ordered by primary key."""
    snap: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for label, sql in _snapshot_sql().items():
            cursor.execute(sql)
            snap[label] = cursor.fetchall()
    return snap


def diff_snapshots(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


class DoubleState:
    """Save and restore the double's objects so each matrix cell starts from the same LiteLLM state."""

    def __init__(self, double: Any) -> None:
        self.double = double

    def save(self) -> dict[str, Any]:
        st = self.double.state
        with st.lock:
            return copy.deepcopy({k: getattr(st, k) for k in ("users", "teams", "keys", "models", "spend_rows")})

    def restore(self, saved: dict[str, Any]) -> None:
        st = self.double.state
        with st.lock:
            for name, value in copy.deepcopy(saved).items():
                setattr(st, name, value)


def isolated(fn):
    """Run ``fn()`` in a savepoint that is always rolled back, with an empty cache before and after."""
    cache.clear()
    try:
        with transaction.atomic():
            try:
                return fn()
            finally:
                transaction.set_rollback(True)
    finally:
        cache.clear()
