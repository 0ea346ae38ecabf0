"""A user's display preferences (theme, language): the one place that writes them."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import User
from litemaas.exceptions import ValidationFailed

THEMES = ("light", "dark", "system")


def language_codes() -> tuple[str, ...]:
    """The languages the portal ships (``settings.LANGUAGES``)."""
    return tuple(code for code, _name in settings.LANGUAGES)


@transaction.atomic
def user_set_preferences(*, user: User, theme: str | None = None, language: str | None = None) -> list[str]:
    """Store the user's theme and/or language; return the changed field names.

    ``None`` leaves a preference alone; ``""`` for language means "follow the browser". Raises
    ``ValidationFailed`` for an unknown theme or language. Display preferences carry no business meaning,
    so nothing is audited. Idempotent.
    """
    from django.utils.translation import gettext as _

    changed: list[str] = []
    if theme is not None:
        if theme not in THEMES:
            raise ValidationFailed(_("Unknown theme."), details={"fields": {"theme": [_("Choose light, dark or system.")]}})
        if user.preferred_theme != theme:
            user.preferred_theme = theme
            changed.append("preferred_theme")
    if language is not None:
        if language and language not in language_codes():
            raise ValidationFailed(_("Unknown language."),
                                   details={"fields": {"language": [_("Choose one of the listed languages.")]}})
        if user.preferred_language != language:
            user.preferred_language = language
            changed.append("preferred_language")
    if changed:
        user.save(update_fields=changed)
    return changed
