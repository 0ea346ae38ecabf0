"""The LiteLLM double: an in-process, in-memory stand-in for the LiteLLM proxy (1.103.7 semantics).

Used by the test suite (fixture ``litellm_double`` in ``tests/fixtures/litellm.py``), the contract suite
(always run against it, and against the real proxy when configured) and the README demo
(``python -m integrations.double --port 4010 --master-key sk-demo-master --seed-models``).

From Python::

    with LiteLLMDouble(master_key="sk-test-master", seed_models=True) as double:
        double.url                       # http://127.0.0.1:<free port>
        double.set_fault("error", status=503, count=2)
        double.clear_fault(); double.reset(); double.calls
"""
from __future__ import annotations

import threading
from typing import Any

from integrations.double.server import FAULT_MODES, DoubleServer, Fault
from integrations.double.state import DoubleState, sha256

__all__ = ["FAULT_MODES", "LiteLLMDouble", "sha256"]


class LiteLLMDouble:
    """Start/stop the double in a background thread and steer it (faults, reset, call log, state)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, master_key: str = "sk-double-master",
                 seed_models: bool = False) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the double only listens on loopback")
        self.master_key = master_key
        self.state = DoubleState(master_key)
        self._seed = seed_models
        if seed_models:
            self.state.seed_models()
        self._server = DoubleServer((host, port), self.state)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LiteLLMDouble(url={self.url!r})"

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:4010``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LiteLLMDouble:
        """Serve in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="litellm-double", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (later connections are refused)."""
        self._server.release_hang.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LiteLLMDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI)."""
        self._server.serve_forever()

    def set_fault(self, mode: str, **options: Any) -> Fault:
        """Switch a fault on (see ``integrations/double/server.py`` for the modes and options)."""
        return self._server.set_fault(mode=mode, **options)

    def clear_fault(self) -> None:
        """Back to healthy (also releases hanging requests)."""
        self._server.set_fault(mode="none")

    def reset(self, *, seed_models: bool | None = None) -> None:
        """Clear faults, the call log and all objects (re-seeding demo models if asked or seeded at start)."""
        self.clear_fault()
        self._server.calls.clear()
        self.state.reset(seed_models=self._seed if seed_models is None else seed_models)

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Requests received so far (method, path, params, body, fault)."""
        return list(self._server.calls)

    def calls_to(self, path: str, method: str | None = None) -> list[dict[str, Any]]:
        """Requests to one path (optionally one method)."""
        return [c for c in self._server.calls if c["path"] == path and (method is None or c["method"] == method)]
