"""Writes of portal-wide things: settings, branding, announcement banners and the onboarding guide.

Every admin change is validated, audited and drops the cached copy the pages read
(``litemaas.portal_selectors``) once the transaction commits.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from litemaas.audit import audit_record
from litemaas.branding import branding_image_clean
from litemaas.currency import CURRENCIES
from litemaas.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from litemaas.models import (
    Announcement,
    AnnouncementDismissal,
    AnnouncementHistory,
    BrandingImage,
    OnboardingState,
)
from litemaas.models.announcements import BANNER_TEXT_MAX_LENGTH, AnnouncementStyle
from litemaas.portal_selectors import (
    BANNERS_CACHE_KEY,
    BRANDING_CACHE_KEY,
    SETTINGS_CACHE_KEY,
    branding_can_change,
    branding_settings_get,
    portal_settings_get,
)

# LiteLLM budget periods: presets or <n>s/m/h/d (the apikeys app accepts the same).
BUDGET_DURATION_PRESETS = ("daily", "weekly", "monthly", "yearly")


def _invalidate(key: str) -> None:
    # Now (this request sees its change) and after commit (a reader that cached the old value meanwhile).
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _require_admin(actor: Any) -> None:
    if not getattr(actor, "is_admin", False):
        raise PermissionDeniedError(_("This action needs the admin role."))


def _fail(fields: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(_("Some fields are not valid."), details={"fields": fields})


# --------------------------------------------------------------------------------------------- settings
def _parse_optional_decimal(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = [_("Enter a number.")]
        return None
    if not number.is_finite() or number < 0 or number >= Decimal("1e10"):
        errors[field] = [_("Enter a number between 0 and 9,999,999,999.")]
        return None
    return number.quantize(Decimal("0.01"))


def _parse_optional_int(value: Any, field: str, errors: dict[str, list[str]]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        errors[field] = [_("Enter a whole number.")]
        return None
    if not 0 <= number <= 2_147_483_646:
        errors[field] = [_("Enter a whole number between 0 and 2,147,483,646.")]
        return None
    return number


def budget_duration_is_valid(value: str) -> bool:
    """True for "", a preset (daily, weekly, monthly, yearly) or LiteLLM's ``<n>s|m|h|d|mo`` form."""
    import re

    return value == "" or value in BUDGET_DURATION_PRESETS or bool(re.fullmatch(r"[1-9]\d{0,3}(s|m|h|d|mo)", value))


@transaction.atomic
def portal_settings_update(*, actor: User, request: HttpRequest | None = None, **changes: Any) -> list[str]:
    """Change the display currency and/or the new-user defaults; return the changed field names.

    Accepted keywords: ``currency_code``, ``new_user_max_budget``, ``new_user_tpm_limit``,
    ``new_user_rpm_limit``, ``new_user_budget_duration`` (empty = use the environment default). Raises
    ``PermissionDeniedError`` unless ``actor`` is an admin, ``ValidationFailed`` with field errors.
    Idempotent: unchanged values write nothing and audit nothing.
    """
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "currency_code" in changes:
        code = (changes["currency_code"] or "").upper()
        if code not in CURRENCIES:
            errors["currency_code"] = [_("Choose one of the listed currencies.")]
        clean["currency_code"] = code
    if "new_user_max_budget" in changes:
        clean["new_user_max_budget"] = _parse_optional_decimal(changes["new_user_max_budget"],
                                                               "new_user_max_budget", errors)
    for field in ("new_user_tpm_limit", "new_user_rpm_limit"):
        if field in changes:
            clean[field] = _parse_optional_int(changes[field], field, errors)
    if "new_user_budget_duration" in changes:
        duration = (changes["new_user_budget_duration"] or "").strip()
        if not budget_duration_is_valid(duration):
            errors["new_user_budget_duration"] = [_("Use daily, weekly, monthly, yearly or a number followed by "
                                                    "s, m, h, d or mo (for example 30d).")]
        clean["new_user_budget_duration"] = duration
    unknown = set(changes) - set(clean) - set(errors)
    if unknown:
        errors.update({name: [_("Unknown setting.")] for name in sorted(unknown)})
    if errors:
        raise _fail(errors)

    row = portal_settings_get()
    changed = {}
    for field, value in clean.items():
        old = getattr(row, field)
        if old != value:
            changed[field] = {"from": None if old is None else str(old), "to": None if value is None else str(value)}
            setattr(row, field, value)
    if not changed:
        return []
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.full_clean()
    row.save(update_fields=[*changed, "updated_at", "updated_by"])
    action = "settings.currency_update" if set(changed) == {"currency_code"} else "settings.update"
    audit_record(action=action, actor=actor, target_type="portal_settings", target_id=row.pk,
                 metadata={"changes": changed}, request=request)
    _invalidate(SETTINGS_CACHE_KEY)
    return list(changed)


