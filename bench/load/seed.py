"""Seed the load-test database (run by scripts/load-test.sh with the load environment, after migrate).

Against the LiteLLM double the runner started: adds catalogue models to the double and mirrors them
(the real sync), creates ``--users`` users (every one subscribed to a few models, with ``--keys`` keys made
through the real key service, so LiteLLM knows them) plus one admin, writes ``--days`` days of usage facts
per key and model and rebuilds the rollups the way ingestion does, and signs every account in
(a database session each, as a browser login would leave). The sessions, key ids and model ids are written
to ``--out`` (JSON) for the locustfile; no password ever exists.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from subscriptions.models import LlmModel  # noqa: E402
from subscriptions.services import model_sync_from_litellm, subscription_create  # noqa: E402
from usage import services as usage_services  # noqa: E402
from usage.models import DailyUsage  # noqa: E402

PROVIDERS = ["openai", "anthropic", "vllm", "watsonx"]


def add_models(count: int) -> None:
    """Extra chat models in the double (the double seeds two demo models itself)."""
    headers = {"Authorization": f"Bearer {settings.LITELLM_MASTER_KEY}"}
    for n in range(count):
        provider = PROVIDERS[n % len(PROVIDERS)]
        body = {"model_name": f"load-{provider}-{n:02d}",
                "litellm_params": {"model": f"openai/load-{n:02d}", "api_base": "http://double.invalid/v1",
                                   "input_cost_per_token": 0.000001 * (1 + n % 5),
                                   "output_cost_per_token": 0.000002 * (1 + n % 5)},
                "model_info": {"id": f"load-deployment-{n:02d}", "max_tokens": 8192,
                               "supports_function_calling": n % 2 == 0, "supports_vision": n % 3 == 0}}
        requests.post(f"{settings.LITELLM_API_URL}/model/new", json=body, headers=headers, timeout=10).raise_for_status()


def session_for(user: User) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"username": user.username, "sessionid": client.cookies[settings.SESSION_COOKIE_NAME].value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--keys", type=int, default=3, help="keys per user")
    parser.add_argument("--models", type=int, default=22, help="extra catalogue models")
    parser.add_argument("--days", type=int, default=90, help="days of usage facts")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(12)  # noqa: S311 - reproducible data, not security

    add_models(args.models)
    admin = User.objects.create_user("load-admin", "load-admin@example.com", None, role=Role.ADMIN, is_staff=True)
    result = model_sync_from_litellm(actor=admin, force=True)
    model_ids = sorted(LlmModel.objects.filter(restricted=False).values_list("id", flat=True))
    chat_ids = [m for m in model_ids if m != "demo-embed"]
    print(f"models: {len(model_ids)} ({result.status})", flush=True)

    users, keys, subscribed = [], {}, {}
    for n in range(args.users):
        user = User.objects.create_user(f"load-user-{n:03d}", f"load-user-{n:03d}@example.com", None)
        mine = rng.sample(chat_ids, 3)
        subscribed[user.username] = mine
        for model_id in mine:
            subscription_create(user=user, model_id=model_id)
        keys[user.username] = []
        for k in range(args.keys):
            created = apikey_create(user=user, actor=user, model_ids=mine[: 1 + k % 3], name=f"seed key {k}",
                                    max_budget=Decimal("50"))
            keys[user.username].append({"id": str(created.key.pk), "hash": created.key.token_hash,
                                        "models": mine[: 1 + k % 3]})
        users.append(user)
    print(f"users: {len(users)}, keys: {sum(len(v) for v in keys.values())}", flush=True)

    today = usage_services.utc_today()
    start = today - timedelta(days=args.days - 1)
    facts = []
    for user in users:
        for key in keys[user.username]:
            for day_offset in range(args.days):
                day = start + timedelta(days=day_offset)
                for model_id in key["models"]:
                    if rng.random() < 0.3:
                        continue
                    prompt, completion = rng.randint(100, 50_000), rng.randint(50, 20_000)
                    requests_ = rng.randint(1, 200)
                    facts.append(DailyUsage(
                        date=day, key_hash=key["hash"], model_id=model_id, user_id=user.pk, key_id=key["id"],
                        requests=requests_, successful_requests=requests_, failed_requests=0,
                        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                        spend=Decimal(prompt) * Decimal("0.000001") + Decimal(completion) * Decimal("0.000002")))
    with transaction.atomic():
        usage_services.upsert_facts(facts)
        usage_services.rollups_rebuild(start=start, end=today)
        usage_services.to_date_rebuild(start=start)
    usage_services.data_version_bump()
    print(f"usage facts: {len(facts)} over {args.days} days", flush=True)

    data = {
        "admin": session_for(admin),
        "users": [{**session_for(u), "keys": [k["id"] for k in keys[u.username]], "models": subscribed[u.username]}
                  for u in users],
        "models": model_ids,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "csrf_token": get_random_string(32),
    }
    Path(args.out).write_text(json.dumps(data, indent=1))
    print(f"sessions written to {args.out}", flush=True)


if __name__ == "__main__":
    main()
