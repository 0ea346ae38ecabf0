"""Fixtures for the subscriptions tests: LiteLLM stubbed at the HTTP layer (``responses``) with LiteLLM's
real shapes (inventory §4.1), model/subscription builders and a recorder for the apikeys contract."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from django.utils import timezone

from subscriptions.models import LlmModel, Subscription, SubscriptionStatusHistory

LITELLM = "http://litellm.test"


def deployment(name: str, *, deployment_id: str | None = None, db_model: bool = True, model: str | None = None,
               provider: str | None = None, api_base: str = "http://provider.test/v1", **info: Any) -> dict:
    """One ``/model/info`` entry as LiteLLM 1.103 answers it."""
    params = {"model": model or f"openai/{name}-backend", "api_base": api_base, "tpm": 1000, "rpm": 10,
              "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
    if provider:
        params["custom_llm_provider"] = provider
    model_info = {"id": deployment_id or f"dep-{name}", "db_model": db_model, "max_tokens": 8192,
                  "supports_vision": False, "supports_function_calling": True, **info}
    return {"model_name": name, "litellm_params": params, "model_info": model_info}


class LiteLLMStub:
    """A tiny stateful stand-in for LiteLLM's model endpoints on top of ``responses``."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.deployments: list[dict] = []
        self.fail: dict[str, tuple[int, dict]] = {}  # endpoint -> (status, body)
        self.calls: list[tuple[str, str, Any]] = []
        rsps.add_callback(responses.GET, f"{LITELLM}/model/info", callback=self._info)
        rsps.add_callback(responses.POST, f"{LITELLM}/model/new", callback=self._new)
        rsps.add_callback(responses.PATCH, re.compile(rf"{LITELLM}/model/.+/update"), callback=self._update)
        rsps.add_callback(responses.POST, f"{LITELLM}/model/delete", callback=self._delete)

    def _failure(self, endpoint: str):
        if endpoint in self.fail:
            status, body = self.fail[endpoint]
            return status, {"content-type": "application/json"}, json.dumps(body)
        return None

    def _info(self, request):
        self.calls.append(("GET", "/model/info", request.params))
        if failure := self._failure("/model/info"):
            return failure
        wanted = request.params.get("litellm_model_id")
        data = [d for d in self.deployments if not wanted or d["model_info"]["id"] == wanted]
        return 200, {"content-type": "application/json"}, json.dumps({"data": data})

    def _new(self, request):
        body = json.loads(request.body)
        self.calls.append(("POST", "/model/new", body))
        if failure := self._failure("/model/new"):
            return failure
        created = {"model_name": body["model_name"], "litellm_params": body["litellm_params"],
                   "model_info": body["model_info"]}
        self.deployments.append(created)
        return 200, {"content-type": "application/json"}, json.dumps(
            {"model_id": body["model_info"]["id"], "model_name": body["model_name"]})

    def _update(self, request):
        body = json.loads(request.body)
        deployment_id = request.url.split("/model/", 1)[1].rsplit("/update", 1)[0]
        self.calls.append(("PATCH", deployment_id, body))
        if failure := self._failure("/model/update"):
            return failure
        for d in self.deployments:
            if d["model_info"]["id"] == deployment_id:
                d["litellm_params"].update(body.get("litellm_params", {}))
                d["model_info"].update(body.get("model_info", {}))
                return 200, {"content-type": "application/json"}, json.dumps({"model_id": deployment_id})
        return 400, {"content-type": "application/json"}, json.dumps({"error": {"message": "model not found"}})

    def _delete(self, request):
        body = json.loads(request.body)
        self.calls.append(("POST", "/model/delete", body))
        if failure := self._failure("/model/delete"):
            return failure
        before = len(self.deployments)
        self.deployments = [d for d in self.deployments if d["model_info"]["id"] != body["id"]]
        if len(self.deployments) == before:
            return 400, {"content-type": "application/json"}, json.dumps(
                {"error": {"message": f"Model with id={body['id']} not found in db"}})
        return 200, {"content-type": "application/json"}, json.dumps({"message": "deleted"})

    def calls_to(self, what: str) -> list:
        return [c for c in self.calls if c[1] == what or (c[0] == "PATCH" and what == "/model/update")]


@pytest.fixture
def litellm(settings):
    """LiteLLM at http://litellm.test with one attempt per call (no retry sleeps in tests)."""
    settings.LITELLM_API_URL = LITELLM
    settings.LITELLM_MASTER_KEY = "sk-test-master"
    settings.LITELLM_RETRY_ATTEMPTS = 1
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield LiteLLMStub(rsps)


@pytest.fixture
def key_cascade(monkeypatch):
    """Records calls into the apikeys contract (issue #6 implements the real functions)."""
    from apikeys import services as apikey_services

    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(apikey_services, "apikey_remove_model_for_user",
                        lambda **kw: calls.append(("user", kw)), raising=False)
    monkeypatch.setattr(apikey_services, "apikeys_remove_model_everywhere",
                        lambda **kw: calls.append(("everywhere", kw)), raising=False)
    return calls


def make_model(model_id: str = "gpt-test", **fields: Any) -> LlmModel:
    defaults = {"provider": "openai", "backend_model_name": f"{model_id}-backend", "litellm_model_id": f"dep-{model_id}",
                "api_base": "http://provider.test/v1", "input_cost_per_token": "0.000001",
                "output_cost_per_token": "0.000002", "context_length": 8192, "max_tokens": 8192}
    defaults.update(fields)
    return LlmModel.objects.create(id=model_id, **defaults)


def make_subscription(user, model: LlmModel, status: str = "active", **fields: Any) -> Subscription:
    subscription = Subscription.objects.create(user=user, model=model, status=status,
                                               status_changed_at=timezone.now(), **fields)
    SubscriptionStatusHistory.objects.create(subscription=subscription, old_status="", new_status=status)
    return subscription
