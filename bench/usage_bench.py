"""Usage analytics benchmark on PostgreSQL: seed a large dataset, then time the hot read paths.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/litemaas_bench \\
        .venv/bin/python bench/usage_bench.py [--reseed] [--runs 7] [--users 10000] [--keys 100000] \\
        [--facts 5000000] [--days 365]

The database is created if missing and migrated; seeding happens once (or with ``--reseed``) and is done
entirely in SQL with ``generate_series`` (users, keys and facts; secondary indexes are dropped during the
load and rebuilt afterwards), then the rollups are built by the same ``rollups_rebuild`` ingestion uses.
Timings are p50/p95 over ``--runs`` warm runs of each scenario, through the real API views (DRF request,
selectors, JSON rendering; throttles off).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/litemaas_bench"
URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
os.environ["LITELLM_API_URL"] = ""  # the budget card then takes its documented fallback (facts), no network
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["USAGE_ANALYTICS_CACHE_SECONDS"] = "0"  # cold figures: every run computes from the tables
# The seed's INSERT … SELECT of millions of rows runs for minutes: no statement timeout (production's 30 s).
os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "0"


def ensure_database() -> None:
    import psycopg

    base, _, name = URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", file=sys.stderr)


def _column_defaults(model, overrides: dict[str, str]) -> tuple[list[str], list[str]]:
    """Column names and SQL expressions for an INSERT … SELECT: overrides, else each field's default."""
    from django.db.models import NOT_PROVIDED

    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        cols.append(f'"{f.column}"')
        if f.name in overrides or f.attname in overrides:
            exprs.append(overrides.get(f.name, overrides.get(f.attname)))
        elif f.default is not NOT_PROVIDED and not callable(f.default):
            value = f.default
            if isinstance(value, bool):
                exprs.append("true" if value else "false")
            elif isinstance(value, int | float):
                exprs.append(str(value))
            else:
                exprs.append("'" + str(value).replace("'", "''") + "'")
        elif f.default is not NOT_PROVIDED:  # callables: timezone.now, list, dict
            probe = f.default()
            if hasattr(probe, "isoformat"):
                exprs.append("now()")
            elif isinstance(probe, list):
                exprs.append("'[]'")
            elif isinstance(probe, dict):
                exprs.append("'{}'")
            else:
                exprs.append("'" + str(probe) + "'")
        elif f.null:
            exprs.append("NULL")
        else:
            exprs.append("''")
    return cols, exprs


