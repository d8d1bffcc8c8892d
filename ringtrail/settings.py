"""Django settings. Every value comes from the environment (see docs/self-hosting.md)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ringtrail.lib.config import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_optional_int,
    env_str,
    project_root,
)

BASE_DIR = Path(__file__).resolve().parent
HOME_DIR = project_root()
VAR_DIR = Path(env_str("RINGTRAIL_VAR_DIR", str(HOME_DIR / "var")))

INSECURE_DEFAULT_SECRET = "ringtrail-insecure-development-key-change-me"  # noqa: S105 - flagged below
DEBUG = env_bool("RINGTRAIL_DEBUG", False)
PRODUCTION = env_bool("RINGTRAIL_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET)
if PRODUCTION and SECRET_KEY == INSECURE_DEFAULT_SECRET:
    raise ImproperlyConfigured("RINGTRAIL_PRODUCTION is set but SECRET_KEY is the default; set a secret key.")

# Lets the traffic simulator compress hours into seconds (lib/clock.py); never in production.
SIMULATED_CLOCK = env_bool("RINGTRAIL_SIMULATED_CLOCK", False)
if PRODUCTION and SIMULATED_CLOCK:
    raise ImproperlyConfigured("RINGTRAIL_SIMULATED_CLOCK lets clients move the clock; not in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The URL carriers use to reach us; signatures are computed over it when we sit behind a proxy.
PUBLIC_URL = env_str("RINGTRAIL_PUBLIC_URL").rstrip("/")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "ringtrail.accounts",
    "ringtrail.carriers",
    "ringtrail.sources",
    "ringtrail.numbers",
    "ringtrail.calls",
    "ringtrail.flows",
    "ringtrail.dni",
    "ringtrail.visits",
    "ringtrail.screening",
    "ringtrail.callbacks",
    "ringtrail.dashboard",
]

MIDDLEWARE = [
    "ringtrail.lib.clock.SimulatedClockMiddleware",  # a no-op unless SIMULATED_CLOCK is on
    "ringtrail.lib.middleware.BodySizeLimitMiddleware",
    "ringtrail.lib.middleware.MachineEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ringtrail.urls"
WSGI_APPLICATION = "ringtrail.wsgi.application"

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
                "ringtrail.accounts.context.current_membership",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ringtrail.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
    # Seconds between WAL checkpoints run by a background thread in each process; 0 leaves them to
    # SQLite, inside whichever commit crosses 1 000 pages (lib/sqlite_writes.py).
    SQLITE_CHECKPOINT_SECONDS = env_float("SQLITE_CHECKPOINT_SECONDS", 0.2)
    # The WAL file's ceiling: past it the checkpointer rewinds the WAL (holding writers up briefly),
    # and a rewound WAL keeps a file up to this size, since overwriting is cheaper than allocating.
    SQLITE_WAL_LIMIT_MB = env_int("SQLITE_WAL_LIMIT_MB", 256)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_TIMEOUT", 20),
        # journal_size_limit: the commit that rewinds the WAL trims its file to SQLITE_WAL_LIMIT_MB.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            f" PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_MB * 1024 * 1024};"
        ),
    }
    # Tests use a real file (not shared-cache memory), so concurrency behaves as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side prepared statements after this many runs of a statement on a connection: psycopg's
    # default, which Django turns off for connection poolers. Unprepared, PostgreSQL planned each
    # returning visitor's reads anew and spent 0.37 ms of CPU on such a page view instead of 0.12 ms
    # (docs/benchmarks.md). "none" behind PgBouncer in transaction mode before 1.21.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = env_optional_int(
        "DB_PREPARE_THRESHOLD", 5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    }
else:
    CACHES = {
        # File-based so every web process on this host shares the routing snapshot used when the DB is
        # down; never culled, because a culled snapshot is a call that cannot be routed.
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "TIMEOUT": None,
            "OPTIONS": {"MAX_ENTRIES": 10_000_000},
        },
    }
# Rate-limit counters (lib/ratelimit.py) are in Redis when it is set, else in each process's memory.

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "calls:log"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Public carrier endpoints refuse bodies larger than this before parsing them.
CARRIER_MAX_BODY_BYTES = env_int("CARRIER_MAX_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
# Where a call goes when neither the database nor the routing cache can tell (E.164 or sip: URI).
FALLBACK_FORWARD_TO = env_str("RINGTRAIL_FALLBACK_FORWARD_TO")
SPOOL_DIR = Path(env_str("RINGTRAIL_SPOOL_DIR", str(VAR_DIR / "spool")))
# Key for encrypting carrier credentials at rest; derived from SECRET_KEY when unset.
ENCRYPTION_KEY = env_str("RINGTRAIL_ENCRYPTION_KEY")
DEFAULT_COUNTRY = env_str("RINGTRAIL_DEFAULT_COUNTRY", "US")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "httpx": {"level": "WARNING"}},
}

# WhiteNoise warns on every start when the collectstatic target is missing.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# DNI: requests per minute before a visitor's page gets the fallback number instead of a pool number.
DNI_RATE_PER_IP_PER_MINUTE = env_int("DNI_RATE_PER_IP_PER_MINUTE", 120)
DNI_RATE_PER_KEY_PER_MINUTE = env_int("DNI_RATE_PER_KEY_PER_MINUTE", 20_000)
# DNI: page views and heartbeats are written behind, every this many seconds per web process, in
# bulk (visits/buffer.py); 0 writes each one as it arrives.
DNI_RECORD_FLUSH_SECONDS = env_float("DNI_RECORD_FLUSH_SECONDS", 0.5)
# ...in transactions of at most this many hits, with this pause between them, so that the page views
# the same process answers meanwhile do not wait for one long write (docs/benchmarks.md).
DNI_RECORD_BATCH = env_int("DNI_RECORD_BATCH", 200)
DNI_RECORD_BATCH_PAUSE_SECONDS = env_float("DNI_RECORD_BATCH_PAUSE_SECONDS", 0.003)
# ...each transaction's rows built this many page views at a time, the interpreter lock let go between
# them (0: all at once). Smaller transactions instead cost returning page views a third of their
# throughput; slices do not (docs/benchmarks.md).
DNI_RECORD_SLICE = env_int("DNI_RECORD_SLICE", 25)
# DNI: `ringtrail serve` runs a recorder process that writes every worker's page views, so that no
# worker's requests wait behind a write (visits/recorder.py); at this niceness, so the workers come
# first for the CPUs. DNI_RECORDER=false: each worker writes its own.
DNI_RECORDER = env_bool("DNI_RECORDER", True)
DNI_RECORDER_NICE = env_int("DNI_RECORDER_NICE", 10)
# ...writing in transactions of this many hits (at most 2 000), this long between them, their rows
# built this many page views at a time with a short sleep between (0: all at once). No request waits
# for its interpreter lock, so unlike a worker's it needs no pauses; fewer, larger transactions keep
# it ahead of a saturated server, and its slices give the CPUs back to the workers now and then
# (docs/benchmarks.md).
DNI_RECORDER_BATCH = env_int("DNI_RECORDER_BATCH", 2000)
DNI_RECORDER_BATCH_PAUSE_SECONDS = env_float("DNI_RECORDER_BATCH_PAUSE_SECONDS", 0.0)
DNI_RECORDER_SLICE = env_int("DNI_RECORDER_SLICE", 25)
# DNI: the longest a web process serves an account's DNI configuration (sources, pools, numbers)
# without reloading it. Every write through the app tells every process at once (a version in the
# shared cache); this only bounds how long a change made around the app (SQL by hand) goes unseen.
# A pool of 160 000 numbers takes ~0.45 s of CPU to load.
DNI_CONFIG_MAX_AGE_SECONDS = env_float("DNI_CONFIG_MAX_AGE_SECONDS", 600.0)
# DNI: where visitor leases on pool numbers live: "sql" (the database) or "redis" (needs REDIS_URL).
DNI_LEASE_STORE = env_str("DNI_LEASE_STORE", "redis" if REDIS_URL else "sql")
# A page view of the same visit extends its lease only when the lease was extended at least this long
# ago: page views seconds apart need no write each (the SQL store's is a turn at SQLite's write lock).
DNI_LEASE_EXTEND_AFTER_SECONDS = env_float("DNI_LEASE_EXTEND_AFTER_SECONDS", 30.0)
# SQL lease store under load: at most this many numbers of a pool reserved ahead per process, their
# leases written behind by a thread of the process (ringtrail/dni/reservations.py); 0 writes every
# lease before its answer.
DNI_LEASE_RESERVE = env_int("DNI_LEASE_RESERVE", 2048)
# Call-back forms (docs/callbacks.md): requests an hour per visit session and per phone number.
CALLBACK_RATE_PER_SESSION_PER_HOUR = env_int("CALLBACK_RATE_PER_SESSION_PER_HOUR", 3)
CALLBACK_RATE_PER_PHONE_PER_HOUR = env_int("CALLBACK_RATE_PER_PHONE_PER_HOUR", 3)
CALLBACK_RATE_PER_IP_PER_MINUTE = env_int("CALLBACK_RATE_PER_IP_PER_MINUTE", 10)
