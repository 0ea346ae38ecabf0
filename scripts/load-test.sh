#!/usr/bin/env bash
# Load test of the portal (bench/load/README.md): gunicorn (deploy/container/gunicorn.conf.py) with
# production-like settings (DEBUG=false) on PostgreSQL (own database) + Redis (db 13) + the LiteLLM double,
# seeded by bench/load/seed.py, driven by the locust mix in bench/load/locustfile.py (headless, bounded),
# then everything started here is stopped and the database dropped.
#
#   scripts/load-test.sh [DURATION] [USERS]       (default 60s 20)
#
# Env: LOAD_SPAWN_RATE (5), LOAD_WORKERS (gunicorn workers, 4), LOAD_PORT (8310), LOAD_DOUBLE_PORT (4431),
# LOAD_DB (litemaas_load), LOAD_PG_BASE (postgresql://postgres@127.0.0.1:5432), LOAD_REDIS (redis://127.0.0.1:6379/13),
# LOAD_SEED_USERS (40), LOAD_WARMUP (10s, figures discarded), LOAD_RESULTS_DIR (bench/results), LOAD_P95_MS (100), LOAD_KEEP=1 (keep DB and logs).
# Writes $LOAD_RESULTS_DIR/load-<UTC date-time>.csv and prints the table. Exit 1 when any request failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
DURATION="${1:-${LOAD_DURATION:-60s}}"
USERS="${2:-${LOAD_USERS:-20}}"
SPAWN_RATE="${LOAD_SPAWN_RATE:-5}"
WORKERS="${LOAD_WORKERS:-4}"
PORT="${LOAD_PORT:-8310}"
DOUBLE_PORT="${LOAD_DOUBLE_PORT:-4431}"
DB="${LOAD_DB:-litemaas_load}"
PG_BASE="${LOAD_PG_BASE:-postgresql://postgres@127.0.0.1:5432}"
REDIS="${LOAD_REDIS:-redis://127.0.0.1:6379/13}"
RESULTS_DIR="${LOAD_RESULTS_DIR:-$ROOT/bench/results}"
MASTER_KEY="sk-load-master-0123456789"
[[ $DB =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "LOAD_DB must be a plain identifier" >&2; exit 2; }
"$ROOT/.venv/bin/locust" --version >/dev/null 2>&1 || { echo "locust missing: .venv/bin/pip install -e '.[dev]'" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/litemaas-load.XXXXXX")"
log() { printf '[load] %s\n' "$*" >&2; }
for p in "$PORT" "$DOUBLE_PORT"; do
  "$PY" -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null \
    || { echo "port $p on 127.0.0.1 is busy (LOAD_PORT / LOAD_DOUBLE_PORT)" >&2; exit 2; }
done

GUNICORN_PID="" DOUBLE_PID=""
cleanup() {
  set +e
  [ -n "$GUNICORN_PID" ] && kill -TERM "$GUNICORN_PID" 2>/dev/null && wait "$GUNICORN_PID" 2>/dev/null
  [ -n "$DOUBLE_PID" ] && kill -TERM "$DOUBLE_PID" 2>/dev/null && wait "$DOUBLE_PID" 2>/dev/null
  if [ "${LOAD_KEEP:-0}" = 1 ]; then
    log "kept: database $DB, logs in $WORK"
  else
    redis-cli -u "$REDIS" flushdb >/dev/null 2>&1
    psql -X -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Production-like settings: DEBUG off, JSON logs, WhiteNoise, Redis cache, a broker (no worker: queued
# tasks wait, as they would for a busy worker; a request never runs a task inline).
export DJANGO_SETTINGS_MODULE=litemaas.settings PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export DEBUG=false SECRET_KEY="load-$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)" ALLOWED_HOSTS=127.0.0.1,localhost
export SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING STATIC_ROOT="$WORK/static"
export DATABASE_URL="$PG_BASE/$DB" REDIS_URL="$REDIS" CELERY_BROKER_URL="$REDIS"
export LITELLM_API_URL="http://127.0.0.1:$DOUBLE_PORT" LITELLM_MASTER_KEY="$MASTER_KEY"
export PROMETHEUS_MULTIPROC_DIR="$WORK/prometheus"
# The analytics API allows 30 calls a minute per user in production; the mix's single admin makes more.
export API_RATE_LIMIT_ANALYTICS=100000/minute
mkdir -p "$STATIC_ROOT" "$PROMETHEUS_MULTIPROC_DIR"

log "database $DB (fresh), redis $REDIS (flushed)"
psql -X -q -v ON_ERROR_STOP=1 "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\"" >/dev/null
redis-cli -u "$REDIS" flushdb >/dev/null
cd "$ROOT"
"$PY" manage.py migrate --noinput -v 0

log "LiteLLM double on :$DOUBLE_PORT"
"$PY" -m integrations.double --port "$DOUBLE_PORT" --master-key "$MASTER_KEY" --seed-models >"$WORK/double.log" 2>&1 &
DOUBLE_PID=$!
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$DOUBLE_PORT/health/liveliness" 2>/dev/null && break; sleep 0.2; done

log "seeding (users, subscriptions, keys through the double, 90 days of usage, sessions)"
"$PY" bench/load/seed.py --users "${LOAD_SEED_USERS:-40}" --out "$WORK/sessions.json" >&2

log "gunicorn ($WORKERS workers) on :$PORT"
GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="$WORKERS" \
  "$ROOT/.venv/bin/gunicorn" -c deploy/container/gunicorn.conf.py litemaas.wsgi:application >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health/live" 2>/dev/null && break; sleep 0.2; done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health/live" || { tail -n 40 "$WORK/gunicorn.log" >&2; exit 1; }

# Warm-up (figures discarded): every worker imports templates, URL patterns and translations on first use.
log "warm-up: ${LOAD_WARMUP:-10s}"
LOAD_SESSIONS="$WORK/sessions.json" "$ROOT/.venv/bin/locust" -f bench/load/locustfile.py --headless \
  -u "$USERS" -r "$USERS" -t "${LOAD_WARMUP:-10s}" --stop-timeout 10 --host "http://127.0.0.1:$PORT" \
  --only-summary --exit-code-on-error 0 --loglevel WARNING >"$WORK/warmup.log" 2>&1 || true

log "locust: $USERS users, spawn $SPAWN_RATE/s, $DURATION"
LOAD_SESSIONS="$WORK/sessions.json" "$ROOT/.venv/bin/locust" -f bench/load/locustfile.py --headless \
  -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION" --stop-timeout 10 --host "http://127.0.0.1:$PORT" \
  --csv "$WORK/load" --only-summary --exit-code-on-error 0 --loglevel WARNING >"$WORK/locust.log" 2>&1 \
  || { tail -n 40 "$WORK/locust.log" >&2; exit 1; }

if grep -q '"levelname": "ERROR"\|Traceback' "$WORK/gunicorn.log"; then
  log "server errors in the gunicorn log:"; grep -m 5 '"levelname": "ERROR"\|Traceback' "$WORK/gunicorn.log" >&2
fi
"$PY" bench/load/report.py "$WORK/load_stats.csv" --failures "$WORK/load_failures.csv" \
  --out "$RESULTS_DIR/load-$(date -u +%Y%m%d-%H%M%S).csv" --p95-ms "${LOAD_P95_MS:-100}"
