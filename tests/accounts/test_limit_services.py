"""A user's limits are durable: saved with a ``user.sync`` outbox entry in one transaction, pushed after commit,
kept pending (never lost) while LiteLLM is down."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from accounts.limit_services import user_set_limits
from integrations import outbox
from integrations.models import Outbox
from litemaas.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def litellm(litellm_double, fast_retries, settings):
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_RETRY_ATTEMPTS = 1
    settings.LITELLM_READ_TIMEOUT_SECONDS = 2
    settings.LITELLM_BREAKER_FAILURE_THRESHOLD = 1000
    get_litellm_client.cache_clear()
    yield litellm_double
    get_litellm_client.cache_clear()


def _entries(user) -> list[Outbox]:
    return list(Outbox.objects.filter(object_type="user", object_id=str(user.pk)).order_by("sequence"))


def test_limits_and_their_outbox_entry_commit_or_roll_back_together(litellm, user, admin_user):
    with pytest.raises(RuntimeError), transaction.atomic():
        user_set_limits(user=user, values={"max_budget": Decimal("5")}, actor=admin_user)
        raise RuntimeError("the surrounding change failed")
    user.refresh_from_db()
    assert user.max_budget is None and _entries(user) == []
    changed = user_set_limits(user=user, values={"max_budget": Decimal("5"), "rpm_limit": 7}, actor=admin_user)
    assert sorted(changed) == ["max_budget", "rpm_limit"]
    user.refresh_from_db()
    assert user.max_budget == Decimal("5") and user.litellm_sync_state == "pending"
    [entry] = _entries(user)
    assert (entry.operation, entry.status, entry.payload) == ("user.sync", Outbox.Status.PENDING,
                                                             {"fields": ["max_budget", "rpm_limit"]})
    assert AuditEvent.objects.filter(action="user.limits_update", target_id=str(user.pk)).count() == 1
    # Unchanged values: no entry, no audit row.
    assert user_set_limits(user=user, values={"max_budget": Decimal("5")}, actor=admin_user) == []
    assert len(_entries(user)) == 1
    assert outbox.outbox_deliver(entry_id=entry.pk) == "done"
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"
    remote = litellm.state.users[str(user.pk)]
    assert remote["max_budget"] == 5.0 and remote["rpm_limit"] == 7


def test_after_commit_delivery_then_litellm_down_keeps_the_change_until_one_sweep(
        litellm, user, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user_set_limits(user=user, values={"tpm_limit": 100}, actor=admin_user)
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced" and litellm.state.users[str(user.pk)]["tpm_limit"] == 100
    litellm.set_fault("down")
    with django_capture_on_commit_callbacks(execute=True):
        user_set_limits(user=user, values={"tpm_limit": 200}, actor=admin_user)
    user.refresh_from_db()
    assert user.tpm_limit == 200 and user.litellm_sync_state == "pending"
    assert _entries(user)[-1].status == Outbox.Status.FAILED
    litellm.clear_fault()
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=False):
        assert outbox.outbox_sweep()["done"] == 1
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced" and litellm.state.users[str(user.pk)]["tpm_limit"] == 200


def test_delivery_leaves_the_user_pending_while_a_newer_change_waits(litellm, user, admin_user):
    user_set_limits(user=user, values={"rpm_limit": 1}, actor=admin_user)
    user_set_limits(user=user, values={"rpm_limit": 2}, actor=admin_user)
    first, second = _entries(user)
    assert outbox.outbox_deliver(entry_id=second.pk) == "skipped"  # behind the older entry
    assert outbox.outbox_deliver(entry_id=first.pk) == "done"  # pushes the current row (2) ...
    user.refresh_from_db()
    assert litellm.state.users[str(user.pk)]["rpm_limit"] == 2
    assert user.litellm_sync_state == "pending"  # ... but the newer entry is still on its way
    assert outbox.outbox_deliver(entry_id=second.pk) == "done"
    user.refresh_from_db()
    assert user.litellm_sync_state == "synced"


def test_adopting_litellm_values_or_first_login_defaults_queue_nothing(litellm, user, settings):
    from accounts.limit_services import user_apply_new_user_defaults

    settings.DEFAULT_USER_MAX_BUDGET = Decimal("25")

    user_set_limits(user=user, values={"max_budget": Decimal("3")}, actor=None, action="user.limits_adopted",
                    sync_litellm=False)
    assert _entries(user) == []
    fresh = type(user).objects.create(username="newcomer", email="newcomer@example.com")
    assert fresh.litellm_sync_state == "pending"
    assert user_apply_new_user_defaults(user=fresh)
    fresh.refresh_from_db()
    assert fresh.max_budget == Decimal("25") and _entries(fresh) == []  # provisioning after the login sends them with the new LiteLLM user
