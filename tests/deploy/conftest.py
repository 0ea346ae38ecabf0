"""Fixtures for the deployment tests: a production-like gunicorn server and a stand-in OTLP collector."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MASTER_KEY = "sk-master-test-value-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Collector:
    """Accepts OTLP/HTTP POSTs on 127.0.0.1 and keeps their bodies."""

    port: int
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def otlp_collector() -> Iterator[Collector]:
    collector = Collector(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            collector.bodies.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    collector.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield collector
    server.shutdown()


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A production-like environment (DEBUG off) on SQLite, local cache and eager Celery."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "OTEL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="litemaas.settings",
        DEBUG="false",
        SECRET_KEY="test-only-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        LITELLM_API_URL="http://127.0.0.1:9",
        LITELLM_MASTER_KEY=MASTER_KEY,
        STATIC_ROOT=str(tmp / "static"),
        PYTHONUNBUFFERED="1",
        LITEMAAS_TESTING="false",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


@dataclass
class Server:
    url: str
    log_path: Path
    session_key: str
    user_id: str
    process: subprocess.Popen[bytes]

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory, otlp_collector: Collector) -> Iterator[Server]:
    """gunicorn with deploy/container/gunicorn.conf.py, DEBUG off, tracing to the stand-in collector."""
    tmp = tmp_path_factory.mktemp("prod")
    port = free_port()
    multiproc = tmp / "prom"
    multiproc.mkdir()
    (tmp / "static").mkdir()
    env = production_env(
        tmp,
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        GUNICORN_QUIET_PATHS="",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    python = str(VENV_BIN / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)  # noqa: S603
    script = (
        "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "u = get_user_model().objects.create(username='logtest')\n"
        "s = SessionStore()\n"
        "s[SESSION_KEY] = str(u.pk)\n"
        "from django.conf import settings\n"
        "s[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]\n"
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
        "s.create()\n"
        "print(s.session_key, u.pk)\n"
    )
    out = subprocess.run(  # noqa: S603
        [python, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, timeout=120,
        capture_output=True, text=True,
    ).stdout.split()
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/container/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "litemaas.wsgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", log_path, out[-2], out[-1], process)
    try:
        wait_for(server.url + "/health/live")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=60)
