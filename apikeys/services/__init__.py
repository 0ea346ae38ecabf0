"""Write operations of ``apikeys`` (``<entity>_<action>``, keyword-only, audited).

Two-system writes follow one pattern: validate, then change LiteLLM and the portal in an order that can
never leave a usable key the portal does not know about, and never hold a database transaction open across
a LiteLLM call.

* Create / rotate / playground: commit the row as ``provisioning`` first, call ``/key/generate`` with the
  portal-minted secret, then mark it ``active``. If LiteLLM fails the row is ``failed`` (after a best-effort
  delete by hash) or stays ``provisioning`` until :func:`apikeys_cleanup_provisioning` deletes the remote
  key by hash and marks it ``failed``. The plaintext lives only in memory and in the one create response.
* Revoke / delete: mark ``revoking`` in the database first (the portal stops treating the key as usable at
  once), then delete it in LiteLLM; while LiteLLM is down a bounded Celery retry and the every-minute sweep
  (:func:`apikeys_retry_revocations`) finish the job.
* Edit / block / unblock / reset spend: LiteLLM first, then the row; LiteLLM down means 503 and nothing
  changed.

A model leaving a key never sends LiteLLM an empty ``models`` list (LiteLLM reads it as "all models"): a key
left without models is blocked instead.

Modules: ``create`` (create and the cleanup of creates that never finished), ``update`` (edit, mark
broken), ``lifecycle`` (block, unblock, reset spend, revoke, delete, expiry), ``rotation``, ``model_sync``
(models leaving keys, pushes to LiteLLM), ``admin_create`` (an admin creates a key for a user),
``playground`` (playground keys, last-use and spend bookkeeping), ``limits`` (limits, ceilings and the admin
settings), ``remote`` (every LiteLLM call), ``_shared`` (constants, types, audit and status helpers).
Import the public names from here; patch a private helper in the module that looks it up (for example
``apikeys.services.remote._client``, ``apikeys.services.create._remote_generate``).
"""
from apikeys.services._shared import (
    BUDGET_DURATION_PRESETS,
    MAX_ROTATION_GRACE_HOURS,
    PER_MODEL_BUDGET_MESSAGE,
    CreatedApiKey,
    ModelLimits,
)
from apikeys.services.admin_create import apikey_admin_create_for_user
from apikeys.services.create import (
    apikey_create,
    apikey_fail_stale_provisioning,
    apikeys_cleanup_provisioning,
)
from apikeys.services.lifecycle import (
    apikey_block,
    apikey_confirm_revocation,
    apikey_delete,
    apikey_reset_spend,
    apikey_revoke,
    apikey_unblock,
    apikeys_expire_due,
    apikeys_retry_revocations,
)
from apikeys.services.limits import SETTINGS_FIELDS, apikey_settings_update, normalise_budget_duration
from apikeys.services.model_sync import (
    apikey_push_to_litellm,
    apikey_remove_model_for_user,
    apikey_sync_to_litellm,
    apikeys_remove_model_everywhere,
    apikeys_sync_pending,
)
from apikeys.services.playground import apikey_create_playground, apikey_record_spend, apikey_touch_last_used
from apikeys.services.rotation import apikey_rotate, apikeys_revoke_rotated_after_grace
from apikeys.services.update import apikey_mark_broken, apikey_update

__all__ = [
    "BUDGET_DURATION_PRESETS",
    "MAX_ROTATION_GRACE_HOURS",
    "PER_MODEL_BUDGET_MESSAGE",
    "SETTINGS_FIELDS",
    "CreatedApiKey",
    "ModelLimits",
    "apikey_admin_create_for_user",
    "apikey_block",
    "apikey_confirm_revocation",
    "apikey_create",
    "apikey_create_playground",
    "apikey_delete",
    "apikey_fail_stale_provisioning",
    "apikey_mark_broken",
    "apikey_push_to_litellm",
    "apikey_record_spend",
    "apikey_remove_model_for_user",
    "apikey_reset_spend",
    "apikey_revoke",
    "apikey_rotate",
    "apikey_settings_update",
    "apikey_sync_to_litellm",
    "apikey_touch_last_used",
    "apikey_unblock",
    "apikey_update",
    "apikeys_cleanup_provisioning",
    "apikeys_expire_due",
    "apikeys_remove_model_everywhere",
    "apikeys_retry_revocations",
    "apikeys_revoke_rotated_after_grace",
    "apikeys_sync_pending",
    "normalise_budget_duration",
]
