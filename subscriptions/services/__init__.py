"""Write operations of ``subscriptions``: the model catalogue (sync and admin write-through to LiteLLM) and
the subscription state machine (``<entity>_<action>``, keyword-only, atomic, audited).

Rules every function here keeps:

- Status changes go through ``state._transition`` only, which checks ``subscriptions.transitions.TRANSITIONS``,
  writes a history row and an audit row, notifies the owner and strips the model from the owner's keys
  when access ends.
- No database transaction is held open across a LiteLLM call: LiteLLM first, then one atomic local write;
  if the local write fails, the LiteLLM change is undone (or, for a delete, left to the next sync).
- Keys belong to ``apikeys``; cascades into keys go through its services (``_shared._keys_cascade``).

Modules: ``subscribe`` (owner actions), ``review`` (admin actions), ``state`` (the transition core),
``cascades`` (expiry and model-driven transitions), ``model_sync`` (LiteLLM → portal), ``model_admin``
(admin write-through to LiteLLM), ``model_mapping`` (pure LiteLLM ↔ ``LlmModel`` conversions),
``_shared`` (causes, key cascade, notifications, admin check). Import the public names from here;
patch a private helper in the module that defines and calls it.
"""
from subscriptions.services._shared import (
    CAUSE_ADMIN_STATUS,
    CAUSE_APPROVED,
    CAUSE_DENIED,
    CAUSE_EXPIRED,
    CAUSE_MODEL_GONE,
    CAUSE_MODEL_RESTRICTED,
    CAUSE_MODEL_RETURNED,
    CAUSE_MODEL_UNRESTRICTED,
    CAUSE_RESUBSCRIBE,
    CAUSE_REVIEW_REQUESTED,
    CAUSE_SUBSCRIBE,
    CAUSE_USER_CANCEL,
)
from subscriptions.services.cascades import (
    REASON_MODEL_GONE,
    REASON_MODEL_RETURNED,
    REASON_RESTRICTED,
    REASON_UNRESTRICTED,
    subscriptions_expire_due,
)
from subscriptions.services.model_admin import (
    RESERVED_MODEL_IDS,
    model_create,
    model_delete,
    model_test_configuration,
    model_update,
)
from subscriptions.services.model_mapping import (
    LITELLM_FIELDS,
    PORTAL_FIELDS,
    SYNCED_FIELDS,
    model_fields_from_deployment,
    model_fields_from_input,
)
from subscriptions.services.model_sync import SyncResult, model_sync_from_litellm
from subscriptions.services.review import (
    BulkResult,
    subscription_admin_grant,
    subscription_approve,
    subscription_change_status,
    subscription_delete,
    subscription_deny,
    subscriptions_bulk_approve,
    subscriptions_bulk_deny,
)
from subscriptions.services.subscribe import (
    subscription_cancel,
    subscription_create,
    subscription_request_review,
)

__all__ = [
    "CAUSE_ADMIN_STATUS",
    "CAUSE_APPROVED",
    "CAUSE_DENIED",
    "CAUSE_EXPIRED",
    "CAUSE_MODEL_GONE",
    "CAUSE_MODEL_RESTRICTED",
    "CAUSE_MODEL_RETURNED",
    "CAUSE_MODEL_UNRESTRICTED",
    "CAUSE_RESUBSCRIBE",
    "CAUSE_REVIEW_REQUESTED",
    "CAUSE_SUBSCRIBE",
    "CAUSE_USER_CANCEL",
    "LITELLM_FIELDS",
    "PORTAL_FIELDS",
    "REASON_MODEL_GONE",
    "REASON_MODEL_RETURNED",
    "REASON_RESTRICTED",
    "REASON_UNRESTRICTED",
    "RESERVED_MODEL_IDS",
    "SYNCED_FIELDS",
    "BulkResult",
    "SyncResult",
    "model_create",
    "model_delete",
    "model_fields_from_deployment",
    "model_fields_from_input",
    "model_sync_from_litellm",
    "model_test_configuration",
    "model_update",
    "subscription_admin_grant",
    "subscription_approve",
    "subscription_cancel",
    "subscription_change_status",
    "subscription_create",
    "subscription_delete",
    "subscription_deny",
    "subscription_request_review",
    "subscriptions_bulk_approve",
    "subscriptions_bulk_deny",
    "subscriptions_expire_due",
]