# --------------------------------------------------------------------------------------------- branding
BRANDING_TEXT_FIELDS = {"login_title": 200, "login_subtitle": 500}
BRANDING_FLAGS = ("login_logo_enabled", "login_title_enabled", "login_subtitle_enabled", "header_logo_enabled")


def _require_branding(actor: Any) -> None:
    if not branding_can_change(actor):
        raise PermissionDeniedError(_("Changing the branding needs the branding permission."))


@transaction.atomic
def branding_update(*, actor: User, request: HttpRequest | None = None, **changes: Any) -> list[str]:
    """Change the login texts and the logo switches; return the changed field names.

    Keywords: ``login_title`` (≤200), ``login_subtitle`` (≤500) and the booleans ``login_logo_enabled``,
    ``login_title_enabled``, ``login_subtitle_enabled``, ``header_logo_enabled``. Raises
    ``PermissionDeniedError`` without ``litemaas.change_branding`` (admins have it), ``ValidationFailed``.
    Idempotent.
    """
    _require_branding(actor)
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field in BRANDING_TEXT_FIELDS:
            text = (value or "").strip()
            if len(text) > BRANDING_TEXT_FIELDS[field]:
                errors[field] = [_("At most %(n)d characters.") % {"n": BRANDING_TEXT_FIELDS[field]}]
            clean[field] = text
        elif field in BRANDING_FLAGS:
            clean[field] = bool(value)
        else:
            errors[field] = [_("Unknown setting.")]
    if errors:
        raise _fail(errors)
    row = branding_settings_get()
    changed = [field for field, value in clean.items() if getattr(row, field) != value]
    if not changed:
        return []
    for field in changed:
        setattr(row, field, clean[field])
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save(update_fields=[*changed, "updated_at", "updated_by"])
    audit_record(action="branding.update", actor=actor, target_type="branding", target_id=row.pk,
                 metadata={"fields": changed}, request=request)
    _invalidate(BRANDING_CACHE_KEY)
    return changed


@transaction.atomic
def branding_image_set(*, actor: User, kind: str, raw: bytes, request: HttpRequest | None = None) -> BrandingImage:
    """Validate, re-encode and store one logo (``litemaas.branding``), replacing the previous one.

    Raises ``PermissionDeniedError``, ``ValidationFailed`` (type, size, SVG, unknown kind). Idempotent for the
    same bytes.
    """
    _require_branding(actor)
    if kind not in BrandingImage.Kind.values:
        raise NotFoundError(_("Unknown image."))
    image = branding_image_clean(raw)
    settings_row = branding_settings_get()  # the cached branding reads images only when this row exists
    settings_row.updated_at, settings_row.updated_by = timezone.now(), actor
    settings_row.save(update_fields=["updated_at", "updated_by"])
    obj, _created = BrandingImage.objects.update_or_create(kind=kind, defaults={
        "data": image.data, "content_type": image.content_type, "width": image.width, "height": image.height,
        "sha256": image.sha256, "updated_at": timezone.now()})
    audit_record(action="branding.image_upload", actor=actor, target_type="branding", target_id=kind,
                 metadata={"content_type": image.content_type, "bytes": len(image.data),
                           "width": image.width, "height": image.height}, request=request)
    _invalidate(BRANDING_CACHE_KEY)
    return obj


@transaction.atomic
def branding_image_delete(*, actor: User, kind: str, request: HttpRequest | None = None) -> bool:
    """Remove one logo; return whether one existed. Raises ``PermissionDeniedError``. Idempotent."""
    _require_branding(actor)
    deleted, _rows = BrandingImage.objects.filter(kind=kind).delete()
    if deleted:
        audit_record(action="branding.image_delete", actor=actor, target_type="branding", target_id=kind,
                     request=request)
        _invalidate(BRANDING_CACHE_KEY)
    return bool(deleted)


# --------------------------------------------------------------------------------------------- banners
ANNOUNCEMENT_FIELDS = ("name", "content", "style", "dismissible", "priority", "starts_at", "ends_at",
                       "target_roles", "target_users", "link_url", "link_text", "is_active")


