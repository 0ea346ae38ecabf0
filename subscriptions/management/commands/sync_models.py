"""``manage.py sync_models``: run the LiteLLM → portal model sync once (entrypoint / demo start-up)."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from litemaas.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Mirror LiteLLM's model list into the catalogue once (the same run as the beat job)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Apply even when many models would be marked unavailable.")
        parser.add_argument("--strict", action="store_true",
                            help="Exit non-zero when LiteLLM is unreachable (default: warn and exit 0, so a "
                                 "start-up script does not fail while LiteLLM is still starting).")

    def handle(self, *args, force: bool = False, strict: bool = False, **options):
        from subscriptions.services import model_sync_from_litellm

        if not settings.LITELLM_API_URL:
            self.stdout.write(self.style.WARNING("LITELLM_API_URL is not set; nothing to sync."))
            return
        try:
            result = model_sync_from_litellm(force=force)
        except ApplicationError as exc:
            if strict:
                raise CommandError(f"Model sync failed: {exc.message}") from exc
            self.stdout.write(self.style.WARNING(f"Model sync failed: {exc.message}"))
            return
        summary = ", ".join(f"{key} {value}" for key, value in result.counts().items())
        style = self.style.SUCCESS if result.status == "succeeded" else self.style.WARNING
        self.stdout.write(style(f"Model sync {result.status}: {summary}. {result.message}".strip()))
