"""Admin model management, written through to LiteLLM: create, update, delete and test a model.

LiteLLM first, then one atomic local write; if the local write fails, the LiteLLM change is undone
(``_compensate``), or, for a delete, left to the next sync."""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError, NotFoundError, ValidationFailed
from subscriptions import litellm_gateway as gateway
from subscriptions.encryption import decrypt_secret, encrypt_secret
from subscriptions.models import LlmModel, Subscription, SubscriptionStatusHistory
from subscriptions.services._shared import S, _keys_cascade, _notify, _require_admin
from subscriptions.services.cascades import _model_apply_restriction, _model_restore
from subscriptions.services.model_mapping import (
    LITELLM_FIELDS,
    _current_values,
    _litellm_payload,
    model_fields_from_input,
)

logger = logging.getLogger(__name__)


# Names the admin API uses as sub-paths of /admin/models/, so a model cannot be called that.
RESERVED_MODEL_IDS = frozenset({"test", "sync"})


def model_create(*, actor: Any, model_id: str, data: dict[str, Any], request: Any = None) -> LlmModel:
    """Create a model deployment in LiteLLM (``/model/new``), then the local row (with the encrypted
    provider key). If LiteLLM refuses, nothing changes locally; if the local write fails, the new
    deployment is deleted again. Raises ``ConflictError`` (``model_exists``) for an available model of
    that name, ``ValidationFailed`` for a reserved name, LiteLLM's errors (503 / 502). Not idempotent."""
    _require_admin(actor)
    if model_id in RESERVED_MODEL_IDS or not model_id.strip() or any(c.isspace() for c in model_id):
        raise ValidationFailed(details={"fields": {"id": ["This name is reserved or contains spaces."]}})
    existing = LlmModel.objects.filter(pk=model_id).first()
    if existing is not None and existing.is_available:
        raise ConflictError("A model with this name already exists.", code="model_exists")
    fields = model_fields_from_input(data)
    api_key = data.get("api_key") or None
    deployment_id = gateway.model_create(_litellm_payload(model_id=model_id, values=fields, api_key=api_key))
    try:
        with transaction.atomic():
            model = _model_save_created(model_id=model_id, fields=fields, api_key=api_key,
                                        deployment_id=deployment_id, actor=actor, request=request)
    except Exception:
        _compensate(action="model.create", model_id=model_id, actor=actor,
                    undo=lambda: gateway.model_delete(deployment_id))
        raise
    return model


def _model_save_created(*, model_id: str, fields: dict[str, Any], api_key: str | None, deployment_id: str,
                        actor: Any, request: Any) -> LlmModel:
    now = timezone.now()
    model = LlmModel.objects.select_for_update().filter(pk=model_id).first()
    was_unavailable = model is not None
    if model is None:
        model = LlmModel(id=model_id, created_at=now)
    for name, value in fields.items():
        setattr(model, name, value)
    model.litellm_model_id = deployment_id
    model.defined_in_config = False
    model.encrypted_api_key = encrypt_secret(api_key) if api_key else ""
    model.updated_at = now
    model.full_clean(exclude=["availability"])
    model.save()
    if was_unavailable:
        _model_restore(model=model, actor=actor)
    audit_record(action="model.create", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"litellm_model_id": deployment_id, "provider": model.provider,
                           "model_type": model.model_type, "restricted": model.restricted})
    return model


def _compensate(*, action: str, model_id: str, actor: Any, undo: Any) -> None:
    """Undo a LiteLLM change after the local write failed; if that fails too, leave it to the next sync."""
    try:
        undo()
    except Exception as exc:  # noqa: BLE001 - the original error is the one to raise
        logger.exception("undoing %s in LiteLLM failed; the next model sync reconciles", action)
        audit_record(action=f"{action}.undo_failed", actor=actor, target_type="model", target_id=model_id,
                     success=False, error=getattr(exc, "message", str(exc)))


def model_update(*, actor: Any, model_id: str, data: dict[str, Any], request: Any = None) -> LlmModel:
    """Change a model: LiteLLM fields through ``/model/{id}/update`` first, then the local row; the
    operator's fields (description, restricted) locally only. Restricting or lifting the restriction runs
    the subscription cascade. If the local write fails, LiteLLM gets the old values back.

    Raises ``NotFoundError``, ``ValidationFailed`` (``model_defined_in_config`` when LiteLLM fields of a
    config-file model change, ``model_not_in_litellm`` without a deployment id), LiteLLM's errors.
    Idempotent for the same input.
    """
    _require_admin(actor)
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError()
    fields = model_fields_from_input(data)
    api_key = data.get("api_key") or None
    before = _current_values(model)
    litellm_changes = {k: v for k, v in fields.items() if k in LITELLM_FIELDS and before.get(k) != v}
    touch_litellm = bool(litellm_changes) or api_key is not None
    if touch_litellm:
        if model.defined_in_config:
            raise ValidationFailed("This model is defined in LiteLLM's config file; change it there.",
                                   code="model_defined_in_config")
        if not model.litellm_model_id:
            raise ValidationFailed("This model has no LiteLLM deployment id.", code="model_not_in_litellm")
        gateway.model_update(model.litellm_model_id,
                             _litellm_payload(model_id=model.pk, values={**before, **litellm_changes},
                                              api_key=api_key))
    try:
        with transaction.atomic():
            model = _model_save_updated(model_id=model_id, fields=fields, api_key=api_key, actor=actor,
                                        request=request, changed=sorted(litellm_changes))
    except Exception:
        if touch_litellm:
            old_key = decrypt_secret(model.encrypted_api_key) if api_key is not None else None
            _compensate(action="model.update", model_id=model_id, actor=actor,
                        undo=lambda: gateway.model_update(model.litellm_model_id, _litellm_payload(
                            model_id=model.pk, values=before, api_key=old_key)))
        raise
    return model


