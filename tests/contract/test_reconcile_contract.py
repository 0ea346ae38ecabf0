"""Contract: budgets edited directly in LiteLLM (keys, users) are found by the reconciler and repaired per strategy.

The portal (its database is the test's) is pointed at each target; keys and users are made through the portal's
own services. The real proxy is shared with the rest of the suite, so the run leaves other tests' objects alone:
LiteLLM keys the portal does not know stay in the orphan grace, and teams are only reported.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.contract.conftest import unique

pytestmark = [pytest.mark.contract, pytest.mark.django_db]


@pytest.fixture
def portal_on_target(litellm_target, settings):
    """The portal's settings-built client talking to the target; the reconciler judging only this test's
    objects."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = litellm_target.base_url
    settings.LITELLM_MASTER_KEY = litellm_target.master_key
    settings.SYNC_DRY_RUN = False
    settings.SYNC_RECONCILE_GRACE_SECONDS = 0
    settings.SYNC_ORPHAN_GRACE_SECONDS = 10**8  # other tests' keys (with a portal_key_id) are never judged
    settings.SYNC_STRATEGY_TEAMS = "report_only"  # the shared Default Team is not this test's subject
    get_litellm_client.cache_clear()
    breaker = get_litellm_client().breaker
    if breaker is not None:
        breaker.reset()
    yield litellm_target
    get_litellm_client.cache_clear()


def _mine(run, *object_ids: str) -> dict[str, object]:
    """This test's drift items of ``run``, by object id."""
    from integrations.models import DriftItem

    return {i.object_id: i for i in DriftItem.objects.filter(run=run, object_id__in=object_ids)}


@pytest.mark.parametrize("strategy", ["portal_wins", "litellm_wins", "report_only"])
def test_budgets_edited_in_litellm_are_detected_and_repaired_per_strategy(
        portal_on_target, strategy, settings, user, django_capture_on_commit_callbacks):
    from apikeys.services import apikey_create
    from integrations.models import DriftItem, Outbox
    from integrations.reconcile import reconcile_run
    from integrations.services import ensure_litellm_user
    from tests.apikeys.conftest import make_model, subscribe

    settings.SYNC_STRATEGY_KEYS = settings.SYNC_STRATEGY_USERS = strategy
    client = portal_on_target.client
    subscribe(user, make_model(unique("contract-reconcile")))
    user.max_budget, user.tpm_limit = Decimal("10"), 500
    user.save(update_fields=["max_budget", "tpm_limit"])
    ensure_litellm_user(user)  # provisioning on first need
    created = apikey_create(user=user, actor=user, model_ids=[user.subscriptions.get().model_id],
                            name=unique("reconcile"), max_budget=Decimal("5"), enforce_policy=False)
    key, user_id = created.key, str(user.pk)
    key_id = str(key.pk)

    # What the portal made matches what LiteLLM stores: no drift for this test's objects.
    baseline = reconcile_run()
    assert baseline.status == "succeeded", baseline.error
    assert _mine(baseline, key_id, user_id) == {}

    # An operator edits both budgets directly in LiteLLM.
    client.key_update(created.secret, max_budget=50)
    client.user_update(user_id, max_budget=99)
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's after-commit delivery
        run = reconcile_run()
    assert run.status == "succeeded", run.error
    items = _mine(run, key_id, user_id)
    assert items[key_id].drift_class == "key_differs"
    assert items[key_id].details["fields"]["max_budget"] == {"portal": 5.0, "litellm": 50.0}
    assert items[user_id].drift_class == "user_differs"
    assert items[user_id].details["fields"]["max_budget"] == {"portal": 10.0, "litellm": 99.0}

    key.refresh_from_db()
    user.refresh_from_db()
    remote_key, remote_user = client.key_get(created.secret), client.user_get(user_id)
    if strategy == "portal_wins":  # pushed back through the outbox
        assert (remote_key.max_budget, remote_user.max_budget) == (5.0, 10.0)
        assert (key.max_budget, user.max_budget) == (Decimal("5"), Decimal("10"))
        pushes = Outbox.objects.filter(object_id__in=(key_id, user_id), operation__in=("key.push", "user.sync"))
        assert sorted(pushes.values_list("operation", "status")) == [("key.push", "done"), ("user.sync", "done")]
    elif strategy == "litellm_wins":  # adopted into the portal
        assert (key.max_budget, user.max_budget) == (Decimal("50"), Decimal("99"))
        assert (remote_key.max_budget, remote_user.max_budget) == (50.0, 99.0)
    else:  # only reported: both sides keep their values
        assert (remote_key.max_budget, remote_user.max_budget) == (50.0, 99.0)
        assert (key.max_budget, user.max_budget) == (Decimal("5"), Decimal("10"))
        assert {i.status for i in items.values()} == {DriftItem.Status.OPEN}
        assert not Outbox.objects.filter(object_id__in=(key_id, user_id)).exclude(operation="key.revoke").exists()

    # Converged (or, report_only, reported again).
    with django_capture_on_commit_callbacks(execute=True):
        again = reconcile_run()
    left = _mine(again, key_id, user_id)
    assert sorted(i.drift_class for i in left.values()) == (
        ["key_differs", "user_differs"] if strategy == "report_only" else [])
