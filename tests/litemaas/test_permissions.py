"""Admin API permissions: admin-readonly reads every admin endpoint and writes none."""
from __future__ import annotations

import pytest

from tests.litemaas.assertions import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.litemaas.urls")]

AREA = "/api/v1/test/admin-area"


def test_admin_reads_and_writes(admin_client):
    assert admin_client.get(AREA).status_code == 200
    assert admin_client.post(AREA, {}).status_code == 200


def test_readonly_admin_reads_but_every_write_is_403(readonly_admin_client):
    assert readonly_admin_client.get(AREA).status_code == 200
    assert readonly_admin_client.head(AREA).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        assert_error(getattr(readonly_admin_client, method)(AREA, {}), 403, "permission_denied")


def test_ordinary_user_neither_reads_nor_writes(user_client):
    assert_error(user_client.get(AREA), 403, "permission_denied")
    assert_error(user_client.post(AREA, {}), 403, "permission_denied")


def test_deactivated_admin_loses_the_role(admin_user, admin_client):
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])
    assert admin_client.get(AREA).status_code in (401, 403)
