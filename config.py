"""Application configuration.

Everything that differs between a laptop and production comes from the environment:

DATABASE_URL   SQLAlchemy URL; default: SQLite file instance/backoffice.db. PostgreSQL is the
               production database (postgresql://… is accepted and mapped to psycopg 3).
SECRET_KEY     required in production (APP_ENV=production, at least 32 characters); a
               development key otherwise.
APP_ENV        "development" (default) or "production". Production never creates demo data.
HOST, PORT     where ./bin/start and the web service listen (default 127.0.0.1:5000).
REDIS_URL      Redis of the job queue (optional); /readyz checks it when set.
METRICS_TOKEN  bearer token Prometheus sends to /metrics (at least 16 characters); without it
               /metrics answers signed-in administrators (管理员) only.
LOG_FORMAT     "json" (default in production: one JSON object a line) or "text".
LOG_LEVEL      default INFO.
TIMEZONE       the product's clock (default Asia/Shanghai, 北京时间): times are stored and shown
               in it whatever the server's own zone (app/clock.py).
STATIC_MAX_AGE seconds browsers keep the CSS and JavaScript (default a year in production, 0 in
               development); their URLs carry the hash of the file's content (?v=…).
SMTP_HOST, SMTP_PORT, SMTP_FROM   e-mail sender for notifications (optional).
REDIS_URL      also keeps the login-throttle counters (instead of the database) when set.
PROXY_FIX_X_FOR   number of proxies in front of the app whose X-Forwarded-For/-Proto are
               trusted (default 0): the per-address throttle then sees the client's address.
SECRET_KEY_FALLBACKS   comma-separated former keys still accepted for session cookies while
               a new SECRET_KEY is rolled out.

Database connections (PostgreSQL; SQLAlchemy's QueuePool, one pool per web process):
DB_POOL_SIZE          connections each process keeps open (default 5)
DB_MAX_OVERFLOW       extra connections a process may open under a burst (default 10)
DB_POOL_TIMEOUT       seconds a request waits for a free connection before failing (default 30)
DB_POOL_RECYCLE       seconds after which a connection is replaced (default 1800)
DB_POOL_PRE_PING      1 (default): test a connection before use, so a restarted or failed-over
                      server costs no failed request
DB_POOL_PING_IDLE     seconds a connection sits idle in the pool before it is tested (default 1;
                      0: test it at every use) - app/pool_ping.py
DB_CONNECT_TIMEOUT    seconds to wait for the server when connecting (default 5)
A machine holds at most processes × (DB_POOL_SIZE + DB_MAX_OVERFLOW) connections; the sum over
all machines (web and worker) must stay under the server's max_connections (docs/scaling.md).

Every setting is checked when the application starts (app/settings.py): a production start
with a missing SECRET_KEY, a SQLite database or debug mode refuses with the list of problems.
"""

import os

from flask_appbuilder.security.manager import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.path.join(BASE_DIR, "instance")

APP_ENV = os.environ.get("APP_ENV", "development")
# Settings that could not be read; app/settings.py refuses to start with them listed.
SETTINGS_PROBLEMS: list[str] = []


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        SETTINGS_PROBLEMS.append(f"{name}={raw!r} is not a whole number")
        return default


def _seconds_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        SETTINGS_PROBLEMS.append(f"{name}={raw!r} is not a number of seconds (0 or more)")
        return default
    return value


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(
        INSTANCE_DIR, "backoffice.db"
    )
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


SQLALCHEMY_DATABASE_URI = database_url()
SQLALCHEMY_TRACK_MODIFICATIONS = False

DB_POOL_SIZE = _int_env("DB_POOL_SIZE", 5)
DB_MAX_OVERFLOW = _int_env("DB_MAX_OVERFLOW", 10)
DB_POOL_TIMEOUT = _int_env("DB_POOL_TIMEOUT", 30)
DB_POOL_RECYCLE = _int_env("DB_POOL_RECYCLE", 1800)
DB_POOL_PRE_PING = os.environ.get("DB_POOL_PRE_PING", "1").strip().lower() not in ("0", "false", "no")
DB_POOL_PING_IDLE = _seconds_env("DB_POOL_PING_IDLE", 1.0)
DB_CONNECT_TIMEOUT = _int_env("DB_CONNECT_TIMEOUT", 5)

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k]

