"""Budget-alert job benchmark: one ``check_budget_alerts`` run over 100,000 keys against the LiteLLM double.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/litemaas_alerts_bench \\
        .venv/bin/python bench/alerts_bench.py [--keys 100000] [--users 2000] [--teams 20] [--hot 0.01] [--runs 2]

The portal rows (users, keys, teams) are bulk-inserted; the double's state is seeded in-process (no 100k
``/key/generate`` calls). A share ``--hot`` of the keys is over 80 % of its budget, so the first run claims
and delivers that many alerts (in-app + e-mail to the locmem backend); later runs find every claim taken.
Reported: wall time of each run, split into LiteLLM reads and the portal's evaluation and delivery, and the
LiteLLM calls per endpoint. User and team spend come from the paged ``/user/list`` and ``/v2/team/list``
(100 a call) rather than one ``/user/info``/``/team/info`` each (``teams.alerts._read_listed``).
Note: the double's ``/key/list`` scans every key on each call (O(n) per page), so the read share
overstates what a real proxy with indexes costs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/litemaas_alerts_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"


def ensure_database() -> None:
    import psycopg

    base, _, name = URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--hot", type=float, default=0.01)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if URL.startswith("postgres"):
        ensure_database()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.models import Notification, User
    from apikeys.models import ApiKey, KeyStatus
    from integrations.double import LiteLLMDouble
    from integrations.litellm.client import get_litellm_client
    from teams import alerts
    from teams.models import BudgetAlert, Membership, Team, TeamRole

    double = LiteLLMDouble(master_key="sk-bench-master").start()
    settings.LITELLM_API_URL, settings.LITELLM_MASTER_KEY = double.url, "sk-bench-master"
    settings.LITELLM_READ_TIMEOUT_SECONDS = 60
    get_litellm_client.cache_clear()

    t0 = time.monotonic()
    now = timezone.now()
    users = [User(username=f"bench{i}", email=f"bench{i}@example.com", max_budget=Decimal("100"),
                  budget_duration="30d", litellm_sync_state="synced") for i in range(args.users)]
    User.objects.bulk_create(users, batch_size=2000)
    teams = [Team(name=f"Team {i}", max_budget=Decimal("1000"), budget_duration="30d") for i in range(args.teams)]
    Team.objects.bulk_create(teams)
    Membership.objects.bulk_create([Membership(team=t, user=users[i % len(users)], role=TeamRole.OWNER)
                                    for i, t in enumerate(teams)])
    hot_every = max(1, int(1 / args.hot)) if args.hot else 0
    keys, state = [], double.state
    reset_at = (now.replace(microsecond=0) + timezone.timedelta(days=20)).isoformat()
    for i in range(args.keys):
        owner = users[i % len(users)]
        token = uuid.uuid4().hex + uuid.uuid4().hex
        key = ApiKey(user=owner, name=f"k{i}", key_alias=f"k{i}_{i:06x}", alias_suffix=f"{i:06x}", token_hash=token,
                     key_prefix="sk-ltm-", last4="abcd", status=KeyStatus.ACTIVE, max_budget=Decimal("10"),
                     budget_duration="30d")
        keys.append(key)
        spend = 8.5 if hot_every and i % hot_every == 0 else 1.0
        state.keys[token] = {"token": token, "key_alias": key.key_alias, "key_name": "sk-...abcd",
                             "user_id": str(owner.pk), "team_id": None, "models": ["m"], "spend": spend,
                             "max_budget": 10.0, "soft_budget": None, "tpm_limit": None, "rpm_limit": None,
                             "max_parallel_requests": None, "budget_duration": "30d", "budget_reset_at": reset_at,
                             "expires": None, "blocked": False, "metadata": {"portal_key_id": str(key.pk)}}
    ApiKey.objects.bulk_create(keys, batch_size=5000)
    for u in users:
        state.users[str(u.pk)] = {**state._new_user(str(u.pk), "internal_user"), "max_budget": 100.0,
                                  "spend": 10.0, "budget_duration": "30d", "budget_reset_at": reset_at}
    for t in teams:
        state.teams[str(t.pk)] = {"team_id": str(t.pk), "team_alias": t.name, "members_with_roles": [],
                                  "models": [], "blocked": False, "spend": 100.0, "max_budget": 1000.0,
                                  "soft_budget": None, "tpm_limit": None, "rpm_limit": None,
                                  "budget_duration": "30d", "budget_reset_at": reset_at}
    print(f"seeded {args.keys} keys, {args.users} users, {args.teams} teams in {time.monotonic() - t0:.1f}s")

    for run in range(1, args.runs + 1):
        double._server.calls.clear()
        result = alerts.check_budget_alerts()
        calls = len(double.calls)
        per_path = Counter(c["path"] for c in double.calls)
        print(f"run {run}: {result.seconds:.1f}s total (LiteLLM reads {result.read_seconds:.1f}s, "
              f"evaluate+deliver {result.seconds - result.read_seconds:.1f}s); {result.keys} keys, {result.users} "
              f"users, {result.teams} teams read with {calls} LiteLLM calls "
              f"({', '.join(f'{path} {n}' for path, n in sorted(per_path.items()))}); {result.claimed} alerts "
              f"claimed, {result.delivered} delivered")
    print(f"claims: {BudgetAlert.objects.count()}, notifications: {Notification.objects.count()}")
    double.stop()


if __name__ == "__main__":
    main()
