"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis, in-process WSGI).

Every operation of ``/api/schema/`` is called with generated valid and invalid data, authenticated with a
read-write personal access token as an ordinary user and as an admin, LiteLLM being the double. Checks:
no 5xx, documented status codes, responses matching their schema, invalid data refused, credentials not
ignored. JSON bodies are strictly typed (``litemaas.api.serializers``) and optional query filters are
documented as accepting an empty value, so invalid data is checked on every operation (no exclusion list).

Use-after-free twice: a stateful run chains operations through the schema's links, each scenario starting
from the same database and LiteLLM state (``ScenarioReset``), and a deterministic walk deletes one object
of every DELETE route and expects 404 from every operation under its path.

Deterministic (derandomised Hypothesis, no example database) and bounded (``FUZZ_MAX_EXAMPLES``, default 6
per operation and mode) so it finishes in a few minutes on two cores. Marked ``slow``.
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)
from schemathesis.openapi.checks import UseAfterFree

from tests.factories import UserFactory
from tests.fixtures.litellm import DOUBLE_MASTER_KEY, litellm_double_server  # noqa: F401

pytestmark = [pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection,
          ignored_auth]
FUZZ_MODEL = "fuzz-model"


@pytest.fixture
def fuzz_world(db, litellm_double_server, settings) -> Iterator[dict[str, Any]]:  # noqa: F811
    """Two users with read-write tokens, a catalogue model in LiteLLM and the portal, subscriptions, keys."""
    from accounts.models import TokenScope
    from accounts.token_services import token_create
    from apikeys import services as key_services
    from integrations.litellm.client import get_litellm_client
    from subscriptions import services as sub_services
    from subscriptions.models import LlmModel

    litellm_double_server.reset(seed_models=True)
    settings.LITELLM_API_URL = litellm_double_server.url
    settings.LITELLM_MASTER_KEY = DOUBLE_MASTER_KEY
    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 100000
    settings.NOTIFICATION_EMAIL_ENABLED = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    get_litellm_client.cache_clear()

    LlmModel.objects.create(id=FUZZ_MODEL, provider="openai", backend_model_name="openai/fuzz",
                            api_base="http://127.0.0.1:9/v1")
    users = {"user": UserFactory(username="fuzz-user"),
             "admin": UserFactory(username="fuzz-admin", role="admin", is_staff=True)}
    tokens = {}
    for role, user in users.items():
        sub_services.subscription_create(user=user, model_id=FUZZ_MODEL)
        key_services.apikey_create(user=user, actor=user, model_ids=[FUZZ_MODEL], name=f"{role}-key")
        _token, secret = token_create(user=user, name="fuzz", scope=TokenScope.READ_WRITE, expires_in_days=1)
        tokens[role] = secret
    # The WSGI handler would close the test's connection after each request (Django's test client does this).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"users": users, "tokens": tokens}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        get_litellm_client.cache_clear()


def build_schema() -> Any:
    from django.core.wsgi import get_wsgi_application
    from drf_spectacular.generators import SchemaGenerator

    raw = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(json.dumps(raw, default=str))  # plain types (lazy translations, OrderedDicts)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    # Credentials are the tests' own valid token (explicit header); generated random ones next to it would
    # make ignored_auth flag a request that the valid token rightly authenticates.
    schema.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES,
                                    deterministic=True, database="none", with_security_parameters=False)
    return schema


# Built at import (pytest-django has configured Django by then); schemathesis's lazy ``from_fixture`` loader
# does not work with pytest 9.
schema = build_schema()

HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), print_blob=False)


def _auth(fuzz_world: dict[str, Any], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_world['tokens'][role]}"}


