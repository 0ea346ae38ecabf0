#!/usr/bin/env bash
# Install into .venv, migrate, create the demo admin and user (printed below), start the LiteLLM double
# unless LITELLM_API_URL points at a real proxy, and run the portal on http://127.0.0.1:${PORT:-8000}/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export DEMO_MODE=true
port="${PORT:-8000}"
if [ -z "${LITELLM_API_URL:-}" ]; then
  double_port="${LITELLM_DOUBLE_PORT:-4010}"
  export LITELLM_MASTER_KEY="sk-demo-master-key"
  export LITELLM_API_URL="http://127.0.0.1:${double_port}"
  export LITELLM_IS_DEMO=true
  .venv/bin/python -m integrations.double --port "$double_port" --master-key "$LITELLM_MASTER_KEY" --seed-models \
    > .venv/litellm-double.log 2>&1 &
  double_pid=$!
  trap 'kill $double_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do
    curl -fs "$LITELLM_API_URL/health/liveness" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "Demo LiteLLM (the built-in double) is running at $LITELLM_API_URL"
fi
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
# Mirror the LiteLLM catalogue now rather than waiting for the first beat run (never fatal).
.venv/bin/python manage.py sync_models || true
.venv/bin/python manage.py runserver "127.0.0.1:${port}"
