"""Shared pytest fixtures: users for each role and API clients."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytest_plugins = ["tests.fixtures.litellm"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Give every test an empty local cache (breaker state, throttles and locks never leak between tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    """An ordinary portal user."""
    return UserFactory()


@pytest.fixture
def other_user(db):
    """A second ordinary user, to prove object scoping."""
    return UserFactory()


@pytest.fixture
def admin_user(db):
    """A full admin."""
    return UserFactory(role="admin", is_staff=True)


@pytest.fixture
def readonly_admin(db):
    """A read-only admin."""
    return UserFactory(role="admin-readonly", is_staff=True)


@pytest.fixture
def api_client():
    """An unauthenticated DRF test client."""
    return APIClient()


@pytest.fixture
def user_client(user):
    """A DRF client signed in (session) as ``user``."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    """A DRF client signed in as ``admin_user``."""
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def readonly_admin_client(readonly_admin):
    """A DRF client signed in as ``readonly_admin``."""
    client = APIClient()
    client.force_authenticate(readonly_admin)
    return client
