"""The bounded database waits as settings.py builds them from the environment (read in a fresh interpreter:
they only take effect at import time)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = "postgresql://u@127.0.0.1:5432/x"


def _database(*argv: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="litemaas.settings")
    code = "import json; from django.conf import settings as s; print(json.dumps(s.DATABASES['default']))"
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, env=clean, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_postgresql_gets_every_bound_by_default():
    db = _database(DATABASE_URL=POSTGRES_URL)
    options = db["OPTIONS"]
    assert db["ENGINE"] == "litemaas.db.postgresql"
    assert options["connect_timeout"] == 5
    assert "-c statement_timeout=30000" in options["options"]
    assert options["query_timeout"] == 35.0  # above the statement timeout: a live server cancels first
    assert options["tcp_user_timeout"] == 35000
    assert (options["keepalives"], options["keepalives_idle"], options["keepalives_interval"],
            options["keepalives_count"]) == (1, 10, 5, 3)


def test_the_bounds_follow_the_environment_and_the_url_wins():
    db = _database(DATABASE_URL=POSTGRES_URL + "?keepalives_idle=60", DATABASE_CONNECT_TIMEOUT="3",
                   DATABASE_STATEMENT_TIMEOUT_MS="10000", DATABASE_QUERY_TIMEOUT_SECONDS="12.5")
    options = db["OPTIONS"]
    assert (options["connect_timeout"], options["query_timeout"], options["tcp_user_timeout"]) == (3, 12.5, 12500)
    assert "-c statement_timeout=10000" in options["options"]
    assert str(options["keepalives_idle"]) == "60"


def test_no_statement_timeout_means_no_query_timeout():
    options = _database(DATABASE_URL=POSTGRES_URL, DATABASE_STATEMENT_TIMEOUT_MS="0")["OPTIONS"]
    assert "statement_timeout" not in options.get("options", "")
    assert options["query_timeout"] == 0 and "tcp_user_timeout" not in options


def test_migrate_and_the_backup_commands_run_without_statement_or_query_timeouts():
    for command in ("migrate", "backup_db", "restore_db"):
        options = _database(command, DATABASE_URL=POSTGRES_URL)["OPTIONS"]
        assert "statement_timeout" not in options.get("options", ""), command
        assert options["query_timeout"] == 0, command
    assert _database("check", DATABASE_URL=POSTGRES_URL)["OPTIONS"]["query_timeout"] == 35.0


def test_sqlite_is_left_alone():
    db = _database()
    assert db["ENGINE"] == "django.db.backends.sqlite3" and not db.get("OPTIONS")