def _model_save_updated(*, model_id: str, fields: dict[str, Any], api_key: str | None, actor: Any,
                        request: Any, changed: list[str]) -> LlmModel:
    model = LlmModel.objects.select_for_update().get(pk=model_id)
    was_restricted = model.restricted
    update = []
    for name, value in fields.items():
        if getattr(model, name) != value:
            setattr(model, name, value)
            update.append(name)
    if api_key is not None:
        model.encrypted_api_key = encrypt_secret(api_key)
        update.append("encrypted_api_key")
    model.updated_at = timezone.now()
    model.full_clean(exclude=["availability"])
    model.save(update_fields=[*update, "updated_at"])
    moved = 0
    if model.restricted != was_restricted:
        moved = _model_apply_restriction(model=model, restricted=model.restricted, actor=actor)
    audit_record(action="model.update", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"changed": sorted(set(update) - {"encrypted_api_key"}),
                           "api_key_changed": api_key is not None, "litellm_fields": changed,
                           "subscriptions_moved": moved})
    return model


def model_delete(*, actor: Any, model_id: str, request: Any = None) -> None:
    """Delete a model in LiteLLM (``/model/delete``; "not found" counts as done), then locally: owners of
    live subscriptions are told, the model leaves every key, subscriptions and history go with the row.

    If the local step fails after LiteLLM deleted the deployment, the next sync marks the model
    unavailable with the usual cascade (documented in the report). Raises ``NotFoundError``,
    ``ValidationFailed`` (``model_defined_in_config``), LiteLLM's errors.
    """
    _require_admin(actor)
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise NotFoundError()
    if model.defined_in_config:
        raise ValidationFailed("This model is defined in LiteLLM's config file; remove it there.",
                               code="model_defined_in_config")
    if model.litellm_model_id and not gateway.model_delete(model.litellm_model_id):
        logger.info("model %s was already gone from LiteLLM", model_id)
    _model_delete_locally(model_id=model_id, actor=actor, request=request)


@transaction.atomic
def _model_delete_locally(*, model_id: str, actor: Any, request: Any) -> None:
    model = LlmModel.objects.select_for_update().get(pk=model_id)
    live = list(Subscription.objects.select_related("user").filter(model=model, status__in=[S.ACTIVE, S.PENDING]))
    for subscription in live:
        _notify(user=subscription.user, kind="subscription.model_deleted", level="warning",
                title=f"The model {model.pk} was removed", body="Your subscription to it has ended.",
                link=reverse("subscriptions:list"))
    _keys_cascade("apikeys_remove_model_everywhere", model_id=model.pk, reason="model_deleted")
    deleted_subscriptions = Subscription.objects.filter(model=model).count()
    SubscriptionStatusHistory.objects.filter(subscription__model=model).delete()
    Subscription.objects.filter(model=model).delete()
    audit_record(action="model.delete", actor=actor, target_type="model", target_id=model.pk, request=request,
                 metadata={"litellm_model_id": model.litellm_model_id,
                           "subscriptions_deleted": deleted_subscriptions})
    model.delete()


def model_test_configuration(*, actor: Any, api_base: str, backend_model_name: str, api_key: str = "",
                             model_id: str = "", document_conversion: bool = False) -> Any:
    """Probe the provider endpoint (see ``integrations.provider_probe``). Without ``api_key``, the stored
    encrypted key of ``model_id`` is used; when there is none the result is ``missing_stored_key``.
    Read-only; raises ``PermissionDeniedError`` for non-admins only."""
    from integrations.provider_probe import ProbeOutcome, ProbeResult, provider_probe

    _require_admin(actor)
    key = api_key
    if not key and model_id:
        model = LlmModel.objects.filter(pk=model_id).first()
        key = decrypt_secret(model.encrypted_api_key) if model else None
        if not key:
            return ProbeResult(ProbeOutcome.MISSING_STORED_KEY, "No stored API key for this model; enter one.")
    result = provider_probe(api_base=api_base, api_key=key or "", backend_model_name=backend_model_name,
                            document_conversion=document_conversion)
    audit_record(action="model.test_configuration", actor=actor, target_type="model", target_id=model_id,
                 success=result.success, metadata={"result": result.result, "api_base": api_base})
    return result