@schema.parametrize()
@HYPOTHESIS
def test_api_as_user(case, fuzz_world) -> None:
    case.call_and_validate(headers=_auth(fuzz_world, "user"), checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_api_as_admin(case, fuzz_world) -> None:
    case.call_and_validate(headers=_auth(fuzz_world, "admin"), checks=CHECKS)


class ScenarioReset:
    """Put the portal back as ``fuzz_world`` left it: database rows, id sequences, the LiteLLM double, cache.

    Each stateful scenario starts from the same world. Without this the rows one scenario created (a model
    id, a banner) changed the statuses of the next scenario's calls, so the links Hypothesis could follow
    changed too, and it stopped with ``FlakyStrategyDefinition`` ("a bundle that was unexpectedly empty").
    """

    def __init__(self, double: Any) -> None:
        self.double = double

    def begin(self) -> None:
        from django.db import transaction

        self.savepoint = transaction.savepoint()
        with self.double.state.lock:
            self.double_state = copy.deepcopy(_double_objects(self.double.state))

    def end(self) -> None:
        from django.apps import apps
        from django.core.cache import cache
        from django.core.management.color import no_style
        from django.db import connection, transaction

        transaction.savepoint_rollback(self.savepoint)
        # PostgreSQL sequences ignore rollbacks; without this, ids (banner 1, 2, ...) differ per scenario.
        with connection.cursor() as cursor:
            models = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
        with self.double.state.lock:
            vars(self.double.state).update(copy.deepcopy(self.double_state))
        cache.clear()  # breaker state, the live-spend cache, locks


def _double_objects(state: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(state).items() if name not in ("master_key", "lock")}


# DELETE routes that archive instead of removing, by design: an admin may still read what they deleted.
ARCHIVING_DELETES = {
    "DELETE /api/v1/teams/{id}": "archives the team; its spend history stays readable by admins",
}


@schemathesis.check
def use_after_free_except_archives(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's use_after_free, except after a DELETE listed in ``ARCHIVING_DELETES``."""
    try:
        return use_after_free(ctx, response, case)
    except UseAfterFree as failure:
        if failure.operation in ARCHIVING_DELETES:
            return None
        raise


# ignored_auth is left to the per-operation tests: its three extra unauthenticated calls per step would
# triple the run time and add nothing to the chains.
STATEFUL_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
                   negative_data_rejection, use_after_free_except_archives]


def test_stateful_admin_use_after_free(fuzz_world, litellm_double_server) -> None:  # noqa: F811
    """Chains operations through the schema's links (create → read → delete → read) as the admin.

    Every scenario starts from the same world (``ScenarioReset``), so Hypothesis can replay and shrink.
    """
    stateful = build_schema()
    # Configured (not per call) so the checks know these are the explicit, valid credentials.
    stateful.config.update(headers=_auth(fuzz_world, "admin"))
    machine = stateful.as_state_machine()
    reset = ScenarioReset(litellm_double_server)

    class Machine(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            super().setup()
            reset.begin()

        def teardown(self) -> None:
            try:
                super().teardown()
            finally:
                reset.end()

        def validate_response(self, response: Any, case: Any, additional_checks: Any = (), **kwargs: Any) -> None:
            # The recorder lets use_after_free find the DELETE earlier in the scenario (without it the check
            # has nothing to look at and always passes).
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    Machine.run(settings=settings(max_examples=MAX_EXAMPLES * 10, derandomize=True, database=None, deadline=None,
                                  stateful_step_count=8, suppress_health_check=list(HealthCheck)))


# ------------------------------------------------------------------ use-after-free, route by route
# The stateful run meets a DELETE followed by a read of the same object only by chance, so every DELETE
# route is also walked here: create one object, delete it, then call every other operation under that
# path (reads, updates, actions, a second DELETE) and expect 404. A new DELETE route fails the test until
# it gets a recipe below (or an entry in ARCHIVING_DELETES); a new route under a deleted path is called
# automatically.
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.content[:300]
    return response.json()


def _recipe_banner(client: Any, world: dict[str, Any]) -> dict[str, str]:
    body = _created(client.post("/api/v1/admin/banners", {"name": "uaf", "content": {"en": "Hello"}},
                                format="json"))
    return {"id": str(body["id"])}


def _recipe_admin_model(client: Any, world: dict[str, Any]) -> dict[str, str]:
    _created(client.post("/api/v1/admin/models", {"id": "uaf-model", "backend_model_name": "openai/uaf",
                                                  "api_base": "http://127.0.0.1:9/v1"}, format="json"))
    return {"model_id": "uaf-model"}


def _recipe_admin_subscription(client: Any, world: dict[str, Any]) -> dict[str, str]:
    from subscriptions import services as sub_services
    from subscriptions.models import LlmModel

    LlmModel.objects.create(id="uaf-sub-model", provider="openai", backend_model_name="openai/uaf-sub",
                            api_base="http://127.0.0.1:9/v1")
    subscription = sub_services.subscription_create(user=world["users"]["user"], model_id="uaf-sub-model")
    return {"id": str(subscription.pk)}


def _recipe_own_key(client: Any, world: dict[str, Any]) -> dict[str, str]:
    body = _created(client.post("/api/v1/api-keys", {"name": "uaf", "model_ids": [FUZZ_MODEL]}, format="json"))
    return {"id": body["id"]}


def _recipe_user_key(client: Any, world: dict[str, Any]) -> dict[str, str]:
    user_id = str(world["users"]["user"].pk)
    body = _created(client.post(f"/api/v1/admin/users/{user_id}/api-keys", {"name": "uaf", "model_ids": [FUZZ_MODEL]},
                                format="json"))
    return {"user_id": user_id, "id": body["id"]}


def _recipe_branding_image(client: Any, world: dict[str, Any]) -> dict[str, str]:
    _created(client.put("/api/v1/branding/images/login-logo", {"data": PNG_1PX}, format="json"))
    return {"kind": "login-logo"}


def _recipe_member(client: Any, world: dict[str, Any]) -> dict[str, str]:
    team = _created(client.post("/api/v1/teams", {"name": "uaf-team"}, format="json"))
    user_id = str(world["users"]["user"].pk)
    _created(client.post(f"/api/v1/teams/{team['id']}/members", {"user_id": user_id}, format="json"))
    return {"team_id": team["id"], "user_id": user_id}


def _recipe_token(client: Any, world: dict[str, Any]) -> dict[str, str]:
    from accounts.token_services import token_create

    token, _secret = token_create(user=world["users"]["admin"], name="uaf", scope="read", expires_in_days=1)
    return {"id": str(token.pk)}


DELETE_RECIPES = {
    "/api/v1/admin/banners/{id}": _recipe_banner,
    "/api/v1/admin/models/{model_id}": _recipe_admin_model,
    "/api/v1/admin/subscriptions/{id}": _recipe_admin_subscription,
    "/api/v1/api-keys/{id}": _recipe_own_key,
    "/api/v1/admin/users/{user_id}/api-keys/{id}": _recipe_user_key,
    "/api/v1/branding/images/{kind}": _recipe_branding_image,
    "/api/v1/teams/{team_id}/members/{user_id}": _recipe_member,
    "/api/v1/tokens/{id}": _recipe_token,
}


# Calls that rightly succeed after the DELETE, with the reason.
ALLOWED_AFTER_DELETE = {
    ("get", "/api/v1/admin/banners/{id}/history"): "the change history outlives the banner (audit trail)",
    ("delete", "/api/v1/branding/images/{kind}"): "a fixed slot, not an object: emptying it again is a 204",
}
# Bodies that pass validation, so the call reaches the (deleted) object instead of stopping at a 400.
FOLLOW_UP_BODIES = {
    ("post", "/api/v1/admin/subscriptions/{id}/status"): {"status": "active"},
}


def _operations() -> list[tuple[str, str]]:
    return [(method, path) for path, item in schema.raw_schema["paths"].items()
            for method in ("get", "put", "post", "patch", "delete") if method in item]


def test_every_delete_route_has_a_use_after_free_recipe() -> None:
    deletes = {path for method, path in _operations() if method == "delete"}
    archived = {label.split(" ", 1)[1] for label in ARCHIVING_DELETES}

    assert deletes - set(DELETE_RECIPES) - archived == set(), "add a recipe to DELETE_RECIPES"
    assert set(DELETE_RECIPES) <= deletes, "a recipe names a route that no longer exists"


@pytest.mark.parametrize("delete_path", sorted(DELETE_RECIPES))
def test_a_deleted_object_is_404_on_every_route_under_its_path(fuzz_world, delete_path) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(fuzz_world["users"]["admin"])
    params = DELETE_RECIPES[delete_path](client, fuzz_world)

    def url(path: str) -> str:
        return path.format(**params)

    deleted = client.delete(url(delete_path))
    assert 200 <= deleted.status_code < 300, deleted.content[:300]

    # PUT/POST on the path itself would re-create the object: not a use after free.
    later = [(method, path) for method, path in _operations()
             if path.startswith(delete_path) and not (path == delete_path and method in ("put", "post"))
             and (method, path) not in ALLOWED_AFTER_DELETE]
    assert later, delete_path
    wrong = []
    for method, path in later:
        body = FOLLOW_UP_BODIES.get((method, path), {})
        response = getattr(client, method)(url(path), body, format="json")
        if response.status_code != 404:
            wrong.append(f"{method.upper()} {url(path)} → {response.status_code} {response.content[:200]!r}")
    assert not wrong, f"after DELETE {url(delete_path)}:\n" + "\n".join(wrong)
