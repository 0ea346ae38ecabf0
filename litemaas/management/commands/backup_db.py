"""``manage.py backup_db``: a consistent pg_dump of the portal database plus a row-count manifest.

The dump (custom format, ``pg_restore``-able, compressed) and its manifest describe the *same* instant:
the row counts are taken inside a REPEATABLE READ transaction whose snapshot is exported and handed to
``pg_dump --snapshot``, so ``restore_db`` can prove a restore complete by comparing counts table by table.

Files: ``<dir>/litemaas-<UTC timestamp>.dump`` and ``.manifest.json`` beside it; the newest ``--keep``
pairs are kept, older ones deleted. With ``BACKUP_S3_URI`` (``s3://bucket/prefix``) both files are also
uploaded (boto3, the ``s3`` extra; retention there is the bucket's lifecycle rule).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, transaction

FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^litemaas-(\d{8}T\d{6}Z)\.dump$")

TABLES_SQL = """
    SELECT n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
    ORDER BY 1, 2
"""


def table_row_counts(cursor: Any) -> dict[str, int]:
    """Exact ``count(*)`` of every ordinary table, keyed ``schema.table`` (read-only)."""
    from psycopg import sql

    cursor.execute(TABLES_SQL)
    counts: dict[str, int] = {}
    for schema, table in cursor.fetchall():
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        cursor.execute(query.as_string(cursor.connection))
        counts[f"{schema}.{table}"] = int(cursor.fetchone()[0])
    return counts


def libpq_env(settings_dict: dict[str, Any], dbname: str | None = None) -> dict[str, str]:
    """Environment for pg_dump/pg_restore/psql from a Django database settings dict (password not on argv)."""
    env = dict(os.environ)
    options = settings_dict.get("OPTIONS") or {}
    mapping = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": dbname or settings_dict.get("NAME"),
        "PGSSLMODE": options.get("sslmode"),
        "PGSSLROOTCERT": options.get("sslrootcert"),
        "PGSSLCERT": options.get("sslcert"),
        "PGSSLKEY": options.get("sslkey"),
        "PGCONNECT_TIMEOUT": options.get("connect_timeout"),
    }
    env.update({key: str(value) for key, value in mapping.items() if value not in (None, "")})
    return env


def require_postgresql(alias: str) -> dict[str, Any]:
    settings_dict = connections[alias].settings_dict
    if connections[alias].vendor != "postgresql":
        raise CommandError(f"database {alias!r} is {connections[alias].vendor}, not PostgreSQL: nothing to dump")
    return settings_dict


def require_binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise CommandError(f"{name} not found on PATH (install postgresql-client, same major version or newer)")
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Dump the portal's PostgreSQL database (pg_dump custom format) with a row-count manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", type=Path, default=None, help="default: BACKUP_DIR")
        parser.add_argument("--keep", type=int, default=None, help="dumps to keep (default: BACKUP_KEEP)")
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument("--no-upload", action="store_true", help="skip the BACKUP_S3_URI upload")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        settings_dict = require_postgresql(alias)
        pg_dump = require_binary("pg_dump")
        output_dir: Path = options["output_dir"] or Path(settings.BACKUP_DIR)
        keep: int = options["keep"] or settings.BACKUP_KEEP
        if keep < 1:
            raise CommandError("--keep must be at least 1")
        output_dir.mkdir(parents=True, exist_ok=True)

        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        dump_path = output_dir / f"litemaas-{stamp}.dump"
        partial = dump_path.with_suffix(".dump.partial")
        connection = connections[alias]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # One snapshot for the counts and for pg_dump: the manifest describes exactly the dump.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            counts = table_row_counts(cursor)
            migrations = self._migrations(cursor, counts)
            result = subprocess.run(  # noqa: S603 - fixed binary, arguments from settings
                [pg_dump, "--format=custom", "--compress=6", f"--snapshot={snapshot}", f"--file={partial}"],
                env=libpq_env(settings_dict),
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        partial.rename(dump_path)

        manifest = {
            "format_version": FORMAT_VERSION,
            "database": settings_dict.get("NAME"),
            "created_at": datetime.now(tz=UTC).isoformat(),
            "dump_file": dump_path.name,
            "dump_sha256": sha256_of(dump_path),
            "dump_bytes": dump_path.stat().st_size,
            "server_version": server_version,
            "pg_dump_version": subprocess.run(  # noqa: S603
                [pg_dump, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "migrations": migrations,
            "tables": counts,
            "total_rows": sum(counts.values()),
        }
        manifest_path = dump_path.with_name(dump_path.name.removesuffix(".dump") + ".manifest.json")
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")

        removed = self._apply_retention(output_dir, keep)
        uploaded = "" if options["no_upload"] else self._upload(dump_path, manifest_path)
        self.stdout.write(
            json.dumps(
                {
                    "event": "backup.created",
                    "dump": str(dump_path),
                    "manifest": str(manifest_path),
                    "tables": len(counts),
                    "rows": manifest["total_rows"],
                    "bytes": manifest["dump_bytes"],
                    "removed": removed,
                    "uploaded_to": uploaded,
                }
            )
        )

    @staticmethod
    def _migrations(cursor: Any, counts: dict[str, int]) -> dict[str, str]:
        if "public.django_migrations" not in counts:
            return {}
        cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
        return {app: name for app, name in cursor.fetchall()}

    @staticmethod
    def _apply_retention(directory: Path, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` dumps (and their manifests); return the removed names."""
        dumps = sorted((p for p in directory.iterdir() if NAME_PATTERN.match(p.name)), key=lambda p: p.name)
        removed = []
        for old in dumps[:-keep]:
            old.unlink(missing_ok=True)
            old.with_name(old.name.removesuffix(".dump") + ".manifest.json").unlink(missing_ok=True)
            removed.append(old.name)
        return removed

    @staticmethod
    def _upload(dump_path: Path, manifest_path: Path) -> str:
        uri = getattr(settings, "BACKUP_S3_URI", "")
        if not uri:
            return ""
        if not uri.startswith("s3://"):
            raise CommandError("BACKUP_S3_URI must look like s3://bucket/prefix")
        try:
            import boto3
        except ImportError:
            raise CommandError("BACKUP_S3_URI is set but boto3 is not installed (pip install '.[s3]')") from None
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        client = boto3.client("s3", endpoint_url=getattr(settings, "BACKUP_S3_ENDPOINT_URL", "") or None)
        for path in (dump_path, manifest_path):
            client.upload_file(str(path), bucket, f"{prefix.strip('/')}/{path.name}".lstrip("/"))
        return f"s3://{bucket}/{prefix.strip('/')}"
