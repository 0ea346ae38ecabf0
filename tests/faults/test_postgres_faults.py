"""PostgreSQL connections reset and black-holed under a live server (reliability.md §5 scenarios 20 and 21),
without restarting the machine's PostgreSQL: the portal's connections go through a fault proxy in front of
127.0.0.1:5432. Requests during the outage must fail cleanly (503 JSON with Retry-After, no stack trace) and
within the connect timeout; afterwards the portal recovers by itself (``CONN_HEALTH_CHECKS`` replaces the dead
connections) with no restart.

PostgreSQL only (``DATABASE_URL=postgresql://…``); skipped on SQLite.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from django.db import connection, connections

from tests.faults.conftest import stopwatch
from tests.support.fault_proxy import FaultProxy

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]

# connect_timeout (settings: DATABASE_CONNECT_TIMEOUT, 5 s) plus slack: a black-holed database must not hold
# a request longer than one connection attempt.
DB_BOUND_SECONDS = 8.0


@pytest.fixture
def db_proxy(transactional_db, live_server) -> Iterator[FaultProxy]:
    """Route the live server's (and this thread's) database connections through a fault proxy."""
    settings_dict = connections["default"].settings_dict  # the dict every thread's wrapper shares
    original = (settings_dict.get("HOST"), settings_dict.get("PORT"), settings_dict.get("CONN_HEALTH_CHECKS"))
    proxy = FaultProxy(int(settings_dict.get("PORT") or 5432), upstream_host=settings_dict.get("HOST") or "127.0.0.1")
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(proxy.port)
    settings_dict["CONN_HEALTH_CHECKS"] = True
    settings_dict.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    connections.close_all()
    yield proxy
    proxy.set("pass")
    settings_dict["HOST"], settings_dict["PORT"], settings_dict["CONN_HEALTH_CHECKS"] = original
    connections.close_all()
    proxy.close()


@pytest.fixture
def browser(db_proxy, live_server, user) -> requests.Session:
    """A requests session logged in (session cookie) as ``user`` on the live server."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = requests.Session()
    for cookie in client.cookies.values():
        session.cookies.set(cookie.key, cookie.value)
    return session


def _get(session: requests.Session, url: str, label: str) -> requests.Response:
    # "Connection: close": every request gets a fresh server thread and so a fresh database connection. (A
    # connection kept open across requests, CONN_MAX_AGE, is covered below: its health check's SELECT 1
    # is bounded by the connect timeout, any other wait by the client-side query_timeout.)
    with stopwatch(label, bound=DB_BOUND_SECONDS):
        return requests.get(url, cookies=session.cookies, timeout=30,
                            headers={"Accept": "application/json", "Connection": "close"})


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["reset", "refuse", "blackhole"])
def test_database_outage_fails_cleanly_and_recovers_without_restart(mode, db_proxy, browser, live_server):
    """Scenarios 20 and 21: while PostgreSQL resets / refuses / does not answer new connections, API requests
    end with 503 JSON (Retry-After, request id, no stack trace) within the connect timeout, /health/live
    (liveness) keeps answering, and after the fault ends the same server answers 200 again."""
    api = f"{live_server.url}/api/v1/api-keys"
    assert _get(browser, api, f"postgres ok: GET {api}").status_code == 200
    db_proxy.set(mode)
    for attempt in range(3):
        response = _get(browser, api, f"postgres {mode}: GET /api/v1/api-keys")
        assert response.status_code == 503, (attempt, response.status_code, response.text[:300])
        assert response.headers.get("Retry-After")
        body = response.json()
        assert body["error"]["code"] == "database_unavailable" and body["error"]["request_id"]
        assert "Traceback" not in response.text and "psycopg" not in response.text
    page = requests.get(f"{live_server.url}/api-keys/", cookies=browser.cookies, timeout=30,
                        headers={"Connection": "close"})
    assert page.status_code == 503 and "Traceback" not in page.text
    db_proxy.set("pass")
    response = _get(browser, api, f"postgres recovered ({mode}): GET /api/v1/api-keys")
    assert response.status_code == 200, response.text[:300]


# -- a database that freezes in the middle of a request (scenario 21, "frozen, not reset") ---------------------
# The request must be waiting for an answer on an open connection when the database freezes. So the test
# holds a lock on the session table (over a direct connection, not through the proxy), waits until the
# request's first query is blocked on it in PostgreSQL, switches the proxy to black-hole and then lets the
# query finish: the answer never arrives. The kernel still acknowledges every packet, so TCP keepalives
# cannot end the wait, and the server already answered, so statement_timeout cannot either. The
# client-side query_timeout (litemaas/db/postgresql/base.py) must.
FROZEN_QUERY_TIMEOUT = 2.0


@pytest.fixture
def query_timeout(db_proxy) -> Iterator[float]:
    """A short client-side query timeout for the connections the live server opens from now on."""
    options = connections["default"].settings_dict.setdefault("OPTIONS", {})
    original = options.get("query_timeout")
    options["query_timeout"] = FROZEN_QUERY_TIMEOUT
    connections.close_all()
    yield FROZEN_QUERY_TIMEOUT
    options["query_timeout"] = original
    connections.close_all()


