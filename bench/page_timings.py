"""Single-request timings of the load mix's pages, in-process (no gunicorn, no network), warm caches.

Run with the load environment (production-like settings: ``DEBUG=false`` so the cached template loader is on,
PostgreSQL, Redis) against a database seeded by ``bench/load/seed.py``; the sessions file it wrote names the
accounts. For each page: the median, p90 and minimum of ``--runs`` requests after ``--warmup`` discarded ones,
the median CPU time of this process per request (steadier than wall-clock time on a shared machine) and
the number of SQL queries of one request. ``--profile PATH`` prints a pyinstrument profile of that page
instead (``pip install pyinstrument`` into the virtualenv; it is not a project dependency).

    DJANGO_SETTINGS_MODULE=litemaas.settings DEBUG=false ... .venv/bin/python bench/page_timings.py \\
        --sessions /tmp/sessions.json --runs 40
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

USER_PAGES = ["/models/", "/models/[id]", "/api-keys/", "/usage/", "/api/v1/usage/analytics", "/subscriptions/", "/"]
ADMIN_PAGES = ["/usage/admin/", "/api/v1/admin/usage/analytics", "/api/v1/admin/usage/breakdown?by=model",
               "/manage/subscriptions/", "/manage/overview/"]


def client_for(data: dict, account: dict) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[data["session_cookie"]] = account["sessionid"]
    return client


def run(client: Client, path: str) -> tuple[float, float]:
    """(wall-clock ms, this process's CPU ms) of one request; the CPU time is the steadier figure on a
    shared machine (it leaves out the database's and Redis's own time, and the waits for a core)."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(path)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    elapsed, cpu_elapsed = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code}")
    return elapsed, cpu_elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", required=True, help="the JSON file bench/load/seed.py wrote")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="page paths to time (default: all)")
    parser.add_argument("--profile", help="print a pyinstrument profile of this page (path as in the table)")
    args = parser.parse_args()
    data = json.loads(Path(args.sessions).read_text())
    user, admin = client_for(data, data["users"][0]), client_for(data, data["admin"])
    model = data["users"][0]["models"][0]
    pages = [(user, p) for p in USER_PAGES] + [(admin, p) for p in ADMIN_PAGES]
    if args.profile:
        from pyinstrument import Profiler

        client = admin if args.profile in ADMIN_PAGES else user
        path = args.profile.replace("[id]", model)
        for _ in range(args.warmup):
            run(client, path)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.runs):
            run(client, path)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    print(f"DEBUG={settings.DEBUG} db={connection.vendor} cache={settings.CACHES['default']['BACKEND']}")
    print(f"{'page':45} {'median':>8} {'p90':>8} {'min':>8} {'cpu med':>8} {'queries':>8}  (ms)")
    for client, name in pages:
        if args.only and name not in args.only:
            continue
        path = name.replace("[id]", model)
        for _ in range(args.warmup):
            run(client, path)
        samples = [run(client, path) for _ in range(args.runs)]
        times, cpu = sorted(s[0] for s in samples), [s[1] for s in samples]
        with CaptureQueriesContext(connection) as queries:
            run(client, path)
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"{name:45} {statistics.median(times):8.1f} {p90:8.1f} {times[0]:8.1f} {statistics.median(cpu):8.1f} "
              f"{len(queries):8d}")


if __name__ == "__main__":
    main()
