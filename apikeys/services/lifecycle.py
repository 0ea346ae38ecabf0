"""Status changes of a key: block, unblock and reset spend (LiteLLM first); revoke and delete
(``revoking`` in the database first, the LiteLLM delete through the outbox) with the revocation
retry sweep; and the expiry sweep."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus, KeyType
from apikeys.selectors import apikey_forget_live_spend
from apikeys.services._shared import _SWEEP_BATCH, _key_audit, _set_status, _sweep_lock, _transition, logger
from apikeys.services.remote import _remote_block, _remote_delete, _remote_reset_spend, _remote_unblock
from integrations.litellm.errors import LiteLLMError, LiteLLMUnavailable
from litemaas.audit import audit_record
from litemaas.exceptions import ConflictError, InvalidTransition


def apikey_block(*, key: ApiKey, actor: Any, reason: str = "", request: HttpRequest | None = None) -> ApiKey:
    """Block an active key in LiteLLM (reversible), then locally. Idempotent on a blocked key.

    Raises ``InvalidTransition`` from other states, ``ServiceUnavailableError`` if LiteLLM is down."""
    if key.status == KeyStatus.BLOCKED:
        return key
    _transition(key, KeyStatus.BLOCKED)
    _remote_block(key=key)
    if not _set_status(key, from_statuses=(KeyStatus.ACTIVE,), to=KeyStatus.BLOCKED,
                       status_reason=(reason or "Blocked.")[:500]):
        raise ConflictError("The key changed while it was being blocked; reload and try again.")
    audit_record(action="apikey.block", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key, reason=reason[:500]), request=request)
    return key


def apikey_unblock(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Unblock a blocked key (LiteLLM first). A key with no models left stays blocked (400): LiteLLM would
    read an empty model list as "all models". Idempotent on an active key."""
    if key.status == KeyStatus.ACTIVE:
        return key
    _transition(key, KeyStatus.ACTIVE)
    if not key.model_links.exists():
        raise InvalidTransition("This key has no models left; add a model before unblocking it.")
    if key.remote_sync_pending:
        raise InvalidTransition("A model change of this key is still being applied in LiteLLM; try again in a "
                                "minute.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise InvalidTransition("This key has expired; it cannot be unblocked.")
    _remote_unblock(key=key)
    if not _set_status(key, from_statuses=(KeyStatus.BLOCKED,), to=KeyStatus.ACTIVE, status_reason=""):
        raise ConflictError("The key changed while it was being unblocked; reload and try again.")
    audit_record(action="apikey.unblock", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key), request=request)
    return key


