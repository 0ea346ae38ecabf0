"""The subscription state machine, table-driven: every allowed and every forbidden move, per actor."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from litemaas.exceptions import ConflictError, InvalidTransition, NotFoundError, ValidationFailed
from subscriptions import services
from subscriptions.models import SubscriptionStatus as S
from subscriptions.models import SubscriptionStatusHistory
from subscriptions.transitions import TRANSITIONS, Actor
from tests.subscriptions.conftest import make_model, make_subscription

ALL = list(S.values)

pytestmark = pytest.mark.django_db


def _expect(ok: bool, call, expected_status: str | None = None):
    if ok:
        subscription = call()
        if expected_status:
            assert subscription.status == expected_status
        return subscription
    with pytest.raises((InvalidTransition, ConflictError)):
        call()
    return None


@pytest.mark.parametrize("start", ALL)
def test_owner_cancel_only_from_active_or_pending(start, user, key_cascade):
    sub = make_subscription(user, make_model(), start)
    _expect(start in (S.ACTIVE, S.PENDING),
            lambda: services.subscription_cancel(user=user, subscription_id=sub.pk), S.INACTIVE)


@pytest.mark.parametrize("start", ALL)
def test_owner_request_review_only_from_denied_and_idempotent_when_pending(start, user):
    sub = make_subscription(user, make_model(), start)
    _expect(start in (S.DENIED, S.PENDING),
            lambda: services.subscription_request_review(user=user, subscription_id=sub.pk), S.PENDING)


@pytest.mark.parametrize(("start", "restricted"), list(itertools.product(ALL, [False, True])))
def test_resubscribe_reuses_only_inactive_or_expired_rows(start, restricted, user):
    model = make_model(restricted=restricted)
    sub = make_subscription(user, model, start)
    result = _expect(start in (S.INACTIVE, S.EXPIRED),
                     lambda: services.subscription_create(user=user, model_id=model.pk),
                     S.PENDING if restricted else S.ACTIVE)
    if result is not None:
        assert result.pk == sub.pk


@pytest.mark.parametrize("start", ALL)
def test_admin_approve_only_from_pending(start, user, admin_user):
    sub = make_subscription(user, make_model(restricted=True), start)
    _expect(start == S.PENDING,
            lambda: services.subscription_approve(actor=admin_user, subscription_id=sub.pk), S.ACTIVE)


@pytest.mark.parametrize("start", ALL)
def test_admin_deny_only_from_pending_or_active(start, user, admin_user, key_cascade):
    sub = make_subscription(user, make_model(), start)
    _expect(start in (S.PENDING, S.ACTIVE),
            lambda: services.subscription_deny(actor=admin_user, subscription_id=sub.pk, reason="no"), S.DENIED)


@pytest.mark.parametrize(("start", "target"), list(itertools.product(ALL, ALL)))
def test_admin_change_status_follows_the_table(start, target, user, admin_user, key_cascade):
    sub = make_subscription(user, make_model(), start)
    allowed = Actor.ADMIN in TRANSITIONS.get((start, target), frozenset())
    _expect(allowed, lambda: services.subscription_change_status(
        actor=admin_user, subscription_id=sub.pk, new_status=target, reason="because"), target)


@pytest.mark.parametrize("start", ALL)
def test_expiry_only_expires_active_subscriptions(start, user, key_cascade):
    past = timezone.now() - timedelta(minutes=1)
    sub = make_subscription(user, make_model(), start, expires_at=past)
    assert services.subscriptions_expire_due() == (1 if start == S.ACTIVE else 0)
    sub.refresh_from_db()
    assert sub.status == (S.EXPIRED if start == S.ACTIVE else start)


def test_table_has_no_self_loops_and_only_known_statuses():
    for (old, new), actors in TRANSITIONS.items():
        assert old != new
        assert new in ALL and (old is None or old in ALL)
        assert actors


def test_owners_can_never_approve_or_deny_themselves():
    for (_old, new), actors in TRANSITIONS.items():
        if new == S.DENIED:
            assert Actor.OWNER not in actors
    assert Actor.OWNER not in TRANSITIONS[(S.PENDING, S.ACTIVE)]


def test_admin_services_refuse_non_admins(user, readonly_admin):
    sub = make_subscription(user, make_model(restricted=True), S.PENDING)
    from litemaas.exceptions import PermissionDeniedError

    for actor in (user, readonly_admin):
        with pytest.raises(PermissionDeniedError):
            services.subscription_approve(actor=actor, subscription_id=sub.pk)
        with pytest.raises(PermissionDeniedError):
            services.subscription_deny(actor=actor, subscription_id=sub.pk, reason="x")
    sub.refresh_from_db()
    assert sub.status == S.PENDING


def test_every_transition_writes_history_audit_and_a_notification(user, admin_user, key_cascade):
    from litemaas.models import AuditEvent

    sub = make_subscription(user, make_model(restricted=True), S.PENDING)
    services.subscription_deny(actor=admin_user, subscription_id=sub.pk, reason="Not for interns")
    row = SubscriptionStatusHistory.objects.filter(subscription=sub).first()
    assert (row.old_status, row.new_status, row.reason, row.changed_by) == (S.PENDING, S.DENIED,
                                                                             "Not for interns", admin_user)
    assert AuditEvent.objects.filter(action="subscription.denied", target_id=str(sub.pk)).exists()
    note = Notification.objects.get(user=user, kind="subscription.denied")
    assert note.body == "Not for interns" and note.level == "danger"


def test_deny_requires_a_reason(user, admin_user):
    sub = make_subscription(user, make_model(restricted=True), S.PENDING)
    with pytest.raises(ValidationFailed):
        services.subscription_deny(actor=admin_user, subscription_id=sub.pk, reason="  ")


def test_deny_and_active_to_denied_strip_keys(user, admin_user, key_cascade):
    model = make_model()
    sub = make_subscription(user, model, S.ACTIVE)
    services.subscription_change_status(actor=admin_user, subscription_id=sub.pk, new_status=S.DENIED,
                                        reason="abuse")
    assert key_cascade == [("user", {"user": user, "model_id": model.pk, "reason": "admin_status_change"})]


def test_cancel_strips_model_from_keys(user, key_cascade):
    model = make_model()
    sub = make_subscription(user, model, S.ACTIVE)
    services.subscription_cancel(user=user, subscription_id=sub.pk)
    assert key_cascade[0][0] == "user" and key_cascade[0][1]["model_id"] == model.pk


def test_cancel_of_someone_elses_subscription_is_not_found(user, other_user):
    sub = make_subscription(other_user, make_model(), S.ACTIVE)
    with pytest.raises(NotFoundError):
        services.subscription_cancel(user=user, subscription_id=sub.pk)


def test_subscribe_restricted_model_creates_pending_request(user):
    sub = services.subscription_create(user=user, model_id=make_model(restricted=True).pk)
    assert sub.status == S.PENDING
    assert Notification.objects.filter(user=user, kind="subscription.pending").exists()


def test_subscribe_unavailable_model_is_refused(user):
    with pytest.raises(ValidationFailed):
        services.subscription_create(user=user, model_id=make_model(availability="unavailable").pk)


def test_missing_apikeys_contract_is_skipped_not_fatal(user, monkeypatch):
    from apikeys import services as apikey_services

    monkeypatch.delattr(apikey_services, "apikey_remove_model_for_user", raising=False)
    sub = make_subscription(user, make_model(), S.ACTIVE)
    assert services.subscription_cancel(user=user, subscription_id=sub.pk).status == S.INACTIVE


@pytest.mark.parametrize("start", [None, *ALL])
def test_admin_grant_makes_any_subscription_active(start, user, admin_user):
    model = make_model(restricted=True)
    if start:
        make_subscription(user, model, start)
    [sub] = services.subscription_admin_grant(actor=admin_user, user=user, model_ids=[model.pk])
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE


def test_admin_grant_refuses_non_admins_and_unknown_models(user, readonly_admin, admin_user):
    from litemaas.exceptions import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.subscription_admin_grant(actor=readonly_admin, user=user, model_ids=[make_model().pk])
    with pytest.raises(NotFoundError):
        services.subscription_admin_grant(actor=admin_user, user=user, model_ids=["nope"])
