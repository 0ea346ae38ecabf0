"""Redis down and paused (reliability.md §5 scenarios 11 and 22): a cache outage must not become a site
outage. The cache is pointed at a fault proxy in front of the real Redis on 127.0.0.1:6379 (database 13,
unused by the rest of the suite); sessions live in the database and must be unaffected.

Skipped when no Redis answers on 127.0.0.1:6379.
"""
from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.faults.conftest import stopwatch
from tests.support.fault_proxy import FaultProxy

REDIS_PORT = 6379
REDIS_DB = 13
# One Redis socket timeout (2 s) plus slack: no request may wait for several timeouts in a row.
REDIS_BOUND_SECONDS = 4.0


def _production_cache() -> dict:
    """The CACHES entry litemaas/settings.py builds when REDIS_URL is set (read from a fresh interpreter)."""
    code = "from django.conf import settings; import json; print(json.dumps(settings.CACHES['default']))"
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "DJANGO_SETTINGS_MODULE": "litemaas.settings"}
    env.pop("REDIS_SENTINELS", None)
    import json

    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def production_cache() -> dict:
    return _production_cache()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs redis-server on 127.0.0.1:6379")


@pytest.fixture
def redis_proxy(settings, production_cache) -> Iterator[FaultProxy]:
    """The default cache = django-redis through a fault proxy (production options: 2 s socket timeouts,
    IGNORE_EXCEPTIONS)."""
    from django.core.cache import cache

    from integrations.litellm.client import get_litellm_client

    proxy = FaultProxy(REDIS_PORT)
    production = copy.deepcopy(production_cache)
    production["LOCATION"] = f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}"
    production["KEY_PREFIX"] = "litemaas-faults"
    settings.CACHES = {"default": production}
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    get_litellm_client.cache_clear()  # a new breaker bound to the new cache
    cache.clear()
    yield proxy
    proxy.set("pass")
    cache.clear()
    proxy.close()
    get_litellm_client.cache_clear()


@pytest.fixture
def portal_with_key(litellm, subscribed, user):
    from apikeys import services

    return services.apikey_create(user=user, actor=user, model_ids=["gpt-test"], name="k")


def _journey(client, api_client, label: str) -> None:
    """Pages and API calls that touch the cache (throttles, breaker, spend caches, locks)."""
    for path in ("/", "/api-keys/", "/models/", "/subscriptions/"):
        with stopwatch(f"{label}: GET {path}", bound=REDIS_BOUND_SECONDS):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    with stopwatch(f"{label}: GET /api/v1/api-keys", bound=REDIS_BOUND_SECONDS):
        assert api_client.get("/api/v1/api-keys").status_code == 200
    with stopwatch(f"{label}: POST /api/v1/api-keys (LiteLLM call through the breaker)", bound=REDIS_BOUND_SECONDS):
        response = api_client.post("/api/v1/api-keys", {"name": "during", "model_ids": ["gpt-test"]}, format="json")
    assert response.status_code == 201, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["refuse", "reset", "blackhole"])
def test_redis_outage_is_not_a_site_outage(mode, redis_proxy, portal_with_key, litellm, user, client, user_client):
    """Scenarios 11 and 22: with Redis refused, resetting or paused (black-holed), pages and the API still
    answer (sessions are in the database), LiteLLM calls still work (the breaker fails open), and no request
    is held much longer than one Redis socket timeout."""
    client.force_login(user)
    _journey(client, user_client, "redis ok")
    redis_proxy.set(mode)
    _journey(client, user_client, f"redis {mode}")
    redis_proxy.set("pass")
    _journey(client, user_client, "redis recovered")


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_single_flight_jobs_still_run_once_while_redis_is_down(mode, redis_proxy, litellm, admin_client):
    """Locks taken while Redis is refused or paused do not look "held" (no 409, no skipped sweep): the
    database lock takes over (litemaas.locks), and a second run is still refused while one holds it."""
    from integrations import outbox
    from integrations.models import SyncRun
    from litemaas.locks import single_flight

    redis_proxy.set(mode)
    with stopwatch(f"redis {mode}: POST /api/v1/admin/usage/refresh", bound=REDIS_BOUND_SECONDS):
        response = admin_client.post("/api/v1/admin/usage/refresh")
    assert response.status_code == 200, response.content[:300]
    assert SyncRun.objects.filter(kind=SyncRun.Kind.USAGE).count() == 1
    assert outbox.outbox_sweep()["skipped"] == 0
    with single_flight(outbox.SWEEP_LOCK, timeout=60) as acquired:
        assert acquired
        assert outbox.outbox_sweep()["skipped"] == 1
