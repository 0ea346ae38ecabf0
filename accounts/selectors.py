"""Read operations of ``accounts``: querysets already scoped to the acting user."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


# --- Users and sessions (login) ----------------------------------------------------------------------------
def user_session_keys(*, user: User) -> list[str]:
    """The keys of the unexpired database sessions signed in as ``user`` (for ending them on deactivation).

    Sessions store the user id inside their encoded data, so this decodes each live session: linear in
    the number of live sessions, which is fine for a portal's few hundred or thousand. Reads only.
    """
    user_id = str(user.pk)
    return [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == user_id
    ]


# --- Personal access tokens (appended section; imports kept here so the sections stay independent) -------
from django.db.models import QuerySet  # noqa: E402

from accounts.models import PersonalAccessToken, User  # noqa: E402


def token_list_for_user(user: User) -> QuerySet[PersonalAccessToken]:
    """The user's personal access tokens that are not revoked (expired ones included), newest first.

    Scoped to ``user``: another user's token is simply absent, so lookups through it answer 404.
    """
    return PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")
