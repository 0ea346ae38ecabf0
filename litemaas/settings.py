"""The one settings module of litemaas, driven by environment variables.

A fresh checkout runs with no configuration at all: SQLite, a local-memory cache, eager Celery and console
e-mail. Production sets ``DEBUG=false`` and must then provide ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
``LITELLM_MASTER_KEY`` (or their ``*_FILE`` variants); anything missing or malformed stops the process at
start-up with ``ImproperlyConfigured``. Every setting is listed, with its default, in the README.
"""
from __future__ import annotations

import secrets
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from accounts.providers.config import (
    derive_openshift_api_url,
    oidc_provider_settings,
    openshift_provider_settings,
)
from litemaas.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or env_bool("LITEMAAS_TESTING", False)

# ---------------------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Demo mode: the README's one-command install. It enables local password login and the demo LiteLLM banner.
DEMO_MODE = env_bool("DEMO_MODE", False)

if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off")
    # A throw-away key keeps development zero-config; sessions simply do not survive a restart.
    SECRET_KEY = "insecure-dev-" + secrets.token_urlsafe(32)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off")

INSTALLED_APPS = [
    "litemaas.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts.providers.openshift",
    "litemaas",
    "accounts",
    "teams",
    "subscriptions",
    "apikeys",
    "usage",
    "integrations",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "litemaas.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "litemaas.middleware.ActiveUserMiddleware",
    "litemaas.middleware.RejectNulMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "litemaas.urls"
WSGI_APPLICATION = "litemaas.wsgi.application"
ASGI_APPLICATION = "litemaas.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "litemaas.context_processors.portal",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------------------
# Database and cache
# ---------------------------------------------------------------------------------------------------------
DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}

# Bounded waits for PostgreSQL, so a lost, slow or frozen database fails a request with a 503 instead of
# holding it until the gunicorn timeout (60 s):
# - DATABASE_CONNECT_TIMEOUT: a connection attempt (TCP + TLS + authentication), libpq's connect_timeout.
# - DATABASE_STATEMENT_TIMEOUT_MS: the server cancels a longer statement; the connection stays usable.
# - DATABASE_QUERY_TIMEOUT_SECONDS: the client gives up on a server that does not answer at all (frozen
#   process, black-holed route), which the server-side limit cannot catch; the connection is dropped
#   (litemaas/db/postgresql/base.py). Above the statement timeout, so a live server always cancels first.
# - TCP keepalives and tcp_user_timeout: the kernel notices a dead peer or unacknowledged data.
# migrate, backup_db and restore_db legitimately run long statements (a table rewrite, the backup's row
# counts), so they run without the statement and query timeouts.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30000, minimum=0)
DATABASE_QUERY_TIMEOUT_SECONDS = env_float(
    "DATABASE_QUERY_TIMEOUT_SECONDS", DATABASE_STATEMENT_TIMEOUT_MS / 1000 + 5 if DATABASE_STATEMENT_TIMEOUT_MS else 0,
    minimum=0,
)
if sys.argv[1:2] and sys.argv[1] in ("migrate", "backup_db", "restore_db"):
    DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_QUERY_TIMEOUT_SECONDS = 0, 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus the client-side query timeout.
    DATABASES["default"]["ENGINE"] = "litemaas.db.postgresql"
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})  # DATABASE_URL ?query options win
    _db_options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    _db_options.setdefault("query_timeout", DATABASE_QUERY_TIMEOUT_SECONDS)
    _db_options.setdefault("keepalives", 1)
    _db_options.setdefault("keepalives_idle", 10)  # seconds idle before the first probe
    _db_options.setdefault("keepalives_interval", 5)  # seconds between probes
    _db_options.setdefault("keepalives_count", 3)  # unanswered probes before the connection is dead
    if DATABASE_QUERY_TIMEOUT_SECONDS:
        # Sent data unacknowledged this long (milliseconds) means the path to the server is gone.
        _db_options.setdefault("tcp_user_timeout", int(DATABASE_QUERY_TIMEOUT_SECONDS * 1000))
    if DATABASE_STATEMENT_TIMEOUT_MS:
        _db_options["options"] = (
            f"{_db_options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}".strip()
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_secret("REDIS_URL")
# Redis Sentinel (HA): "host:port,host:port"; REDIS_URL then names the master instead of a host
# (redis://:password@<REDIS_SENTINEL_MASTER>/0) and defaults to exactly that.
REDIS_SENTINELS = env_list("REDIS_SENTINELS")
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER", "mymaster")
REDIS_SENTINEL_PASSWORD = env_secret("REDIS_SENTINEL_PASSWORD")
if REDIS_SENTINELS and not REDIS_URL:
    REDIS_URL = f"redis://{REDIS_SENTINEL_MASTER}/0"
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis that skips Redis for a few seconds after a timeout (litemaas/cache.py).
            "BACKEND": "litemaas.cache.FailFastRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "litemaas"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # A Redis outage degrades caching instead of taking the portal down.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    if REDIS_SENTINELS:
        CACHES["default"]["OPTIONS"].update({
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "CONNECTION_POOL_CLASS": "redis.sentinel.SentinelConnectionPool",
            "SENTINELS": [
                (host.rsplit(":", 1)[0], int(host.rsplit(":", 1)[1]) if ":" in host else 26379)
                for host in REDIS_SENTINELS
            ],
            "SENTINEL_KWARGS": {"password": REDIS_SENTINEL_PASSWORD} if REDIS_SENTINEL_PASSWORD else {},
        })
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "litemaas"}}

