"""Backup and restore drill on a real PostgreSQL: fill, dump, restore into a new database, compare."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("BACKUP_TEST_PG", "postgresql://postgres@127.0.0.1:5432")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump/pg_restore not installed (apt-get install postgresql-client)",
    ),
]


def _psql(dbname: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql)
        return str(cursor.fetchone()[0]) if cursor.description else ""


@pytest.fixture
def databases():
    try:
        _psql("postgres", "SELECT 1")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {SERVER}: {type(exc).__name__}")
    suffix = uuid.uuid4().hex[:8]
    source, target = f"litemaas_deploy_src_{suffix}", f"litemaas_deploy_dst_{suffix}"
    _psql("postgres", f"CREATE DATABASE {source}")
    yield source, target
    for name in (source, target):
        _psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _manage(*args: str, database: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
    env["DATABASE_URL"] = f"{SERVER}/{database}"
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        check=check,
    )


def test_a_backup_restores_into_a_new_database_with_identical_row_counts(databases, tmp_path):
    source, target = databases
    _manage("migrate", "-v0", database=source)
    _psql(source, "CREATE TABLE drill_rows (id serial PRIMARY KEY, payload text, created timestamptz DEFAULT now())")
    _psql(source, "INSERT INTO drill_rows (payload) SELECT md5(i::text) FROM generate_series(1, 20000) i")
    _psql(source, "CREATE SCHEMA other; CREATE TABLE other.notes (id int); INSERT INTO other.notes VALUES (1), (2)")

    backup = _manage("backup_db", "--output-dir", str(tmp_path), "--keep", "2", database=source)
    summary = json.loads(backup.stdout.strip().splitlines()[-1])
    manifest = json.loads(Path(summary["manifest"]).read_text())
    assert manifest["tables"]["public.drill_rows"] == 20000
    assert manifest["tables"]["other.notes"] == 2
    assert manifest["migrations"]["litemaas"]
    assert summary["rows"] == manifest["total_rows"] > 20000

    restore = _manage("restore_db", summary["dump"], "--target-database", target, database=source)
    report = json.loads(restore.stdout.strip().splitlines()[-1])
    assert report["event"] == "restore.verified"
    assert report["mismatches"] == {}
    assert report["tables"] == len(manifest["tables"])
    assert _psql(target, "SELECT count(*) FROM drill_rows") == "20000"

    # The drill fails loudly when the restore does not match the manifest.
    manifest["tables"]["public.drill_rows"] = 19999
    Path(summary["manifest"]).write_text(json.dumps(manifest))
    failed = _manage("restore_db", summary["dump"], "--target-database", target, "--drop-existing",
                     database=source, check=False)
    assert failed.returncode != 0
    assert "public.drill_rows" in failed.stderr

    # An existing database is never overwritten by accident, nor the live one at all.
    refused = _manage("restore_db", summary["dump"], "--target-database", target, database=source, check=False)
    assert refused.returncode != 0 and "exists" in refused.stderr
    live = _manage("restore_db", summary["dump"], "--target-database", source, database=source, check=False)
    assert live.returncode != 0 and "refusing" in live.stderr


def test_retention_keeps_the_newest_dumps(databases, tmp_path):
    source, _ = databases
    for stamp in ("20240101T000000Z", "20240102T000000Z", "20240103T000000Z"):
        (tmp_path / f"litemaas-{stamp}.dump").write_bytes(b"old")
        (tmp_path / f"litemaas-{stamp}.manifest.json").write_text("{}")
    result = _manage("backup_db", "--output-dir", str(tmp_path), "--keep", "2", database=source)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(summary["removed"]) == ["litemaas-20240101T000000Z.dump", "litemaas-20240102T000000Z.dump"]
    assert sorted(p.name for p in tmp_path.glob("*.dump")) == ["litemaas-20240103T000000Z.dump", Path(summary["dump"]).name]
    assert not (tmp_path / "litemaas-20240101T000000Z.manifest.json").exists()