def apikey_reset_spend(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Set the key's spend to 0 in LiteLLM and locally (idempotent). 503 if LiteLLM is down."""
    if key.status not in (KeyStatus.ACTIVE, KeyStatus.BLOCKED, KeyStatus.EXPIRED):
        raise InvalidTransition("Only active, blocked or expired keys have a spend to reset.")
    _remote_reset_spend(key=key)
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(spend=Decimal("0"), spend_synced_at=now, updated_at=now)
    key.spend, key.spend_synced_at = Decimal("0"), now
    audit_record(action="apikey.reset_spend", actor=actor, target_type="apikey", target_id=key.pk,
                 metadata=_key_audit(key), request=request)
    from teams.services import alerts_rearm  # the key's budget alerts fire again as spend climbs

    alerts_rearm(target_type="key", target_id=key.pk)
    apikey_forget_live_spend(user_id=key.user_id)
    return key


def apikey_revoke(*, key: ApiKey, actor: Any, reason: str = "", request: HttpRequest | None = None,
                  delete: bool = False) -> ApiKey:
    """Revoke a key: ``revoking`` in the database at once, then ``/key/delete`` by hash in LiteLLM.

    If LiteLLM is down the key stays ``revoking`` (the caller answers 202) and a bounded Celery retry plus
    the every-minute sweep finish it. ``delete`` also hides the key (tombstone with ``deleted_at``; the
    hash stays so usage history still maps). Idempotent.
    """
    from integrations.outbox import outbox_deliver, outbox_enqueue

    now = timezone.now()
    entry = None
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        fields: list[str] = []
        if locked.status in (KeyStatus.PROVISIONING, KeyStatus.FAILED):
            raise InvalidTransition("This key was never created; there is nothing to revoke.")
        if locked.status not in (KeyStatus.REVOKING, KeyStatus.REVOKED):
            _transition(locked, KeyStatus.REVOKING)
            locked.status = KeyStatus.REVOKING
            locked.revoke_requested_at = now
            locked.status_reason = (reason or ("Deleted." if delete else "Revoked."))[:500]
            locked.rotation_revoke_at = None
            fields += ["status", "revoke_requested_at", "status_reason", "rotation_revoke_at"]
            # Durable: the LiteLLM delete commits with the state change (delivered below, after commit by a
            # task, or by the outbox sweep while LiteLLM/Redis/the worker is down).
            entry = outbox_enqueue(object_type="apikey", object_id=locked.pk, operation="key.revoke",
                                   payload={"token_hash": locked.token_hash, "delete": delete})
            audit_record(action="apikey.revoke", actor=actor, target_type="apikey", target_id=locked.pk,
                         metadata=_key_audit(locked, reason=reason[:500]), request=request)
        if delete and locked.deleted_at is None:
            locked.deleted_at = now
            fields.append("deleted_at")
            audit_record(action="apikey.delete", actor=actor, target_type="apikey", target_id=locked.pk,
                         metadata=_key_audit(locked), request=request)
        if fields:
            locked.updated_at = now
            locked.save(update_fields=[*fields, "updated_at"])
    if locked.status == KeyStatus.REVOKING:
        if entry is not None:
            outbox_deliver(entry_id=entry.pk)  # fast path; on failure the entry backs off and is retried
        else:
            try:  # revoking again: nudge the pending revocation (its outbox entry stays in line)
                apikey_confirm_revocation(key_id=locked.pk)
            except LiteLLMError:
                pass
        locked.refresh_from_db()
    apikey_forget_live_spend(user_id=locked.user_id)
    return locked


def apikey_delete(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Revoke (if needed) and hide the key, keeping a tombstone row (see :func:`apikey_revoke`)."""
    return apikey_revoke(key=key, actor=actor, request=request, delete=True)


def apikey_confirm_revocation(*, key_id: Any) -> bool:
    """Delete a ``revoking`` key in LiteLLM by hash and mark it ``revoked``.

    Returns True when the key is revoked (or was not revoking). Raises ``LiteLLMError`` when LiteLLM could
    not confirm (the row records the attempt). Idempotent: a key LiteLLM no longer has counts as deleted.
    """
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None or key.status != KeyStatus.REVOKING:
        return True
    try:
        _remote_delete(token_hash=key.token_hash)
    except LiteLLMError as exc:
        ApiKey.objects.filter(pk=key.pk).update(revoke_attempts=key.revoke_attempts + 1,
                                                last_error=exc.message[:2000], updated_at=timezone.now())
        raise
    if _set_status(key, from_statuses=(KeyStatus.REVOKING,), to=KeyStatus.REVOKED, revoked_at=timezone.now(),
                   last_error=""):
        audit_record(action="apikey.revoked", actor=None, target_type="apikey", target_id=key.pk,
                     metadata=_key_audit(key, attempts=key.revoke_attempts + 1))
    return True


def apikeys_retry_revocations() -> int:
    """Beat sweep: retry every key stuck in ``revoking``; stops at the first "LiteLLM unavailable".

    Single-flight (``litemaas.locks``). Returns how many keys were confirmed revoked. Idempotent."""
    if (lock := _sweep_lock("revocations")) is None:
        return 0
    done = 0
    try:
        for key_id in ApiKey.objects.filter(status=KeyStatus.REVOKING).order_by("revoke_requested_at")\
                .values_list("pk", flat=True)[:_SWEEP_BATCH]:
            try:
                apikey_confirm_revocation(key_id=key_id)
            except LiteLLMUnavailable:
                break
            except LiteLLMError as exc:
                logger.warning("revocation of key %s rejected by LiteLLM: %s", key_id, exc.code)
                continue
            done += 1
    finally:
        lock.release()
    return done


def apikeys_expire_due() -> int:
    """Beat sweep: active keys past ``expires_at`` become ``expired`` (LiteLLM already refuses them);
    playground keys past their expiry are revoked (deleted in LiteLLM). Returns keys changed. Idempotent."""
    now = timezone.now()
    count = 0
    due = ApiKey.objects.filter(key_type=KeyType.STANDARD, status=KeyStatus.ACTIVE, expires_at__lte=now)
    for key in due[:_SWEEP_BATCH]:
        if _set_status(key, from_statuses=(KeyStatus.ACTIVE,), to=KeyStatus.EXPIRED, status_reason="Expired."):
            audit_record(action="apikey.expire", actor=None, target_type="apikey", target_id=key.pk,
                         metadata=_key_audit(key))
            count += 1
    playground = ApiKey.objects.filter(key_type=KeyType.PLAYGROUND, expires_at__lte=now,
                                       status__in=(KeyStatus.ACTIVE, KeyStatus.BLOCKED))
    for key in playground[:_SWEEP_BATCH]:
        apikey_revoke(key=key, actor=None, reason="Playground session ended.")
        count += 1
    return count
