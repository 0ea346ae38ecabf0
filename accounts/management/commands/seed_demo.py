"""``manage.py seed_demo``: the README demo's two local accounts, ``admin`` (admin) and ``alice`` (user).

Idempotent. Passwords come from ``DEMO_ADMIN_PASSWORD`` / ``DEMO_USER_PASSWORD``; without them a password is
generated once, when the account is created (or has none), and printed. Re-running without the variables
leaves existing passwords alone; with them, it resets the password.
"""
from __future__ import annotations

import os
import secrets
from typing import Any

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from accounts.services import user_upsert_local

# scripts/demo.sh serves on $PORT (default 8000); print the address the user will really open.
LOGIN_URL = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/accounts/login/"
DEMO_ACCOUNTS = (
    # username, role, full name, e-mail, password variable
    ("admin", Role.ADMIN, "Demo Admin", "admin@example.com", "DEMO_ADMIN_PASSWORD"),
    ("alice", Role.USER, "Alice Demo", "alice@example.com", "DEMO_USER_PASSWORD"),
)


class Command(BaseCommand):
    help = "Create or update the demo accounts admin (role admin) and alice (role user) and print how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = []
        for username, role, full_name, email, variable in DEMO_ACCOUNTS:
            existing = User.objects.filter(username=username).first()
            if existing is not None and SocialAccount.objects.filter(user=existing).exists():
                raise CommandError(
                    f"'{username}' is an identity-provider account; seed_demo only manages local demo accounts"
                )
            password = os.environ.get(variable) or None
            if password is not None:
                note = f"password from {variable}"
                self._warn_if_weak(username, password)
            elif existing is None or not existing.has_usable_password():
                password = secrets.token_urlsafe(12)
                note = "generated password (shown once; set " + variable + " to choose one)"
            else:
                note = f"password unchanged (set {variable} to reset it)"
            user, created = user_upsert_local(
                username=username, role=role, password=password, full_name=full_name, email=email
            )
            state = "created" if created else "updated"
            shown = password if password is not None else "(unchanged)"
            lines.append(f"  {user.username:<6} role {user.role:<15} password {shown}  [{state}; {note}]")
        self.stdout.write("Demo accounts:")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(f"Log in at {LOGIN_URL}")
        if not settings.LOCAL_LOGIN_ENABLED:
            self.stderr.write(
                "Warning: LOCAL_LOGIN_ENABLED is off, so these accounts cannot sign in "
                "(DEMO_MODE=true or LOCAL_LOGIN_ENABLED=true turns it on)."
            )

    def _warn_if_weak(self, username: str, password: str) -> None:
        try:
            validate_password(password, User(username=username))
        except ValidationError as exc:
            self.stderr.write(f"Warning: the password for {username} is weak: {' '.join(exc.messages)}")
