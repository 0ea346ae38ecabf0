"""Budget-alert preferences (thresholds, channels, webhook) and the in-app/e-mail side of an alert.

``teams.alerts`` decides *when* an alert fires; this module knows *how a user wants it*.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Notification, NotificationPreference, User
from litemaas.audit import audit_record
from litemaas.exceptions import ValidationFailed

logger = logging.getLogger(__name__)

MAX_THRESHOLDS = 10


@dataclass(frozen=True)
class AlertPrefs:
    """A user's effective preferences (the defaults when they never saved any)."""

    thresholds: tuple[int, ...]
    soft_budget_alerts: bool
    runway_alerts: bool
    channel_in_app: bool
    channel_email: bool
    channel_webhook: bool
    webhook_url: str
    webhook_secret: str
    admin_digest: bool

    def wants(self, threshold: str) -> bool:
        """Whether this user wants alerts for ``threshold`` ("80", "soft", "runway", "digest")."""
        if threshold == "soft":
            return self.soft_budget_alerts
        if threshold == "runway":
            return self.runway_alerts
        if threshold == "digest":
            return self.admin_digest
        return threshold.isdigit() and int(threshold) in self.thresholds


def default_thresholds() -> tuple[int, ...]:
    return tuple(sorted(getattr(settings, "BUDGET_ALERT_DEFAULT_THRESHOLDS", [80, 95, 100])))


def _prefs_of(row: NotificationPreference | None) -> AlertPrefs:
    if row is None:
        return AlertPrefs(default_thresholds(), True, True, True, True, False, "", "", True)
    return AlertPrefs(tuple(sorted(int(t) for t in row.thresholds or [])), row.soft_budget_alerts,
                      row.runway_alerts, row.channel_in_app, row.channel_email,
                      row.channel_webhook and bool(row.webhook_url), row.webhook_url, row.webhook_secret,
                      row.admin_digest)


def alert_prefs_get(*, user: User) -> AlertPrefs:
    """The user's effective preferences. Read-only."""
    return _prefs_of(NotificationPreference.objects.filter(user=user).first())


def alert_prefs_for_users(user_ids: list[Any]) -> dict[Any, AlertPrefs]:
    """Effective preferences of many users in one query (missing rows get the defaults). Read-only."""
    rows = {row.user_id: row for row in NotificationPreference.objects.filter(user_id__in=user_ids)}
    return {uid: _prefs_of(rows.get(uid)) for uid in user_ids}


def notification_preference_get(*, user: User) -> NotificationPreference:
    """The user's stored row, unsaved with the defaults when there is none. Read-only."""
    row = NotificationPreference.objects.filter(user=user).first()
    return row or NotificationPreference(user=user, thresholds=list(default_thresholds()))


@transaction.atomic
def notification_preference_update(*, user: User, values: dict[str, Any],
                                   request: HttpRequest | None = None) -> NotificationPreference:
    """Store the user's alert thresholds and channels (a full replacement of the given keys).

    ``thresholds``: 1–10 distinct integers in 1..1000 (percent). ``webhook_url`` is required when
    ``channel_webhook`` is on; a secret is generated when none is set (``regenerate_secret`` forces a new
    one). Raises ``ValidationFailed`` with field details. Idempotent; audits ``notification_preference.update``
    (never the secret).
    """
    errors: dict[str, list[str]] = {}
    row = NotificationPreference.objects.select_for_update().filter(user=user).first() or \
        NotificationPreference(user=user, thresholds=list(default_thresholds()))
    if "thresholds" in values:
        raw = values["thresholds"]
        try:
            thresholds = sorted({int(v) for v in (raw or [])})
        except (TypeError, ValueError):
            thresholds = []
            errors["thresholds"] = [_("Thresholds must be whole percentages.")]
        if not errors.get("thresholds"):
            if len(thresholds) > MAX_THRESHOLDS or any(t < 1 or t > 1000 for t in thresholds):
                errors["thresholds"] = [_("Choose up to 10 thresholds between 1 and 1000 %.")]
            else:
                row.thresholds = thresholds
    for name in ("soft_budget_alerts", "runway_alerts", "channel_in_app", "channel_email", "channel_webhook",
                 "admin_digest"):
        if name in values:
            setattr(row, name, bool(values[name]))
    if "webhook_url" in values:
        url = (values["webhook_url"] or "").strip()
        if url and not url.startswith(("https://", "http://")):
            errors["webhook_url"] = [_("Enter an http(s) URL.")]
        row.webhook_url = url
    if row.channel_webhook and not row.webhook_url:
        errors.setdefault("webhook_url", []).append(_("A webhook URL is required for the webhook channel."))
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), details={"fields": errors})
    if row.webhook_url and (not row.webhook_secret or values.get("regenerate_secret")):
        row.webhook_secret = secrets.token_urlsafe(32)
    row.updated_at = timezone.now()
    row.full_clean(exclude=["user"])
    row.save()
    audit_record(action="notification_preference.update", actor=user, target_type="user", target_id=user.pk,
                 metadata={"thresholds": row.thresholds, "email": row.channel_email, "in_app": row.channel_in_app,
                           "webhook": row.channel_webhook}, request=request)
    return row


def alert_notify(*, user: User, prefs: AlertPrefs, kind: str, title: str, body: str, link: str = "",
                 level: str = "warning") -> Notification | None:
    """The in-app side of a budget alert: a bell notification when the user wants in-app alerts.

    E-mail is not sent here (the alert engine tracks it as a delivery so it survives a crash); see
    ``alert_send_email``. Not idempotent: the caller's claim makes it happen once.
    """
    if not prefs.channel_in_app:
        return None
    return Notification.objects.create(user=user, kind=kind[:50], level=level, title=title[:200], body=body,
                                       link=link[:300])


def absolute_link(link: str) -> str:
    """``PORTAL_BASE_URL`` + a portal path (``/teams/…``) for e-mails and webhooks, which have no request to
    build an absolute URL from; the path as is without the setting, or for a link that is not a path. Pure."""
    base = settings.PORTAL_BASE_URL
    return f"{base}{link}" if base and link.startswith("/") and not link.startswith("//") else link


def alert_send_email(*, user: User, title: str, body: str, link: str = "") -> None:
    """Send one alert e-mail through the Django e-mail backend, its link made absolute with
    ``PORTAL_BASE_URL``. Raises what the backend raises (the delivery row records it). Not idempotent."""
    if not user.email:
        raise ValueError("user has no e-mail address")
    text = body + (f"\n\n{absolute_link(link)}" if link else "")
    send_mail(subject=title[:200], message=text, from_email=None, recipient_list=[user.email])
