"""Admin model management written through to LiteLLM, with LiteLLM failing at each step."""
from __future__ import annotations

from decimal import Decimal

import pytest
import responses

from litemaas.exceptions import (
    ConflictError,
    ServiceUnavailableError,
    UpstreamRejectedError,
    ValidationFailed,
)
from litemaas.models import AuditEvent
from subscriptions import services
from subscriptions.encryption import decrypt_secret
from subscriptions.models import LlmModel, Subscription
from subscriptions.models import SubscriptionStatus as S
from subscriptions.services import model_admin
from tests.subscriptions.conftest import deployment, make_model, make_subscription

pytestmark = pytest.mark.django_db

CREATE = {"backend_model_name": "llama-3", "api_base": "http://provider.test/v1", "api_key": "sk-provider-1",
          "input_cost_per_million": Decimal("2.5"), "output_cost_per_million": Decimal("10"), "tpm": 100,
          "rpm": 5, "max_tokens": 4096, "supports_vision": True, "restricted": True, "description": "Fast"}


def test_create_writes_litellm_then_local_row(litellm, admin_user):
    model = services.model_create(actor=admin_user, model_id="team/llama", data=dict(CREATE))
    [(_, _, body)] = litellm.calls_to("/model/new")
    assert body["model_name"] == "team/llama"
    assert body["litellm_params"]["model"] == "openai/llama-3"
    assert body["litellm_params"]["input_cost_per_token"] == pytest.approx(2.5e-06)
    assert body["litellm_params"]["api_key"] == "sk-provider-1"
    assert body["model_info"]["db_model"] is True and body["model_info"]["supports_vision"] is True
    assert model.litellm_model_id == body["model_info"]["id"]
    assert model.input_cost_per_token == Decimal("0.0000025") and model.restricted and model.description == "Fast"
    assert decrypt_secret(model.encrypted_api_key) == "sk-provider-1"
    assert "sk-provider-1" not in model.encrypted_api_key
    event = AuditEvent.objects.get(action="model.create")
    assert "sk-provider-1" not in str(event.metadata)


def test_document_conversion_models_use_the_docling_prefix(litellm, admin_user):
    services.model_create(actor=admin_user, model_id="docs", data={**CREATE, "model_type": "document_conversion"})
    body = litellm.calls_to("/model/new")[0][2]
    assert body["litellm_params"]["model"] == "docling/llama-3"
    assert body["model_info"]["supports_convert"] is True


def test_create_rejected_by_litellm_changes_nothing_locally(litellm, admin_user):
    litellm.fail["/model/new"] = (400, {"error": {"message": "Invalid api_base"}})
    with pytest.raises(UpstreamRejectedError) as exc:
        services.model_create(actor=admin_user, model_id="m", data=dict(CREATE))
    assert "Invalid api_base" in exc.value.message
    assert not LlmModel.objects.exists()


def test_create_with_litellm_down_is_503_and_changes_nothing(litellm, admin_user):
    litellm.fail["/model/new"] = (503, {"error": {"message": "down"}})
    with pytest.raises(ServiceUnavailableError):
        services.model_create(actor=admin_user, model_id="m", data=dict(CREATE))
    assert not LlmModel.objects.exists()


