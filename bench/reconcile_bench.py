"""Reconciler benchmark: one ``reconcile_run`` over 100,000 keys against the LiteLLM double (PostgreSQL).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/litemaas_reconcile_bench \\
        .venv/bin/python bench/reconcile_bench.py [--keys 100000] [--users 2000] [--teams 20] [--drift 0.001]

The portal rows (users, teams, keys with two models each) are bulk-inserted and the double's state is seeded
in-process (no 100k ``/key/generate`` calls). A share ``--drift`` of the keys has a budget edited in LiteLLM
(so the run classifies and queues that many ``key.push`` repairs through the outbox), and as many again are
missing in LiteLLM (marked broken). Run 1 repairs; run 2 (after the outbox sweep) finds the steady state.
Reported: wall time per run, split into LiteLLM listing and the portal's classification and actions.
Note: the double's ``/key/list`` scans every key on each page (O(n) per page), so the listing share
overstates what a real proxy with indexes costs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/litemaas_reconcile_bench")
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


def main() -> None:  # noqa: PLR0915 - a linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--drift", type=float, default=0.001)
    args = parser.parse_args()
    if URL.startswith("postgres"):
        ensure_database()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from unittest import mock

    from accounts.models import User
    from apikeys.models import ApiKey, ApiKeyModel, KeyStatus
    from integrations import outbox
    from integrations.double import LiteLLMDouble
    from integrations.litellm.client import get_litellm_client
    from integrations.reconcile import reconcile_run
    from teams.models import Team

    double = LiteLLMDouble(master_key="sk-bench-master").start()
    settings.LITELLM_API_URL, settings.LITELLM_MASTER_KEY = double.url, "sk-bench-master"
    settings.LITELLM_READ_TIMEOUT_SECONDS = 60
    settings.SYNC_RECONCILE_GRACE_SECONDS = 0
    settings.SYNC_MAX_DESTRUCTIVE_SHARE = 0.2
    get_litellm_client.cache_clear()

    t0 = time.monotonic()
    state = double.state
    created = timezone.now() - timezone.timedelta(days=1)
    users = [User(username=f"bench{i}", email=f"bench{i}@example.com", max_budget=Decimal("100"),
                  budget_duration="30d", litellm_sync_state="synced") for i in range(args.users)]
    User.objects.bulk_create(users, batch_size=2000)
    Team.objects.bulk_create([Team(name=f"Team {i}", max_budget=Decimal("1000"), budget_duration="30d")
                              for i in range(args.teams)])
    keys, links = [], []
    drift_every = max(1, int(1 / args.drift)) if args.drift else 0
    for i in range(args.keys):
        owner = users[i % len(users)]
        token = uuid.uuid4().hex + uuid.uuid4().hex
        key = ApiKey(user=owner, name=f"k{i}", key_alias=f"k{i}_{i:06x}", alias_suffix=f"{i:06x}", token_hash=token,
                     key_prefix="sk-ltm-", last4="abcd", status=KeyStatus.ACTIVE, max_budget=Decimal("10"),
                     budget_duration="30d", tpm_limit=1000, created_at=created, activated_at=created)
        keys.append(key)
        links += [ApiKeyModel(key=key, model_id="chat"), ApiKeyModel(key=key, model_id="embed")]
        if drift_every and i % drift_every == 1:
            continue  # lost in LiteLLM → active_missing
        state.keys[token] = {"token": token, "key_alias": key.key_alias, "key_name": "sk-...abcd",
                             "user_id": str(owner.pk), "team_id": None, "models": ["chat", "embed"], "spend": 0.0,
                             "max_budget": 99.0 if drift_every and i % drift_every == 0 else 10.0,
                             "tpm_limit": 1000, "rpm_limit": None, "max_parallel_requests": None,
                             "budget_duration": "30d", "budget_reset_at": None, "expires": None, "blocked": False,
                             "metadata": {"portal_key_id": str(key.pk)}, "model_max_budget": {},
                             "created_at": created.isoformat(), "_soft_budget": None}
    ApiKey.objects.bulk_create(keys, batch_size=5000)
    ApiKeyModel.objects.bulk_create(links, batch_size=10000)
    for u in users:
        state.users[str(u.pk)] = {**state._new_user(str(u.pk), "internal_user"), "max_budget": 100.0,
                                  "budget_duration": "30d"}
    for t in Team.objects.all():
        state.teams[str(t.pk)] = {"team_id": str(t.pk), "team_alias": t.name, "members_with_roles": [],
                                  "models": list(t.allowed_models or []), "blocked": False, "spend": 0.0,
                                  "max_budget": None if t.max_budget is None else float(t.max_budget),
                                  "soft_budget": None, "tpm_limit": t.tpm_limit, "rpm_limit": t.rpm_limit,
                                  "budget_duration": t.budget_duration or None, "budget_reset_at": None}
    print(f"seeded {args.keys} keys ({len(links)} model links), {args.users} users, {Team.objects.count()} teams "
          f"in {time.monotonic() - t0:.1f}s")

    client = get_litellm_client()
    for run_no in (1, 2):
        t_list = time.monotonic()
        listed = len(client.key_list())
        list_seconds = time.monotonic() - t_list
        double._server.calls.clear()
        # Deliveries are left to the sweep (a worker in production); time the run itself.
        with mock.patch.object(outbox, "_enqueue_delivery"):
            run = reconcile_run()
        print(f"run {run_no}: {run.status} in {run.counts['duration_seconds']:.1f}s "
              f"(of which listing {listed} keys ≈ {list_seconds:.1f}s); {len(double.calls)} LiteLLM calls; "
              f"drift {run.counts.get('drift')}; actions {run.counts.get('actions')}")
        t_sweep = time.monotonic()
        swept = {"done": 0}
        while True:
            counts = outbox.outbox_sweep(batch=500)
            swept["done"] += counts.get("done", 0)
            if not counts.get("claimed"):
                break
        print(f"  outbox sweep delivered {swept['done']} entries in {time.monotonic() - t_sweep:.1f}s")
    double.stop()


if __name__ == "__main__":
    main()
