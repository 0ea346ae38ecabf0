"""Error mapping and the retry / no-retry matrix, by status and by kind of failure."""
from __future__ import annotations

import logging
import time

import pytest
import requests
import responses

from integrations.litellm.client import LiteLLMClient, hash_key
from integrations.litellm.errors import (
    LiteLLMAlreadyExists,
    LiteLLMEnterpriseRequired,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from tests.integrations import payloads as p


@pytest.fixture
def client(fast_retries) -> LiteLLMClient:
    return LiteLLMClient(base_url=p.BASE, master_key=p.MASTER, connect_timeout=1, read_timeout=2)


@pytest.mark.parametrize(("status", "body", "error"), [
    (400, {"error": {"message": "bad", "type": "invalid_request_error", "code": "400"}}, LiteLLMRejected),
    (401, {"error": {"message": "Authentication Error, No api key passed in.", "type": "auth_error"}}, LiteLLMRejected),
    (403, {"error": {"message": "forbidden"}}, LiteLLMRejected),
    (404, p.USER_NOT_FOUND, LiteLLMNotFound),
    (409, p.USER_EXISTS, LiteLLMAlreadyExists),
    (422, {"detail": [{"type": "literal_error", "loc": ["body", "user_role"], "msg": "Input should be ..."}]},
     LiteLLMRejected),
])
@responses.activate
def test_4xx_is_rejected_once_never_retried(client, status, body, error):
    responses.post(f"{p.BASE}/user/update", status=status, json=body)
    with pytest.raises(error) as exc:
        client.user_update(p.USER_ID, max_budget=1)
    assert len(responses.calls) == 1
    assert exc.value.status == status
    assert exc.value.details["status"] == status and exc.value.details["reason"]
    assert exc.value.status_code == 502


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
@responses.activate
def test_5xx_and_429_are_unavailable_and_retried_three_times(client, status):
    responses.get(f"{p.BASE}/team/info", status=status, json={"error": {"message": "boom"}})
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.team_get(p.TEAM_ID)
    assert len(responses.calls) == 3
    assert exc.value.status_code == 503 and exc.value.retry_after >= 1
    assert exc.value.message == "LiteLLM is unavailable right now; nothing was changed. Try again in a minute."


@responses.activate
def test_a_transient_failure_then_success_returns_the_result(client):
    responses.get(f"{p.BASE}/team/info", status=503, json={"error": {"message": "starting"}})
    responses.get(f"{p.BASE}/team/info", json=p.TEAM_INFO)
    assert client.team_get(p.TEAM_ID).team_id == p.TEAM_ID
    assert len(responses.calls) == 2


@pytest.mark.parametrize(("body", "content_type", "problem"), [
    ("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "html_body"),
    ('{"data": [trunc', "application/json", "malformed_body"),
    ("<!DOCTYPE html><p>login</p>", "application/json", "html_body"),
])
@responses.activate
def test_html_and_malformed_bodies_are_unavailable_and_retried(client, body, content_type, problem):
    responses.get(f"{p.BASE}/model/info", body=body, status=200, content_type=content_type)
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.model_list()
    assert exc.value.details["problem"] == problem
    assert len(responses.calls) == 3


@responses.activate
def test_an_html_error_page_with_a_4xx_status_is_unavailable_not_rejected(client):
    responses.get(f"{p.BASE}/model/info", body="<html>Application is not available</html>", status=404,
                  content_type="text/html")
    with pytest.raises(LiteLLMUnavailable):
        client.model_list()


@responses.activate
def test_a_200_with_an_unexpected_shape_is_a_bad_response(client):
    responses.get(f"{p.BASE}/model/info", json={"data": [{"model_name": "x"}]})
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.model_list()
    assert exc.value.code == "litellm_bad_response"


@responses.activate
def test_a_redirect_is_refused_so_the_master_key_never_follows_it(client):
    responses.get(f"{p.BASE}/model/info", status=302, headers={"Location": "https://evil.example/"})
    with pytest.raises(LiteLLMUnavailable):
        client.model_list()
    assert all(c.request.url.startswith(p.BASE) for c in responses.calls)


@responses.activate
def test_enterprise_refusal_is_rejected_even_as_a_500(client):
    responses.post(f"{p.BASE}/key/generate", status=500, json=p.ENTERPRISE_500)
    with pytest.raises(LiteLLMEnterpriseRequired):
        client.key_generate(key=p.KEY, models=["m"], model_max_budget={"m": {"budget_limit": 1, "time_period": "30d"}})
    assert len(responses.calls) == 1


@responses.activate
def test_retry_after_is_honoured_and_capped(fast_retries):
    client = LiteLLMClient(base_url=p.BASE, master_key=p.MASTER, retry_after_cap=0.3, retry_max_wait=5)
    responses.get(f"{p.BASE}/team/info", status=429, json={"error": {"message": "slow down"}},
                  headers={"Retry-After": "60"})
    responses.get(f"{p.BASE}/team/info", json=p.TEAM_INFO)
    started = time.monotonic()
    client.team_get(p.TEAM_ID)
    assert 0.28 <= time.monotonic() - started < 1.5  # waited the cap, not 60 s nor the ms backoff


@responses.activate
def test_the_final_error_tells_the_api_client_litellms_retry_after(client):
    responses.get(f"{p.BASE}/team/info", status=503, json={"error": {"message": "x"}}, headers={"Retry-After": "0.01"})
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.team_get(p.TEAM_ID)
    assert exc.value.retry_after == 1


@responses.activate
def test_retries_stop_at_the_total_budget(fast_retries):
    client = LiteLLMClient(base_url=p.BASE, master_key=p.MASTER, retry_attempts=5, retry_max_wait=0.5,
                           retry_after_cap=0.3)
    responses.get(f"{p.BASE}/team/info", status=503, json={"error": {"message": "x"}}, headers={"Retry-After": "1"})
    started = time.monotonic()
    with pytest.raises(LiteLLMUnavailable):
        client.team_get(p.TEAM_ID)
    assert time.monotonic() - started < 0.8
    assert len(responses.calls) == 2  # the third attempt would start after the 0.5 s budget


@responses.activate
def test_connection_errors_and_timeouts_are_unavailable_and_retried(client):
    responses.get(f"{p.BASE}/team/info", body=requests.ConnectionError("reset"))
    responses.get(f"{p.BASE}/team/info", body=requests.ReadTimeout("slow"))
    responses.get(f"{p.BASE}/team/info", body=requests.ConnectTimeout("slow"))
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.team_get(p.TEAM_ID)
    assert len(responses.calls) == 3
    assert exc.value.details["problem"] == "timeout"


def test_connection_refused_is_unavailable(fast_retries, refused_url):
    client = LiteLLMClient(base_url=refused_url, master_key=p.MASTER, connect_timeout=1)
    with pytest.raises(LiteLLMUnavailable) as exc:
        client.model_list()
    assert exc.value.details["problem"] == "connection_error"


def test_connection_reset_by_the_double_is_unavailable(litellm_double, fast_retries, litellm_client):
    litellm_double.set_fault("down")
    with pytest.raises(LiteLLMUnavailable):
        litellm_client.model_list()
    assert len(litellm_double.calls_to("/model/info")) == 3


@pytest.mark.parametrize("mode", ["error", "rate_limit", "html", "malformed"])
def test_each_double_fault_is_unavailable(litellm_double, fast_retries, litellm_client, mode):
    litellm_double.set_fault(mode, retry_after=0.01)
    with pytest.raises(LiteLLMUnavailable):
        litellm_client.model_list()


def test_non_idempotent_model_create_is_not_retried_without_an_id(litellm_double, fast_retries, litellm_client):
    litellm_double.set_fault("error", status=503, count=1, paths=["/model/new"])
    with pytest.raises(LiteLLMUnavailable):
        litellm_client.model_create(model_name="m", litellm_params={"model": "openai/m"})
    assert len(litellm_double.calls_to("/model/new")) == 1


def test_model_create_with_a_chosen_id_survives_a_lost_reply(litellm_double, fast_retries, litellm_client):
    # The first attempt is applied but its answer never arrives (accept-then-hang past the read timeout).
    litellm_double.set_fault("hang", delay=5, count=1, paths=["/model/new"])
    client = litellm_client.with_options(read_timeout=0.3, retry_max_wait=3)
    model = client.model_create(model_name="m", litellm_params={"model": "openai/m"}, model_id="dep-1")
    assert model.id == "dep-1"
    assert len(litellm_double.state.models) == 1
    assert len(litellm_double.calls_to("/model/new")) == 1  # the retry found it instead of creating again


def test_key_generate_retry_confirms_an_applied_first_attempt(litellm_double, fast_retries, litellm_client):
    litellm_double.set_fault("hang", delay=5, count=1, paths=["/key/generate"])
    client = litellm_client.with_options(read_timeout=0.3, retry_max_wait=3)
    secret = "sk-portal-0123456789abcdef0123"
    key = client.key_generate(key=secret, models=["m"], user_id=p.USER_ID, metadata={"portal_key_id": "k1"})
    assert key.token == hash_key(secret)
    assert len(litellm_double.calls_to("/key/generate")) == 1
    assert list(litellm_double.state.keys) == [hash_key(secret)]


def test_key_generate_refuses_to_adopt_someone_elses_key(litellm_double, fast_retries, litellm_client):
    secret = "sk-portal-0123456789abcdef0123"
    litellm_client.key_generate(key=secret, models=["m"], user_id="someone-else", metadata={"portal_key_id": "x"})
    litellm_double.set_fault("error", status=503, count=1, paths=["/key/generate"])
    with pytest.raises(LiteLLMAlreadyExists):
        litellm_client.key_generate(key=secret, models=["m"], user_id=p.USER_ID, metadata={"portal_key_id": "k1"})


@responses.activate
def test_the_master_key_never_appears_in_errors_or_logs(client, caplog):
    echo = {"error": {"message": f"Authentication Error, bad key {p.MASTER}", "type": "auth_error"}}
    responses.get(f"{p.BASE}/model/info", status=401, json=echo)
    responses.get(f"{p.BASE}/team/info", status=500, json=echo)
    caplog.set_level(logging.DEBUG)
    errors = []
    for call in (client.model_list, lambda: client.team_get("t")):
        with pytest.raises(Exception) as exc:  # noqa: PT011 - both kinds are checked below
            call()
        errors.append(exc.value)
    for error in errors:
        text = f"{error} {error!r} {error.message} {error.details}"
        assert p.MASTER not in text
    assert p.MASTER not in caplog.text
    assert responses.calls[0].request.headers["x-litellm-api-key"] == p.MASTER  # it was only in the header
