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
from hypothesis import HealthCheck, Phase, settings
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

# KNOWN OPEN DEFECT (reported, not fixed): these operations accept input the schema forbids, so
# ``negative_data_rejection`` is skipped for them (every other check still runs). Causes: DRF coerces JSON
# numbers into CharFields (``{"name": 0}``), 0/1 into BooleanFields and numbers into (string) DecimalFields;
# a few query filters accept an empty value (``?start=``, ``?users=``, ``?until=``) or an unknown
# ``capability``. Remove an entry once its serializer is strict; a new operation never lands here silently.
LENIENT = "DRF type coercion / lenient query filter (see comment above)"
LENIENT_INPUT: dict[tuple[str, str], str] = {(m, f"/api/v1/{p}"): LENIENT for m, p in (
    ("PATCH", "me"), ("GET", "models"), ("PUT", "notification-preferences"), ("POST", "tokens"),
    ("GET", "usage/analytics"), ("GET", "usage/export"), ("GET", "usage/filter-options"),
    ("GET", "admin/audit-events"), ("POST", "admin/models"), ("POST", "admin/models/sync"),
    ("POST", "admin/models/test"), ("PUT", "admin/settings/api-key-limits"),
    ("POST", "admin/subscriptions/approve"), ("POST", "admin/subscriptions/deny"), ("POST", "admin/sync/reconcile"),
    ("GET", "admin/usage/analytics"), ("GET", "admin/usage/breakdown"), ("GET", "admin/usage/export"),
    ("POST", "admin/users/bulk-limits"), ("PATCH", "branding"),
)}


def checks_for(case: Any) -> list[Any]:
    if (case.operation.method.upper(), case.operation.path) in LENIENT_INPUT:
        return [check for check in CHECKS if check is not negative_data_rejection]
    return CHECKS


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
    if (case.operation.method.upper(), case.operation.path) in EXCLUDED_OPERATIONS:
        pytest.skip(EXCLUDED_OPERATIONS[(case.operation.method.upper(), case.operation.path)])
    case.call_and_validate(headers=_auth(fuzz_world, "user"), checks=checks_for(case))


@schema.parametrize()
@HYPOTHESIS
def test_api_as_admin(case, fuzz_world) -> None:
    if (case.operation.method.upper(), case.operation.path) in EXCLUDED_OPERATIONS:
        pytest.skip(EXCLUDED_OPERATIONS[(case.operation.method.upper(), case.operation.path)])
    case.call_and_validate(headers=_auth(fuzz_world, "admin"), checks=checks_for(case))


@pytest.mark.xfail(strict=False, reason="OPEN: Hypothesis reports the state machine as a flaky strategy (links "
                   "depend on rows earlier steps created in the shared test transaction); use_after_free needs a "
                   "per-run database reset before this can be a gate")
def test_stateful_admin_use_after_free(fuzz_world) -> None:
    """Chains operations through the schema's links (create → read → delete → read) as the admin."""
    stateful = build_schema()
    # Configured (not per call) so the checks know these are the explicit, valid credentials.
    stateful.config.update(headers=_auth(fuzz_world, "admin"))
    machine = stateful.as_state_machine()

    class Machine(machine):  # type: ignore[misc,valid-type]
        def validate_response(self, response: Any, case: Any, additional_checks: Any = (), **kwargs: Any) -> None:
            case.validate_response(response, checks=[*checks_for(case), use_after_free])

    # Generate only: the portal's state persists between examples (one test transaction), so replaying or
    # shrinking a run would see different links and Hypothesis would call the strategy flaky.
    Machine.run(settings=settings(max_examples=MAX_EXAMPLES * 5, derandomize=True, database=None, deadline=None,
                                  stateful_step_count=6, suppress_health_check=list(HealthCheck),
                                  phases=[Phase.generate]))
