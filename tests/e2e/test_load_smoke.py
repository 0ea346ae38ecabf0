"""A 15-second run of the load mix (scripts/load-test.sh: gunicorn, PostgreSQL, Redis, the LiteLLM double,
locust headless) must finish with zero errors on every endpoint. Latency is reported, not asserted here
(the figures depend on the machine; bench/load/README.md has the targets)."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _reachable() -> str:
    if not shutil.which("psql") or not shutil.which("redis-cli"):
        return "psql / redis-cli missing"
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode:
        return "PostgreSQL is not running on 127.0.0.1:5432"
    if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, check=False).returncode:
        return "Redis is not running on 127.0.0.1:6379"
    return ""


def test_load_mix_for_15_seconds_has_no_errors(tmp_path):
    reason = _reachable()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "LOAD_RESULTS_DIR": str(tmp_path), "LOAD_DB": "litemaas_load_smoke", "LOAD_PORT": "8311",
           "LOAD_DOUBLE_PORT": "4432", "LOAD_SEED_USERS": "10", "LOAD_WARMUP": "5s", "LOAD_WORKERS": "2"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(["bash", str(ROOT / "scripts" / "load-test.sh"), "15s", "10"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=420, check=False)
    print(result.stdout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    [report] = tmp_path.glob("load-*.csv")
    rows = list(csv.DictReader(report.open()))
    endpoints = {r["endpoint"]: r for r in rows if r["endpoint"] != "Aggregated"}
    assert {"/models/", "/api-keys/", "/usage/"} <= set(endpoints), sorted(endpoints)
    assert sum(int(r["requests"]) for r in endpoints.values()) > 50
    assert all(int(r["errors"]) == 0 for r in endpoints.values()), rows
