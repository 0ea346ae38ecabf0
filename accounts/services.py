"""Write operations of ``accounts`` (``<entity>_<action>``, keyword-only, atomic, audited).

Login rules live here, not in the allauth adapters: who may sign in (``login_check_idp_identity``), how an
identity provider's groups become a portal role (``role_for_groups``, ``user_apply_idp_identity``), and
what deactivating a user ends (``user_deactivate``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import LiteLLMSyncState, PersonalAccessToken, Role, User
from accounts.selectors import user_session_keys
from litemaas.audit import audit_record
from litemaas.exceptions import InvalidTransition, PermissionDeniedError

# Roles that may open the Django admin (read-only admins get view permissions only).
STAFF_ROLES = frozenset({Role.ADMIN, Role.ADMIN_READONLY})


@transaction.atomic
def user_set_litellm_sync_state(*, user: User, state: str, error: str = "") -> None:
    """Record whether the user's LiteLLM copy is synced, pending or in error (idempotent).

    ``error`` is a short reason without secrets; ``synced`` clears it and stamps ``litellm_synced_at``.
    """
    if state not in LiteLLMSyncState.values:
        raise ValueError(f"unknown sync state {state!r}")
    user.litellm_sync_state = state
    user.litellm_last_error = "" if state == LiteLLMSyncState.SYNCED else error[:2000]
    fields = ["litellm_sync_state", "litellm_last_error"]
    if state == LiteLLMSyncState.SYNCED:
        user.litellm_synced_at = timezone.now()
        fields.append("litellm_synced_at")
    user.save(update_fields=fields)


# ---------------------------------------------------------------------------------------------------------
# Login: identity, gate, role mapping
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdpIdentity:
    """What an identity provider said about the person signing in (already parsed from its answer)."""

    provider: str  # "openshift" or "oidc": with ``uid`` the key of the identity
    uid: str
    username: str
    full_name: str = ""
    email: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


class LoginRefused(PermissionDeniedError):
    """The identity provider vouched for the person, but the portal will not let them in.

    ``code`` is one of the ``REFUSAL_*`` constants; ``message`` is shown on the refusal page.
    """

    default_code = "login_refused"
    default_message = "You cannot log in to this portal."


REFUSAL_GROUP_NOT_ALLOWED = "group_not_allowed"
REFUSAL_USERNAME_TAKEN = "username_taken"
REFUSAL_USER_INACTIVE = "user_inactive"
REFUSAL_LOCAL_LOGIN_DISABLED = "local_login_disabled"
REFUSAL_CONNECT_DISABLED = "connect_disabled"

REFUSAL_MESSAGES = {
    REFUSAL_GROUP_NOT_ALLOWED: _(
        "You are not in a group allowed to use this portal. "
        "Ask your administrator to add you to one of the portal's groups."
    ),
    REFUSAL_USERNAME_TAKEN: _(
        "An account with this user name already exists for a different identity, "
        "so you cannot log in with it. An administrator has to resolve this."
    ),
    REFUSAL_USER_INACTIVE: _(
        "Your account has been deactivated. Ask your administrator to reactivate it."
    ),
    REFUSAL_LOCAL_LOGIN_DISABLED: _(
        "Logging in with a user name and password is disabled on this portal. "
        "Use your organisation's account instead."
    ),
    REFUSAL_CONNECT_DISABLED: _(
        "Linking another sign-in to your account is not supported. "
        "Log out first, then log in with the identity you want to use."
    ),
}


def login_refusal(code: str) -> LoginRefused:
    """The ``LoginRefused`` error for a refusal code, with its user-facing message."""
    return LoginRefused(REFUSAL_MESSAGES[code], code=code)


def role_for_groups(*, username: str, groups: Iterable[str]) -> str:
    """The portal role a person gets from their groups: derived fresh, never merged with the stored role.

    ``INITIAL_ADMIN_USERS`` and ``ADMIN_GROUPS`` give ``admin``, ``READONLY_ADMIN_GROUPS`` give
    ``admin-readonly``, everyone else is a ``user``. Group names match exactly.
    """
    group_set = set(groups)
    if username in settings.INITIAL_ADMIN_USERS or group_set & set(settings.ADMIN_GROUPS):
        return Role.ADMIN
    if group_set & set(settings.READONLY_ADMIN_GROUPS):
        return Role.ADMIN_READONLY
    return Role.USER


def identity_is_allowed(*, username: str, groups: Iterable[str]) -> bool:
    """Whether the ``ALLOWED_GROUPS`` gate lets this person in (always, when the setting is empty).

    Admins (by group or ``INITIAL_ADMIN_USERS``) and read-only admins pass the gate too, as JupyterHub's
    ``admin_groups`` do: a narrow allow-list must not lock out the people who administer the portal.
    """
    allowed = set(settings.ALLOWED_GROUPS)
    if not allowed:
        return True
    if role_for_groups(username=username, groups=groups) != Role.USER:
        return True
    return bool(allowed & set(groups))


def login_check_idp_identity(*, identity: IdpIdentity, user: User | None) -> None:
    """Decide whether ``identity`` may sign in; ``user`` is the account already bound to it, if any.

    Raises ``LoginRefused`` with code ``user_inactive`` (bound account deactivated),
    ``group_not_allowed`` (``ALLOWED_GROUPS`` gate) or ``username_taken`` (a first login whose user name
    belongs to another account: identities are keyed by (provider, uid) and never merged by name, so a
    recreated OpenShift user or a second identity provider cannot take over an account). Reads only.
    """
    if user is not None and not user.is_active:
        raise login_refusal(REFUSAL_USER_INACTIVE)
    if not identity_is_allowed(username=identity.username, groups=identity.groups):
        raise login_refusal(REFUSAL_GROUP_NOT_ALLOWED)
    if user is None and User.objects.filter(username__iexact=identity.username).exists():
        raise login_refusal(REFUSAL_USERNAME_TAKEN)


def _set_role(user: User, role: str) -> list[str]:
    """Set ``role`` and the ``is_staff`` flag that follows it; return the changed field names."""
    changed = []
    if user.role != role:
        user.role = role
        changed.append("role")
    is_staff = role in STAFF_ROLES
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        changed.append("is_staff")
    return changed


@transaction.atomic
def user_apply_idp_identity(
    *, user: User, identity: IdpIdentity, created: bool = False, request: HttpRequest | None = None
) -> User:
    """Copy the identity provider's view of a person onto their account; called at every IdP login.

    Stores the groups in ``groups_from_idp``, updates full name and e-mail when the provider sent them,
    and re-derives ``role`` and ``is_staff`` from the groups alone, so leaving an admin group removes the
    admin role at the next login. Audits ``user.create`` for a new account and ``user.role_change`` when
    the role changes. Idempotent. Raises nothing of its own.
    """
    previous_role = user.role
    groups = list(identity.groups)
    fields = _set_role(user, role_for_groups(username=identity.username, groups=groups))
    if user.groups_from_idp != groups:
        user.groups_from_idp = groups
        fields.append("groups_from_idp")
    if identity.full_name and user.full_name != identity.full_name[:255]:
        user.full_name = identity.full_name[:255]
        fields.append("full_name")
    if identity.email and user.email != identity.email:
        user.email = identity.email
        fields.append("email")
    if fields:
        user.save(update_fields=fields)
    metadata = {"provider": identity.provider, "uid": identity.uid, "groups": groups, "role": user.role}
    if created:
        audit_record(action="user.create", actor=None, target_type="user", target_id=user.pk,
                     metadata={**metadata, "source": "idp_login"}, request=request)
    elif user.role != previous_role:
        audit_record(action="user.role_change", actor=None, target_type="user", target_id=user.pk,
                     metadata={**metadata, "previous_role": previous_role, "source": "idp_login"},
                     request=request)
    return user


def login_record_refused(
    *, refusal: LoginRefused, username: str = "", provider: str = "", uid: str = "",
    user: User | None = None, request: HttpRequest | None = None,
) -> None:
    """Audit a refused sign-in (``auth.login_refused``). Not idempotent: one row per call."""
    audit_record(
        action="auth.login_refused", actor=None, target_type="user", target_id=user.pk if user else "",
        success=False, error=refusal.code,
        metadata={"reason": refusal.code, "username": username, "provider": provider or "local", "uid": uid},
        request=request,
    )


def login_record_failed(
    *, reason: str, provider: str, username: str = "", detail: str = "", request: HttpRequest | None = None
) -> None:
    """Audit a sign-in that failed (``auth.login_failed``): bad password, bad state, IdP errors.

    ``detail`` is a short technical reason without secrets (exception class, IdP error code).
    """
    audit_record(
        action="auth.login_failed", actor=None, success=False, error=reason,
        metadata={"reason": reason, "provider": provider, "username": username, "detail": detail[:300]},
        request=request,
    )


# ---------------------------------------------------------------------------------------------------------
# Lifecycle: deactivate / activate, local (demo) accounts
# ---------------------------------------------------------------------------------------------------------
@transaction.atomic
def user_deactivate(*, user: User, actor: User | None, request: HttpRequest | None = None) -> User:
    """Deactivate ``user``: sign-in is refused, every session is ended and every personal access token revoked.

    Sessions are database rows (``SESSION_ENGINE`` is the DB backend) and are deleted outright, so an open
    browser is signed out at its next request. Raises ``InvalidTransition`` when ``actor`` is ``user``
    (an admin cannot lock themselves out). Idempotent: running it again ends sessions and tokens that
    appeared since; it audits ``user.deactivate`` each time.
    """
    if actor is not None and actor.pk == user.pk:
        raise InvalidTransition("You cannot deactivate your own account.", code="cannot_deactivate_self")
    was_active = user.is_active
    if was_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    revoked = PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    session_keys = user_session_keys(user=user)
    Session.objects.filter(session_key__in=session_keys).delete()
    # "revoked_pats", not "revoked_tokens": audit_record redacts any key containing "token".
    audit_record(action="user.deactivate", actor=actor, target_type="user", target_id=user.pk,
                 metadata={"username": user.username, "was_active": was_active, "revoked_pats": revoked,
                           "ended_sessions": len(session_keys)}, request=request)
    return user


@transaction.atomic
def user_activate(*, user: User, actor: User | None, request: HttpRequest | None = None) -> User:
    """Reactivate ``user`` so they can sign in again (revoked tokens stay revoked). Idempotent; audits
    ``user.activate`` only when something changed. Raises nothing of its own."""
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(action="user.activate", actor=actor, target_type="user", target_id=user.pk,
                     metadata={"username": user.username}, request=request)
    return user


@transaction.atomic
def user_upsert_local(
    *, username: str, role: str, password: str | None, full_name: str = "", email: str = "",
    actor: User | None = None,
) -> tuple[User, bool]:
    """Create or update a local (password) account, e.g. the demo accounts; return ``(user, created)``.

    ``password`` ``None`` keeps an existing password (a new account without one gets an unusable
    password). The role and ``is_staff`` are always set. Idempotent for the same arguments; audits
    ``user.create`` or, when something changed, ``user.update`` (never the password itself).
    """
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, full_name=full_name, email=email)
        _set_role(user, role)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.full_clean()
        user.save()
        audit_record(action="user.create", actor=actor, target_type="user", target_id=user.pk,
                     metadata={"username": username, "role": role, "source": "local"})
        return user, True
    fields = _set_role(user, role)
    if full_name and user.full_name != full_name:
        user.full_name = full_name
        fields.append("full_name")
    if email and user.email != email:
        user.email = email
        fields.append("email")
    if password is not None:
        user.set_password(password)
        fields.append("password")
    if fields:
        user.save(update_fields=fields)
        audit_record(action="user.update", actor=actor, target_type="user", target_id=user.pk,
                     metadata={"username": username, "role": user.role, "changed": sorted(fields)})
    return user, False


def provision_after_login(user: User) -> None:
    """Hand a freshly signed-in user to ``integrations`` (LiteLLM user, default team) when it is installed.

    ``integrations.services.provision_user_after_login`` never raises; only its absence is tolerated here.
    """
    from teams.services import team_memberships_apply_at_login  # never raises: Default Team, IdP group teams

    team_memberships_apply_at_login(user=user)
    try:
        from integrations.services import provision_user_after_login
    except ImportError:
        return
    provision_user_after_login(user)
