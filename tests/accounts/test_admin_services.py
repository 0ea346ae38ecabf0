"""user_set_role: is_staff follows the role, the change is audited, the last admin stays."""
from __future__ import annotations

import pytest

from accounts.admin_services import user_set_role
from litemaas.exceptions import InvalidTransition, ValidationFailed
from litemaas.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "is_staff"), [("admin", True), ("admin-readonly", True), ("user", False)])
def test_is_staff_follows_the_role(user, admin_user, role, is_staff):
    changed = user_set_role(user=user, role=role, actor=admin_user)
    user.refresh_from_db()
    assert changed.role == user.role == role and user.is_staff is is_staff


def test_role_change_is_audited_with_old_and_new_role(user, admin_user):
    user_set_role(user=user, role="admin", actor=admin_user)
    event = AuditEvent.objects.get(action="user.role_change")
    assert (event.actor, event.target_type, event.target_id) == (admin_user, "user", str(user.pk))
    assert event.metadata == {"username": user.username, "from": "user", "to": "admin"}


def test_setting_the_same_role_is_a_no_op(user, admin_user):
    user_set_role(user=user, role="user", actor=admin_user)
    assert not AuditEvent.objects.exists()


def test_same_role_repairs_a_drifted_is_staff(admin_user):
    drifted = UserFactory(role="user", is_staff=True)
    user_set_role(user=drifted, role="user", actor=admin_user)
    drifted.refresh_from_db()
    assert drifted.is_staff is False


def test_unknown_role_is_refused(user, admin_user):
    with pytest.raises(ValidationFailed):
        user_set_role(user=user, role="root", actor=admin_user)


def test_the_last_active_admin_cannot_be_demoted(admin_user):
    with pytest.raises(InvalidTransition):
        user_set_role(user=admin_user, role="admin-readonly", actor=admin_user)


def test_an_admin_can_be_demoted_while_another_remains(admin_user):
    other = UserFactory(role="admin", is_staff=True)
    user_set_role(user=other, role="user", actor=admin_user)
    other.refresh_from_db()
    assert other.role == "user" and other.is_staff is False
