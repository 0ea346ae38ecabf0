"""Model sync, LiteLLM → portal: mirror ``/model/info`` into the catalogue, one run at a time, each run
recorded as a SyncRun, with a safety stop before marking too many models unavailable."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError
from litemaas.locks import single_flight
from subscriptions import litellm_gateway as gateway
from subscriptions.models import LlmModel
from subscriptions.services.cascades import _model_mark_unavailable, _model_restore
from subscriptions.services.model_mapping import _safe_metadata, model_fields_from_deployment

_SYNC_LOCK_KEY = "subscriptions:model-sync:lock"
# A run that dies without releasing the lock frees it after this long (longer than any sane run).
_SYNC_LOCK_SECONDS = 300


@dataclass
class SyncResult:
    """Outcome of one model sync (also stored as the SyncRun's counts)."""

    run_id: int | None = None
    status: str = "succeeded"
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    marked_unavailable: int = 0
    restored: int = 0
    subscriptions_deactivated: int = 0
    subscriptions_restored: int = 0
    message: str = ""

    def counts(self) -> dict[str, int]:
        data = asdict(self)
        return {key: value for key, value in data.items() if isinstance(value, int) and key != "run_id"}


class _SyncAborted(Exception):
    pass


def model_sync_from_litellm(*, actor: Any = None, force: bool = False) -> SyncResult:
    """Mirror LiteLLM's ``/model/info`` into the catalogue: insert new models, update changed ones (never
    description or restricted), mark vanished ones unavailable with the cascade, restore returning ones.

    One run at a time (``single_flight`` lock → ``ConflictError`` ``sync_in_progress``); each run is a SyncRun.
    Safety: when LiteLLM lists no model, or more than ``MODEL_SYNC_MAX_REMOVAL_SHARE`` of the available
    models would go, the run is ``aborted`` and nothing changes, unless ``force`` (the admin's explicit
    choice). Raises LiteLLM's errors (503 when unavailable) after recording the failed run. Idempotent.
    """
    from integrations.models import SyncRun
    from integrations.sync_runs import sync_run_finish, sync_run_start

    with single_flight(_SYNC_LOCK_KEY, timeout=_SYNC_LOCK_SECONDS) as acquired:
        if not acquired:
            raise ConflictError("A model sync is already running.", code="sync_in_progress")
        run = sync_run_start(kind=SyncRun.Kind.MODELS, actor=actor)
        result = SyncResult(run_id=run.pk)
        try:
            deployments = gateway.model_list()  # outside any transaction
            result.total = len(deployments)
            _apply_sync(deployments=deployments, result=result, actor=actor, force=force)
        except _SyncAborted as exc:
            result.status, result.message = SyncRun.Status.ABORTED, str(exc)
            sync_run_finish(run=run, status=SyncRun.Status.ABORTED, counts=result.counts(), error=str(exc))
            audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                         success=False, error=str(exc), metadata=result.counts())
            return result
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            sync_run_finish(run=run, status=SyncRun.Status.FAILED, counts=result.counts(), error=message)
            audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                         success=False, error=message)
            raise
        sync_run_finish(run=run, status=SyncRun.Status.SUCCEEDED, counts=result.counts())
        audit_record(action="model.sync", actor=actor, target_type="sync_run", target_id=run.pk,
                     metadata=result.counts())
        return result


@transaction.atomic
def _apply_sync(*, deployments: list[gateway.Deployment], result: SyncResult, actor: Any, force: bool) -> None:
    fetched: dict[str, gateway.Deployment] = {}
    for deployment in deployments:
        # LiteLLM allows several deployments per model_name; the portal shows one model, keyed on the first.
        if deployment.model_name and deployment.model_name not in fetched:
            fetched[deployment.model_name] = deployment
    local = {model.pk: model for model in LlmModel.objects.select_for_update()}
    available = {pk for pk, model in local.items() if model.is_available}
    vanished = sorted(available - fetched.keys())
    share = getattr(settings, "MODEL_SYNC_MAX_REMOVAL_SHARE", 0.5)
    if not force and available:
        if not fetched:
            raise _SyncAborted("LiteLLM listed no models; nothing was marked unavailable.")
        if len(vanished) / len(available) > share:
            raise _SyncAborted(
                f"{len(vanished)} of {len(available)} available models would be marked unavailable "
                f"(more than {share:.0%}); nothing was changed. Check LiteLLM, or force the sync."
            )
    now = timezone.now()
    for name, deployment in fetched.items():
        fields = model_fields_from_deployment(deployment)
        model = local.get(name)
        if model is None:
            LlmModel.objects.create(id=name, litellm_metadata=_safe_metadata(deployment), created_at=now,
                                    updated_at=now, last_synced_at=now, **fields)
            result.created += 1
            continue
        changed = [name_ for name_, value in fields.items() if getattr(model, name_) != value]
        for name_ in changed:
            setattr(model, name_, fields[name_])
        model.litellm_metadata = _safe_metadata(deployment)
        model.last_synced_at = now
        update = ["litellm_metadata", "last_synced_at", *changed]
        if changed:
            model.updated_at = now
            update.append("updated_at")
        model.save(update_fields=update)
        if not model.is_available:
            result.restored += 1
            result.subscriptions_restored += _model_restore(model=model, actor=actor)
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    for name in vanished:
        result.marked_unavailable += 1
        result.subscriptions_deactivated += _model_mark_unavailable(model=local[name], actor=actor)
