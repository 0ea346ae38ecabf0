"""High-availability settings that only take effect at import time (checked in a fresh interpreter)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="litemaas.settings")
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({'db': s.DATABASES['default'].get('OPTIONS', {}), 'cache': s.CACHES['default'], "
        "'broker': s.CELERY_BROKER_TRANSPORT_OPTIONS, 'mw': s.MIDDLEWARE}, default=str))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_statement_timeout_is_passed_to_postgresql():
    result = _settings(DATABASE_URL="postgresql://u@127.0.0.1:5432/x", DATABASE_STATEMENT_TIMEOUT_MS="15000")
    assert "-c statement_timeout=15000" in result["db"]["options"]
    assert result["db"]["connect_timeout"] == 5


def test_redis_sentinel_configures_the_cache_and_the_celery_broker():
    result = _settings(REDIS_SENTINELS="sentinel-a:26379,sentinel-b", REDIS_SENTINEL_MASTER="portal")
    options = result["cache"]["OPTIONS"]
    assert result["cache"]["LOCATION"] == "redis://portal/0"
    assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert options["SENTINELS"] == [["sentinel-a", 26379], ["sentinel-b", 26379]]
    assert result["broker"]["master_name"] == "portal"


def test_production_serves_static_files_and_tags_access_logs():
    result = _settings(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="portal.example.com")
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in result["mw"]
    assert "litemaas.observability.AccessLogContextMiddleware" in result["mw"]
