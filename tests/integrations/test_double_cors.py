"""The double answers CORS like LiteLLM, so the browser playground can stream from it."""
import requests


def test_preflight_and_simple_requests_carry_cors_headers(litellm_double):
    url = f"{litellm_double.url}/v1/chat/completions"
    preflight = requests.options(url, headers={"Origin": "http://127.0.0.1:8000",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization, content-type"},
                                 timeout=5)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = requests.get(f"{litellm_double.url}/health/liveness", headers={"Origin": "http://127.0.0.1:8000"},
                          timeout=5)
    assert answer.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
