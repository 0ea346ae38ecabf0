"""Turn locust's ``<prefix>_stats.csv`` into ``bench/results/load-<date>.csv`` and a printed table.

Per endpoint: requests, errors, requests per second, p50 / p95 / p99 / max (ms) and the verdict against
the target (p95 under ``--p95-ms``, 100 ms by default, except key creation, dominated by LiteLLM, and
its revocation, which also calls LiteLLM). Exit status: 1 when any request failed (errors are never
acceptable), 0 otherwise; a missed latency target is reported, not fatal (the figures depend on the machine).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

EXEMPT = ("/api-keys/new [create]", "/api-keys/[id]/revoke")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stats", help="locust's <prefix>_stats.csv")
    parser.add_argument("--out", required=True, help="the results CSV to write")
    parser.add_argument("--p95-ms", type=float, default=100.0)
    parser.add_argument("--failures", help="locust's <prefix>_failures.csv (printed when not empty)")
    args = parser.parse_args()

    rows = list(csv.DictReader(open(args.stats, newline="")))  # noqa: SIM115
    out_rows = []
    for row in rows:
        name = row["Name"]
        count = int(row["Request Count"])
        if count == 0:
            continue
        p95 = float(row["95%"] or 0)
        is_total = name == "Aggregated"
        exempt = name in EXEMPT or is_total
        verdict = "-" if exempt else ("ok" if p95 < args.p95_ms else "MISSED")
        out_rows.append({
            "method": row["Type"] or "", "endpoint": name, "requests": count, "errors": int(row["Failure Count"]),
            "rps": f"{float(row['Requests/s']):.2f}", "p50_ms": row["50%"], "p95_ms": row["95%"], "p99_ms": row["99%"],
            "max_ms": f"{float(row['Max Response Time']):.0f}", "p95_target_ms": "" if exempt else f"{args.p95_ms:.0f}",
            "verdict": verdict,
        })
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(out_rows[0]))
        writer.writeheader()
        writer.writerows(out_rows)

    header = f"{'endpoint':<34} {'method':<6} {'reqs':>6} {'err':>4} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}  target"
    print(header)
    print("-" * len(header))
    for r in out_rows:
        print(f"{r['endpoint']:<34} {r['method']:<6} {r['requests']:>6} {r['errors']:>4} {r['rps']:>7} {r['p50_ms']:>6} "
              f"{r['p95_ms']:>6} {r['p99_ms']:>6} {r['max_ms']:>6}  {r['verdict']}")
    print(f"(times in ms; results in {out})")
    total_errors = sum(r["errors"] for r in out_rows if r["endpoint"] != "Aggregated")
    missed = [r["endpoint"] for r in out_rows if r["verdict"] == "MISSED"]
    if args.failures and Path(args.failures).exists():
        failures = list(csv.DictReader(open(args.failures, newline="")))  # noqa: SIM115
        for f in failures[:20]:
            print(f"  error: {f.get('Method')} {f.get('Name')}: {f.get('Error')} x{f.get('Occurrences')}")
    print(f"errors: {total_errors}; p95 target missed by: {', '.join(missed) or 'none'}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
