"""ConsentVault settings, read from the environment through django-environ.

Every setting an operator may change is an environment variable (or a line in
a ``.env`` file beside ``manage.py``). Bad values stop start-up with an
``ImproperlyConfigured`` error that names the variable.
"""
import ipaddress
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from consentvault import __version__
from apikeys.rates import parse_rate
from consents.crypto import KeyConfigurationError, parse_blind_index_key, parse_master_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = __version__

env = environ.Env()
# Variables already set in the environment win over the file. An empty
# CONSENTVAULT_ENV_FILE reads no file.
_env_file = env.str("CONSENTVAULT_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file)

DEBUG = env.bool("DEBUG", default=False)
# `manage.py generate_key` makes the first keys of a new installation, so it
# runs before anything else is configured: the checks below skip it.
KEY_GENERATION_ONLY = sys.argv[1:2] == ["generate_key"]


def _secret_key_problem(value: str) -> str | None:
    """Return why ``value`` is unfit as SECRET_KEY, or None when it is fit.

    The thresholds are the ones ``manage.py check --deploy`` applies.
    """
    if not value:
        return "is missing"
    if value.startswith("django-insecure-"):
        return "starts with 'django-insecure-', the prefix of generated development keys"
    if len(value) < 50:
        return f"is too short ({len(value)} characters, at least 50 required)"
    if len(set(value)) < 5:
        return "has fewer than 5 distinct characters"
    return None


SECRET_KEY = env.str("SECRET_KEY", default="")
_problem = _secret_key_problem(SECRET_KEY)
if _problem and not DEBUG and not KEY_GENERATION_ONLY:
    raise ImproperlyConfigured(
        f"SECRET_KEY {_problem}. Set SECRET_KEY to a random string of at least 50 "
        "characters, for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
if _problem:
    # DEBUG only: a per-process key, so sessions do not survive a restart.
    SECRET_KEY = get_random_secret_key()

# Loopback names are always allowed, so health probes run inside a container
# or on the host reach the service whatever ALLOWED_HOSTS lists.
ALLOWED_HOSTS = [*env.list("ALLOWED_HOSTS", default=[]), "127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "apikeys",
    "consents",
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "consentvault.urls"
WSGI_APPLICATION = "consentvault.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# The embedded default is a SQLite file for the quick start; production and the
# test suite use PostgreSQL through DATABASE_URL.
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'consentvault.sqlite3'}"
    )
}
_database = DATABASES["default"]
# django-prometheus's backends subclass Django's and count queries and errors.
_database["ENGINE"] = _database["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")
if _database["ENGINE"] == "django_prometheus.db.backends.postgresql":
    _database.setdefault("OPTIONS", {})
    _database["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
    _statement_timeout_ms = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=30_000)
    _database["OPTIONS"].setdefault("options", f"-c statement_timeout={_statement_timeout_ms}")
    # Persistent connections: one per gunicorn worker thread, reopened after
    # DATABASE_CONN_MAX_AGE seconds or when the health check finds it broken.
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _database["CONN_HEALTH_CHECKS"] = True
elif _database["ENGINE"] == "django_prometheus.db.backends.sqlite3":
    _database.setdefault("OPTIONS", {})
    # WAL and IMMEDIATE transactions let several gunicorn workers share the
    # file without "database is locked" errors on concurrent writes.
    _database["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    _database["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    _database["OPTIONS"].setdefault("timeout", 20)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------
# Redis (through django-redis) when REDIS_URL is set; otherwise the per-process
# local-memory cache of the quick start.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="consentvault"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Seconds. Short, so a Redis that drops packets delays a
                # request by a fraction of a second at most.
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.25),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Metrics --------------------------------------------------------------------------
# /metrics requires Authorization: Bearer <METRICS_TOKEN> when the token is set;
# otherwise it serves only clients in METRICS_ALLOWED_NETWORKS (comma-separated
# CIDR blocks; the client address is read as for rate limiting).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(block.strip())
        for block in env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
        if block.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}; write CIDR blocks such as 10.0.0.0/8.") from None
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Internationalisation and time -------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (the admin and the offline API docs UI) ----------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # filled by collectstatic; WhiteNoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders when collectstatic has not run (tests).
WHITENOISE_USE_FINDERS = True

# --- Personal-data encryption ----------------------------------------------------------
# CONSENTVAULT_MASTER_KEYS: comma-separated master keys; the first wraps new
# data keys and every one unwraps. CONSENTVAULT_BLIND_INDEX_KEY: the HMAC key of
# the lookup indexes, never rotated with the master keys. Both are checked here,
# so the server and every manage.py command refuse to start with a bad value.
if KEY_GENERATION_ONLY:
    CONSENTVAULT_KEYRING = CONSENTVAULT_BLIND_INDEX_KEY = None
else:
    try:
        CONSENTVAULT_KEYRING = parse_master_keys(env.str("CONSENTVAULT_MASTER_KEYS", default=""))
        CONSENTVAULT_BLIND_INDEX_KEY = parse_blind_index_key(env.str("CONSENTVAULT_BLIND_INDEX_KEY", default=""))
    except KeyConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None

# --- Rate limiting ----------------------------------------------------------------------
# Counted in the default cache with django-ratelimit, so that every gunicorn
# worker and every host shares the counts. Rates are requests per period in
# django-ratelimit's form: 1200/m, 5/10s, 100000/d.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env.bool("CONSENTVAULT_RATE_LIMITS_ENABLED", default=True)
_rates = {}
for _name, _default in (
    ("CONSENTVAULT_RATE_READ", "1200/m"),  # per API key, GET requests
    ("CONSENTVAULT_RATE_WRITE", "600/m"),  # per API key, other methods
    ("CONSENTVAULT_RATE_ANON", "60/m"),  # per client IP, requests without a valid key
    ("CONSENTVAULT_RATE_ADMIN_LOGIN", "10/m"),  # admin login attempts, per client IP and per user name
):
    _rates[_name] = env.str(_name, default=_default)
    try:
        parse_rate(_rates[_name])
    except ValueError as exc:
        raise ImproperlyConfigured(f"{_name}: {exc}.") from None
