"""Automated accessibility check: axe-core in headless Chromium on every GET page, light and dark themes.

The page list is built from the URL resolver (every route without arguments that answers a signed-in
admin's GET with HTML), plus a few pages with arguments seeded here. No serious or critical violation is
allowed. Needs Debian's Chromium (``apt-get install -y chromium``); skipped with a message without it.
``tests/a11y/vendor/axe.min.js`` comes from the ``axe-core`` npm package pinned in frontend/package.json.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
BLOCKING = {"serious", "critical"}
# Not portal pages: the REST API, the Django admin, OpenAPI viewers, probes, and POST-only endpoints.
SKIP_PREFIXES = ("/api/", "/admin/", "/health/", "/metrics", "/static/", "/media/", "/preferences/",
                 "/accounts/", "/branding/")


def _routes(patterns=None, prefix: str = "") -> list[str]:
    paths: list[str] = []
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            paths += _routes(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern) and "<" not in route and "(?P" not in route:
            path = "/" + (prefix + route).lstrip("^").rstrip("$")
            if not path.startswith(SKIP_PREFIXES):
                paths.append(path)
    return sorted(set(paths))


def _html_pages(client: Client, paths: list[str]) -> list[str]:
    pages = []
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            pages.append(path)
    return pages


@pytest.fixture
def seeded(admin_user, user):
    from accounts.notifications import notification_create
    from litemaas import portal_services as svc

    banner = svc.announcement_create(actor=admin_user, data={
        "name": "maintenance", "content": {"en": "Maintenance **Saturday** 08:00 UTC. [Details](https://status.example)"},
        "style": "warning", "is_active": True})
    notification_create(user=admin_user, kind="subscription.approved", title="Access to granite-8b approved",
                        body="You can now create keys for it.", link="/")
    return {"banner": banner}


def _violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium missing: apt-get install -y chromium")
def test_every_page_has_no_serious_accessibility_violation(live_server, admin_user, seeded, monkeypatch):
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright's loop runs in this thread
    client = Client()
    client.force_login(admin_user)
    pages = _html_pages(client, _routes())
    pages += [reverse("portal:admin-banner-edit", args=[seeded["banner"].pk]),
              reverse("portal:admin-banner-history", args=[seeded["banner"].pk]),
              reverse("portal:help-page", args=["user-guide"]), reverse("portal:help-page", args=["admin-guide"])]
    assert len(pages) >= 10, pages
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    failures: dict[str, list[dict]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for scheme in ("light", "dark"):
            context = browser.new_context(color_scheme=scheme, bypass_csp=True)  # so axe can be injected
            page = context.new_page()
            page.goto(live_server.url + reverse("account_login"))
            bad = _violations(page)
            if bad:
                failures[f"[{scheme}] login"] = bad
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                                  "url": live_server.url}])
            page.evaluate(f"localStorage.setItem('litemaas-theme', '{scheme}')")
            for path in pages:
                page.goto(live_server.url + path)
                bad = _violations(page)
                if bad:
                    failures[f"[{scheme}] {path}"] = bad
            context.close()
        browser.close()
    report = "\n".join(f"{where}: " + "; ".join(f"{v['id']} ({v['impact']}) {v['nodes']}" for v in found)
                       for where, found in failures.items())
    assert not failures, f"{len(failures)} page(s) with serious/critical violations:\n{report}"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium missing: apt-get install -y chromium")
def test_keyboard_reaches_skip_link_first_and_focus_is_visible(live_server, admin_user, monkeypatch):
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client = Client()
    client.force_login(admin_user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(bypass_csp=True)  # so axe can be injected
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.getAttribute('href')")
        assert first == "#main-content"
        for _ in range(4):
            page.keyboard.press("Tab")
        style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                                          return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow}; }""")
        assert style["outline"] != "none" or style["shadow"] != "none", style
        browser.close()