# Sessions live in the database so every web replica sees them (and deactivation can delete them).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_SECONDS", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# ---------------------------------------------------------------------------------------------------------
# Authentication: accounts.User, allauth (OpenShift, OIDC, optional local passwords)
# ---------------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# One backend: allauth's username/password checks (ModelBackend underneath), switched off with
# LOCAL_LOGIN_ENABLED so no login page (allauth's, /admin/login/) accepts a password then.
AUTHENTICATION_BACKENDS = ["accounts.backends.PortalAuthenticationBackend"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Local username/password login: on in demo mode, off by default in production.
LOCAL_LOGIN_ENABLED = env_bool("LOCAL_LOGIN_ENABLED", DEMO_MODE or DEBUG)

AUTH_PROVIDER = env_choice("AUTH_PROVIDER", "", ["", "openshift", "oidc"])
OAUTH_CLIENT_ID = env_str("OAUTH_CLIENT_ID")
OAUTH_CLIENT_SECRET = env_secret("OAUTH_CLIENT_SECRET")
# OpenShift: the OAuth server URL (https://oauth-openshift.apps.example.com); the API server URL is derived
# from it (oauth-openshift.apps.X -> api.X:6443) unless OPENSHIFT_API_URL is set.
OPENSHIFT_OAUTH_URL = env_str("OPENSHIFT_OAUTH_URL").rstrip("/")
OPENSHIFT_API_URL = env_str("OPENSHIFT_API_URL").rstrip("/") or derive_openshift_api_url(OPENSHIFT_OAUTH_URL)
# PEM bundle trusted for calls to the identity provider (cluster CA + ingress CA); TLS is always verified.
OPENSHIFT_CA_BUNDLE = env_str("OPENSHIFT_CA_BUNDLE")
# Timeout of every call to the identity provider (OpenShift or OIDC): token, users/~, discovery, userinfo.
OPENSHIFT_TIMEOUT_SECONDS = env_float("OPENSHIFT_TIMEOUT_SECONDS", 10.0, minimum=1)
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_SCOPES = env_list("OIDC_SCOPES", ["openid", "profile", "email"])
# Claim holding the user's groups (userinfo or ID token); a dotted path such as realm_access.roles works.
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
if AUTH_PROVIDER and not (OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET):
    raise ImproperlyConfigured(f"AUTH_PROVIDER={AUTH_PROVIDER} needs OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET")
if AUTH_PROVIDER == "openshift" and not OPENSHIFT_OAUTH_URL:
    raise ImproperlyConfigured("AUTH_PROVIDER=openshift needs OPENSHIFT_OAUTH_URL (https://oauth-openshift.apps.…)")
if AUTH_PROVIDER == "oidc" and not OIDC_ISSUER:
    raise ImproperlyConfigured("AUTH_PROVIDER=oidc needs OIDC_ISSUER")

# Group -> role mapping, re-derived at every login (removing someone from a group removes the role).
ADMIN_GROUPS = env_list("ADMIN_GROUPS", ["litemaas-admins", "administrators"])
READONLY_ADMIN_GROUPS = env_list("READONLY_ADMIN_GROUPS", ["litemaas-readonly", "viewers"])
INITIAL_ADMIN_USERS = env_list("INITIAL_ADMIN_USERS")
# When set, only members of one of these groups may log in; everyone else gets a clear refusal page.
ALLOWED_GROUPS = env_list("ALLOWED_GROUPS")

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email"
# Identities are keyed by (provider, uid); an e-mail shared with another account must not divert a first
# login to allauth's signup form (allauth's default with unique e-mails).
ACCOUNT_UNIQUE_EMAIL = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never merge identities by e-mail
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_STORE_TOKENS = False  # the IdP token is used once, never stored
SOCIALACCOUNT_LOGIN_ON_GET = False  # the handshake starts with a POST (CSRF-protected), as allauth advises
SOCIALACCOUNT_REQUESTS_TIMEOUT = OPENSHIFT_TIMEOUT_SECONDS
# allauth reads providers from this dict at request time (state and PKCE S256 are on for both); tests
# point it at a fake server with the same builders.
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if AUTH_PROVIDER == "openshift":
    SOCIALACCOUNT_PROVIDERS["openshift"] = openshift_provider_settings(
        client_id=OAUTH_CLIENT_ID, secret=OAUTH_CLIENT_SECRET, oauth_url=OPENSHIFT_OAUTH_URL,
        api_url=OPENSHIFT_API_URL,
    )
elif AUTH_PROVIDER == "oidc":
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = oidc_provider_settings(
        client_id=OAUTH_CLIENT_ID, secret=OAUTH_CLIENT_SECRET, issuer=OIDC_ISSUER, scopes=OIDC_SCOPES,
        name=env_str("OIDC_DISPLAY_NAME", "Single sign-on"),
    )

# ---------------------------------------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalAccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "litemaas.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "litemaas.api.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "litemaas.api.exception_handler.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_RATE_LIMIT_USER", "1000/minute"),
        "anon": env_str("API_RATE_LIMIT_ANON", "60/minute"),
        "analytics": env_str("API_RATE_LIMIT_ANALYTICS", "30/minute"),
        "export": env_str("API_RATE_LIMIT_EXPORT", "10/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Money is a decimal string ("12.50") both ways: in responses, in the OpenAPI schema (drf-spectacular
    # reads this setting) and in JSON request bodies, which refuse a JSON number for a decimal field
    # (litemaas.api.serializers.InputSerializer): a float would round, and the schema could say only one type.
    "COERCE_DECIMAL_TO_STRING": True,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "litemaas API",
    "DESCRIPTION": "Self-service Models-as-a-Service portal in front of LiteLLM.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several models have a "status" field; name each choice set after its model so client generators get
    # stable enum names (without this, drf-spectacular warns and invents hashed names).
    "ENUM_NAME_OVERRIDES": {
        "ApiKeyStatusEnum": "apikeys.models.KeyStatus",
        "SubscriptionStatusEnum": "subscriptions.models.SubscriptionStatus",
    },
    # The error statuses any operation can answer (401/403/429/503, 404 with path parameters, 400 with input)
    # are documented once by the hook; views document their own extra statuses (409, 502, ...).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "litemaas.api.schema.document_error_responses",
    ],
}
PERSONAL_TOKEN_PREFIX = "ltm_"
PERSONAL_TOKEN_MAX_DAYS = env_int("PERSONAL_TOKEN_MAX_DAYS", 365, minimum=1)

