#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project; with "dev", the test tools too. Idempotent and quick
# when nothing changed (pip is skipped while pyproject.toml is older than the stamp file).
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null 2>&1 || python_bin=python3
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=".venv/.installed${extra:+-$extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # venv seeds setuptools 65.5, which has known CVEs (e.g. CVE-2024-6345); the security audit would flag it.
  .venv/bin/pip install -q --upgrade "setuptools>=78.1.1"
  if [ "$extra" = "dev" ]; then
    .venv/bin/pip install -q -e '.[dev]'
  else
    .venv/bin/pip install -q -e .
  fi
  touch "$stamp"
fi