def announcement_state(a: Announcement) -> dict[str, Any]:
    """A JSON-ready snapshot of a banner, as stored in its history."""
    return {
        "name": a.name, "content": a.content, "style": a.style, "is_active": a.is_active,
        "dismissible": a.dismissible, "priority": a.priority,
        "starts_at": a.starts_at.isoformat() if a.starts_at else None,
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
        "target_roles": list(a.target_roles or []),
        "target_users": sorted(str(pk) for pk in a.target_users.values_list("pk", flat=True)) if a.pk else [],
        "link_url": a.link_url, "link_text": a.link_text,
    }


def _language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def _validate_announcement(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = set(data) - set(ANNOUNCEMENT_FIELDS)
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    if "name" in data or not partial:
        name = (data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Give the banner a name.")]
        elif len(name) > 100:
            errors["name"] = [_("At most %(n)d characters.") % {"n": 100}]
        clean["name"] = name
    if "content" in data or not partial:
        content = data.get("content") or {}
        if not isinstance(content, dict):
            errors["content"] = [_("Give the text per language, for example {\"en\": \"…\"}.")]
        else:
            texts = {str(k).lower(): (v or "").strip() for k, v in content.items() if isinstance(v, str | type(None))}
            if set(texts) - _language_codes():
                errors["content"] = [_("Unsupported language: %(codes)s.")
                                     % {"codes": ", ".join(sorted(set(texts) - _language_codes()))}]
            elif not texts.get("en"):
                errors["content"] = [_("The English text is required.")]
            elif any(len(t) > BANNER_TEXT_MAX_LENGTH for t in texts.values()):
                errors["content"] = [_("At most %(n)d characters per language.") % {"n": BANNER_TEXT_MAX_LENGTH}]
            clean["content"] = {k: v for k, v in texts.items() if v}
    if "style" in data or not partial:
        style = data.get("style") or AnnouncementStyle.INFO
        if style not in AnnouncementStyle.values:
            errors["style"] = [_("Choose info, warning, danger or success.")]
        clean["style"] = style
    for flag, default in (("dismissible", True), ("is_active", False)):
        if flag in data or not partial:
            clean[flag] = bool(data.get(flag, default))
    if "priority" in data or not partial:
        try:
            clean["priority"] = int(data.get("priority") or 0)
            if not -100 <= clean["priority"] <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors["priority"] = [_("Enter a whole number between -100 and 100.")]
    for field in ("starts_at", "ends_at"):
        if field in data or not partial:
            value = data.get(field)
            if isinstance(value, str) and value:
                from django.utils.dateparse import parse_datetime

                value = parse_datetime(value)
                if value is None:
                    errors[field] = [_("Enter a date and time.")]
            if isinstance(value, dt.datetime) and timezone.is_naive(value):
                value = timezone.make_aware(value)
            clean[field] = value or None
    if "target_roles" in data or not partial:
        roles = data.get("target_roles") or []
        if not isinstance(roles, list) or set(roles) - set(Role.values):
            errors["target_roles"] = [_("Choose among: %(roles)s.") % {"roles": ", ".join(Role.values)}]
        clean["target_roles"] = sorted(set(roles)) if isinstance(roles, list) else []
    if "target_users" in data or not partial:
        ids = data.get("target_users") or []
        users = list(User.objects.filter(pk__in=[str(i) for i in ids])) if isinstance(ids, list) else []
        try:
            if not isinstance(ids, list) or len(users) != len(set(map(str, ids))):
                raise ValueError
        except ValueError:
            errors["target_users"] = [_("Some of these users do not exist.")]
        clean["target_users"] = users
    if "link_url" in data or not partial:
        url = (data.get("link_url") or "").strip()
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc or len(url) > 500):
            errors["link_url"] = [_("Enter a full http:// or https:// address.")]
        clean["link_url"] = url
    if "link_text" in data or not partial:
        text = (data.get("link_text") or "").strip()
        if len(text) > 100:
            errors["link_text"] = [_("At most %(n)d characters.") % {"n": 100}]
        clean["link_text"] = text
    if errors:
        raise _fail(errors)
    return clean


def _record_history(a: Announcement, *, action: str, actor: User, previous: dict | None,
                    new: dict | None) -> None:
    AnnouncementHistory.objects.create(announcement=a if action != AnnouncementHistory.Action.DELETE else None,
                                       announcement_ref=a.pk, action=action, changed_by=actor,
                                       changed_by_label=actor.username, previous_state=previous, new_state=new)


def _apply(a: Announcement, clean: dict[str, Any]) -> None:
    for field, value in clean.items():
        if field != "target_users":
            setattr(a, field, value)
    starts, ends = a.starts_at, a.ends_at
    if starts and ends and ends <= starts:
        raise _fail({"ends_at": [_("The end must be after the start.")]})


@transaction.atomic
def announcement_create(*, actor: User, data: dict[str, Any], request: HttpRequest | None = None) -> Announcement:
    """Create a banner from ``data`` (see ``ANNOUNCEMENT_FIELDS``; ``name`` and ``content["en"]`` required).

    Raises ``PermissionDeniedError`` (not an admin) and ``ValidationFailed``. Not idempotent.
    """
    _require_admin(actor)
    clean = _validate_announcement(data, partial=False)
    a = Announcement(created_by=actor)
    _apply(a, clean)
    a.full_clean(exclude=["content", "target_roles"])
    a.save()
    a.target_users.set(clean["target_users"])
    state = announcement_state(a)
    _record_history(a, action=AnnouncementHistory.Action.CREATE, actor=actor, previous=None, new=state)
    audit_record(action="banner.create", actor=actor, target_type="banner", target_id=a.pk,
                 metadata={"name": a.name, "is_active": a.is_active}, request=request)
    _invalidate(BANNERS_CACHE_KEY)
    return a


@transaction.atomic
def announcement_update(*, actor: User, announcement: Announcement, data: dict[str, Any],
                        request: HttpRequest | None = None) -> Announcement:
    """Change some fields of a banner. Publishing a hidden banner again clears its dismissals.

    Raises ``PermissionDeniedError`` and ``ValidationFailed``. Idempotent: no change, no history row.
    """
    _require_admin(actor)
    clean = _validate_announcement(data, partial=True)
    a = Announcement.objects.select_for_update().get(pk=announcement.pk)
    previous = announcement_state(a)
    _apply(a, clean)
    if "target_users" in clean:
        a.target_users.set(clean["target_users"])
    new = announcement_state(a)
    if new == previous:
        return a
    a.updated_at = timezone.now()
    a.save()
    changed_keys = sorted(k for k in new if new[k] != previous[k])
    if changed_keys == ["is_active"]:
        action = AnnouncementHistory.Action.ACTIVATE if a.is_active else AnnouncementHistory.Action.DEACTIVATE
    else:
        action = AnnouncementHistory.Action.UPDATE
    if a.is_active and not previous["is_active"]:
        AnnouncementDismissal.objects.filter(announcement=a).delete()
    _record_history(a, action=action, actor=actor, previous=previous, new=new)
    audit_record(action=f"banner.{action}", actor=actor, target_type="banner", target_id=a.pk,
                 metadata={"name": a.name, "fields": changed_keys}, request=request)
    _invalidate(BANNERS_CACHE_KEY)
    return a


@transaction.atomic
def announcement_delete(*, actor: User, announcement: Announcement, request: HttpRequest | None = None) -> None:
    """Delete a banner (its history stays). Raises ``PermissionDeniedError``. Not idempotent (404 after)."""
    _require_admin(actor)
    previous = announcement_state(announcement)
    _record_history(announcement, action=AnnouncementHistory.Action.DELETE, actor=actor, previous=previous,
                    new=None)
    audit_record(action="banner.delete", actor=actor, target_type="banner", target_id=announcement.pk,
                 metadata={"name": announcement.name}, request=request)
    announcement.delete()
    _invalidate(BANNERS_CACHE_KEY)


@transaction.atomic
def announcement_dismiss(*, user: User, announcement_id: int) -> None:
    """Hide a dismissible banner for ``user``. Raises ``NotFoundError`` (unknown, hidden or not aimed at
    the user) and ``ValidationFailed`` (not dismissible). Idempotent.
    """
    banner = Announcement.objects.filter(pk=announcement_id, is_active=True).first()
    if banner is None or not _aimed_at(banner, user):
        raise NotFoundError(_("This banner does not exist or is no longer shown."))
    if not banner.dismissible:
        raise ValidationFailed(_("This banner cannot be dismissed."), code="not_dismissible")
    AnnouncementDismissal.objects.get_or_create(announcement_id=announcement_id, user=user)


def _aimed_at(banner: Announcement, user: User) -> bool:
    if not banner.target_roles and not banner.target_users.exists():
        return True
    return bool(set(banner.target_roles) & set(user.roles)) or banner.target_users.filter(pk=user.pk).exists()


# --------------------------------------------------------------------------------------------- onboarding
@transaction.atomic
def onboarding_guide_dismiss(*, user: User) -> None:
    """Close the first-login guide for ``user`` for good. Idempotent."""
    OnboardingState.objects.update_or_create(user=user, defaults={"guide_dismissed_at": timezone.now()})


@transaction.atomic
def onboarding_guide_restore(*, user: User) -> None:
    """Show the first-login guide again (from the help page). Idempotent."""
    OnboardingState.objects.filter(user=user).update(guide_dismissed_at=None)
