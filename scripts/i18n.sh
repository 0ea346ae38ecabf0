#!/usr/bin/env bash
# Update and compile the translation catalogues of the shipped languages (French, German, Spanish).
#
#   scripts/i18n.sh            extract new strings into locale/{fr,de,es}/LC_MESSAGES/django.po, then compile
#   scripts/i18n.sh compile    compile only (pure Python, no gettext needed; what CI and the image run)
#   scripts/i18n.sh check      fail if any shipped language has an untranslated or fuzzy entry
#
# Extraction needs GNU gettext (`apt-get install -y gettext`); compiling does not. After extracting,
# translate the new empty msgstr entries (and clear "fuzzy" flags once checked), then run it again.
# tests/portal/test_i18n.py runs the same extraction in a temporary copy and fails on any gap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
LANGS=(fr de es)
IGNORES=(--ignore '.venv/*' --ignore 'node_modules/*' --ignore 'frontend/*' --ignore 'static/vendor/*'
         --ignore 'staticfiles/*' --ignore 'tests/*' --ignore 'docs/*' --ignore 'deploy/*' --ignore 'media/*'
         --ignore 'backups/*' --ignore 'litemaas.egg-info/*')
cd "$ROOT"

extract() {
  command -v xgettext >/dev/null || { echo "xgettext not found: apt-get install -y gettext" >&2; exit 1; }
  mkdir -p locale
  "$PY" manage.py makemessages "${LANGS[@]/#/-l}" --no-wrap --add-location file "${IGNORES[@]}"
}

check() {
  "$PY" - "${LANGS[@]}" <<'PYEOF'
import sys
import polib

failed = False
for lang in sys.argv[1:]:
    po = polib.pofile(f"locale/{lang}/LC_MESSAGES/django.po")
    missing, fuzzy = po.untranslated_entries(), po.fuzzy_entries()
    print(f"{lang}: {po.percent_translated()}% translated, {len(missing)} missing, {len(fuzzy)} fuzzy")
    for entry in (missing + fuzzy)[:20]:
        print(f"   {entry.msgid[:100]!r}")
    failed |= bool(missing or fuzzy)
sys.exit(1 if failed else 0)
PYEOF
}

case "${1:-all}" in
  compile) "$PY" manage.py compile_translations ;;
  check) check ;;
  all) extract; "$PY" manage.py compile_translations; check || echo "Translate the entries above, then run scripts/i18n.sh compile." ;;
  *) echo "usage: $0 [all|compile|check]" >&2; exit 2 ;;
esac
