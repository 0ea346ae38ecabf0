"""The LiteLLM double itself: model traffic for virtual keys, usage recording, the fault switch, the CLI."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from integrations.double import LiteLLMDouble, sha256
from tests.fixtures.litellm import DOUBLE_MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]
MASTER = {"x-litellm-api-key": DOUBLE_MASTER_KEY}


@pytest.fixture
def double(litellm_double: LiteLLMDouble) -> LiteLLMDouble:
    litellm_double.reset(seed_models=True)
    return litellm_double


def admin(double, path, body=None, method="POST"):
    return requests.request(method, double.url + path, json=body, headers=MASTER, timeout=5)


def chat(double, key, model="demo-chat", **extra):
    return requests.post(f"{double.url}/v1/chat/completions", timeout=5, headers={"Authorization": f"Bearer {key}"},
                         json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def new_key(double, **fields) -> str:
    key = f"sk-test-{time.monotonic_ns()}"
    assert admin(double, "/key/generate", {"key": key, "models": ["demo-chat"], **fields}).status_code == 200
    return key


def test_chat_records_usage_for_the_key_and_model(double):
    key = new_key(double, user_id="u1")
    reply = chat(double, key)
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == "pong: hi"
    assert reply.json()["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    info = admin(double, f"/key/info?key={sha256(key)}", method="GET").json()["info"]
    assert info["spend"] == pytest.approx(11e-6 + 14e-6)
    [row] = double.state.spend_rows
    assert (row["api_key"], row["model_group"], row["user_id"], row["success"]) == (sha256(key), "demo-chat", "u1", True)


def test_streaming_sends_sse_chunks_and_a_final_usage_chunk(double):
    key = new_key(double)
    reply = chat(double, key, stream=True, stream_options={"include_usage": True})
    assert reply.headers["Content-Type"] == "text/event-stream"
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["content"] == "pong: hi"
    assert chunks[-1]["usage"]["total_tokens"] == 18


def test_embeddings(double):
    key = new_key(double, models=["demo-embed"])
    reply = requests.post(f"{double.url}/v1/embeddings", headers={"Authorization": f"Bearer {key}"}, timeout=5,
                          json={"model": "demo-embed", "input": ["a", "b"]})
    assert reply.status_code == 200 and len(reply.json()["data"]) == 2


@pytest.mark.parametrize(("setup", "status", "error_type"), [
    ({"models": ["demo-embed"]}, 403, "key_model_access_denied"),
    ({"max_budget": 0}, 429, "budget_exceeded"),
    ({"duration": "1s", "_wait": True}, 401, "expired_key"),
])
def test_key_rules_are_enforced(double, setup, status, error_type, time_machine):
    wait = setup.pop("_wait", False)
    key = new_key(double, **{"models": ["demo-chat"], **setup})
    if wait:
        time_machine.move_to(time.time() + 5)
    reply = chat(double, key)
    assert reply.status_code == status and reply.json()["error"]["type"] == error_type


def test_blocked_and_unknown_keys_are_refused(double):
    key = new_key(double)
    admin(double, "/key/block", {"key": key})
    assert chat(double, key).status_code == 401
    assert chat(double, "sk-unknown-key-1234567").json()["error"]["type"] == "token_not_found_in_db"


def test_admin_routes_need_the_master_key(double):
    key = new_key(double)
    assert requests.get(f"{double.url}/model/info", timeout=5).status_code == 401
    assert requests.get(f"{double.url}/model/info", headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 401
    assert requests.get(f"{double.url}/model/info", headers={"Authorization": f"Bearer {DOUBLE_MASTER_KEY}"},
                        timeout=5).status_code == 200


def test_fault_switch_over_http_counts_down_and_filters_paths(double):
    requests.post(f"{double.url}/__double__/fault", json={"mode": "error", "status": 502, "count": 1,
                                                          "paths": ["/model/"]}, timeout=5)
    assert admin(double, "/team/info?team_id=x", method="GET").status_code == 404  # other path: untouched
    assert admin(double, "/model/info", method="GET").status_code == 502
    assert admin(double, "/model/info", method="GET").status_code == 200
    assert requests.get(f"{double.url}/__double__/fault", timeout=5).json()["mode"] == "none"


def test_fault_modes_html_malformed_slow_and_rate_limit(double):
    double.set_fault("html")
    reply = admin(double, "/model/info", method="GET")
    assert reply.status_code == 502 and reply.headers["Content-Type"].startswith("text/html")
    double.set_fault("malformed")
    with pytest.raises(ValueError):
        admin(double, "/model/info", method="GET").json()
    double.set_fault("rate_limit", retry_after=3)
    assert admin(double, "/model/info", method="GET").headers["Retry-After"] == "3"
    double.set_fault("slow", delay=0.2)
    started = time.monotonic()
    assert admin(double, "/model/info", method="GET").status_code == 200
    assert time.monotonic() - started >= 0.2
    double.set_fault("down")
    with pytest.raises(requests.ConnectionError):
        admin(double, "/model/info", method="GET")


def test_hang_applies_the_change_then_never_answers(double):
    double.set_fault("hang", delay=5)
    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{double.url}/team/new", json={"team_id": "t1"}, headers=MASTER, timeout=0.3)
    double.clear_fault()  # releases the hanging handler
    assert "t1" in double.state.teams


def test_unknown_fault_mode_is_refused(double):
    reply = requests.post(f"{double.url}/__double__/fault", json={"mode": "melt"}, timeout=5)
    assert reply.status_code == 400


def test_reset_over_http_clears_objects_and_calls(double):
    new_key(double)
    requests.post(f"{double.url}/__double__/reset", json={"seed_models": True}, timeout=5)
    assert double.state.keys == {} and len(double.state.models) == 2
    assert [c["path"] for c in requests.get(f"{double.url}/__double__/calls", timeout=5).json()["calls"]] == [
        "/__double__/calls"]


def test_only_loopback_is_allowed():
    with pytest.raises(ValueError):
        LiteLLMDouble(host="0.0.0.0")  # noqa: S104 - that is the point


def test_the_cli_serves_the_demo(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "integrations.double", "--port", str(port), "--master-key",
                                "sk-demo-master", "--seed-models"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        reply = requests.get(f"http://127.0.0.1:{port}/model/info", headers={"x-litellm-api-key": "sk-demo-master"},
                             timeout=5)
        assert {m["model_name"] for m in reply.json()["data"]} == {"demo-chat", "demo-embed"}
    finally:
        process.terminate()
        process.wait(timeout=5)