# ---------------------------------------------------------------------------------------------------------
# LiteLLM
# ---------------------------------------------------------------------------------------------------------
LITELLM_API_URL = env_str("LITELLM_API_URL").rstrip("/")
LITELLM_MASTER_KEY = env_secret("LITELLM_MASTER_KEY")
# The URL users call with their keys (shown in snippets); usually a Route in front of the same proxy.
# True when LITELLM_API_URL is the built-in double (the README demo): the portal says so on every page.
LITELLM_IS_DEMO = env_bool("LITELLM_IS_DEMO", False)
LITELLM_PUBLIC_URL = env_str("LITELLM_PUBLIC_URL", LITELLM_API_URL).rstrip("/")
LITELLM_CONNECT_TIMEOUT_SECONDS = env_float("LITELLM_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=0.1)
LITELLM_READ_TIMEOUT_SECONDS = env_float("LITELLM_READ_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Retries cover seconds inside one call (tenacity); Celery covers minutes across calls.
LITELLM_RETRY_ATTEMPTS = env_int("LITELLM_RETRY_ATTEMPTS", 3, minimum=1, maximum=5)
LITELLM_RETRY_MAX_WAIT_SECONDS = env_float("LITELLM_RETRY_MAX_WAIT_SECONDS", 8.0, minimum=0)
# Circuit breaker (state in the shared cache, so every web and worker process agrees):
#   OK -> BROKEN after FAILURE_THRESHOLD "unavailable" errors inside WINDOW_SECONDS;
#   BROKEN fails fast for COOLDOWN_SECONDS, then RECOVERY lets probes through;
#   RECOVERY -> OK after RECOVERY_SUCCESSES successes in a row, back to BROKEN on any failure.
LITELLM_BREAKER_FAILURE_THRESHOLD = env_int("LITELLM_BREAKER_FAILURE_THRESHOLD", 5, minimum=1)
LITELLM_BREAKER_WINDOW_SECONDS = env_int("LITELLM_BREAKER_WINDOW_SECONDS", 60, minimum=1)
LITELLM_BREAKER_COOLDOWN_SECONDS = env_int("LITELLM_BREAKER_COOLDOWN_SECONDS", 30, minimum=1)
LITELLM_BREAKER_RECOVERY_SUCCESSES = env_int("LITELLM_BREAKER_RECOVERY_SUCCESSES", 2, minimum=1)
if not DEBUG and LITELLM_API_URL and not LITELLM_MASTER_KEY:
    raise ImproperlyConfigured("LITELLM_MASTER_KEY (or LITELLM_MASTER_KEY_FILE) is required when DEBUG is off")

# New-user defaults (the admin settings page overrides them; these are the fallback).
DEFAULT_USER_MAX_BUDGET = env_decimal("DEFAULT_USER_MAX_BUDGET", Decimal("100"))
DEFAULT_USER_TPM_LIMIT = env_int("DEFAULT_USER_TPM_LIMIT", 100_000, minimum=0)
DEFAULT_USER_RPM_LIMIT = env_int("DEFAULT_USER_RPM_LIMIT", 120, minimum=0)
# New-user budget period when the admin settings page leaves it empty ("" = no reset period).
DEFAULT_USER_BUDGET_DURATION = env_str("DEFAULT_USER_BUDGET_DURATION", "")
DEFAULT_TEAM_ID = "a0000000-0000-4000-8000-000000000001"

# Model catalogue sync (LiteLLM -> portal): every N minutes (1-60) on beat, plus `manage.py sync_models`
# at start-up and the admin "Sync now" button. A run that would mark more than this share of the available
# models unavailable (or that sees an empty model list) is aborted without changing anything.
MODEL_SYNC_INTERVAL_MINUTES = env_int("MODEL_SYNC_INTERVAL_MINUTES", 15, minimum=1, maximum=60)
MODEL_SYNC_MAX_REMOVAL_SHARE = env_float("MODEL_SYNC_MAX_REMOVAL_SHARE", 0.5, minimum=0.0, maximum=1.0)
# Fernet key (32 url-safe base64 bytes) for provider API keys stored with models; derived from SECRET_KEY
# when unset (then rotating SECRET_KEY makes stored provider keys unreadable: re-enter them).
FIELD_ENCRYPTION_KEY = env_secret("FIELD_ENCRYPTION_KEY")

# ---------------------------------------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_secret("CELERY_RESULT_BACKEND") or None
# Without a broker every task runs inline, so a fresh checkout needs no queue.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_DEFAULT_MAX_RETRIES = 5
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The schedule lives in code, so there is no schedule state in the database to drift.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "subscriptions-sync-models": {
        "task": "litemaas.subscriptions.sync_models",
        "schedule": crontab(minute=f"*/{MODEL_SYNC_INTERVAL_MINUTES}"),  # every MODEL_SYNC_INTERVAL_MINUTES
    },
    "subscriptions-expire-due": {
        "task": "litemaas.subscriptions.expire_due",
        "schedule": crontab(),  # every minute: active subscriptions past expires_at -> expired
    },
    "provision-pending-users": {
        "task": "litemaas.integrations.provision_pending_users",
        "schedule": crontab(),  # every minute
    },
    "apikeys-cleanup-provisioning": {
        "task": "litemaas.apikeys.cleanup_provisioning",
        "schedule": crontab(),  # every minute: provisioning rows older than the grace -> remote delete, failed
    },
    # Keys stuck in "revoking" and keys whose models changed locally are outbox entries now: the
    # integrations-outbox-sweep below retries them (apikeys.retry_revocations / sync_pending stay as manual tools).
    "apikeys-revoke-rotated-after-grace": {
        "task": "litemaas.apikeys.revoke_rotated_after_grace",
        "schedule": crontab(),  # every minute: old keys whose rotation grace has ended
    },
    "apikeys-expire-keys": {
        "task": "litemaas.apikeys.expire_keys",
        "schedule": crontab(),  # every minute: past expires_at -> expired; playground keys also revoked
    },
    "teams-check-budget-alerts": {
        "task": "litemaas.teams.check_budget_alerts",
        # every BUDGET_ALERT_INTERVAL_MINUTES: spend vs budgets (keys, users, teams), runway, admin digest
        "schedule": crontab(minute=f"*/{env_int('BUDGET_ALERT_INTERVAL_MINUTES', 5, minimum=1, maximum=60)}"),
    },
    "usage-ingest": {
        "task": "litemaas.usage.ingest",
        # every USAGE_INGEST_INTERVAL_MINUTES: today, yesterday until frozen, and any missed recent day
        "schedule": crontab(minute=f"*/{env_int('USAGE_INGEST_INTERVAL_MINUTES', 5, minimum=1, maximum=60)}"),
    },
    "integrations-outbox-sweep": {
        "task": "litemaas.integrations.outbox_sweep",
        "schedule": 30.0,  # every 30 seconds: outbox entries due (new, failed and due again, lease expired)
    },
    "integrations-reconcile": {
        "task": "litemaas.integrations.reconcile",
        # every SYNC_RECONCILE_INTERVAL_MINUTES: portal vs LiteLLM keys, users, teams; drift repaired per strategy
        "schedule": crontab(minute=f"*/{env_int('SYNC_RECONCILE_INTERVAL_MINUTES', 15, minimum=1, maximum=60)}"),
    },
}

# Sync with LiteLLM (integrations app): the outbox of portal -> LiteLLM changes and the reconciler.
# An outbox entry is given up ("dead", admins alerted) after this many failed deliveries.
SYNC_OUTBOX_MAX_ATTEMPTS = env_int("SYNC_OUTBOX_MAX_ATTEMPTS", 10, minimum=1, maximum=100)
# Jittered exponential backoff between deliveries: base * 2^(attempt-1), capped (seconds).
SYNC_OUTBOX_BACKOFF_BASE_SECONDS = env_int("SYNC_OUTBOX_BACKOFF_BASE_SECONDS", 10, minimum=1, maximum=600)
SYNC_OUTBOX_BACKOFF_MAX_SECONDS = env_int("SYNC_OUTBOX_BACKOFF_MAX_SECONDS", 900, minimum=10, maximum=3600)
# An in-flight entry whose worker died is delivered again after this long (longer than one LiteLLM call).
SYNC_OUTBOX_LEASE_SECONDS = env_int("SYNC_OUTBOX_LEASE_SECONDS", 120, minimum=10, maximum=3600)
# Entries claimed per sweep run.
SYNC_OUTBOX_BATCH = env_int("SYNC_OUTBOX_BATCH", 100, minimum=1, maximum=10_000)
# Reconciler: every N minutes on beat (single-flight), plus the admin "run now".
SYNC_RECONCILE_INTERVAL_MINUTES = env_int("SYNC_RECONCILE_INTERVAL_MINUTES", 15, minimum=1, maximum=60)
# Single-flight lock of a run (longer than the slowest run).
SYNC_RECONCILE_LOCK_SECONDS = env_int("SYNC_RECONCILE_LOCK_SECONDS", 1800, minimum=60)
# Who wins when LiteLLM and the portal differ, per object kind: portal_wins | litellm_wins | report_only.
SYNC_STRATEGIES = ["portal_wins", "litellm_wins", "report_only"]
SYNC_STRATEGY_KEYS = env_choice("SYNC_STRATEGY_KEYS", "portal_wins", SYNC_STRATEGIES)
SYNC_STRATEGY_USERS = env_choice("SYNC_STRATEGY_USERS", "portal_wins", SYNC_STRATEGIES)
SYNC_STRATEGY_TEAMS = env_choice("SYNC_STRATEGY_TEAMS", "portal_wins", SYNC_STRATEGIES)
# Report drift, change nothing (also a per-run flag).
SYNC_DRY_RUN = env_bool("SYNC_DRY_RUN", False)
# Abort a run (change nothing) when more than this share of keys would be blocked / marked broken: a wrong
# LITELLM_API_URL or an empty LiteLLM database must not wipe anything.
SYNC_MAX_DESTRUCTIVE_SHARE = env_float("SYNC_MAX_DESTRUCTIVE_SHARE", 0.2, minimum=0.0, maximum=1.0)
# A portal-managed key unknown to the portal is blocked only when older than this (creates in flight).
SYNC_ORPHAN_GRACE_SECONDS = env_int("SYNC_ORPHAN_GRACE_SECONDS", 3600, minimum=0)
# Portal keys younger than this are not judged "missing in LiteLLM" (created while the run was listing).
SYNC_RECONCILE_GRACE_SECONDS = env_int("SYNC_RECONCILE_GRACE_SECONDS", 120, minimum=0)

# Usage (usage app): ingestion of LiteLLM /user/daily/activity into DailyUsage, analytics and export limits.
USAGE_INGEST_INTERVAL_MINUTES = env_int("USAGE_INGEST_INTERVAL_MINUTES", 5, minimum=1, maximum=60)
# A past day is pulled once more when this long after its UTC midnight has passed, then frozen.
USAGE_CLOSE_GRACE_MINUTES = env_int("USAGE_CLOSE_GRACE_MINUTES", 30, minimum=0, maximum=1440)
# Recent days never pulled (worker outage) are caught up by the schedule within this many days.
USAGE_INGEST_CATCHUP_DAYS = env_int("USAGE_INGEST_CATCHUP_DAYS", 3, minimum=1, maximum=31)
# Days per /user/daily/activity call (backfill and catch-up).
USAGE_INGEST_CHUNK_DAYS = env_int("USAGE_INGEST_CHUNK_DAYS", 7, minimum=1, maximum=31)
# Single-flight lock of the scheduled ingestion (longer than the slowest run).
USAGE_INGEST_LOCK_SECONDS = env_int("USAGE_INGEST_LOCK_SECONDS", 600, minimum=60)
# Longest date range of analytics / of an export (inclusive days).
USAGE_ANALYTICS_MAX_DAYS = env_int("USAGE_ANALYTICS_MAX_DAYS", 90, minimum=1, maximum=366)
USAGE_EXPORT_MAX_DAYS = env_int("USAGE_EXPORT_MAX_DAYS", 365, minimum=1, maximum=3660)
# Analytics results are cached until the next ingestion writes, at most this long (0 = no cache).
USAGE_ANALYTICS_CACHE_SECONDS = env_int("USAGE_ANALYTICS_CACHE_SECONDS", 600, minimum=0, maximum=86_400)
# Seconds the budget card's live LiteLLM figures are cached per user.
USAGE_BUDGET_CACHE_SECONDS = env_int("USAGE_BUDGET_CACHE_SECONDS", 30, minimum=0, maximum=600)

# API keys (apikeys app)
# A key row still "provisioning" after this long is a crashed create: the sweep deletes it in LiteLLM.
APIKEY_PROVISIONING_GRACE_SECONDS = env_int("APIKEY_PROVISIONING_GRACE_SECONDS", 300, minimum=30)
# Shown before the random part of every key the portal mints (must start with "sk-" for LiteLLM).
APIKEY_SECRET_PREFIX = env_str("APIKEY_SECRET_PREFIX", "sk-ltm-")
if not APIKEY_SECRET_PREFIX.startswith("sk-"):
    raise ImproperlyConfigured("APIKEY_SECRET_PREFIX must start with 'sk-' (LiteLLM requires it)")
# Seconds a user's batch of live spend figures (one /key/list call) is cached for pages.
APIKEY_SPEND_CACHE_SECONDS = env_int("APIKEY_SPEND_CACHE_SECONDS", 60, minimum=0)
# Celery retries of one revocation before the every-minute sweep takes over.
APIKEY_REVOKE_MAX_RETRIES = env_int("APIKEY_REVOKE_MAX_RETRIES", 5, minimum=0, maximum=20)
# Per-model budgets (LiteLLM model_max_budget) need a LiteLLM Enterprise licence; off = refused with a 400.
APIKEY_PER_MODEL_BUDGET_ENABLED = env_bool("APIKEY_PER_MODEL_BUDGET_ENABLED", False)
# Chat playground: short-lived keys minted per session instead of revealing a stored secret.
# Never unlimited: an empty value falls back to the default.
PLAYGROUND_KEY_BUDGET = env_decimal("PLAYGROUND_KEY_BUDGET", Decimal("0.50")) or Decimal("0.50")
PLAYGROUND_KEY_TTL_SECONDS = env_int("PLAYGROUND_KEY_TTL_SECONDS", 3600, minimum=60, maximum=86_400)
PLAYGROUND_MAX_LIVE_KEYS = env_int("PLAYGROUND_MAX_LIVE_KEYS", 3, minimum=1, maximum=20)

# Teams and budget alerts (teams app)
# Budget alert + runway job: every N minutes on beat (single-flight; a slower run skips the next tick).
BUDGET_ALERT_INTERVAL_MINUTES = env_int("BUDGET_ALERT_INTERVAL_MINUTES", 5, minimum=1, maximum=60)
# Thresholds (percent of a budget) users get unless they choose others on the notification settings page.
BUDGET_ALERT_DEFAULT_THRESHOLDS = [int(v) for v in env_list("BUDGET_ALERT_DEFAULT_THRESHOLDS", ["80", "95", "100"])]
# Share of a budget (percent) at which a target appears in the admins' daily digest.
BUDGET_ALERT_DIGEST_THRESHOLD = env_int("BUDGET_ALERT_DIGEST_THRESHOLD", 95, minimum=1, maximum=1000)
# Trailing window (days) of the runway forecast's spend rate.
BUDGET_ALERT_RUNWAY_DAYS = env_int("BUDGET_ALERT_RUNWAY_DAYS", 7, minimum=1, maximum=90)
# A budget without a reset period gets a runway alert when it runs out within this many days.
BUDGET_ALERT_RUNWAY_NO_RESET_DAYS = env_int("BUDGET_ALERT_RUNWAY_NO_RESET_DAYS", 7, minimum=1, maximum=365)
# Single-flight lock of the job (longer than the slowest run).
BUDGET_ALERT_LOCK_SECONDS = env_int("BUDGET_ALERT_LOCK_SECONDS", 600, minimum=60)
# Concurrent /user/info and /team/info reads for budgets the key list does not cover (bounded, no storms).
BUDGET_ALERT_READ_CONCURRENCY = env_int("BUDGET_ALERT_READ_CONCURRENCY", 4, minimum=1, maximum=16)
# Outbound alert webhooks: per-attempt timeout and attempts per delivery (the job re-sends pending ones).
BUDGET_ALERT_WEBHOOK_TIMEOUT_SECONDS = env_int("BUDGET_ALERT_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1, maximum=30)
BUDGET_ALERT_WEBHOOK_ATTEMPTS = env_int("BUDGET_ALERT_WEBHOOK_ATTEMPTS", 3, minimum=1, maximum=10)
# A delivery still failing after this many job runs is marked failed and left alone.
BUDGET_ALERT_DELIVERY_MAX_RUNS = env_int("BUDGET_ALERT_DELIVERY_MAX_RUNS", 5, minimum=1, maximum=50)
# Allow alert webhooks to private / loopback addresses (off in production: SSRF guard; tests turn it on).
BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE = env_bool("BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE", DEBUG)
# Seconds a team's / user's live LiteLLM spend is cached for pages (effective limits, team pages).
TEAM_SPEND_CACHE_SECONDS = env_int("TEAM_SPEND_CACHE_SECONDS", 60, minimum=0, maximum=3600)
# Most teams a user may own (self-service create); admins are not limited.
TEAM_MAX_OWNED_PER_USER = env_int("TEAM_MAX_OWNED_PER_USER", 10, minimum=0, maximum=1000)

# ---------------------------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "litemaas@localhost")
# Send every in-app notification by e-mail too (to users who have an address).
NOTIFICATION_EMAIL_ENABLED = env_bool("NOTIFICATION_EMAIL_ENABLED", False)
# Absolute portal URL put before the links of alert e-mails and webhooks (empty: relative links). A worker has
# no request to build it from, so it is configured; http(s), a host, no trailing slash, no query or fragment.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL")
_portal_url = urlsplit(PORTAL_BASE_URL)
if PORTAL_BASE_URL and (_portal_url.scheme not in ("http", "https") or not _portal_url.hostname
                        or PORTAL_BASE_URL.endswith("/") or "?" in PORTAL_BASE_URL or "#" in PORTAL_BASE_URL):
    raise ImproperlyConfigured(f"PORTAL_BASE_URL must be an absolute http(s) URL without a trailing slash, such as "
                               f"https://portal.example.com; got {PORTAL_BASE_URL!r}")
# Display currency for prices and spend until an admin picks one in the portal (no conversion: LiteLLM is USD).
PORTAL_CURRENCY_CODE = env_str("PORTAL_CURRENCY_CODE", "USD")

# ---------------------------------------------------------------------------------------------------------
# Internationalisation, static files
# ---------------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# Shipped languages, named in their own language for the switcher. locale/<code>/LC_MESSAGES holds the
# catalogues; scripts/i18n.sh updates and compiles them and tests/portal/test_i18n.py fails on gaps.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "litemaas_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A signed-in user's stored language (User.preferred_language) wins over the cookie and the browser.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "litemaas.portal_middleware.UserLanguageMiddleware")
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# ---------------------------------------------------------------------------------------------------------
# Security (check --deploy is clean with DEBUG off)
# ---------------------------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content security policy (django-csp): scripts only from our origin or inline with the per-request nonce
# (templates use {{ request.csp_nonce }}; never 'unsafe-inline' for scripts, so no inline event handlers);
# the playground calls LiteLLM from the browser, hence LITELLM_PUBLIC_URL in connect-src. Styles keep
# 'unsafe-inline' for style attributes (a nonce would not cover them and would disable 'unsafe-inline').
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF, *([LITELLM_PUBLIC_URL] if LITELLM_PUBLIC_URL else [])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
if not DEBUG:
    # TLS ends at the OpenShift Route / Ingress, which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Preloading is a one-way, domain-wide commitment for the operator to make (SECURE_HSTS_PRELOAD), not a
    # default; without this, check --deploy --fail-level WARNING could never pass with the default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    LANGUAGE_COOKIE_SECURE = True

# ---------------------------------------------------------------------------------------------------------
# Logging: one line per event, with the request id; JSON in production.
# ---------------------------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])
LOG_FORMAT = env_choice("LOG_FORMAT", "text" if DEBUG else "json", ["text", "json"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "litemaas.logging.RequestContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "litemaas.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Configuring "django" and "django.server" drops the handlers Django's default config gave them,
        # which would print a second copy of each line without the request id.
        "django": {"level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------------------------------------
# Observability and high availability (deploy/README.md explains each knob)
# ---------------------------------------------------------------------------------------------------------
# No secret reaches a log line: API keys (sk-…), personal tokens (ltm_…), bearer credentials and the
# master key's value are masked by a filter on the one console handler.
LOGGING["filters"]["redact_secrets"] = {"()": "litemaas.logging.SecretRedactingFilter"}
LOGGING["handlers"]["console"]["filters"].append("redact_secrets")
# gunicorn's JSON access line (deploy/container/gunicorn.conf.py) carries the request and user ids.
MIDDLEWARE.insert(
    MIDDLEWARE.index("litemaas.middleware.ActiveUserMiddleware") + 1,
    "litemaas.observability.AccessLogContextMiddleware",
)

# Static files from the container itself (WhiteNoise), so no extra web server is needed in the pod.
# The image sets STATICFILES_MANIFEST=true (hashed names, cached for a year); collectstatic runs at build.
STATIC_SERVE = env_bool("STATIC_SERVE", not DEBUG)
if STATIC_SERVE:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {
            "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATICFILES_MANIFEST", False)
            else "whitenoise.storage.CompressedStaticFilesStorage"
        },
    }

# OpenTelemetry tracing (Django, requests, Celery, psycopg) is on only when an OTLP endpoint is set; the
# exporter reads the standard OTEL_* variables itself (OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, …).
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT") or env_str(
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)
OTEL_TRACING_ENABLED = bool(OTEL_EXPORTER_OTLP_ENDPOINT) and env_bool("OTEL_TRACING_ENABLED", True)

# Business metrics (litemaas.metrics): aggregate queries run at scrape time, shared through the cache for
# this many seconds so three web replicas scraped every 30 s cost one round of queries, not three.
METRICS_BUSINESS_ENABLED = env_bool("METRICS_BUSINESS_ENABLED", True)
METRICS_BUSINESS_CACHE_SECONDS = env_int("METRICS_BUSINESS_CACHE_SECONDS", 15, minimum=0, maximum=300)
# /metrics answers only direct (pod-IP) scrapes unless METRICS_ALLOW_PROXIED; METRICS_TOKEN adds a bearer check.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOW_PROXIED = env_bool("METRICS_ALLOW_PROXIED", False)

# Celery under rolling updates: a SIGTERMed worker finishes what it runs (warm shutdown, bounded by the
# hard time limit, which the manifests' terminationGracePeriodSeconds exceeds). acks_late stays a
# per-task decision (only for tasks proven idempotent); for those, a lost worker or broker connection
# hands the message back instead of running it twice.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Redis redelivers an unacknowledged message after this long; it must exceed the longest countdown.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600, minimum=60),
}
if REDIS_SENTINELS:
    # CELERY_BROKER_URL is then "sentinel://host1:26379;sentinel://host2:26379/0".
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
    if REDIS_SENTINEL_PASSWORD:
        CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = {"password": REDIS_SENTINEL_PASSWORD}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = dict(CELERY_BROKER_TRANSPORT_OPTIONS)

# Backups (manage.py backup_db / restore_db; the CronJob in deploy/kustomize runs the first).
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(BASE_DIR / "backups")))
BACKUP_KEEP = env_int("BACKUP_KEEP", 7, minimum=1)
# Optional copy of every dump to S3-compatible storage (needs the "s3" extra: boto3).
BACKUP_S3_URI = env_str("BACKUP_S3_URI")  # s3://bucket/prefix
BACKUP_S3_ENDPOINT_URL = env_str("BACKUP_S3_ENDPOINT_URL")