def seed(*, users: int, keys: int, facts: int, days: int) -> None:
    from django.db import connection

    from accounts.models import User
    from apikeys.models import ApiKey
    from subscriptions.models import LlmModel
    from usage.models import DailyModelUsage, DailyUsage, DailyUserUsage, IngestedDay, UserUsageToDate
    from usage.services import rollups_rebuild, to_date_rebuild, utc_today

    t0 = time.monotonic()
    end = utc_today() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    per_day = -(-facts // days)
    providers = ["openai", "anthropic", "google", "mistral", "vllm"]
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET work_mem = '256MB'")  # hash aggregates of the rollup build stay in memory
        for model in (DailyUsage, DailyModelUsage, DailyUserUsage, UserUsageToDate, IngestedDay, ApiKey):
            cur.execute(f'TRUNCATE "{model._meta.db_table}" CASCADE')
        cur.execute(f'TRUNCATE "{User._meta.db_table}" CASCADE')
        LlmModel.objects.filter(pk__startswith="bench-").delete()
        LlmModel.objects.bulk_create([LlmModel(id=f"bench-model-{i}", provider=providers[i % len(providers)])
                                      for i in range(20)])
        cols, exprs = _column_defaults(User, {
            "id": "md5('u' || g)::uuid", "username": "'benchuser' || g", "email": "'benchuser' || g || '@example.com'",
            "full_name": "'Bench User ' || g", "role": "'user'", "password": "'!'",
        })
        cur.execute(f'INSERT INTO "{User._meta.db_table}" ({", ".join(cols)}) '
                    f"SELECT {', '.join(exprs)} FROM generate_series(0, %s) g", [users - 1])
        print(f"  users: {users} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
        cols, exprs = _column_defaults(ApiKey, {
            "id": "md5('k' || g)::uuid", "user": f"md5('u' || (g %% {users}))::uuid",
            "name": "'bench key ' || g", "key_alias": "'bench_' || g", "alias_suffix": "lpad(g::text, 8, '0')",
            "token_hash": "encode(sha256(('k' || g)::bytea), 'hex')", "key_prefix": "'sk-ltm-be'",
            "last4": "right(g::text, 4)", "status": "'active'",
        })
        cur.execute(f'INSERT INTO "{ApiKey._meta.db_table}" ({", ".join(cols)}) '
                    f"SELECT {', '.join(exprs)} FROM generate_series(0, %s) g", [keys - 1])
        print(f"  keys: {keys} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)

        table = DailyUsage._meta.db_table
        # Secondary indexes are dropped for the load and rebuilt from the model (faster than maintaining them).
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        present = {row[0] for row in cur.fetchall()}
        secondary = list(DailyUsage._meta.indexes)
        with connection.schema_editor() as editor:
            for index in secondary:
                if index.name in present:
                    editor.remove_index(DailyUsage, index)
        # Row g: day d = g / per_day, slot i = g % per_day. Key k = (i*7 + d*131) mod keys is distinct within a
        # day (i*7 < keys for i < keys/7), so (date, key, model) stays unique. One row in 500 is unattributed.
        cur.execute(f"""
            INSERT INTO "{table}" (date, key_hash, model_id, user_id, key_id, team_id, unattributed, ingested_at,
                requests, successful_requests, failed_requests, prompt_tokens, completion_tokens, total_tokens, spend)
            SELECT %(start)s::date + d::int, CASE WHEN un THEN md5('x' || g) || md5('y' || g)
                                              ELSE encode(sha256(('k' || k)::bytea), 'hex') END,
                   'bench-model-' || ((i + d) %% 20), CASE WHEN un THEN NULL ELSE md5('u' || (k %% %(users)s))::uuid END,
                   CASE WHEN un THEN NULL ELSE md5('k' || k)::uuid END, NULL, un, now(),
                   req, req - (g %% 3 = 0)::int, (g %% 3 = 0)::int, req * pt, req * ct, req * (pt + ct),
                   round((req * pt * 0.000001 + req * ct * 0.000002)::numeric, 10)
            FROM (SELECT g, g / %(per_day)s AS d, g %% %(per_day)s AS i,
                         ((g %% %(per_day)s) * 7 + (g / %(per_day)s) * 131) %% %(keys)s AS k,
                         (g %% 500 = 0) AS un, 1 + (g * 7919 %% 50) AS req,
                         100 + (g %% 400) AS pt, 50 + (g %% 200) AS ct
                  FROM generate_series(0::bigint, %(last)s::bigint) g) s
        """, {"start": start, "users": users, "keys": keys, "per_day": per_day, "last": facts - 1})
        print(f"  facts: {facts} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    with connection.schema_editor() as editor:
        for index in secondary:
            editor.add_index(DailyUsage, index)
    with connection.cursor() as cur:
        print(f"  indexes rebuilt ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    rollups_rebuild(start=start, end=end)
    print(f"  rollups ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    to_date_rebuild(start=start, through=utc_today())
    print(f"  running per-user totals ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    IngestedDay.objects.bulk_create([IngestedDay(date=start + timedelta(days=n), status="frozen", rows=per_day)
                                     for n in range(days)])
    with connection.cursor() as cur:
        for model in (DailyUsage, DailyModelUsage, DailyUserUsage, UserUsageToDate, User, ApiKey):
            cur.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    print(f"seeded in {time.monotonic() - t0:.1f}s", file=sys.stderr)


def timed(label: str, fn, runs: int) -> dict:
    fn()  # warm-up (connection, plans, caches of the OS)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    row = {"label": label, "p50": statistics.median(samples), "p95": p95, "min": samples[0]}
    print(f"{label:<58} p50 {row['p50']:8.1f} ms   p95 {row['p95']:8.1f} ms   min {row['min']:8.1f} ms")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--facts", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient
    from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

    from accounts.models import User
    from usage.models import DailyUsage
    from usage.services import utc_today

    call_command("migrate", verbosity=0)
    if args.reseed or not DailyUsage.objects.exists():
        print(f"seeding {args.users} users, {args.keys} keys, {args.facts} facts over {args.days} days…",
              file=sys.stderr)
        seed(users=args.users, keys=args.keys, facts=args.facts, days=args.days)
    ScopedRateThrottle.allow_request = lambda self, request, view: True  # type: ignore[method-assign]
    UserRateThrottle.allow_request = lambda self, request, view: True  # type: ignore[method-assign]

    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": "admin", "is_staff": True})
    someone = User.objects.get(username="benchuser42")
    admin_client, user_client = APIClient(), APIClient()
    admin_client.force_authenticate(admin)
    user_client.force_authenticate(someone)
    end = utc_today() - timedelta(days=1)

    def rng(days: int) -> str:
        return f"start={(end - timedelta(days=days - 1)).isoformat()}&end={end.isoformat()}"

    def get(client: APIClient, url: str, stream: bool = False) -> int:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, getattr(response, "data", None))
        if stream:
            return sum(len(chunk) for chunk in response.streaming_content)
        return len(response.content)

    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{DailyUsage._meta.db_table}"')
        print(f"\nfacts: {cur.fetchone()[0]:,}   users: {User.objects.count():,}   "
              f"PostgreSQL {connection.pg_version}   runs: {args.runs}\n")
    models = "bench-model-3,bench-model-7"
    results = [
        timed("admin analytics, 90 days, no filter", lambda: get(admin_client, f"/api/v1/admin/usage/analytics?{rng(90)}"), args.runs),
        timed("admin analytics, 90 days, 2 models", lambda: get(admin_client, f"/api/v1/admin/usage/analytics?{rng(90)}&models={models}"), args.runs),
        timed("admin analytics, 90 days, provider=openai", lambda: get(admin_client, f"/api/v1/admin/usage/analytics?{rng(90)}&providers=openai"), args.runs),
        timed("admin analytics, 90 days, one user", lambda: get(admin_client, f"/api/v1/admin/usage/analytics?{rng(90)}&users={someone.pk}"), args.runs),
        timed("admin breakdown by user, 90 days, page 1 (-spend)", lambda: get(admin_client, f"/api/v1/admin/usage/breakdown?by=user&{rng(90)}"), args.runs),
        timed("admin breakdown by model, 90 days", lambda: get(admin_client, f"/api/v1/admin/usage/breakdown?by=model&{rng(90)}"), args.runs),
        timed("user page set (analytics+options+budget), 30 days", lambda: (
            get(user_client, f"/api/v1/usage/analytics?{rng(30)}"),
            get(user_client, f"/api/v1/usage/filter-options?{rng(30)}"),
            get(user_client, "/api/v1/usage/budget")), args.runs),
        timed("user page set, 90 days", lambda: (
            get(user_client, f"/api/v1/usage/analytics?{rng(90)}"),
            get(user_client, f"/api/v1/usage/filter-options?{rng(90)}"),
            get(user_client, "/api/v1/usage/budget")), args.runs),
        timed("user export CSV, 365 days", lambda: get(user_client, f"/api/v1/usage/export?format=csv&{rng(365)}", True), args.runs),
        timed("admin export CSV, 7 days (all users)", lambda: get(admin_client, f"/api/v1/admin/usage/export?format=csv&{rng(7)}", True), max(3, args.runs // 2)),
    ]
    from django.test import override_settings

    from usage.services import usage_analytics_prewarm

    today = utc_today()
    preset = f"start={(today - timedelta(days=89)).isoformat()}&end={today.isoformat()}"
    with override_settings(USAGE_ANALYTICS_CACHE_SECONDS=600):
        t = time.perf_counter()
        usage_analytics_prewarm()
        print(f"\npre-warm of the 7/30/90-day presets after an ingestion: {(time.perf_counter() - t) * 1000:.0f} ms")
        results.append(timed("admin analytics, 90-day preset, pre-warmed cache",
                             lambda: get(admin_client, f"/api/v1/admin/usage/analytics?{preset}"), args.runs))
    size = get(admin_client, f"/api/v1/admin/usage/export?format=csv&{rng(7)}", True)
    print(f"\n(admin 7-day export: {size / 1e6:.1f} MB streamed)")
    for label in ("admin analytics, 90 days, no filter", "admin analytics, 90-day preset, pre-warmed cache"):
        row = next(r for r in results if r["label"] == label)
        print(f"target < 200 ms, {label}: {'MET' if row['p95'] < 200 else 'NOT MET'} (p95 {row['p95']:.1f} ms)")


if __name__ == "__main__":
    main()
