"""Translations: every shipped language is complete, compiled, and nothing in the code is left unextracted.

The extraction check runs ``makemessages`` in a temporary copy of the tree (needs GNU gettext's
``xgettext``; skipped with a message when it is missing). When it fails, run ``scripts/i18n.sh``,
translate the new entries in ``locale/*/LC_MESSAGES/django.po`` and commit the ``.po`` and ``.mo`` files.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SHIPPED = [code for code, _name in settings.LANGUAGES if code != "en"]
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "node_modules", "staticfiles", "media", "backups", "*.sqlite3",
                                     "__pycache__", "docs", "frontend", "litemaas.egg-info")


def _po(lang: str, base: Path = ROOT) -> polib.POFile:
    return polib.pofile(str(base / "locale" / lang / "LC_MESSAGES" / "django.po"))


def _gaps(po: polib.POFile) -> list[str]:
    return [e.msgid for e in po.untranslated_entries() + po.fuzzy_entries()]


@pytest.mark.parametrize("lang", SHIPPED)
def test_shipped_catalogue_is_complete(lang):
    gaps = _gaps(_po(lang))
    assert not gaps, f"{len(gaps)} untranslated or fuzzy entries in {lang}, e.g. {gaps[:5]}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_compiled_catalogue_matches_the_po_file(lang):
    mo_path = ROOT / "locale" / lang / "LC_MESSAGES" / "django.mo"
    assert mo_path.exists(), "run scripts/i18n.sh compile"
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in polib.mofile(str(mo_path)) if e.msgid}
    source = {(e.msgctxt, e.msgid): e.msgstr or {int(k): v for k, v in e.msgstr_plural.items()}
              for e in _po(lang).translated_entries()}
    assert compiled.keys() == source.keys(), "the .mo file is stale: run scripts/i18n.sh compile"


@pytest.mark.parametrize("lang", SHIPPED)
def test_placeholders_survive_translation(lang):
    import re

    placeholder = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")
    for e in _po(lang).translated_entries():
        forms = [e.msgstr] if not e.msgid_plural else list(e.msgstr_plural.values())
        for form in forms:
            assert set(placeholder.findall(form)) == set(placeholder.findall(e.msgid)), (lang, e.msgid, form)


def test_no_string_is_left_unextracted_or_untranslated(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext is not installed (apt-get install -y gettext); extraction check skipped")
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    subprocess.run([sys.executable, "manage.py", "makemessages", *[f"-l{lang}" for lang in SHIPPED], "--no-wrap",
                    "--add-location", "file", "--ignore", "tests/*", "--ignore", "static/vendor/*",
                    "--ignore", "deploy/*"],
                   cwd=copy, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "DEBUG": "true",
                                                                     "SECRET_KEY": "i18n-check"})
    problems = {lang: _gaps(_po(lang, copy)) for lang in SHIPPED}
    assert not any(problems.values()), (
        "New or changed strings need translating: run scripts/i18n.sh, translate, commit. "
        + "; ".join(f"{lang}: {len(g)} e.g. {g[:3]}" for lang, g in problems.items() if g))
