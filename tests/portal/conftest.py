"""Fixtures of the portal-wide features: small valid images and page clients per role."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image


def make_image(fmt: str = "PNG", size: tuple[int, int] = (64, 32), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def png_bytes() -> bytes:
    return make_image()


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_page_client(admin_user) -> Client:
    return _page_client(admin_user)


@pytest.fixture
def readonly_page_client(readonly_admin) -> Client:
    return _page_client(readonly_admin)


@pytest.fixture
def user_page_client(user) -> Client:
    return _page_client(user)
