"""The double's HTTP side: a stdlib ``ThreadingHTTPServer`` on 127.0.0.1, routing, auth and faults.

Control endpoints (no auth; the server only binds loopback addresses):

- ``POST /__double__/fault`` ``{"mode": ..., "status": 503, "delay": 2.0, "retry_after": 1, "count": 2,
  "paths": ["/key/"]}``; modes: ``none``, ``down`` (reset the connection), ``slow`` (answer after
  ``delay``), ``error`` (``status``, default 503, JSON), ``rate_limit`` (429 + ``Retry-After``), ``html``
  (``status``, default 502, an HTML page), ``malformed`` (200 with broken JSON), ``hang`` (do the work,
  then never answer until ``delay`` passes or the fault is cleared). ``count`` limits the fault to the next
  N matching requests; ``paths`` to path prefixes. ``GET`` shows it, ``DELETE`` clears it.
- ``POST /__double__/reset`` (``{"seed_models": true}`` optional), ``GET /__double__/calls``.
"""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from integrations.double import keys as key_ops
from integrations.double.state import DoubleState, Reply, err

FAULT_MODES = ("none", "down", "slow", "error", "rate_limit", "html", "malformed", "hang")
DOUBLE_VERSION = "1.103.7-double"
# Model traffic and health answer with the caller's virtual key, everything else needs the master key.
_PUBLIC = {"/health/liveness", "/health/liveliness", "/health/readiness", "/"}
_MODEL_ROUTES = {"/v1/chat/completions": "chat", "/chat/completions": "chat", "/v1/embeddings": "embeddings",
                 "/embeddings": "embeddings", "/v1/models": "models", "/models": "models"}


@dataclass
class Fault:
    """The active fault (``mode == "none"`` means healthy)."""

    mode: str = "none"
    status: int | None = None
    delay: float = 30.0
    retry_after: float | None = None
    count: int | None = None
    paths: list[str] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        """Whether this fault applies to ``path``."""
        return self.mode != "none" and (not self.paths or any(path.startswith(p) for p in self.paths))


