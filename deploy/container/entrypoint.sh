#!/bin/sh
# litemaas container entrypoint: one image, one process kind per pod.
#   web       gunicorn (deploy/container/gunicorn.conf.py) on $PORT (8000)
#   worker    Celery worker; task metrics on $CELERY_METRICS_PORT (9808)
#   beat      Celery beat (exactly one replica; the schedule lives in settings)
#   migrate   database migrations, then `sync_models` when the command exists (failure is only a warning)
#   backup    manage.py backup_db (the backup CronJob)
#   manage    any manage.py command, e.g. `manage restore_db --help`
#   healthcheck  the image's HEALTHCHECK (web: /health/live, worker: its metrics port)
# Anything else is executed as is (e.g. `sh`).
set -eu

cd "${APP_HOME:-/app}"
command="${1:-web}"
[ "$#" -gt 0 ] && shift

# Counters from several processes (gunicorn workers, Celery children) are added up through files here.
prometheus_dir() {
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-multiproc}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
}

case "$command" in
    web)
        prometheus_dir
        exec gunicorn --config deploy/container/gunicorn.conf.py litemaas.wsgi:application "$@"
        ;;
    worker)
        prometheus_dir
        export CELERY_METRICS_PORT="${CELERY_METRICS_PORT:-9808}"
        # Warm shutdown on SIGTERM: running tasks finish (bounded by CELERY_TASK_TIME_LIMIT).
        exec celery --app litemaas worker \
            --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
            --concurrency "${CELERY_WORKER_CONCURRENCY:-2}" \
            --max-tasks-per-child "${CELERY_MAX_TASKS_PER_CHILD:-500}" \
            --without-gossip --without-mingle \
            "$@"
        ;;
    beat)
        # The schedule is code; beat's own last-run file is throw-away state on the /tmp emptyDir.
        exec celery --app litemaas beat \
            --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
            --schedule /tmp/celerybeat-schedule \
            --pidfile= \
            "$@"
        ;;
    migrate)
        # Migrations may run longer than a web request is allowed to.
        export DATABASE_STATEMENT_TIMEOUT_MS=0
        python manage.py migrate --noinput "$@"
        if python manage.py help sync_models >/dev/null 2>&1; then
            python manage.py sync_models \
                || echo '{"level": "WARNING", "logger": "entrypoint", "message": "sync_models failed; the scheduled sync will retry"}'
        fi
        ;;
    backup)
        export DATABASE_STATEMENT_TIMEOUT_MS=0
        exec python manage.py backup_db "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    healthcheck)
        # The container's HEALTHCHECK: what to check depends on what PID 1 (tini) started.
        role="$(tr '\0' ' ' < /proc/1/cmdline 2>/dev/null || true)"
        case "$role" in
            *" worker"*) url="http://127.0.0.1:${CELERY_METRICS_PORT:-9808}/metrics" ;;
            *" beat"* | *" migrate"* | *" backup"* | *" manage"*) exit 0 ;;
            *) url="http://127.0.0.1:${PORT:-8000}/health/live" ;;
        esac
        exec python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=4)' "$url"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
