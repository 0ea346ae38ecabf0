"""``manage.py create_api_token <username> [--read-only] [--expires-days N] [--name NAME]``.

Prints only the new secret on stdout (so ``TOKEN=$(manage.py create_api_token ci-bot)`` works); every
other message goes to stderr. The creation is audited as a system action.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import TokenScope, User
from accounts.token_services import token_create
from litemaas.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create a personal access token for a user and print the secret (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--read-only", action="store_true", help="Scope 'read' instead of 'read-write'.")
        parser.add_argument("--expires-days", type=int, default=None, help="Lifetime in days (default: none).")
        parser.add_argument("--name", default="cli", help="A label to recognise the token by (default: cli).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        scope = TokenScope.READ if options["read_only"] else TokenScope.READ_WRITE
        try:
            token, secret = token_create(
                user=user, name=options["name"], scope=scope, expires_in_days=options["expires_days"], actor=None
            )
        except ApplicationError as exc:
            fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
            detail = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in fields.items()) if fields else ""
            raise CommandError(f"{exc.message} {detail}".strip()) from None
        self.stderr.write(f"Created {token.scope} token {token.prefix}… ({token.name}) for {user.username}.")
        self.stdout.write(secret)