CONSENTVAULT_RATE_READ = _rates["CONSENTVAULT_RATE_READ"]
CONSENTVAULT_RATE_WRITE = _rates["CONSENTVAULT_RATE_WRITE"]
CONSENTVAULT_RATE_ANON = _rates["CONSENTVAULT_RATE_ANON"]
CONSENTVAULT_RATE_ADMIN_LOGIN = _rates["CONSENTVAULT_RATE_ADMIN_LOGIN"]
# How many proxies in front of the service append to X-Forwarded-For. 0: the
# header is ignored and the socket address is the client's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more (got {TRUSTED_PROXY_COUNT}).")
if RATELIMIT_ENABLE and not DEBUG and not REDIS_URL and not KEY_GENERATION_ONLY:
    raise ImproperlyConfigured(
        "REDIS_URL is not set, but DEBUG is off and rate limiting is on: limits would be counted in each "
        "worker's local memory and not shared. Set REDIS_URL, or DEBUG=true for a local trial."
    )

# --- API-key cache -------------------------------------------------------------------
# Seconds a worker may keep an API-key row read from PostgreSQL (apikeys.keycache).
# Every request still checks a token in Redis, so a change through the service
# applies to the next request. The lifetime bounds two things: how long a change
# made directly in SQL takes to apply, and how long a change waits when Redis
# is unreachable. 0 reads the row on every request. Used only with REDIS_URL.
# At most 20, so that a change waiting it out ends well within gunicorn's
# request timeout (GUNICORN_TIMEOUT, 30 s by default).
_key_cache_seconds = env.str("CONSENTVAULT_API_KEY_CACHE_SECONDS", default="5")
try:
    CONSENTVAULT_API_KEY_CACHE_SECONDS = float(_key_cache_seconds)
except ValueError:
    CONSENTVAULT_API_KEY_CACHE_SECONDS = float("nan")  # not a number: rejected just below
if not 0 <= CONSENTVAULT_API_KEY_CACHE_SECONDS <= 20:
    raise ImproperlyConfigured(
        f"CONSENTVAULT_API_KEY_CACHE_SECONDS must be between 0 and 20 seconds (got {_key_cache_seconds!r})."
    )

# --- HTTPS and cookies (DEBUG off) -------------------------------------------------------
# TLS ends at the proxy in front of the service. Behind a trusted proxy, Django
# reads its X-Forwarded-Proto header to learn whether the request used HTTPS.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^metrics$"]  # probes and scrapers use plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)  # one year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Request limits --------------------------------------------------------------
# Bytes. JSON bodies above this are rejected with 413 before parsing.
CONSENTVAULT_MAX_BODY_BYTES = env.int("CONSENTVAULT_MAX_BODY_BYTES", default=1024 * 1024)
# Bytes, for POST /v1/consents/check only: 10,000 subject ids of up to 255
# characters each need more room than a single write.
CONSENTVAULT_MAX_CHECK_BODY_BYTES = env.int("CONSENTVAULT_MAX_CHECK_BODY_BYTES", default=4 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CONSENTVAULT_MAX_CHECK_BODY_BYTES

# Hours an Idempotency-Key is remembered. Clients may retry within this window.
CONSENTVAULT_IDEMPOTENCY_TTL_HOURS = env.int("CONSENTVAULT_IDEMPOTENCY_TTL_HOURS", default=24)
if CONSENTVAULT_IDEMPOTENCY_TTL_HOURS < 24:
    raise ImproperlyConfigured(
        "CONSENTVAULT_IDEMPOTENCY_TTL_HOURS must be at least 24 "
        f"(got {CONSENTVAULT_IDEMPOTENCY_TTL_HOURS}), because clients are promised a day to retry."
    )

# --- Django REST framework and the OpenAPI schema --------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apikeys.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apikeys.permissions.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["consentvault.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "consentvault.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "consentvault.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    # Escape non-ASCII characters in responses, so that no input echoed back
    # (a lone surrogate, say) can make the renderer fail.
    "UNICODE_JSON": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ConsentVault API",
    "DESCRIPTION": (
        "Records what each person agreed to, keeps the proof in an append-only ledger, "
        "and answers whether a consent may be relied on now. Authenticate with the "
        "`X-Api-Key` header. Every error is an RFC 9457 problem document."
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ConsentActionEnum": "consents.models.Action",
        "ConsentStatusEnum": "consents.models.ConsentStatus",
        "LegalBasisEnum": "consents.models.LegalBasis",
        "ApiKeyScopeEnum": "apikeys.models.Scope",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "consentvault.schema.add_problem_responses",
    ],
}

# --- Logging ------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ops.jsonlog.JsonFormatter"},
    },
    "filters": {
        "redact_paths": {"()": "ops.jsonlog.RedactDjangoRequestPaths"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "consentvault.access": {"level": "INFO", "propagate": True},
        # 4xx responses are the client's business; 5xx are logged as errors.
        "django.request": {"level": "ERROR", "propagate": True, "filters": ["redact_paths"]},
        "django.server": {"level": "WARNING", "propagate": True},
        # A request with a Host outside ALLOWED_HOSTS gets a 400 and its access
        # line; Django's own error line with a traceback for each is only noise.
        "django.security.DisallowedHost": {"level": "CRITICAL", "propagate": True},
    },
}
