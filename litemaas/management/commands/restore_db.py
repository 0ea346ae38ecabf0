"""``manage.py restore_db DUMP --target-database NAME``: restore a backup into a NEW database and prove it.

Never touches the live database: it creates ``NAME`` on the same server (refusing an existing one unless
``--drop-existing``), checks the dump's SHA-256 against its manifest, runs ``pg_restore`` and then
compares the exact row count of every table with the counts ``backup_db`` recorded at dump time. Any
difference (or a missing table) fails the command with a non-zero exit and a per-table report, so the
same command is the restore drill. Switching the portal to the restored database is a separate, manual
step (deploy/README.md, "Backup and restore").
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from litemaas.management.commands.backup_db import (
    FORMAT_VERSION,
    libpq_env,
    require_binary,
    require_postgresql,
    sha256_of,
    table_row_counts,
)


class Command(BaseCommand):
    help = "Restore a backup_db dump into a new database and verify row counts against its manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dump", type=Path, help="the .dump file written by backup_db")
        parser.add_argument("--manifest", type=Path, default=None, help="default: <dump>.manifest.json beside it")
        parser.add_argument("--target-database", required=True, help="name of the NEW database to create")
        parser.add_argument("--drop-existing", action="store_true", help="drop the target first if it exists")
        parser.add_argument("--database", default="default", help="alias whose server and credentials to use")
        parser.add_argument("--jobs", type=int, default=2, help="pg_restore parallel jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        dump: Path = options["dump"]
        manifest_path: Path = options["manifest"] or dump.with_name(dump.name.removesuffix(".dump") + ".manifest.json")
        target: str = options["target_database"]
        settings_dict = require_postgresql(options["database"])
        pg_restore = require_binary("pg_restore")
        if not dump.is_file():
            raise CommandError(f"no dump at {dump}")
        if not manifest_path.is_file():
            raise CommandError(f"no manifest at {manifest_path}")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise CommandError(f"unsupported manifest format {manifest.get('format_version')!r}")
        if sha256_of(dump) != manifest.get("dump_sha256"):
            raise CommandError("the dump's SHA-256 does not match its manifest: corrupt or wrong file")
        if target == settings_dict.get("NAME"):
            raise CommandError("refusing to restore over the database the portal is configured to use")

        self._create_database(settings_dict, target, drop=options["drop_existing"])
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments validated above
            [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", f"--jobs={options['jobs']}",
             f"--dbname={target}", str(dump)],
            env=libpq_env(settings_dict, dbname=target),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")

        restored = self._counts(settings_dict, target)
        expected: dict[str, int] = manifest["tables"]
        mismatches = {
            table: {"expected": count, "restored": restored.get(table)}
            for table, count in expected.items()
            if restored.get(table) != count
        }
        extra = sorted(set(restored) - set(expected))
        report = {
            "event": "restore.verified" if not mismatches else "restore.mismatch",
            "target_database": target,
            "tables": len(expected),
            "rows": sum(restored.get(t, 0) for t in expected),
            "mismatches": mismatches,
            "unexpected_tables": extra,
        }
        self.stdout.write(json.dumps(report, sort_keys=True))
        if mismatches:
            raise CommandError(f"{len(mismatches)} table(s) differ from the manifest: {sorted(mismatches)}")

    @staticmethod
    def _connect(settings_dict: dict[str, Any], dbname: str) -> Any:
        import psycopg

        options = settings_dict.get("OPTIONS") or {}
        params = {
            "dbname": dbname,
            "host": settings_dict.get("HOST") or None,
            "port": settings_dict.get("PORT") or None,
            "user": settings_dict.get("USER") or None,
            "password": settings_dict.get("PASSWORD") or None,
            "sslmode": options.get("sslmode"),
            "connect_timeout": options.get("connect_timeout", 10),
        }
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True)

    def _create_database(self, settings_dict: dict[str, Any], target: str, *, drop: bool) -> None:
        from psycopg import sql

        with self._connect(settings_dict, "postgres") as conn, conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target])
            if cursor.fetchone():
                if not drop:
                    raise CommandError(f"database {target!r} exists; pick a new name or pass --drop-existing")
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(target)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))

    def _counts(self, settings_dict: dict[str, Any], target: str) -> dict[str, int]:
        with self._connect(settings_dict, target) as conn, conn.cursor() as cursor:
            return table_row_counts(cursor)
