"""An admin creates a key for a user, granting the missing subscriptions first (undone if the key fails)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from apikeys.selectors import active_model_ids_for_user, models_by_id
from apikeys.services._shared import CreatedApiKey
from apikeys.services.create import apikey_create
from litemaas.audit import audit_record
from litemaas.exceptions import PermissionDeniedError, ValidationFailed

# The Subscription fields a grant changes; restored as they were when the key cannot be created.
_GRANT_FIELDS = ("status", "status_cause", "status_reason", "status_changed_at", "status_changed_by_id", "updated_at")


def apikey_admin_create_for_user(*, actor: Any, target_user: Any, model_ids: list[str], name: str,
                                 request: HttpRequest | None = None, **limits: Any) -> CreatedApiKey:
    """Admin creates a key for ``target_user``; missing or inactive subscriptions to the chosen models are
    granted active first (through ``subscriptions.services``), ceilings do not apply. Audited.

    The grant needs to be committed before the key is provisioned (the key row must exist, committed,
    before LiteLLM is called, so that the orphan sweep can find it), so when the key cannot be created
    (invalid input, LiteLLM down or refusing) the grant is undone: new subscriptions are removed and the
    others get their previous status back, with an audit row. Nothing is left half-done.
    """
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError()
    missing = sorted(set(model_ids) - active_model_ids_for_user(user=target_user))
    before = _grant_subscriptions(actor=actor, user=target_user, model_ids=missing, request=request) if missing else None
    try:
        return apikey_create(user=target_user, actor=actor, model_ids=model_ids, name=name, enforce_policy=False,
                             request=request, **limits)
    except Exception:
        if before is not None:
            _undo_grant(actor=actor, user=target_user, before=before, request=request)
        raise


def _grant_subscriptions(*, actor: Any, user: Any, model_ids: list[str],
                         request: HttpRequest | None) -> dict[str, dict[str, Any] | None]:
    """Grant ``model_ids`` to ``user``; return each model's subscription state before (None: no row)."""
    from subscriptions.models import Subscription
    from subscriptions.services import subscription_admin_grant

    known = models_by_id(set(model_ids))
    unknown = sorted(set(model_ids) - set(known))
    if unknown:
        raise ValidationFailed(details={"fields": {"model_ids": ["Unknown models: " + ", ".join(unknown)]}})
    rows = Subscription.objects.filter(user=user, model_id__in=model_ids).values("model_id", "pk", *_GRANT_FIELDS)
    before: dict[str, dict[str, Any] | None] = {model_id: None for model_id in model_ids}
    before.update({row["model_id"]: row for row in rows})
    with transaction.atomic():
        subscription_admin_grant(actor=actor, user=user, model_ids=model_ids, request=request)
    return before


@transaction.atomic
def _undo_grant(*, actor: Any, user: Any, before: dict[str, dict[str, Any] | None],
                request: HttpRequest | None) -> None:
    from subscriptions.models import Subscription

    for model_id, state in before.items():
        rows = Subscription.objects.filter(user=user, model_id=model_id)
        if state is None:
            rows.delete()  # created by the grant a moment ago (its history rows go with it)
        else:
            rows.filter(pk=state["pk"]).update(**{name: state[name] for name in _GRANT_FIELDS})
    audit_record(action="subscription.grant_reverted", actor=actor, target_type="user", target_id=user.pk,
                 metadata={"models": sorted(before), "reason": "the key could not be created"}, request=request)
