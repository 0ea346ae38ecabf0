"""Browser journeys (issue #12, item 4): Chromium through Playwright against the live server.

One long journey walks what a user and an admin do, each in their own browser context, both logged in
through the fake OpenShift server: the admin mirrors LiteLLM's models and restricts ``fake-gpt``; the user
browses the catalogue and requests access; the admin approves it in the queue; the user creates a key with
a tiny budget, copies the secret with the page's copy button (read back from the clipboard) and calls the
REAL LiteLLM proxy with it; the admin refreshes today's usage and the user sees it; the budget-alert job
runs and the user's bell lights up; the user logs out. Two short journeys: a user outside ALLOWED_GROUPS
gets the refusal page, and an expired session sends the next page to the log-in page.

Spend reaches LiteLLM's tables 0.5-6 s after a call (the kit's README): those steps poll, bounded.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("default_team")]

# One chat on the kit costs 2.5e-5. The key form takes 4 decimals, so the smallest max budget is 0.0001, and
# LiteLLM 1.103.7 already refuses the second call on such a key ("Current cost: 0.0001") while /key/list
# reports 2.5e-5 (25 %): the 80 % threshold cannot be crossed on a max budget. The key gets the form's
# "Soft budget (alert)" instead: 5 calls = 1.25e-4 >= 0.0001, under a max budget of 0.01.
CALLS = 5
MAX_BUDGET = "0.01"
SOFT_BUDGET = "0.0001"
POLL_SECONDS = 60


def poll(what: str, check: Callable[[], Any], *, timeout: float = POLL_SECONDS, every: float = 1.0) -> Any:
    """Call ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def login(pages: Any, openshift: Any, username: str) -> Any:
    """A new browser context logged in as ``username`` by clicking the OpenShift button (the fake
    auto-approves its ``default_user``)."""
    openshift.default_user = username
    page = pages.new()
    page.goto("/accounts/login/")
    page.click("button[data-provider=openshift]")
    page.wait_for_url(re.compile(r"^http://localhost:\d+/$"))
    return page


def expect_message(page: Any, text: str) -> None:
    body = page.locator("body").inner_text()
    assert text in body, f"expected {text!r} on {page.url}; page says: {body[:1500]}"


