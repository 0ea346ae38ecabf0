#!/usr/bin/env bash
# Slow stage (issue #12): the browser journeys (tests/e2e/test_journeys.py: Playwright driving Debian's
# Chromium against the live server, logging in through the fake OpenShift server, a key called on the REAL
# LiteLLM proxy kit) and the 15-second load smoke (tests/e2e/test_load_smoke.py: scripts/load-test.sh with
# locust, zero errors asserted), in their own pytest process (LITEMAAS_E2E=1 turns them on; the plain suite
# skips them). Extra arguments go to pytest.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/litemaas_e2e REDIS_URL=redis://127.0.0.1:6379/14 \
#     bash scripts/e2e.sh
#
# Needs /usr/bin/chromium (apt-get install -y chromium), PostgreSQL and Redis on 127.0.0.1, the dev extras
# (bash scripts/bootstrap.sh dev) and the kit (LITELLM_REAL_KIT, default ../shared/tools/litellm-real).
# Everything here is its own, so it runs beside the main suite and the contract suite:
#   test database  TEST_DATABASE_NAME (test_litemaas_e2e, on PostgreSQL; recreated each run)
#   kit            E2E_LITELLM_HOME (/tmp/litemaas-e2e-llr), E2E_LITELLM_PORT / _BACKEND_PORT (4410 / 18410;
#                  the contract suite uses 4400 / 18400), E2E_LITELLM_DB (litellm_e2e)
#   load smoke     ports 8311 / 4432, database litemaas_load_smoke, Redis db 13 (tests/e2e/test_load_smoke.py)
# E2E_LITELLM=kit (default: the real proxy or a failure), auto (fall back to the LiteLLM double) or double.
# Bounded: kit setup E2E_SETUP_TIMEOUT (900 s, about 1 min cold, <1 s warm), pytest E2E_TIMEOUT (900 s).
# Failure output: the failing step, screenshots of every open page and the kit's log tails, all under
# E2E_ARTIFACTS_DIR (/tmp/litemaas-e2e-artifacts; screenshots in its screenshots/). A skipped journey is a
# failure here (a skip would be a false green); E2E_ALLOW_SKIPS=1 relaxes that for local runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t0=$SECONDS
say() { printf '[e2e] %s\n' "$*"; }

chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "chromium missing: apt-get update && apt-get install -y chromium" >&2; exit 2; }
[ -x .venv/bin/pytest ] || { echo ".venv missing: bash scripts/bootstrap.sh dev" >&2; exit 2; }

