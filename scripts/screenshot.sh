#!/usr/bin/env bash
# Take screenshots of the web shell with headless Chromium, to look at what users see.
#
#   scripts/screenshot.sh [OUT_DIR]        (default: docs/screenshots)
#
# Starts the dev server on 127.0.0.1:$PORT (default 8123) against a throw-away SQLite database with DEBUG
# off (so the friendly error pages show), seeds an admin with a token and a notification, then drives
# Debian's Chromium through Playwright (the Python package only; it never downloads a browser):
# login (and a failed attempt), home (light, dark, mobile, user menu open), tokens with a fresh secret and
# the revoke dialog, the logout confirmation and the 404 page.
# Needs: `apt-get install -y chromium` and `pip install -e '.[dev]'` (playwright).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$(realpath -m "${1:-$ROOT/docs/screenshots}")"
PORT="${PORT:-8123}"
PY="$ROOT/.venv/bin/python"
CHROMIUM="${CHROMIUM:-$(command -v /usr/lib/chromium/chromium || command -v chromium || true)}"
[ -x "$CHROMIUM" ] || { echo "chromium not found: apt-get update && apt-get install -y chromium" >&2; exit 1; }
"$PY" -c "import playwright" 2>/dev/null || { echo "playwright missing: .venv/bin/pip install -e '.[dev]'" >&2; exit 1; }

WORK="$(mktemp -d)"
export DJANGO_SETTINGS_MODULE=tests.litemaas.screenshot_settings
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export SQLITE_PATH="$WORK/db.sqlite3" DEBUG=false SECRET_KEY=screenshots-only ALLOWED_HOSTS=127.0.0.1,localhost
export LOCAL_LOGIN_ENABLED=true LITELLM_IS_DEMO=true
export AUTH_PROVIDER=openshift OAUTH_CLIENT_ID=litemaas OAUTH_CLIENT_SECRET=not-a-secret
export OPENSHIFT_OAUTH_URL=https://oauth-openshift.apps.cluster.example.com
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL LITELLM_API_URL

cd "$ROOT"
"$PY" manage.py migrate --verbosity 0
"$PY" manage.py shell -c '
from accounts.models import Notification, User
from accounts.token_services import token_create
ada = User.objects.create_user("ada", "ada@example.com", "screenshots-Pa55", full_name="Ada Lovelace",
                               role="admin", is_staff=True)
User.objects.create_user("bob", "bob@example.com", "screenshots-Pa55", full_name="Bob Builder")
token_create(user=ada, name="CI pipeline", scope="read", expires_in_days=90)
Notification.objects.create(user=ada, kind="subscription.approved", title="Access to granite-8b approved")
# Portal-wide features: a banner (English and French text), an audit trail worth filtering.
from litemaas import portal_services as svc
from litemaas.audit import audit_record
svc.announcement_create(actor=ada, data={"name": "maintenance", "style": "warning", "is_active": True,
    "content": {"en": "LiteLLM maintenance on **Saturday 08:00 UTC**: requests may fail for ten minutes.",
                "fr": "Maintenance de LiteLLM **samedi à 08:00 UTC** : les requêtes peuvent échouer dix minutes.",
                "de": "LiteLLM-Wartung am **Samstag um 08:00 UTC**: Anfragen können zehn Minuten lang fehlschlagen."},
    "link_url": "https://status.example.com", "link_text": "Status page"})
svc.portal_settings_update(actor=ada, currency_code="EUR", new_user_max_budget="50", new_user_budget_duration="monthly")
audit_record(action="subscription.approve", actor=ada, target_type="subscription", target_id="8c1f…",
             metadata={"model": "granite-8b", "user": "bob"})
audit_record(action="auth.login_failed", success=False, error="wrong password", target_type="user", target_id="bob")
'

"$PY" manage.py runserver "127.0.0.1:$PORT" --insecure --noreload >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health/live" 2>/dev/null && break
  sleep 0.2