def test_user_and_admin_journey(pages, openshift, portal_litellm, live_server):
    from accounts.models import User
    from teams.models import BudgetAlert
    from usage.models import DailyUsage

    openshift.add_user("ada", groups=["litemaas-admins"], full_name="Ada Admin")
    openshift.add_user("bob", groups=["developers"], full_name="Bob User")

    pages.step("admin logs in")
    admin = login(pages, openshift, "ada")
    assert "Ada Admin" in admin.locator("body").inner_text()

    pages.step("admin mirrors LiteLLM's models and restricts fake-gpt")
    admin.goto("/manage/models/")
    admin.get_by_role("button", name="Sync from LiteLLM now").click()
    admin.wait_for_load_state()
    expect_message(admin, "Sync finished")
    admin.goto(f"/manage/models/edit/{portal_litellm.model}")
    admin.check("input[name=restricted]")
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.wait_for_load_state()
    expect_message(admin, f"Model {portal_litellm.model} saved.")

    pages.step("user logs in and browses the catalogue")
    user = login(pages, openshift, "bob")
    user.goto("/models/")
    user.get_by_role("link", name=portal_litellm.model).first.click()
    user.wait_for_url(re.compile(rf"/models/{portal_litellm.model}$"))

    pages.step("user requests access to the restricted model")
    user.get_by_role("button", name="Request access").click()
    user.wait_for_load_state()
    expect_message(user, f"Access to {portal_litellm.model} requested")

    pages.step("admin approves in the queue")
    admin.goto("/manage/subscriptions/")
    admin.get_by_label(f"Select bob / {portal_litellm.model}").check()
    admin.get_by_role("button", name="Approve selected").click()
    admin.wait_for_load_state()
    assert admin.get_by_label(f"Select bob / {portal_litellm.model}").count() == 0  # left the pending queue

    pages.step("user creates a key with a tiny (soft) budget and copies the secret")
    user.goto("/api-keys/new")
    user.fill("input[name=name]", "e2e-key")
    user.check(f"input[name=model_ids][value='{portal_litellm.model}']")
    user.fill("input[name=max_budget]", MAX_BUDGET)
    user.fill("input[name=soft_budget]", SOFT_BUDGET)
    user.get_by_role("button", name="Create key").click()
    shown_secret = user.locator("#new-key-secret").input_value()
    assert shown_secret.startswith("sk-"), shown_secret
    copy = user.get_by_role("button", name="Copy key to clipboard")
    copy.click()
    poll("the copy button to confirm", lambda: "pf-m-clicked" in (copy.get_attribute("class") or ""), timeout=5,
         every=0.1)
    secret = user.evaluate("navigator.clipboard.readText()")  # what the user pastes into their client
    assert secret == shown_secret, "the clipboard does not hold the key shown on the page"

    pages.step(f"the key works against LiteLLM ({portal_litellm.kind})")
    calls = 0
    for n in range(CALLS):
        for _attempt in range(3):
            response = requests.post(f"{portal_litellm.url}/v1/chat/completions", timeout=30,
                                     headers={"Authorization": f"Bearer {secret}"},
                                     json={"model": portal_litellm.model, "messages": [{"role": "user", "content": f"hi {n}"}]})
            # LiteLLM 1.103.7 now and then refuses a call made right after another on a key that has a user_id
            # with a spurious budget_exceeded ("Current cost" = max budget + 1e-18); a moment later it passes.
            if response.status_code != 429:
                break
            time.sleep(2)
        assert response.status_code == 200, (n, response.status_code, response.text[:500])
        assert response.json()["choices"][0]["message"]["content"]
        calls += 1
        time.sleep(1)

    pages.step("admin refreshes today's usage until the calls show up")

    def refreshed() -> bool:
        admin.goto("/usage/admin/")
        admin.get_by_role("button", name="Refresh today").click()
        admin.wait_for_load_state()
        rows = DailyUsage.objects.filter(user_id=User.objects.get(username="bob").pk)
        return sum(rows.values_list("requests", flat=True)) >= calls

    poll("today's usage of bob after 'Refresh today'", refreshed, every=2.0)

    pages.step("user sees the usage")
    user.goto("/usage/?preset=1")
    cards = user.locator("body").inner_text()
    shown = re.search(r"Requests\s*\n\s*([\d,]+)", cards)
    assert shown and int(shown.group(1).replace(",", "")) >= calls, cards[:2000]
    assert "e2e-key" in cards

    pages.step("the budget-alert job alerts the user")
    from apikeys.models import ApiKey
    from integrations.litellm.client import get_litellm_client
    from teams.alerts import check_budget_alerts  # what the litemaas.teams.check_budget_alerts task runs
    seen: dict[str, Any] = {}

    def alerted() -> bool:
        seen["run"] = check_budget_alerts()
        return BudgetAlert.objects.filter(target_type="key").exists()

    try:
        poll("a budget alert on the key", alerted, every=2.0)
    except pytest.fail.Exception:
        remote = [(k.token[:10], k.spend, k.max_budget, getattr(k, "team_id", None)) for k in get_litellm_client().key_list()]
        local = list(ApiKey.objects.values_list("token_hash", "status", "key_type", "max_budget"))
        raise AssertionError(f"no alert; last run {seen.get('run')}; LiteLLM keys {remote}; portal keys {local}") from None
    user.goto("/api-keys/")
    bell = user.locator("[data-portal-bell]")
    assert "pf-m-unread" in (bell.get_attribute("class") or ""), bell.get_attribute("aria-label")
    bell.click()
    user.wait_for_url(re.compile(r"/notifications/"))
    expect_message(user, "Soft budget reached for key")

    pages.step("user rotates the key with a 1-hour grace; both secrets work until the grace ends")
    old_key = ApiKey.objects.get(name="e2e-key", rotated_from__isnull=True)
    user.goto(f"/api-keys/{old_key.pk}/")
    user.select_option("select[name=grace_hours]", "1")
    user.get_by_role("button", name="Rotate", exact=True).click()
    new_secret = user.locator("#new-key-secret").input_value()
    assert new_secret.startswith("sk-") and new_secret != secret

    def chat(bearer: str) -> int:
        for _attempt in range(3):
            response = requests.post(f"{portal_litellm.url}/v1/chat/completions", timeout=30,
                                     headers={"Authorization": f"Bearer {bearer}"},
                                     json={"model": portal_litellm.model, "messages": [{"role": "user", "content": "hi"}]})
            if response.status_code != 429:  # the 1.103.7 spurious budget_exceeded, see above
                return response.status_code
            time.sleep(2)
        return response.status_code

    assert chat(new_secret) == 200
    assert chat(secret) == 200, "the old key must keep working during the grace period"

    pages.step("the grace ends: the beat task revokes the old key and LiteLLM refuses it")
    from datetime import timedelta

    from django.utils import timezone

    from apikeys.tasks import revoke_rotated_after_grace
    ApiKey.objects.filter(pk=old_key.pk).update(rotation_revoke_at=timezone.now() - timedelta(seconds=1))
    assert revoke_rotated_after_grace() >= 1
    poll("LiteLLM refusing the rotated-out key", lambda: chat(secret) in (401, 403), every=2.0)
    assert chat(new_secret) == 200
    user.goto(f"/api-keys/{old_key.pk}/")
    expect_message(user, "Revoked")

    pages.step("user logs out")
    user.goto("/accounts/logout/")
    user.locator("form.pf-v6-c-form button[type=submit]").click()
    user.wait_for_url(re.compile(r"/accounts/login/"))
    user.goto("/api-keys/")
    assert "/accounts/login/" in user.url


def test_user_outside_allowed_groups_is_refused(pages, openshift, settings):
    from accounts.models import User

    settings.ALLOWED_GROUPS = ["litemaas-users"]
    openshift.add_user("mallory", groups=["contractors"])
    openshift.default_user = "mallory"
    page = pages.new()
    page.goto("/accounts/login/")
    with page.expect_response(lambda r: "/accounts/openshift/login/callback/" in r.url) as callback:
        page.click("button[data-provider=openshift]")
    assert callback.value.status == 403
    assert page.locator("[data-refusal]").count() == 1
    expect_message(page, "Log-in refused")
    assert not User.objects.filter(username="mallory").exists()
    page.goto("/api-keys/")
    assert "/accounts/login/" in page.url


def test_expired_session_sends_the_next_page_to_login(pages, openshift):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    openshift.add_user("carol", groups=["developers"])
    page = login(pages, openshift, "carol")
    page.goto("/api-keys/")
    assert page.url.endswith("/api-keys/")

    # The session expires on the server while the browser still sends its cookie.
    assert Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1)) >= 1

    page.goto("/api-keys/")
    assert re.search(r"/accounts/login/\?next=/api-keys/", page.url), page.url
    assert page.locator("button[data-provider=openshift]").count() == 1