class DoubleServer(ThreadingHTTPServer):
    """Holds the state, the fault switch and the call log shared by all handler threads."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: DoubleState) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.fault = Fault()
        self.fault_lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []
        self.release_hang = threading.Event()

    def set_fault(self, **spec: Any) -> Fault:
        """Replace the active fault (``mode="none"`` heals); raises ValueError for an unknown mode."""
        mode = spec.get("mode", "none")
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {FAULT_MODES}")
        with self.fault_lock:
            self.release_hang.set()  # wake any request hanging under the previous fault
            self.release_hang = threading.Event()
            self.fault = Fault(mode=mode, status=spec.get("status"), delay=float(spec.get("delay", 30.0)),
                               retry_after=spec.get("retry_after"), count=spec.get("count"),
                               paths=list(spec.get("paths") or []))
            return self.fault

    def take_fault(self, path: str) -> Fault | None:
        """The fault applying to this request, consuming one use of a counted fault."""
        if path.startswith("/__double__/"):
            return None
        with self.fault_lock:
            fault = self.fault
            if not fault.matches(path):
                return None
            if fault.count is not None:
                if fault.count <= 0:
                    self.fault = Fault()
                    return None
                fault.count -= 1
                if fault.count <= 0:
                    self.fault = Fault()
            return fault


class Handler(BaseHTTPRequestHandler):
    """Routes one request; every reply is JSON with Content-Length (keep-alive friendly)."""

    server: DoubleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def do_OPTIONS(self) -> None:  # noqa: N802
        """CORS preflight, answered like LiteLLM's CORSMiddleware (all origins, methods and headers)."""
        self.send_response(200)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         self.headers.get("Access-Control-Request-Headers") or "authorization, content-type")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        """Add LiteLLM's permissive CORS headers to every answer, so the browser playground can call us."""
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        super().end_headers()

    # -- plumbing --------------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        """Silence the stdlib access log (the call log is the record)."""
        url = urlsplit(self.path)
        path, params = url.path.rstrip("/") or "/", dict(parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        fault = self.server.take_fault(path)
        self.server.calls.append({"method": method, "path": path, "params": params, "time": time.time(),
                                  "body": body if isinstance(body, dict) else None,
                                  "fault": fault.mode if fault else None})
        if fault is not None and self._apply_fault_before(fault):
            return
        if body is None:
            return self._send(*err(400, "Invalid JSON body", "invalid_request_error"))
        status, reply, stream = self._route(method, path, params, body)
        if fault is not None and fault.mode == "hang":
            # Accept-then-hang: the change above is committed, the answer never comes.
            self.server.release_hang.wait(fault.delay)
            self._reset_connection()
            return
        if stream is not None:
            return self._send_stream(reply, stream, body)
        self._send(status, reply)

    def _apply_fault_before(self, fault: Fault) -> bool:
        if fault.mode == "down":
            self._reset_connection()
            return True
        if fault.mode == "slow":
            time.sleep(fault.delay)
            return False
        if fault.mode == "error":
            status = fault.status or 503
            self._send(*err(status, "double: injected fault"))
            return True
        if fault.mode == "rate_limit":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self._send(*err(429, "double: rate limited", "rate_limit_error"), headers=headers)
            return True
        if fault.mode == "html":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
            self._send_raw(fault.status or 502, page, "text/html; charset=utf-8")
            return True
        if fault.mode == "malformed":
            self._send_raw(200, b'{"data": [{"model_name": "trunc', "application/json")
            return True
        return False

    def _reset_connection(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(body).encode(), "application/json", headers)

    def _send_raw(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def _send_stream(self, reply: dict[str, Any], stream: dict[str, Any], body: dict[str, Any]) -> None:
        chunk = {"id": reply["id"], "object": "chat.completion.chunk", "created": reply["created"], "model": reply["model"]}
        events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": stream["content"]}}]},
                  {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk, "choices": [{"index": 0, "delta": {}}], "usage": stream["usage"]})
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload.encode())
        except OSError:
            pass

    def _caller_key(self) -> str:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return (self.headers.get("x-litellm-api-key") or self.headers.get("api-key") or "").strip()

    # -- routing ---------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, params: dict[str, str], body: dict[str, Any]) -> tuple[int, Any, Any]:
        state = self.server.state
        if path.startswith("/__double__/"):
            return (*self._control(method, path, body), None)
        if path in ("/health/liveness", "/health/liveliness"):
            return 200, "I'm alive!", None
        if path == "/health/readiness":
            return 200, {"status": "healthy", "db": "connected"}, None
        caller = self._caller_key()
        if path in _MODEL_ROUTES:
            return self._model_route(_MODEL_ROUTES[path], caller, body)
        if not caller:
            return (*err(401, "Authentication Error, No api key passed in.", "auth_error", "None"), None)
        if not caller.startswith("sk-"):
            return (*err(401, "LiteLLM Virtual Key expected. Received=****, expected to start with 'sk-'.",
                         "auth_error", "None"), None)
        if path == "/key/info" and method == "GET" and (caller == state.master_key or not params.get("key")):
            return (*key_ops.key_info(state, params.get("key"), caller), None)
        if caller != state.master_key:
            return (*err(401, f"Authentication Error, Only proxy admin can be used to call this route. Route={path}",
                         "auth_error", "None"), None)
        return (*self._admin_route(method, path, params, body), None)

    def _admin_route(self, method: str, path: str, params: dict[str, str], body: dict[str, Any]) -> Reply:
        state = self.server.state
        if path.startswith("/model/") and path.endswith("/update"):
            if method != "PATCH":
                return 405, {"detail": "Method Not Allowed"}
            return state.model_update(path[len("/model/"):-len("/update")], body)
        routes: dict[tuple[str, str], Any] = {
            ("GET", "/health/readiness/details"): lambda: (200, {"status": "healthy", "db": "connected",
                                                                  "litellm_version": DOUBLE_VERSION}),
            ("GET", "/model/info"): lambda: state.model_info(params.get("litellm_model_id")),
            ("GET", "/v1/model/info"): lambda: state.model_info(params.get("litellm_model_id")),
            ("POST", "/model/new"): lambda: state.model_new(body),
            ("POST", "/model/delete"): lambda: state.model_delete(str(body.get("id"))),
            ("POST", "/user/new"): lambda: state.user_new(body),
            ("GET", "/user/info"): lambda: state.user_info(params.get("user_id")),
            ("POST", "/user/update"): lambda: state.user_update(body),
            ("POST", "/team/new"): lambda: state.team_new(body),
            ("GET", "/team/info"): lambda: state.team_info(params.get("team_id")),
            ("GET", "/user/list"): lambda: state.user_list(params),
            ("GET", "/team/list"): lambda: state.team_list(),
            ("POST", "/team/update"): lambda: state.team_update(body),
            ("POST", "/team/member_add"): lambda: state.team_member_add(body),
            ("POST", "/team/member_delete"): lambda: state.team_member_delete(body),
            ("POST", "/team/member_update"): lambda: state.team_member_update(body),
            ("GET", "/v2/team/list"): lambda: state.team_list_v2(params),
            ("POST", "/key/generate"): lambda: key_ops.key_generate(state, body),
            ("POST", "/key/update"): lambda: key_ops.key_update(state, body),
            ("POST", "/key/delete"): lambda: key_ops.key_delete(state, body),
            ("POST", "/key/block"): lambda: key_ops.key_block(state, body, blocked=True),
            ("POST", "/key/unblock"): lambda: key_ops.key_block(state, body, blocked=False),
            ("GET", "/key/list"): lambda: key_ops.key_list(state, params),
            ("GET", "/user/daily/activity"): lambda: key_ops.daily_activity(state, params),
        }
        handler = routes.get((method, path))
        if handler is None:
            return 404, {"detail": "Not Found"}
        return handler()

    def _model_route(self, kind: str, caller: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        state = self.server.state
        if kind == "models":
            failure, _ = key_ops.authorize_model_call(state, caller, None)
            with state.lock:
                key = state.keys.get(key_ops.sha256(caller)) if caller.startswith("sk-") else None
                if key is None:
                    return (*(failure or err(401, "Authentication Error", "auth_error")), None)
                names = key["models"] or sorted({m["model_name"] for m in state.models.values()})
            return 200, {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "openai"} for n in names]}, None
        (status, reply), stream = key_ops.model_call(state, caller, body, kind=kind)
        return status, reply, (stream if stream and body.get("stream") else None)

    def _control(self, method: str, path: str, body: dict[str, Any]) -> Reply:
        server = self.server
        if path == "/__double__/fault":
            if method == "POST":
                try:
                    fault = server.set_fault(**body)
                except (TypeError, ValueError) as exc:
                    return 400, {"error": str(exc)}
                return 200, fault.__dict__
            if method == "DELETE":
                return 200, server.set_fault(mode="none").__dict__
            return 200, server.fault.__dict__
        if path == "/__double__/reset" and method == "POST":
            server.set_fault(mode="none")
            server.state.reset(seed_models=bool(body.get("seed_models")))
            server.calls.clear()
            return 200, {"reset": True}
        if path == "/__double__/calls":
            return 200, {"calls": list(server.calls)}
        return 404, {"detail": "Not Found"}
