"""Loopback TCP fault proxy for tests (toxiproxy is not available here): pass | latency | blackhole | reset | refuse.

Sits between the portal and one upstream on 127.0.0.1 (the LiteLLM double, Redis, PostgreSQL) and switches
failure mode at runtime, for new *and* already-open connections (pooled keep-alive connections to LiteLLM,
Redis and PostgreSQL must see the fault too, as they would when the server really dies or hangs):

- ``pass``: bytes flow both ways.
- ``latency``: every chunk is delayed by ``delay`` seconds (a slow link or a slow server).
- ``blackhole``: connections are accepted but nothing is forwarded or answered (a hung server, a dropped
  route); open connections stall too.
- ``reset``: new connections are closed with a RST; open ones are reset at once (a crashed server).
- ``refuse``: the listener is closed (connection refused) and open connections are reset (server down).

Usage::

    with FaultProxy(upstream_port) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        proxy.set("blackhole"); ...; proxy.set("pass")
"""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
from typing import Final

MODES: Final = ("pass", "latency", "blackhole", "reset", "refuse")


class FaultProxy:
    """One listening port on 127.0.0.1 forwarding to ``upstream_port``; ``set(mode)`` changes behaviour."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1", listen_port: int = 0) -> None:
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.host = "127.0.0.1"
        self.port = listen_port
        self.mode = "pass"
        self.delay = 0.0
        self.accepted = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # client side: reset on a fault
        self._upstreams: set[asyncio.StreamWriter] = set()  # upstream side: closed politely (FIN)
        self._flowing = asyncio.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._call(self._start())

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FaultProxy(:{self.port} -> :{self.upstream_port}, mode={self.mode})"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (for HTTP upstreams)."""
        return f"http://{self.host}:{self.port}"

    # -- control (any thread) ----------------------------------------------------------------------------

    def set(self, mode: str, delay: float = 0.0) -> None:
        """Switch mode; takes effect for open connections too. Raises ValueError for an unknown mode."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        self._call(self._set(mode, delay))

    def close(self) -> None:
        """Stop listening, reset every connection and stop the loop thread."""
        if self._loop.is_closed():
            return
        self._call(self._set("refuse", 0.0))
        self._call(self._cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    # -- event loop side ---------------------------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _set(self, mode: str, delay: float) -> None:
        previous, self.mode, self.delay = self.mode, mode, delay
        if mode == "refuse" and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if mode != "refuse" and self._server is None:
            self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        if mode in ("reset", "refuse"):
            for writer in list(self._writers):
                _abort(writer)
            for writer in list(self._upstreams):
                writer.close()
            self._writers.clear()
            self._upstreams.clear()
        if mode == "blackhole":
            self._flowing.clear()
        elif previous == "blackhole":
            self._flowing.set()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "reset":
            _abort(client_writer)
            return
        self._writers.add(client_writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            await self._flowing.wait()  # a black-holed connection waits here, accepted and unanswered
            if self.mode in ("reset", "refuse"):
                _abort(client_writer)
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(self.upstream_host,
                                                                                 self.upstream_port)
            except OSError:
                _abort(client_writer)
                return
            self._upstreams.add(upstream_writer)
            await asyncio.gather(self._pipe(client_reader, upstream_writer),
                                 self._pipe(upstream_reader, client_writer))
        finally:
            self._writers.discard(client_writer)
            if upstream_writer is not None:
                self._upstreams.discard(upstream_writer)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if self.mode == "latency" and self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN: the peer sees ECONNRESET, like a crashed server."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()
