"""Settings for ``scripts/screenshot.sh``: production-like (DEBUG off, so the friendly error pages show)
but over plain HTTP on 127.0.0.1, with the web shell's test URLconf (token pages included)."""
from litemaas.settings import *  # noqa: F403

ROOT_URLCONF = "tests.litemaas.shell_urls"
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"
