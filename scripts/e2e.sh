#!/usr/bin/env bash
# Slow stage: the browser journeys (tests/e2e: Playwright driving Debian's Chromium against the live server,
# logging in through the fake OpenShift server, keys called on the real LiteLLM proxy kit) and the
# 15-second load smoke (scripts/load-test.sh), in their own pytest process (LITEMAAS_E2E=1 turns them on;
# the plain suite skips them). Extra arguments go to pytest.
#
# Needs: /usr/bin/chromium (apt-get install -y chromium), PostgreSQL and Redis on 127.0.0.1, the dev extras
# (playwright, locust). The LiteLLM kit is ../shared/tools/litellm-real (LITELLM_REAL_KIT); when it cannot
# run, the journey falls back to the LiteLLM double and says so. Failure screenshots: E2E_SCREENSHOT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "chromium missing: apt-get update && apt-get install -y chromium" >&2; exit 2; }
export LITEMAAS_E2E=1
# On PostgreSQL, a test database of its own, so this never collides with the main suite's.
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_litemaas_e2e}"
fi
exec timeout 900 .venv/bin/pytest tests/e2e -m slow -q -p no:randomly --create-db --durations=5 "$@"
