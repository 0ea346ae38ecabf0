#!/usr/bin/env bash
# Run the LiteLLM contract suite (tests/contract, marker `contract`) against the LiteLLM double AND a real
# LiteLLM proxy started from the litellm-real kit, then stop the proxy. Extra arguments go to pytest.
#
# Env: LITELLM_REAL_KIT (kit folder, default ../shared/tools/litellm-real beside the repo), LITELLM_CONTRACT_HOME (the
# kit's LITELLM_HOME, default /tmp/litemaas-contract-llr), LITELLM_CONTRACT_PORT (4400),
# LITELLM_CONTRACT_BACKEND_PORT (18400), LITELLM_CONTRACT_DB (litellm_contract), PYTHON (.venv python).
# Needs PostgreSQL on 127.0.0.1:5432 (the kit's requirement). Bounded: pytest gets 300 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT="${LITELLM_REAL_KIT:-$ROOT/../shared/tools/litellm-real}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
export LITELLM_HOME="${LITELLM_CONTRACT_HOME:-${TMPDIR:-/tmp}/litemaas-contract-llr}"
PORT="${LITELLM_CONTRACT_PORT:-4400}"
BACKEND_PORT="${LITELLM_CONTRACT_BACKEND_PORT:-18400}"
DB="${LITELLM_CONTRACT_DB:-litellm_contract}"

mkdir -p "$LITELLM_HOME"
"$KIT/setup" >&2
# `start` prints only LITELLM_API_URL=… and LITELLM_MASTER_KEY=… on stdout (logs go to stderr).
started="$("$KIT/start" --fresh --port "$PORT" --backend-port "$BACKEND_PORT" --db "$DB")"
trap '"$KIT/stop" >&2 || true' EXIT
url="$(sed -n 's/^LITELLM_API_URL=//p' <<<"$started" | tr -d "'\"")"
key="$(sed -n 's/^LITELLM_MASTER_KEY=//p' <<<"$started" | tr -d "'\"")"
[ -n "$url" ] && [ -n "$key" ] || { echo "could not read the proxy's URL/key from: $started" >&2; exit 1; }

cd "$ROOT"
# The portal's own LITELLM_* settings stay untouched: the suite reads only the LITELLM_CONTRACT_* pair.
LITELLM_CONTRACT_URL="$url" LITELLM_CONTRACT_MASTER_KEY="$key" \
  timeout 300 "$PYTHON" -m pytest -m contract tests/contract -q -p no:cacheprovider "$@"
