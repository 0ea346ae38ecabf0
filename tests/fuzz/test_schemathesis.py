"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis, in-process WSGI).

Every operation of ``/api/schema/`` is called with generated valid and invalid data, authenticated with a
read-write personal access token as an ordinary user and as an admin, LiteLLM being the double. Checks:
no 5xx, documented status codes, responses matching their schema, invalid data refused, credentials not
ignored; a stateful run (links inferred from the schema) adds use-after-free.

Deterministic (derandomised Hypothesis, no example database) and bounded (``FUZZ_MAX_EXAMPLES``, default 6
per operation and mode) so it finishes in a few minutes on two cores. Marked ``slow``.
"""
from __future__ import annotations

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

from tests.factories import UserFactory
from tests.fixtures.litellm import DOUBLE_MASTER_KEY, litellm_double_server  # noqa: F401

pytestmark = [pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection,
          ignored_auth]
FUZZ_MODEL = "fuzz-model"

# Operations whose generated input would destroy the world the remaining operations need, with the reason.
# They stay in the authorisation matrix (tests/security/), which covers their success and refusal paths.
EXCLUDED_OPERATIONS: dict[tuple[str, str], str] = {}


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
    schema.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES,
                                    deterministic=True, database="none")
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
    if (case.operation.method.upper(), case.operation.path) in EXCLUDED_OPERATIONS:
        pytest.skip(EXCLUDED_OPERATIONS[(case.operation.method.upper(), case.operation.path)])
    case.call_and_validate(headers=_auth(fuzz_world, "user"), checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_api_as_admin(case, fuzz_world) -> None:
    if (case.operation.method.upper(), case.operation.path) in EXCLUDED_OPERATIONS:
        pytest.skip(EXCLUDED_OPERATIONS[(case.operation.method.upper(), case.operation.path)])
    case.call_and_validate(headers=_auth(fuzz_world, "admin"), checks=CHECKS)


def test_stateful_admin_use_after_free(fuzz_world) -> None:
    """Chains operations through the schema's links (create → read → delete → read) as the admin."""
    stateful = build_schema()
    machine = stateful.as_state_machine()
    headers = _auth(fuzz_world, "admin")

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = (), **kwargs: Any) -> None:
            case.validate_response(response, checks=[*CHECKS, use_after_free])

    Machine.run(settings=settings(max_examples=MAX_EXAMPLES * 5, derandomize=True, database=None, deadline=None,
                                  stateful_step_count=6, suppress_health_check=list(HealthCheck)))