done

mkdir -p "$OUT_DIR"
BASE="http://127.0.0.1:$PORT" OUT_DIR="$OUT_DIR" CHROMIUM="$CHROMIUM" "$PY" - <<'PYEOF'
import os

from playwright.sync_api import sync_playwright

base, out = os.environ["BASE"], os.environ["OUT_DIR"]
args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
desktop = {"width": 1366, "height": 900}
mobile = {"width": 390, "height": 844}


def shot(page, name):
    page.wait_for_load_state("networkidle")
    page.screenshot(path=os.path.join(out, name))
    print("saved", name)


def login(context, username="ada"):
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", "screenshots-Pa55")
    page.click("form.pf-v6-c-form button[type=submit]")
    page.wait_for_url(base + "/")
    return page


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=args)

    context = browser.new_context(viewport=desktop, color_scheme="light")
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    shot(page, "login.png")
    page.fill("#id_login", "ada")
    page.fill("#id_password", "wrong password")
    page.click("form.pf-v6-c-form button[type=submit]")
    shot(page, "login-error.png")
    page = login(context)
    shot(page, "home-admin.png")
    page.click(".portal-user-toggle")
    shot(page, "home-admin-user-menu.png")
    page.goto(base + "/tokens/")
    page.fill("#id_name", "laptop scripts")
    page.click("form.pf-v6-c-form button[type=submit]")
    page.wait_for_selector("#new-token-secret")
    shot(page, "tokens-created.png")
    page.click("[data-portal-confirm]")
    shot(page, "tokens-revoke-dialog.png")
    page.goto(base + "/no/such/page/")
    shot(page, "404.png")
    context.close()

    context = browser.new_context(viewport=desktop, color_scheme="dark")
    page = login(context)
    shot(page, "home-admin-dark.png")
    page.goto(base + "/accounts/logout/")
    shot(page, "logout-dark.png")
    context.close()

    # Portal-wide pages: admin pages in light, dark, French and German; the help page; login in French.
    for scheme, lang, suffix in (("light", "", ""), ("dark", "", "-dark"), ("light", "fr", "-fr"), ("dark", "de", "-de-dark")):
        context = browser.new_context(viewport=desktop, color_scheme=scheme)
        page = login(context)
        if lang:
            page.click(".portal-user-toggle")
            page.click(f"button[name=language][value={lang}]")
            page.wait_for_load_state("networkidle")
        for path, name in (("/", "home-onboarding"), ("/manage/overview/", "admin-overview"),
                           ("/manage/settings/", "admin-settings"), ("/manage/banners/", "admin-banners"),
                           ("/manage/audit/", "admin-audit"), ("/manage/branding/", "admin-branding"),
                           ("/notifications/", "notifications")):
            if suffix and name in ("admin-branding",):
                continue
            page.goto(base + path)
            shot(page, f"{name}{suffix}.png")
        if not lang and scheme == "light":
            page.goto(base + "/manage/banners/1/")
            shot(page, "admin-banner-edit.png")
            page.goto(base + "/help/user-guide/")
            shot(page, "help-user-guide.png")
            page.goto(base + "/manage/audit/")
            page.click("[data-portal-expand] >> nth=0")
            shot(page, "admin-audit-expanded.png")
        if lang == "fr":
            page.goto(base + "/accounts/logout/")
            page.click("form.pf-v6-c-form button[type=submit]")
            page.goto(base + "/accounts/login/")
            shot(page, "login-fr.png")
        context.close()

    context = browser.new_context(viewport=mobile, color_scheme="light", device_scale_factor=1)
    page = login(context, "bob")
    shot(page, "home-user-mobile.png")
    page.click("[data-portal-nav-toggle]")
    page.wait_for_timeout(400)  # the sidebar slides in
    shot(page, "home-user-mobile-nav.png")
    context.close()
    browser.close()
PYEOF
