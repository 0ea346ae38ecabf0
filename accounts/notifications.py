"""In-app notifications (and optional e-mail): the one way other apps tell a user something happened."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from accounts.models import Notification, User

logger = logging.getLogger(__name__)


def notification_create(*, user: User, kind: str, title: str, body: str = "", link: str = "",
                        level: str = "info") -> Notification:
    """Add an in-app notification for ``user`` and, when ``NOTIFICATION_EMAIL_ENABLED`` is on and the user
    has an e-mail address, send it by e-mail once the surrounding transaction commits.

    ``kind`` is a machine-readable category (``subscription.approved``). Raises ``ValueError`` for an
    unknown ``level``. Not idempotent: every call adds a row. A failing e-mail is logged, never raised.
    """
    if level not in Notification.Level.values:
        raise ValueError(f"unknown notification level {level!r}")
    notification = Notification.objects.create(
        user=user, kind=kind[:50], level=level, title=title[:200], body=body, link=link[:300]
    )
    if getattr(settings, "NOTIFICATION_EMAIL_ENABLED", False) and user.email:
        address = user.email
        transaction.on_commit(lambda: _send_email(address, title, body, link))
    return notification


def _send_email(address: str, title: str, body: str, link: str) -> None:
    text = body + (f"\n\n{link}" if link else "")
    try:
        send_mail(subject=title[:200], message=text, from_email=None, recipient_list=[address])
    except Exception:  # noqa: BLE001 - an SMTP outage must not break the change that triggered the mail
        logger.exception("notification e-mail failed", extra={"notification_title": title[:100]})