def _direct_connection(proxy: FaultProxy):
    """A psycopg connection to the test database that bypasses the fault proxy."""
    import psycopg

    settings_dict = connections["default"].settings_dict
    return psycopg.connect(host=proxy.upstream_host, port=proxy.upstream_port, dbname=settings_dict["NAME"],
                           user=settings_dict.get("USER") or None, password=settings_dict.get("PASSWORD") or None,
                           connect_timeout=5)


def _frozen_mid_request(session: requests.Session, url: str, proxy: FaultProxy, label: str, *, bound: float,
                        accept: str) -> requests.Response:
    """GET ``url`` and freeze the database while the request waits for its first answer."""
    import threading
    import time

    result: dict[str, requests.Response] = {}

    def call() -> None:
        result["response"] = requests.get(url, cookies=session.cookies, timeout=120,
                                          headers={"Accept": accept, "Connection": "close"})

    with _direct_connection(proxy) as direct, _direct_connection(proxy) as watcher:
        watcher.autocommit = True  # a fresh pg_stat_activity snapshot for every look
        direct.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")  # opens a transaction
        with stopwatch(label, bound=bound):
            thread = threading.Thread(target=call)
            thread.start()
            deadline = time.monotonic() + 10
            while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND query LIKE '%django_session%'").fetchone()[0]:
                assert time.monotonic() < deadline, "the request never queried the session table"
                time.sleep(0.05)
            proxy.set("blackhole")
            direct.rollback()  # the server answers now; the proxy swallows the answer
            thread.join(120)
    proxy.set("pass")
    return result["response"]


@pytest.mark.slow
def test_database_frozen_mid_request_ends_in_a_bounded_503(db_proxy, query_timeout, browser, live_server):
    """A request whose database connection freezes mid-flight ends after about the query timeout with a 503:
    the error JSON on the API, the readable 503 page for a browser. The portal then recovers by itself."""
    bound = query_timeout + 2.0  # the timeout plus slack (connecting, the queries before the frozen one)
    api = f"{live_server.url}/api/v1/api-keys"
    response = _frozen_mid_request(browser, api, db_proxy, "postgres frozen mid-request: GET /api/v1/api-keys",
                                   bound=bound, accept="application/json")
    assert response.status_code == 503, response.text[:300]
    assert response.headers.get("Retry-After")
    body = response.json()
    assert body["error"]["code"] == "database_unavailable" and body["error"]["request_id"]
    assert "Traceback" not in response.text and "psycopg" not in response.text

    page = _frozen_mid_request(browser, f"{live_server.url}/api-keys/", db_proxy,
                               "postgres frozen mid-request: GET /api-keys/ (HTML)", bound=bound, accept="text/html")
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert "Error 503" in page.text and "Error 500" not in page.text
    assert "Service temporarily unavailable" in page.text and "Traceback" not in page.text

    assert _get(browser, api, "postgres recovered (frozen): GET /api/v1/api-keys").status_code == 200


@pytest.mark.slow
def test_database_frozen_mid_request_with_the_default_timeouts(db_proxy, browser, live_server, settings):
    """The same freeze with the shipped defaults (statement timeout 30 s, query timeout 35 s): the request
    still ends with a 503 well inside gunicorn's 60 s worker timeout."""
    default = settings.DATABASE_QUERY_TIMEOUT_SECONDS
    assert 0 < default < 60
    assert connections["default"].settings_dict["OPTIONS"]["query_timeout"] == default
    response = _frozen_mid_request(browser, f"{live_server.url}/api/v1/api-keys", db_proxy,
                                   "postgres frozen mid-request, default timeouts: GET /api/v1/api-keys",
                                   bound=default + 5.0, accept="application/json")
    assert response.status_code == 503 and response.json()["error"]["code"] == "database_unavailable"


@pytest.mark.slow
def test_a_frozen_reused_connection_fails_its_health_check_and_its_queries_in_bounded_time(db_proxy, query_timeout):
    """A persistent connection (CONN_MAX_AGE) to a database that froze between two requests: the health check
    before reuse gives up after the connect timeout, a query after the query timeout, and the connection is
    closed rather than reused out of step."""
    import time

    from django.db import OperationalError

    checked, queried = connections.create_connection("default"), connections.create_connection("default")
    try:
        for wrapper in (checked, queried):
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
        db_proxy.set("blackhole")
        bound = min(query_timeout, float(checked.settings_dict["OPTIONS"]["connect_timeout"]))
        with stopwatch("postgres frozen: health check of a reused connection", bound=bound + 1):
            assert checked.is_usable() is False
        started = time.monotonic()
        with stopwatch("postgres frozen: query on an open connection", bound=query_timeout + 1):
            with pytest.raises(OperationalError, match="query_timeout"):
                with queried.cursor() as cursor:
                    cursor.execute("SELECT 1")
        assert time.monotonic() - started >= query_timeout - 0.1
        assert checked.connection.closed and queried.connection.closed
    finally:
        db_proxy.set("pass")
        checked.close()
        queried.close()
