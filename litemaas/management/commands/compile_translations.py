"""``manage.py compile_translations``: build ``locale/*/LC_MESSAGES/django.mo`` from the ``.po`` files.

Pure Python (polib), so CI, the container build and ``scripts/bootstrap.sh`` need no GNU gettext.
Fuzzy entries are left out of the ``.mo`` (as ``msgfmt`` does), so a half-checked translation never shows.
"""
from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the .po translation catalogues under LOCALE_PATHS into .mo files (no gettext needed)."

    def handle(self, *args, **options) -> None:
        count = 0
        for base in settings.LOCALE_PATHS:
            for po_path in sorted(Path(base).glob("*/LC_MESSAGES/*.po")):
                catalogue = polib.pofile(str(po_path))
                for entry in catalogue.fuzzy_entries():
                    catalogue.remove(entry)
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                count += 1
                self.stdout.write(f"compiled {po_path.relative_to(settings.BASE_DIR)}")
        self.stdout.write(self.style.SUCCESS(f"{count} catalogue(s) compiled"))