def test_create_local_failure_deletes_the_new_deployment_again(litellm, admin_user, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(model_admin, "_model_save_created", boom)
    with pytest.raises(RuntimeError):
        services.model_create(actor=admin_user, model_id="m", data=dict(CREATE))
    assert litellm.calls_to("/model/delete")
    assert litellm.deployments == [] and not LlmModel.objects.exists()


def test_create_refuses_duplicates_and_reserved_names(litellm, admin_user):
    make_model("taken")
    with pytest.raises(ConflictError):
        services.model_create(actor=admin_user, model_id="taken", data=dict(CREATE))
    for name in ("test", "sync", "has space"):
        with pytest.raises(ValidationFailed):
            services.model_create(actor=admin_user, model_id=name, data=dict(CREATE))
    assert not litellm.calls_to("/model/new")


def test_update_sends_litellm_fields_then_saves(litellm, admin_user):
    litellm.deployments = [deployment("m")]
    make_model("m", litellm_model_id="dep-m")
    model = services.model_update(actor=admin_user, model_id="m", data={"tpm": 777, "description": "new"})
    [(_, dep_id, body)] = litellm.calls_to("/model/update")
    assert dep_id == "dep-m" and body["litellm_params"]["tpm"] == 777
    assert model.tpm == 777 and model.description == "new"


def test_update_of_portal_fields_only_does_not_call_litellm(litellm, admin_user):
    make_model("m", defined_in_config=True)
    services.model_update(actor=admin_user, model_id="m", data={"description": "hello"})
    assert not litellm.calls_to("/model/update")
    assert LlmModel.objects.get(pk="m").description == "hello"


def test_update_rejected_by_litellm_changes_nothing(litellm, admin_user):
    litellm.deployments = [deployment("m")]
    make_model("m", tpm=1)
    litellm.fail["/model/update"] = (400, {"error": {"message": "bad tpm"}})
    with pytest.raises(UpstreamRejectedError):
        services.model_update(actor=admin_user, model_id="m", data={"tpm": 9, "description": "x"})
    model = LlmModel.objects.get(pk="m")
    assert model.tpm == 1 and model.description == ""


def test_update_local_failure_restores_litellm(litellm, admin_user, monkeypatch):
    litellm.deployments = [deployment("m")]
    make_model("m", tpm=1)

    def boom(**kwargs):
        raise RuntimeError("db down")

    monkeypatch.setattr(model_admin, "_model_save_updated", boom)
    with pytest.raises(RuntimeError):
        services.model_update(actor=admin_user, model_id="m", data={"tpm": 9})
    first, undo = litellm.calls_to("/model/update")
    assert first[2]["litellm_params"]["tpm"] == 9 and undo[2]["litellm_params"]["tpm"] == 1


def test_config_file_models_cannot_be_changed_in_litellm_or_deleted(litellm, admin_user):
    make_model("yaml", defined_in_config=True)
    with pytest.raises(ValidationFailed) as exc:
        services.model_update(actor=admin_user, model_id="yaml", data={"tpm": 3})
    assert exc.value.code == "model_defined_in_config"
    with pytest.raises(ValidationFailed):
        services.model_delete(actor=admin_user, model_id="yaml")
    assert not litellm.calls


def test_restricting_moves_active_to_pending_and_unrestricting_approves(litellm, admin_user, user, other_user,
                                                                      key_cascade):
    model = make_model("m")
    active = make_subscription(user, model, S.ACTIVE)
    services.model_update(actor=admin_user, model_id="m", data={"restricted": True})
    active.refresh_from_db()
    assert active.status == S.PENDING and active.status_cause == "model_restricted"
    assert ("user", {"user": user, "model_id": "m", "reason": "model_restricted"}) in key_cascade
    pending = make_subscription(other_user, model, S.PENDING)
    services.model_update(actor=admin_user, model_id="m", data={"restricted": False})
    for sub in (active, pending):
        sub.refresh_from_db()
        assert sub.status == S.ACTIVE


def test_delete_in_litellm_then_local_cascade(litellm, admin_user, user, key_cascade):
    litellm.deployments = [deployment("m")]
    model = make_model("m")
    make_subscription(user, model, S.ACTIVE)
    services.model_delete(actor=admin_user, model_id="m")
    assert litellm.deployments == []
    assert not LlmModel.objects.exists() and not Subscription.objects.exists()
    assert ("everywhere", {"model_id": "m", "reason": "model_deleted"}) in key_cascade
    assert user.notifications.filter(kind="subscription.model_deleted").exists()


def test_delete_tolerates_a_deployment_already_gone(litellm, admin_user):
    make_model("m")
    services.model_delete(actor=admin_user, model_id="m")
    assert not LlmModel.objects.exists()


def test_delete_with_litellm_down_keeps_everything(litellm, admin_user, user):
    make_subscription(user, make_model("m"), S.ACTIVE)
    litellm.fail["/model/delete"] = (500, {"error": {"message": "boom"}})
    with pytest.raises(ServiceUnavailableError):
        services.model_delete(actor=admin_user, model_id="m")
    assert LlmModel.objects.exists() and Subscription.objects.exists()


@pytest.fixture
def provider():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.mark.parametrize(("reply", "expected"), [
    ({"status": 200, "json": {"data": [{"id": "llama-3"}, {"id": "other"}]}}, "model_found"),
    ({"status": 200, "json": {"data": [{"id": "other"}]}}, "model_not_found"),
    ({"status": 401, "json": {"error": "bad key"}}, "auth_error"),
    ({"body": __import__("requests").ConnectionError("refused")}, "connection_error"),
    ({"body": __import__("requests").Timeout("slow")}, "timeout"),
])
def test_test_configuration_results(provider, admin_user, reply, expected):
    provider.add(responses.GET, "http://provider.test/v1/models", **reply)
    result = services.model_test_configuration(actor=admin_user, api_base="http://provider.test/v1",
                                               api_key="sk-x", backend_model_name="llama-3")
    assert result.result == expected
    if expected == "model_not_found":
        assert result.available_models == ["other"]


def test_test_configuration_uses_the_stored_key_or_says_it_is_missing(admin_user, litellm):
    services.model_create(actor=admin_user, model_id="m", data=dict(CREATE))
    seen = {}

    def reply(request):
        seen["auth"] = request.headers.get("Authorization")
        return 200, {}, '{"data": [{"id": "llama-3"}]}'

    litellm.rsps.add_callback(responses.GET, "http://provider.test/v1/models", callback=reply)
    result = services.model_test_configuration(actor=admin_user, api_base="http://provider.test/v1",
                                               backend_model_name="llama-3", model_id="m")
    assert result.result == "model_found" and seen["auth"] == "Bearer sk-provider-1"
    make_model("nokey")
    assert services.model_test_configuration(actor=admin_user, api_base="http://provider.test/v1",
                                             backend_model_name="x", model_id="nokey").result == "missing_stored_key"


def test_document_conversion_probe_uses_health(provider, admin_user):
    provider.add(responses.GET, "http://provider.test/health", json={"status": "ok"})
    result = services.model_test_configuration(actor=admin_user, api_base="http://provider.test",
                                               backend_model_name="x", api_key="k", document_conversion=True)
    assert result.result == "endpoint_reachable" and result.success
