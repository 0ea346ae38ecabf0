"""Browser journeys: Playwright (Python, sync API) driving Debian's Chromium against pytest-django's
``live_server``, logging in through the fake OpenShift OAuth server, with the portal talking to the REAL
LiteLLM proxy kit (``../shared/tools/litellm-real``; the in-process LiteLLM double when the kit cannot run).

Only this directory sets ``DJANGO_ALLOW_ASYNC_UNSAFE`` (reliability.md §1.4, gotcha 1): Playwright's sync API
runs an event loop in the test thread, and Django refuses ORM calls while a loop runs. Run these tests on
their own (``scripts/e2e.sh``) so the variable never leaks into the unit tests.

Django is served on ``localhost`` and the fake OpenShift on ``127.0.0.1`` so they never share cookies
(gotcha 2). Nothing here downloads a browser: Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``).

Knobs (environment): ``E2E_LITELLM=kit|auto|double`` (default ``kit``: the real proxy, and a kit that cannot
start is an error, never a silent switch; ``auto`` falls back to the double and says so; ``double`` skips the kit),
``LITELLM_REAL_KIT`` (kit folder), ``E2E_LITELLM_HOME`` / ``E2E_LITELLM_PORT`` / ``E2E_LITELLM_BACKEND_PORT`` /
``E2E_LITELLM_DB`` (the kit's own home, ports and database, so it never collides with the contract suite),
``E2E_SCREENSHOT_DIR`` (where failure screenshots go; a new temp dir by default), ``CHROMIUM``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The journeys run only when asked for (scripts/e2e.sh sets LITEMAAS_E2E=1), in their own pytest process:
# the plain suite collects this folder too, and must neither run them nor inherit the async escape hatch.
E2E_ENABLED = os.environ.get("LITEMAAS_E2E") == "1"
if E2E_ENABLED:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
# Playwright adds --headless and --no-sandbox itself; these keep Chromium off the closed network (gotcha 3).
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
KIT_MASTER_KEY = "sk-e2e-master-0123456789"
DOUBLE_MASTER_KEY = "sk-e2e-double-master-0123456789"


@dataclass
class LiteLLM:
    """The LiteLLM the portal talks to during the journeys."""

    kind: str  # "kit" (the real proxy) or "double"
    url: str
    master_key: str
    model: str = "fake-gpt"
    why_not_kit: str = ""
    stop: Any = None


def _start_kit() -> LiteLLM:
    kit = Path(os.environ.get("LITELLM_REAL_KIT") or ROOT.parent / "shared" / "tools" / "litellm-real")
    if not (kit / "start").exists():
        raise RuntimeError(f"LiteLLM kit not found at {kit}")
    env = {**os.environ, "LITELLM_HOME": os.environ.get("E2E_LITELLM_HOME", "/tmp/litemaas-e2e-llr")}
    Path(env["LITELLM_HOME"]).mkdir(parents=True, exist_ok=True)
    setup = subprocess.run([str(kit / "setup")], env=env, capture_output=True, text=True, timeout=600)
    if setup.returncode:
        raise RuntimeError(f"kit setup failed: {setup.stderr[-800:]}")
    subprocess.run([str(kit / "stop")], env=env, capture_output=True, timeout=60)  # a leftover of a crashed run
    started = subprocess.run(
        [str(kit / "start"), "--fresh", "--port", os.environ.get("E2E_LITELLM_PORT", "4410"),
         "--backend-port", os.environ.get("E2E_LITELLM_BACKEND_PORT", "18410"),
         "--db", os.environ.get("E2E_LITELLM_DB", "litellm_e2e"), "--master-key", KIT_MASTER_KEY],
        env=env, capture_output=True, text=True, timeout=180)
    if started.returncode:
        raise RuntimeError(f"kit start failed: {started.stderr[-1500:]}")
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    url = values["LITELLM_API_URL"].strip("'\"")

    def stop() -> None:
        subprocess.run([str(kit / "stop")], env=env, capture_output=True, timeout=60)

    return LiteLLM(kind="kit", url=url, master_key=values["LITELLM_MASTER_KEY"].strip("'\""), stop=stop)


def _start_double(reason: str) -> LiteLLM:
    import requests

    from integrations.double import LiteLLMDouble

    double = LiteLLMDouble(master_key=DOUBLE_MASTER_KEY).start()
    # The kit's one config model, as a DB model of the double (same name and prices).
    response = requests.post(f"{double.url}/model/new", timeout=5, headers={"Authorization": f"Bearer {DOUBLE_MASTER_KEY}"},
                             json={"model_name": "fake-gpt", "litellm_params": {
                                 "model": "openai/fake-gpt", "api_base": "http://127.0.0.1:9/v1",
                                 "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}})
    response.raise_for_status()
    return LiteLLM(kind="double", url=double.url, master_key=DOUBLE_MASTER_KEY, why_not_kit=reason, stop=double.stop)


# What the session's journeys ran against, for the closing summary (scripts/e2e.sh runs pytest with -q).
_USED: dict[str, str] = {}


@pytest.fixture(scope="session")
def litellm_proxy() -> Iterator[LiteLLM]:
    """The real LiteLLM proxy kit (own home, ports and database). With ``E2E_LITELLM=auto`` the double stands
    in when the kit cannot run, and says so; with the default ``kit`` a kit failure fails the journey."""
    mode = os.environ.get("E2E_LITELLM", "kit")
    if mode not in ("kit", "auto", "double"):
        raise RuntimeError(f"E2E_LITELLM must be kit, auto or double, not {mode!r}")
    if mode == "double":
        proxy = _start_double("(E2E_LITELLM=double)")
    elif mode == "auto":
        try:
            proxy = _start_kit()
        except Exception as exc:  # noqa: BLE001 - any kit failure falls back, and the summary says so
            proxy = _start_double(f"(the real LiteLLM kit could not run: {exc})")
    else:
        proxy = _start_kit()
    _USED["litellm"] = f"{proxy.kind} at {proxy.url} {proxy.why_not_kit}".strip()
    yield proxy
    if proxy.stop:
        proxy.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if E2E_ENABLED and _USED:
        terminalreporter.write_line(f"[e2e] LiteLLM used by the journeys: {_USED['litellm']}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium missing: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if E2E_ENABLED:
        return
    skip = pytest.mark.skip(reason="browser journeys and the load smoke run on their own: scripts/e2e.sh")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@dataclass
class Pages:
    """Browser contexts of one test; on failure every open page is screenshotted (and nothing otherwise)."""

    browser: Any
    base_url: str
    contexts: list[Any] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def new(self) -> Any:
        # Clipboard permissions: the "copy key" button writes with navigator.clipboard (localhost is a secure
        # context), and the journey reads the clipboard back.
        context = self.browser.new_context(base_url=self.base_url, viewport={"width": 1280, "height": 900},
                                           permissions=["clipboard-read", "clipboard-write"])
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def step(self, name: str) -> None:
        self.steps.append(name)

    def screenshot_all(self, test_name: str) -> str:
        out = os.environ.get("E2E_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="litemaas-e2e-")
        Path(out).mkdir(parents=True, exist_ok=True)
        for ci, context in enumerate(self.contexts):
            for pi, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(Path(out) / f"{test_name}-ctx{ci}-page{pi}.png"), full_page=True)
                except Exception:  # noqa: BLE001, S112 - best effort on a failing run
                    continue
        return out


@pytest.fixture
def pages(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    holder = Pages(browser=browser, base_url=live_server.url)
    yield holder
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        out = holder.screenshot_all(request.node.name)
        print(f"\n[e2e] failed after step {holder.steps[-1] if holder.steps else '-'}; screenshots in {out}")
    for context in holder.contexts:
        context.close()


@pytest.fixture
def default_team(db: Any) -> None:
    """The Default Team of data migration teams/0002: a transactional test flushes every table when it ends."""
    from decimal import Decimal

    from django.conf import settings

    from teams.models import Team

    Team.objects.get_or_create(id=settings.DEFAULT_TEAM_ID, defaults={
        "name": "Default Team", "description": "Every user of the portal.", "max_budget": Decimal("10000"),
        "tpm_limit": 50000, "rpm_limit": 1000, "allowed_models": []})


@pytest.fixture
def openshift(live_server: Any, settings: Any) -> Iterator[Any]:
    """The fake OpenShift on 127.0.0.1 with the live server's callback registered; the portal points at it."""
    from tests.fakes.openshift import FakeOpenShift

    fake = FakeOpenShift(redirect_prefix=f"{live_server.url}/accounts/openshift/login/callback/").start()
    settings.AUTH_PROVIDER = "openshift"
    settings.SOCIALACCOUNT_PROVIDERS = fake.provider_settings()
    settings.LOCAL_LOGIN_ENABLED = False
    settings.ADMIN_GROUPS = ["litemaas-admins"]
    settings.READONLY_ADMIN_GROUPS = ["litemaas-readonly"]
    settings.INITIAL_ADMIN_USERS = []
    settings.ALLOWED_GROUPS = []
    yield fake
    fake.stop()


@pytest.fixture
def portal_litellm(litellm_proxy: LiteLLM, settings: Any) -> Iterator[LiteLLM]:
    """Point the portal (the live server runs in this process) at the session's LiteLLM."""
    from integrations.litellm.client import get_litellm_client

    settings.LITELLM_API_URL = litellm_proxy.url
    settings.LITELLM_PUBLIC_URL = litellm_proxy.url
    settings.LITELLM_MASTER_KEY = litellm_proxy.master_key
    settings.LITELLM_IS_DEMO = False
    get_litellm_client.cache_clear()
    breaker = get_litellm_client().breaker
    if breaker is not None:
        breaker.reset()
    yield litellm_proxy
    get_litellm_client.cache_clear()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or bool(shutil.which("chromium"))
