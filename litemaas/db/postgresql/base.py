"""Django's PostgreSQL backend, plus a client-side bound on every wait for the server.

Why: psycopg waits for an answer as long as the socket stays open. ``statement_timeout`` is enforced by
the server, so it cannot help when the server (or the path to it) stops answering: a frozen PostgreSQL
(SIGSTOP, stuck storage) or a black-holed connection. TCP keepalives and ``tcp_user_timeout`` catch a dead
network path, but not a peer whose kernel still acknowledges packets (reliability.md §5 scenario 21, "frozen,
not reset"). Such a request used to hang until the gunicorn worker timeout.

How: psycopg routes every network wait of a connection (execute, fetch, commit, rollback, COPY, server-side
cursors) through ``Connection.wait``, which takes a deadline. ``BoundedConnection`` passes
``OPTIONS["query_timeout"]`` seconds as that deadline. When it expires the connection is closed, since
its protocol state is unknown, and ``OperationalError`` is raised. Django wraps it like any lost connection:
the API answers 503 ``database_unavailable`` and the HTML error page answers 503. The request's later
queries fail at once on the closed connection, and the next request opens a new connection (bounded by
``connect_timeout``).

Set ``query_timeout`` above ``statement_timeout`` so that a slow but live server cancels the statement
itself (its connection stays usable) and the client bound only fires when the server does not answer.
``None`` or 0 means no bound. The Django health check before a reused connection (``SELECT 1``) uses at
most ``connect_timeout``.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any

import psycopg
from django.db.backends.postgresql import base

# psycopg's own wait-deadline error (an OperationalError subclass, private to psycopg).
_WAIT_TIMEOUT = getattr(psycopg.errors, "_WaitTimeout", psycopg.errors.OperationalError)
_WAIT_INTERVAL = 0.1  # psycopg's default: how often a wait wakes up to check for signals (Ctrl-C)
# Connection.wait takes a deadline from psycopg 3.3 on; with an older psycopg the bound is off (a warning).
_WAIT_HAS_TIMEOUT = "timeout" in inspect.signature(psycopg.Connection.wait).parameters

logger = logging.getLogger(__name__)


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose waits for the server end after ``wait_timeout`` seconds (None: never)."""

    wait_timeout: float | None = None

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        """psycopg's wait, with ``wait_timeout`` as the deadline when the caller sets none. Raises
        ``OperationalError`` (and closes this connection) when the server does not answer in time."""
        bound = timeout if timeout is not None else self.wait_timeout
        try:
            return super().wait(gen, interval, bound)
        except _WAIT_TIMEOUT as exc:
            if bound is None or timeout is not None:
                raise
            # The query may still be running and its reply would arrive out of step: never reuse this one.
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {bound:g} s (query_timeout); connection closed") from exc


class DatabaseWrapper(base.DatabaseWrapper):
    """``django.db.backends.postgresql`` whose connections are ``BoundedConnection`` (see the module doc)."""

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("query_timeout", None)  # ours, not a libpq parameter
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # The real connection, also when tracing wraps it in a proxy (opentelemetry-instrumentation-psycopg).
        raw = getattr(connection, "__wrapped__", connection)
        timeout = self._query_timeout()
        if not _WAIT_HAS_TIMEOUT:
            if timeout:
                logger.warning("psycopg %s cannot bound its waits; query_timeout needs psycopg 3.3+",
                               psycopg.__version__)
        elif type(raw) is psycopg.Connection:
            raw.__class__ = BoundedConnection  # same layout, one overridden method
            raw.wait_timeout = timeout
        return connection

    def is_usable(self) -> bool:
        raw = getattr(self.connection, "__wrapped__", self.connection)
        if not isinstance(raw, BoundedConnection):
            return super().is_usable()
        # The health check before reusing a connection: a SELECT 1 gets no longer than a connect would.
        previous = raw.wait_timeout
        connect_timeout = float(self.settings_dict["OPTIONS"].get("connect_timeout") or 0) or None
        raw.wait_timeout = min((t for t in (previous, connect_timeout) if t), default=None)
        try:
            return super().is_usable()
        finally:
            raw.wait_timeout = previous

    def _query_timeout(self) -> float | None:
        value = float(self.settings_dict["OPTIONS"].get("query_timeout") or 0)
        return value if value > 0 else None