export LITEMAAS_E2E=1 CHROMIUM="$chromium"
export E2E_LITELLM="${E2E_LITELLM:-kit}"
export LITELLM_REAL_KIT="${LITELLM_REAL_KIT:-$root/../shared/tools/litellm-real}"
export E2E_LITELLM_HOME="${E2E_LITELLM_HOME:-${TMPDIR:-/tmp}/litemaas-e2e-llr}"
export E2E_LITELLM_PORT="${E2E_LITELLM_PORT:-4410}" E2E_LITELLM_BACKEND_PORT="${E2E_LITELLM_BACKEND_PORT:-18410}"
export E2E_LITELLM_DB="${E2E_LITELLM_DB:-litellm_e2e}"
artifacts="${E2E_ARTIFACTS_DIR:-${TMPDIR:-/tmp}/litemaas-e2e-artifacts}"
rm -rf "$artifacts/screenshots" "$artifacts/junit.xml" "$artifacts"/*.log  # only what an earlier run left
mkdir -p "$artifacts/screenshots"
export E2E_SCREENSHOT_DIR="${E2E_SCREENSHOT_DIR:-$artifacts/screenshots}"
# On PostgreSQL, a test database of its own, so this never collides with the main suite's.
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_litemaas_e2e}"
fi
say "database ${DATABASE_URL:-sqlite (DATABASE_URL unset)} (test db ${TEST_DATABASE_NAME:-default}), redis ${REDIS_URL:-none}"
say "LiteLLM: $E2E_LITELLM; kit home $E2E_LITELLM_HOME, ports $E2E_LITELLM_PORT/$E2E_LITELLM_BACKEND_PORT, db $E2E_LITELLM_DB"

kit_stop() {  # only the proxy of this run's home; never touched with E2E_LITELLM=double
  [ "$E2E_LITELLM" != double ] && [ -x "$LITELLM_REAL_KIT/stop" ] \
    && LITELLM_HOME="$E2E_LITELLM_HOME" "$LITELLM_REAL_KIT/stop" >/dev/null 2>&1
  return 0
}
if [ "$E2E_LITELLM" != double ]; then
  if [ -x "$LITELLM_REAL_KIT/setup" ]; then
    mkdir -p "$E2E_LITELLM_HOME"
    say "kit setup (bounded ${E2E_SETUP_TIMEOUT:-900} s)"
    if ! LITELLM_HOME="$E2E_LITELLM_HOME" timeout "${E2E_SETUP_TIMEOUT:-900}" "$LITELLM_REAL_KIT/setup" \
        >"$artifacts/kit-setup.log" 2>&1; then
      tail -n 40 "$artifacts/kit-setup.log" >&2
      [ "$E2E_LITELLM" = auto ] || { echo "[e2e] FAILED: the LiteLLM kit's setup failed" >&2; exit 1; }
    fi
    kit_stop  # a proxy left over by a killed run
    say "kit ready after $((SECONDS - t0)) s"
  elif [ "$E2E_LITELLM" = kit ]; then
    echo "[e2e] FAILED: no LiteLLM kit at $LITELLM_REAL_KIT (set LITELLM_REAL_KIT, or E2E_LITELLM=auto)" >&2
    exit 1
  fi
fi
trap kit_stop EXIT

junit="$artifacts/junit.xml"
set +e
timeout --kill-after=30 "${E2E_TIMEOUT:-900}" .venv/bin/pytest tests/e2e -m slow -q -p no:randomly --create-db \
  --durations=10 -rfEs --junitxml "$junit" "$@"
rc=$?
set -e
[ $rc -eq 124 ] && echo "[e2e] FAILED: pytest hit the ${E2E_TIMEOUT:-900} s bound" >&2

# A run that skipped or collected nothing proves nothing: count from the JUnit report, not from the exit code.
set +e
.venv/bin/python - "$junit" "${E2E_ALLOW_SKIPS:-0}" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, allow_skips = sys.argv[1], sys.argv[2] == "1"
try:
    suites = ET.parse(path).getroot()
except (OSError, ET.ParseError) as exc:
    print(f"[e2e] no JUnit report ({exc})")
    sys.exit(1)
cases = list(suites.iter("testcase"))
skipped = [c for c in cases if c.find("skipped") is not None]
failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
print(f"[e2e] {len(cases)} tests: {len(cases) - len(skipped) - len(failed)} passed, {len(failed)} failed, "
      f"{len(skipped)} skipped")
for case in skipped:
    print(f"[e2e]   skipped {case.get('name')}: {case.find('skipped').get('message')}")
if not cases or failed or (skipped and not allow_skips):
    sys.exit(1)
PY
verdict=$?
set -e

if [ $rc -ne 0 ] || [ $verdict -ne 0 ]; then
  if [ "$E2E_LITELLM" != double ]; then
    for log in "$E2E_LITELLM_HOME/run/proxy.log" "$E2E_LITELLM_HOME/run/fake_openai.log"; do
      [ -s "$log" ] && { cp "$log" "$artifacts/"; printf -- '----- tail %s -----\n' "$log"; tail -n 30 "$log"; } >&2
    done
  fi
  shots=$(find "$E2E_SCREENSHOT_DIR" -name '*.png' 2>/dev/null | wc -l)
  echo "[e2e] FAILED after $((SECONDS - t0)) s (pytest exit $rc); $shots screenshots in $E2E_SCREENSHOT_DIR," \
       "JUnit report and logs in $artifacts" >&2
  exit 1
fi
say "passed in $((SECONDS - t0)) s"
