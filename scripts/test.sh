#!/usr/bin/env bash
# Install everything into .venv and run the whole test suite (SQLite by default; set DATABASE_URL and
# REDIS_URL to run it on PostgreSQL and Redis, as CI does). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
exec .venv/bin/pytest -q "$@"
