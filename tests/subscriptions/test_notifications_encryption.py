"""accounts.notifications.notification_create (used for every status change) and provider-key encryption."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from accounts.notifications import notification_create
from subscriptions.encryption import decrypt_secret, encrypt_secret

pytestmark = pytest.mark.django_db


def test_notification_row_and_email_after_commit(user, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_EMAIL_ENABLED = True
    with django_capture_on_commit_callbacks(execute=True):
        note = notification_create(user=user, kind="subscription.denied", title="Denied", body="why", level="danger")
    assert note.pk and note.level == "danger"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]


def test_no_email_when_disabled(user, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_EMAIL_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=user, kind="k", title="t")
    assert mailoutbox == []


def test_unknown_level_is_refused(user):
    with pytest.raises(ValueError):
        notification_create(user=user, kind="k", title="t", level="loud")


def test_encryption_round_trip_and_dedicated_key(settings):
    token = encrypt_secret("sk-provider")
    assert token != "sk-provider" and decrypt_secret(token) == "sk-provider"
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    assert decrypt_secret(token) is None  # a different key cannot read it: treated as "no stored key"
    assert decrypt_secret(encrypt_secret("x")) == "x"
    assert encrypt_secret("") == "" and decrypt_secret("") is None
