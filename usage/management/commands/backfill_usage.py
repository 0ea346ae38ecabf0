"""``manage.py backfill_usage --start YYYY-MM-DD --end YYYY-MM-DD``: pull a past range of usage from LiteLLM."""
from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from usage.services import usage_ingest, utc_today


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Pull LiteLLM daily activity for a range of UTC days into the usage facts (idempotent upserts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", required=True, help="First UTC day (YYYY-MM-DD).")
        parser.add_argument("--end", help="Last UTC day (YYYY-MM-DD); default today.")
        parser.add_argument("--chunk-days", type=int, default=None, help="Days per LiteLLM call (default setting).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _day(options["start"])
        end = _day(options["end"]) if options.get("end") else utc_today()
        if end < start:
            raise CommandError("--end is before --start")
        if end > utc_today():
            raise CommandError("--end is after today (UTC)")
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        began = time.monotonic()
        show = not options["no_progress"]

        def progress(done: int, total: int) -> None:
            if not show:
                return
            width = 30
            filled = int(width * done / total) if total else width
            elapsed = time.monotonic() - began
            self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} days  {elapsed:.1f}s",
                              ending="\n" if done >= total else "")
            self.stderr.flush()

        result = usage_ingest(days=days, chunk_days=options["chunk_days"], progress=progress)
        self.stdout.write(f"run #{result.run.pk} {result.run.status}: {result.rows} rows over {result.days} days "
                          f"({result.unattributed_rows} unattributed)")
        for error in result.errors or []:
            self.stderr.write(f"error: {error}")
        if result.errors:
            raise CommandError(f"{len(result.errors)} chunk(s) failed; re-run the command for the same range")
