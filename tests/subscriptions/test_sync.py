"""Model sync LiteLLM → portal: mapping, new/changed/vanished/returned models, config-file models, the
mass-removal guard, single-flight and SyncRun records."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command

from integrations.models import SyncRun
from litemaas.exceptions import ConflictError, ServiceUnavailableError
from subscriptions import services
from subscriptions.litellm_gateway import Deployment
from subscriptions.models import LlmModel
from subscriptions.models import SubscriptionStatus as S
from tests.subscriptions.conftest import deployment, make_model, make_subscription

pytestmark = pytest.mark.django_db


def test_mapping_follows_litellm_fields():
    raw = deployment("RedHatAI/gpt-oss-120b", model="openai/RedHatAI/gpt-oss-120b", supports_vision=True,
                     supports_parallel_function_calling=True, supports_tool_choice=True, supports_tokenize=True,
                     input_cost_per_token=3e-06, max_input_tokens=131072)
    fields = services.model_fields_from_deployment(Deployment(**raw))
    assert fields["provider"] == "openai"
    assert fields["backend_model_name"] == "RedHatAI/gpt-oss-120b"  # only the first segment is the provider
    assert fields["model_type"] == "chat"
    assert fields["input_cost_per_token"] == Decimal("0.000003")  # model_info wins over litellm_params
    assert fields["output_cost_per_token"] == Decimal("0.000002")  # falls back to litellm_params
    assert fields["context_length"] == 131072 and fields["max_tokens"] == 8192
    assert fields["supports_vision"] and fields["supports_tokenize"] and fields["supports_tool_choice"]
    assert fields["litellm_model_id"] == "dep-RedHatAI/gpt-oss-120b"
    assert fields["defined_in_config"] is False
    assert fields["tpm"] == 1000 and fields["rpm"] == 10


@pytest.mark.parametrize(("info", "params", "expected"), [
    ({"supports_embeddings": True}, {}, "embeddings"),
    ({"supports_embedding": True}, {}, "embeddings"),
    ({"mode": "embedding"}, {}, "embeddings"),
    ({"supports_convert": True}, {}, "document_conversion"),
    ({}, {"model": "docling/granite", "custom_llm_provider": "docling"}, "document_conversion"),
    ({}, {}, "chat"),
])
def test_model_type_mapping(info, params, expected):
    raw = deployment("m", **info)
    raw["litellm_params"].update(params)
    assert services.model_fields_from_deployment(Deployment(**raw))["model_type"] == expected


def test_provider_falls_back_to_prefix_then_unknown():
    raw = deployment("m", model="bare-model")
    fields = services.model_fields_from_deployment(Deployment(**raw))
    assert fields["provider"] == "unknown" and fields["backend_model_name"] == "bare-model"


def test_sync_inserts_new_models_and_records_a_run(litellm, admin_user):
    litellm.deployments = [deployment("a"), deployment("b/c")]
    result = services.model_sync_from_litellm(actor=admin_user)
    assert (result.status, result.created, result.total) == ("succeeded", 2, 2)
    assert set(LlmModel.objects.values_list("id", flat=True)) == {"a", "b/c"}
    run = SyncRun.objects.get(pk=result.run_id)
    assert run.kind == "models" and run.status == "succeeded" and run.counts["created"] == 2
    assert run.actor == admin_user and run.finished_at


def test_sync_updates_changed_fields_but_never_description_or_restricted(litellm):
    make_model("a", description="Operator text", restricted=True, tpm=5)
    litellm.deployments = [deployment("a")]
    result = services.model_sync_from_litellm()
    model = LlmModel.objects.get(pk="a")
    assert result.updated == 1
    assert model.tpm == 1000 and model.backend_model_name == "a-backend"
    assert model.description == "Operator text" and model.restricted is True
    assert services.model_sync_from_litellm().unchanged == 1  # idempotent


def test_sync_never_stores_credentials_in_metadata(litellm):
    raw = deployment("a")
    raw["litellm_params"]["api_key"] = "sk-provider-secret"
    litellm.deployments = [raw]
    services.model_sync_from_litellm()
    assert "sk-provider-secret" not in str(LlmModel.objects.get(pk="a").litellm_metadata)


def test_vanished_model_cascades_and_returning_model_restores_exactly_those(litellm, user, other_user,
                                                                            key_cascade):
    for name in ("a", "b", "c"):
        make_model(name)
    gone = make_model("gone")
    active = make_subscription(user, gone, S.ACTIVE)
    pending = make_subscription(other_user, gone, S.PENDING)
    cancelled_before = make_subscription(UserFactoryLazy(), gone, S.INACTIVE)
    litellm.deployments = [deployment(n) for n in ("a", "b", "c")]

    result = services.model_sync_from_litellm()
    assert result.marked_unavailable == 1 and result.subscriptions_deactivated == 2
    assert LlmModel.objects.get(pk="gone").availability == "unavailable"
    active.refresh_from_db(), pending.refresh_from_db()
    assert active.status == pending.status == S.INACTIVE
    assert active.status_cause == "model_gone"
    assert ("everywhere", {"model_id": "gone", "reason": "model_gone"}) in key_cascade

    litellm.deployments.append(deployment("gone"))
    result = services.model_sync_from_litellm()
    assert result.restored == 1 and result.subscriptions_restored == 2
    for sub, expected in ((active, S.ACTIVE), (pending, S.PENDING), (cancelled_before, S.INACTIVE)):
        sub.refresh_from_db()
        assert sub.status == expected  # the user's own earlier cancel stays cancelled (defect #26)


def UserFactoryLazy():  # noqa: N802 - reads like a factory call in the test above
    from tests.factories import UserFactory

    return UserFactory()


def test_returning_model_that_became_restricted_restores_to_pending(litellm, user, key_cascade):
    for name in ("a", "b"):
        make_model(name)
    model = make_model("gone")
    sub = make_subscription(user, model, S.ACTIVE)
    litellm.deployments = [deployment("a"), deployment("b")]
    services.model_sync_from_litellm()
    LlmModel.objects.filter(pk="gone").update(restricted=True)
    litellm.deployments.append(deployment("gone"))
    services.model_sync_from_litellm()
    sub.refresh_from_db()
    assert sub.status == S.PENDING


def test_config_file_models_are_kept_and_flagged(litellm):
    litellm.deployments = [deployment("from-yaml", db_model=False), deployment("from-db")]
    services.model_sync_from_litellm()
    services.model_sync_from_litellm()
    yaml_model = LlmModel.objects.get(pk="from-yaml")
    assert yaml_model.defined_in_config and yaml_model.availability == "available"
    assert not LlmModel.objects.get(pk="from-db").defined_in_config


def test_empty_model_list_aborts_without_changes(litellm, user):
    make_model("a")
    sub = make_subscription(user, LlmModel.objects.get(pk="a"), S.ACTIVE)
    litellm.deployments = []
    result = services.model_sync_from_litellm()
    assert result.status == "aborted"
    assert LlmModel.objects.get(pk="a").availability == "available"
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE
    assert SyncRun.objects.get(pk=result.run_id).status == "aborted"


def test_mass_removal_guard_aborts_unless_forced(litellm, key_cascade, settings):
    settings.MODEL_SYNC_MAX_REMOVAL_SHARE = 0.5
    for name in ("a", "b", "c", "d"):
        make_model(name)
    litellm.deployments = [deployment("a")]  # 3 of 4 would go
    assert services.model_sync_from_litellm().status == "aborted"
    assert LlmModel.objects.filter(availability="available").count() == 4
    result = services.model_sync_from_litellm(force=True)
    assert result.status == "succeeded" and result.marked_unavailable == 3


def test_removal_within_the_share_is_applied(litellm, key_cascade):
    for name in ("a", "b", "c", "d"):
        make_model(name)
    litellm.deployments = [deployment(n) for n in ("a", "b", "c")]
    assert services.model_sync_from_litellm().marked_unavailable == 1


def test_litellm_down_fails_the_run_and_changes_nothing(litellm):
    make_model("a")
    litellm.fail["/model/info"] = (503, {"error": {"message": "down"}})
    with pytest.raises(ServiceUnavailableError):
        services.model_sync_from_litellm()
    assert LlmModel.objects.get(pk="a").availability == "available"
    run = SyncRun.objects.get()
    assert run.status == "failed" and run.error


def test_only_one_sync_runs_at_a_time(litellm):
    cache.add("subscriptions:model-sync:lock", "someone-else", 60)
    with pytest.raises(ConflictError) as exc:
        services.model_sync_from_litellm()
    assert exc.value.code == "sync_in_progress"
    assert not litellm.calls


def test_lock_is_released_after_a_run(litellm):
    litellm.deployments = [deployment("a")]
    services.model_sync_from_litellm()
    services.model_sync_from_litellm()
    assert SyncRun.objects.count() == 2


def test_sync_models_command_and_task(litellm, capsys):
    from subscriptions.tasks import sync_models

    litellm.deployments = [deployment("a")]
    call_command("sync_models")
    assert "succeeded" in capsys.readouterr().out
    assert sync_models.delay().get()["unchanged"] == 1


def test_sync_models_command_tolerates_litellm_down_unless_strict(litellm):
    from django.core.management.base import CommandError

    litellm.fail["/model/info"] = (503, {"error": {"message": "down"}})
    call_command("sync_models")
    with pytest.raises(CommandError):
        call_command("sync_models", "--strict")
