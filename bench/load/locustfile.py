"""The portal's load mix (locust; run headless by scripts/load-test.sh, which seeds the data first).

Users are already signed in: ``bench/load/seed.py`` left one database session per account and wrote the
cookies to ``LOAD_SESSIONS`` (JSON). The cookies go in a ``Cookie`` header by hand because production
settings mark them ``Secure`` and the test talks plain HTTP to gunicorn on loopback.

Mix per portal user (weights): catalogue 6, model page 2, own keys 5, one key 2, create + revoke a key 1
(three requests: form, create, revoke), usage page 3, usage API 1, subscriptions 1, home 1. One admin in
ten: admin usage page, admin analytics API, admin breakdown API, review queue, overview.
Request names group URLs with ids (``/api-keys/[id]/``) so each endpoint gets one row of figures.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import FastHttpUser, between, task

DATA = json.loads(open(os.environ.get("LOAD_SESSIONS", "bench/results/load-sessions.json")).read())  # noqa: SIM115
_accounts = itertools.cycle(DATA["users"])
KEY_ID = re.compile(r'href="/api-keys/([0-9a-f-]{36})/"')


class PortalUser(FastHttpUser):
    weight = 9
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = next(_accounts)
        self.keys = list(self.account["keys"])
        token = DATA["csrf_token"]
        self.headers = {
            "Cookie": f"{DATA['session_cookie']}={self.account['sessionid']}; {DATA['csrf_cookie']}={token}",
            "X-CSRFToken": token,
            "Referer": self.host + "/api-keys/new",
            "Origin": self.host,
        }

    def get(self, path: str, name: str | None = None) -> None:
        with self.client.get(path, headers=self.headers, name=name or path, catch_response=True,
                             allow_redirects=False) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {path}")

    @task(6)
    def catalogue(self) -> None:
        self.get("/models/")

    @task(2)
    def model_page(self) -> None:
        self.get(f"/models/{random.choice(DATA['models'])}", name="/models/[id]")

    @task(5)
    def key_list(self) -> None:
        self.get("/api-keys/")

    @task(2)
    def key_detail(self) -> None:
        self.get(f"/api-keys/{random.choice(self.keys)}/", name="/api-keys/[id]/")

    @task(1)
    def create_and_revoke_key(self) -> None:
        self.get("/api-keys/new", name="/api-keys/new [form]")
        body = {"name": f"load {random.randint(0, 10**9)}", "model_ids": random.choice(self.account["models"]),
                "expiry": "30", "max_budget": "5"}
        with self.client.post("/api-keys/new", data=body, headers=self.headers, name="/api-keys/new [create]",
                              catch_response=True, allow_redirects=False) as response:
            found = KEY_ID.search(response.text or "")
            if response.status_code != 200 or 'id="new-key-secret"' not in (response.text or "") or not found:
                response.failure(f"create: {response.status_code}")
                return
        key_id = found.group(1)
        with self.client.post(f"/api-keys/{key_id}/revoke", data={}, headers=self.headers,
                              name="/api-keys/[id]/revoke", catch_response=True, allow_redirects=False) as response:
            if response.status_code != 302:
                response.failure(f"revoke: {response.status_code}")

    @task(3)
    def usage_page(self) -> None:
        self.get("/usage/")

    @task(1)
    def usage_api(self) -> None:
        self.get("/api/v1/usage/analytics", name="/api/v1/usage/analytics")

    @task(1)
    def subscriptions(self) -> None:
        self.get("/subscriptions/")

    @task(1)
    def home(self) -> None:
        self.get("/")


class PortalAdmin(FastHttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        admin = DATA["admin"]
        self.headers = {"Cookie": f"{DATA['session_cookie']}={admin['sessionid']}"}

    def get(self, path: str, name: str | None = None) -> None:
        with self.client.get(path, headers=self.headers, name=name or path, catch_response=True,
                             allow_redirects=False) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {path}")

    @task(3)
    def admin_usage_page(self) -> None:
        self.get("/usage/admin/")

    @task(2)
    def admin_analytics_api(self) -> None:
        self.get("/api/v1/admin/usage/analytics")

    @task(1)
    def admin_breakdown_api(self) -> None:
        self.get("/api/v1/admin/usage/breakdown?by=model")

    @task(1)
    def review_queue(self) -> None:
        self.get("/manage/subscriptions/")

    @task(1)
    def overview(self) -> None:
        self.get("/manage/overview/")
