"""The Redis cache backend: django-redis, plus "fail fast" while Redis is unreachable.

django-redis with ``IGNORE_EXCEPTIONS`` already turns a Redis outage into cache misses, but every cache call
still waits for its socket timeout. A page makes several cache calls (throttles, breaker, spend caches), so
a *paused* Redis (hung, network black hole) held requests for 8-16 s (reliability.md §5 scenario 22). After
a connection error or timeout this backend skips Redis in this process for ``SKIP_SECONDS`` (every call is
an immediate miss), then lets the next call probe again: a request waits at most about one socket timeout.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Final

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long one process treats Redis as down after a connection error / timeout before probing again.
SKIP_SECONDS: Final = 5.0
_OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, socket.timeout, OSError)


class _FailFastClient:
    """Wraps a django-redis client: calls raise ``ConnectionInterrupted`` at once while Redis is marked down."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._down_until = 0.0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if time.monotonic() < self._down_until:
                raise ConnectionInterrupted(connection=None) from RedisConnectionError("skipped: Redis marked down")
            try:
                return attribute(*args, **kwargs)
            except ConnectionInterrupted as exc:
                if isinstance(exc.__cause__, _OUTAGE_ERRORS):
                    with self._lock:
                        if time.monotonic() >= self._down_until:
                            logger.warning("Redis cache unreachable (%s); skipping it for %ss",
                                           type(exc.__cause__).__name__, SKIP_SECONDS)
                        self._down_until = time.monotonic() + SKIP_SECONDS
                raise

        return call


class FailFastRedisCache(RedisCache):
    """``django_redis.cache.RedisCache`` whose client fails fast during an outage (see the module docstring)."""

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _FailFastClient(self._client_cls(self._server, self._params, self))
        return self._client