# --- Operations (app/observability.py) -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or None
METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("json" if APP_ENV == "production" else "text")
LOG_LEVEL = os.environ.get("LOG_LEVEL") or "INFO"
WORKER_INTERVAL = _int_env("WORKER_INTERVAL", 10)  # seconds between two passes of the worker
# Hours a form's submission key is kept (a replayed 暂存 of a new form finds its record)
SUBMISSION_KEY_HOURS = _int_env("SUBMISSION_KEY_HOURS", 24)
# Seconds browsers keep the CSS and JavaScript (linked with ?v=<hash of the file's content>);
# 0: they ask again on every page, as a developer editing them wants.
STATIC_MAX_AGE = _int_env("STATIC_MAX_AGE", 365 * 24 * 3600 if APP_ENV == "production" else 0)

APP_NAME = "国际贸易单一窗口 · 业务管理后台"
APP_THEME = ""
APP_ICON = ""

# --- Security (Flask-AppBuilder) -------------------------------------------------------
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "管理员"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
# Tables come from Alembic migrations; permissions are synchronised by `run.py` after the
# upgrade, never as a side effect of building the app.
FAB_CREATE_DB = False
FAB_UPDATE_PERMS = False
FAB_ADD_SECURITY_API = False
FAB_API_SWAGGER_UI = True
# Every password set through FAB's forms meets app.passwords (set by the app factory).
FAB_PASSWORD_COMPLEXITY_ENABLED = True
PASSWORD_MIN_LENGTH = 10
JWT_ACCESS_TOKEN_EXPIRES = 8 * 3600
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# None: Secure cookies and HSTS exactly when APP_ENV=production (served over HTTPS).
SESSION_COOKIE_SECURE = None
SECURITY_HSTS = None
PROXY_FIX_X_FOR = _int_env("PROXY_FIX_X_FOR", 0)

# Login throttling (app.throttle): counters in the database, or in Redis with REDIS_URL.
AUTH_LOCKOUT_ATTEMPTS = 5        # failures of one account …
AUTH_LOCKOUT_MINUTES = 15        # … within this time lock it for this time
AUTH_ADDRESS_ATTEMPTS = 20       # failures from one address …
AUTH_ADDRESS_LOCK_MINUTES = 5    # … within this time refuse it for this time
LOOKUP_RATE = 300                # live-preview and pick look-ups of one user …
LOOKUP_WINDOW_SECONDS = 60       # … within this time; beyond that 429 until it ends

# --- Languages (Babel) -------------------------------------------------------------------
# Key zh_CN: FAB (ships "zh") and Flask-Admin (ships "zh_Hans_CN") both come up in Chinese.
LANGUAGES = {
    "zh_CN": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}
BABEL_DEFAULT_LOCALE = "zh_CN"
# The product's clock (app/clock.py): times are stored and shown in this zone, whatever the
# server's own.
BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "").strip() or "Asia/Shanghai"
# FAB prepends its own folder; ours comes after it and therefore wins.
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "i18n", "translations")

# --- Product settings ----------------------------------------------------------------------
LIST_PAGE_SIZE = 20
# 导出 streams (app/engine/exporting.py): its memory does not grow with the rows.
EXPORT_MAX_ROWS = 100_000
PRINT_FONT_PATHS = [
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]
REPORTS_DIR = os.path.join(BASE_DIR, "reports")
UPLOAD_MAX_BYTES = 8 * 1024 * 1024  # hard ceiling of one request; slots declare their own
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
# The single window exchange folder (inbox/, outbox/, rejected/, done/): app/engine/exchange.py.
EXCHANGE_DIR = os.environ.get("EXCHANGE_DIR", os.path.join(INSTANCE_DIR, "exchange"))

# Background jobs (app/engine/jobs.py): on Redis (REDIS_URL) through the queue JOB_QUEUE, else in
# JOB_THREADS threads of the process that starts them.  A running job whose progress has not
# moved for JOB_STALE_AFTER seconds shows as 已中断 and may be run again.
JOB_QUEUE = os.environ.get("JOB_QUEUE", "backoffice")
JOB_THREADS = _int_env("JOB_THREADS", 2)
JOB_STALE_AFTER = _int_env("JOB_STALE_AFTER", 300)
JOB_TIMEOUT = _int_env("JOB_TIMEOUT", 3600)
# Above these a list's 导出 and 批量打印 become background jobs.
EXPORT_INLINE_ROWS = 10_000
PRINT_INLINE_RECORDS = 50
IMPORT_INLINE_BYTES = 1024 * 1024  # an uploaded 导入 file larger than this: a background job

SMTP_HOST = os.environ.get("SMTP_HOST")
SMTP_PORT = _int_env("SMTP_PORT", 25)
SMTP_FROM = os.environ.get("SMTP_FROM", "noreply@singlewindow.local")
NOTIFY_SENDERS = {
    "email": "app.engine.notify.SmtpSender",
    "sms": "app.engine.notify.LogSmsSender",
}
