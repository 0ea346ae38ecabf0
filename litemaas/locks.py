"""Single-flight locks for periodic jobs and admin "run now" actions (one run at a time, portal-wide).

Why not just ``cache.add``: with ``IGNORE_EXCEPTIONS`` a Redis outage turns ``cache.add`` into ``None``,
which callers read as "someone else holds the lock", so model sync and usage refresh answered 409 and the
sweeps skipped for as long as Redis was down. Treating an unreachable cache as "acquired" is no better: it
lets two runs overlap. So a lock is two locks, and a run needs both:

1. **The cache key** (``cache.add(name, token, timeout)``): what the portal always used. It keeps the old
   contract: a key someone else holds means "busy" (409 / skip), the timeout frees the key of a crashed
   run, and readers such as ``reconcile_is_running`` see it. If the cache cannot answer (error or the
   ``None`` that django-redis returns for an ignored error) this layer is skipped, not failed.
2. **The database lock**, taken whether or not the cache answered: on PostgreSQL a session-level
   ``pg_try_advisory_lock`` on a *dedicated* connection opened for the run. A separate connection keeps
   the lock out of the run's own transactions (an aborted transaction cannot strand it) and closing it
   in ``release`` always frees it; a process that dies frees it too, because the server ends its session.
   On SQLite (development, one machine) a process-local ``threading.Lock`` stands in for it.

Taking both, not "the database only when the cache is down", is what keeps exclusion sound while Redis
comes and goes: a run that started with Redis up still holds the advisory lock when Redis disappears, and
a run that started during the outage still holds it when Redis returns, so no second run slips in through
the other layer. Every periodic job needs the database anyway; the price is one short-lived extra
connection per running job. (Session advisory locks need a session-pooling or direct connection; behind
PgBouncer in transaction mode use a direct ``DATABASE_URL`` for workers.)
"""
from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def advisory_key(name: str) -> int:
    """The signed 64-bit PostgreSQL advisory-lock key for ``name`` (stable across processes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _cache_add(name: str, token: str, timeout: int) -> bool | None:
    """``True``/``False`` from the cache, ``None`` when the cache could not answer."""
    try:
        client = getattr(cache, "client", None)
        if client is not None and hasattr(client, "add"):
            # django-redis: ask the client itself, which raises on an outage instead of returning the
            # ``None`` that IGNORE_EXCEPTIONS makes of it (litemaas.cache also fails fast while Redis is down).
            result = client.add(name, token, timeout=timeout)
        else:
            result = cache.add(name, token, timeout)
    except Exception as exc:  # noqa: BLE001 - any cache failure means "no answer", never "held"
        logger.warning("cache unavailable for lock %s (%s); relying on the database lock", name,
                       type(exc).__name__)
        return None
    if result is None:
        logger.warning("cache unavailable for lock %s; relying on the database lock", name)
        return None
    return bool(result)


def _cache_release(name: str, token: str) -> None:
    try:
        if cache.get(name) == token:
            cache.delete(name)
    except Exception:  # noqa: BLE001 - the key expires on its own
        logger.debug("cache unavailable releasing %s", name)


class SingleFlightLock:
    """One attempt at the lock ``name`` (see the module docstring). Not re-entrant, not shared by threads.

    ``acquire()`` never blocks on another holder: it returns False at once when the lock is held. It raises
    the database error when PostgreSQL cannot be reached (no database, no run). ``release()`` is idempotent
    and never raises.
    """

    def __init__(self, name: str, *, timeout: int, using: str = DEFAULT_DB_ALIAS) -> None:
        self.name, self.timeout, self.using = name, timeout, using
        self.token = uuid.uuid4().hex
        self.held = False
        self._in_cache = False
        self._db_connection: Any = None
        self._local: threading.Lock | None = None

    def acquire(self) -> bool:
        """Take both layers or neither; True when this attempt now holds the lock."""
        if self.held:
            raise RuntimeError(f"lock {self.name!r} is already held by this attempt")
        in_cache = _cache_add(self.name, self.token, self.timeout)
        if in_cache is False:
            return False
        self._in_cache = bool(in_cache)
        try:
            taken = self._acquire_database()
        except BaseException:
            self._release_cache()
            raise
        if not taken:
            self._release_cache()
            return False
        self.held = True
        return True

    def release(self) -> None:
        """Give both layers back (database first, so the cache key never outlives a held database lock)."""
        if not self.held:
            return
        self.held = False
        self._release_database()
        self._release_cache()

    def _release_cache(self) -> None:
        if self._in_cache:
            self._in_cache = False
            _cache_release(self.name, self.token)

    def _acquire_database(self) -> bool:
        if connections[self.using].vendor != "postgresql":
            with _LOCAL_LOCKS_GUARD:
                local = _LOCAL_LOCKS.setdefault(self.name, threading.Lock())
            if not local.acquire(blocking=False):
                return False
            self._local = local
            return True
        db = connections.create_connection(self.using)
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(self.name)])
                taken = bool(cursor.fetchone()[0])
        except BaseException:
            db.close()
            raise
        if not taken:
            db.close()
            return False
        self._db_connection = db
        return True

    def _release_database(self) -> None:
        if self._local is not None:
            self._local.release()
            self._local = None
        db, self._db_connection = self._db_connection, None
        if db is None:
            return
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [advisory_key(self.name)])
        except Exception:  # noqa: BLE001 - closing the session below frees the lock anyway
            logger.debug("could not unlock %s explicitly; closing its connection", self.name)
        finally:
            try:
                db.close()
            except Exception:  # noqa: BLE001 - a broken connection is gone, and its lock with it
                logger.debug("error closing the lock connection of %s", self.name)


@contextmanager
def single_flight(name: str, *, timeout: int, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Hold the single-flight lock ``name`` for the block; yields whether it was acquired.

    ``timeout`` (seconds) only bounds the cache key of a run that crashed without releasing it; the
    database lock lives exactly as long as the run. A False yield means another run holds the lock: the
    caller skips or answers 409. Raises the database error when PostgreSQL is unreachable. Released on
    every exit from the block.

    Usage::

        with single_flight("usage:ingest:lock", timeout=600) as acquired:
            if not acquired:
                raise ConflictError(...)
            ...
    """
    lock = SingleFlightLock(name, timeout=timeout, using=using)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        lock.release()
