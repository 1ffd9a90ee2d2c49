"""What operators see of a running backoffice: request ids, structured logs, Prometheus metrics,
health and readiness.

- Every request has an id: the caller's ``X-Request-ID`` when it is a plain token (a proxy's or
  a load balancer's), a new one otherwise.  It is returned as the ``X-Request-ID`` header, is
  on every log line written while the request runs and on every error page (HTML and JSON), so
  a user's "请求编号" finds the log lines of what went wrong.
- Logs go to standard error, one JSON object a line with ``LOG_FORMAT=json`` (the default in
  production), readable text otherwise; one access line per request carries the endpoint, the
  status, the duration and the number of SQL statements.
- ``/healthz`` answers while the process serves; ``/readyz`` checks the database, Redis (when
  ``REDIS_URL`` is set) and that the database carries every migration of this release.
- ``/metrics`` (Prometheus text format) for the operators' Prometheus: a bearer token
  (``METRICS_TOKEN``) or a signed-in 管理员; nobody else.  Under gunicorn the metrics of every
  worker process are added up (prometheus_client's multiprocess mode,
  ``PROMETHEUS_MULTIPROC_DIR``, which deploy/gunicorn.conf.py sets up).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

REQUEST_ID_HEADER = "X-Request-ID"
_ENV_ID = "backoffice.request_id"
_ENV_START = "backoffice.started"
# What a proxy's or load balancer's id looks like (UUIDs, hex, nginx's $request_id, AWS's
# Root=1-…); anything else (spaces, quotes, newlines, 200 characters) is replaced.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=-]{0,127}")
_PROBES = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})

access_log = logging.getLogger("backoffice.access")
log = logging.getLogger(__name__)


# --- request id --------------------------------------------------------------------------
def request_id() -> str | None:
    """The current request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    environ = request.environ
    rid = environ.get(_ENV_ID)
    if rid is None:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if _VALID_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ[_ENV_ID] = rid
    return rid


# --- logs --------------------------------------------------------------------------------
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "request_id", "taskName"}


def _install_record_factory() -> None:
    """Every log record gets ``request_id`` when it is made, whichever handler writes it."""
    old = logging.getLogRecordFactory()
    if getattr(old, "_backoffice", False):
        return

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        record.request_id = request_id()
        return record

    factory._backoffice = True
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, request_id, then the record's extras
    (``log.info("…", extra={"status": 200})``) and the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (a test's capture, gunicorn's stream)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """The process's logging: one handler on the root logger, in the chosen format."""
    _install_record_factory()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(formatter(fmt))
    root.setLevel(level.upper())


def owns_logging() -> bool:
    """True once the application has configured logging (migrations/env.py leaves it be)."""
    return any(isinstance(h, StderrHandler) for h in logging.getLogger().handlers)


def gunicorn_logconfig(fmt: str, level: str = "INFO") -> dict:
    """gunicorn's ``logconfig_dict``: its own messages through the same handler and format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
        "handlers": {"stderr": {"()": StderrHandler, "formatter": fmt}},
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
    }


# --- metrics -----------------------------------------------------------------------------
REQUEST_SECONDS = Histogram(
    "backoffice_http_request_duration_seconds", "Time to answer a request, by endpoint",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
REQUEST_SQL = Histogram(
    "backoffice_http_request_sql_statements", "SQL statements one request executed",
    ["endpoint"], buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377))
LOGIN_FAILURES = Counter(
    "backoffice_login_failures", "Refused sign-ins: the login form shown again, API 401/429",
    ["channel"])


class _LiveCollector:
    """Figures read from the database and Redis at each scrape (the same in every process)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        queue = GaugeMetricFamily("backoffice_job_queue_length",
                                  "Jobs waiting: the notification outbox, and RQ queues",
                                  labels=["queue"])
        failed = GaugeMetricFamily("backoffice_outbox_failed_messages",
                                   "Notices given up after every retry (need an operator)")
        try:
            counts = _outbox_counts(self.app)
        except Exception:  # noqa: BLE001 - a scrape reports what it can; /readyz tells why
            log.warning("metrics: outbox not readable", exc_info=True)
        else:
            queue.add_metric(["outbox"], counts.get("pending", 0))
            failed.add_metric([], counts.get("failed", 0))
        if self.app.config.get("REDIS_URL"):
            try:
                for name, length in _rq_queue_lengths(self.app).items():
                    queue.add_metric([f"rq:{name}"], length)
            except Exception:  # noqa: BLE001
                log.warning("metrics: Redis not readable", exc_info=True)
        yield queue
        yield failed


def _outbox_counts(app) -> dict[str, int]:
    from app import db
    from app.engine.notify import OutboxMessage

    stmt = (select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(("pending", "failed")))
            .group_by(OutboxMessage.status))
    with db.engine.execution_options(sqlite_deferred_begin=True).connect() as conn:
        return dict(conn.execute(stmt).all())


def _redis(app):
    import redis

    client = app.extensions.get("backoffice_redis")
    if client is None:
        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=2,
                                      socket_connect_timeout=2)
        app.extensions["backoffice_redis"] = client
    return client


def _rq_queue_lengths(app) -> dict[str, int]:
    """RQ keeps the set ``rq:queues`` of its queue keys ``rq:queue:<name>`` (lists)."""
    client = _redis(app)
    out = {}
    for key in sorted(client.smembers("rq:queues")):
        key = key.decode() if isinstance(key, bytes) else key
        out[key.removeprefix("rq:queue:")] = client.llen(key)
    return out


def _metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(
            header[len("Bearer "):].strip().encode(), token.encode()):
        return True
    from app.engine import policy

    actor = policy.current_actor()
    return policy.may_administer(actor)


# --- health ------------------------------------------------------------------------------
def _check_database() -> str:
    from app import db

    with db.engine.execution_options(sqlite_deferred_begin=True).connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


_HEADS: dict[str, frozenset[str]] = {}


def _check_migrations() -> str:
    """"ok" when the database stands at every head revision of this release's migrations."""
    from alembic.script import ScriptDirectory

    from app import BASE_DIR, db

    where = os.path.join(BASE_DIR, "migrations")
    heads = _HEADS.get(where)
    if heads is None:
        heads = _HEADS[where] = frozenset(ScriptDirectory(where).get_heads())
    with db.engine.execution_options(sqlite_deferred_begin=True).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return "pending"
        current = frozenset(conn.execute(text("SELECT version_num FROM alembic_version"))
                            .scalars())
    return "ok" if current == heads else "pending"


def _check_redis() -> str:
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        return "not configured"
    _redis(app).ping()
    return "ok"


bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {}
    for name, check in (("database", _check_database), ("migrations", _check_migrations),
                        ("redis", _check_redis)):
        if name == "migrations" and checks.get("database") != "ok":
            checks[name] = "unknown"
            continue
        try:
            checks[name] = check()
        except Exception as e:  # noqa: BLE001 - readiness reports, never raises
            log.warning("readiness: %s failed: %s", name, e)
            checks[name] = f"failed: {type(e).__name__}"
    ready = all(v in ("ok", "not configured") for v in checks.values())
    body = jsonify(status="ready" if ready else "not ready", checks=checks)
    return body, 200 if ready else 503


@bp.get("/metrics")
def metrics():
    from flask import abort

    if not _metrics_allowed():
        abort(403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    live = CollectorRegistry(auto_describe=False)
    live.register(_LiveCollector(current_app._get_current_object()))
    body += generate_latest(live)
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


# --- the request hooks -------------------------------------------------------------------
def _count_sql(conn, cursor, statement, parameters, context, executemany):
    if has_request_context():
        environ = request.environ
        environ["backoffice.sql"] = environ.get("backoffice.sql", 0) + 1


class _Started:
    """WSGI middleware: the time a request arrived, before Flask routes it."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ[_ENV_START] = time.perf_counter()
        return self.wsgi_app(environ, start_response)


def _after_request(response):
    rid = request_id()
    response.headers[REQUEST_ID_HEADER] = rid
    status = response.status_code
    if status >= 400 and response.is_json and not response.direct_passthrough:
        data = response.get_json(silent=True)
        if isinstance(data, dict) and "request_id" not in data:
            data["request_id"] = rid
            response.set_data(current_app.json.dumps(data))
    endpoint = request.endpoint or "unmatched"
    started = request.environ.get(_ENV_START)
    seconds = time.perf_counter() - started if started is not None else 0.0
    sql = request.environ.get("backoffice.sql", 0)
    REQUEST_SECONDS.labels(endpoint, request.method, str(status)).observe(seconds)
    REQUEST_SQL.labels(endpoint).observe(sql)
    if request.method == "POST":
        if endpoint == "AuthDBView.login" and _form_login_refused(response):
            _login_failed("form")
        elif endpoint == "SecurityApi.login" and status in (401, 429):
            _login_failed("api")
    access_log.log(
        logging.DEBUG if endpoint in _PROBES else logging.INFO,
        "%s %s %s %.1fms", request.method, request.path, status, seconds * 1000,
        extra={"method": request.method, "path": request.path, "endpoint": endpoint,
               "status": status, "duration_ms": round(seconds * 1000, 2), "sql": sql,
               "remote_addr": request.remote_addr})
    return response


def _form_login_refused(response) -> bool:
    """The sign-in form refuses by showing itself again: directly (an incomplete form, 200; too
    many attempts, 429) or through a redirect back to the login page (wrong password)."""
    if response.status_code in (200, 429):
        return True
    if 300 <= response.status_code < 400:
        return urlsplit(response.location or "").path == request.path
    return False


def _login_failed(channel: str) -> None:
    LOGIN_FAILURES.labels(channel).inc()
    username = request.form.get("username") if channel == "form" else (
        (request.get_json(silent=True) or {}).get("username")
        if request.is_json else None)
    log.warning("sign-in refused", extra={"event": "login_failed", "channel": channel,
                                          "username": str(username or "")[:64],
                                          "remote_addr": request.remote_addr})


# --- error pages -------------------------------------------------------------------------
def _error_message(e: HTTPException) -> str:
    from flask_wtf.csrf import CSRFError

    from app.engine.i18n import gettext as _

    if isinstance(e, CSRFError):
        return _("页面已过期，请刷新页面后重试")
    messages = {
        400: _("请求无效"),
        401: _("请先登录"),
        403: _("没有权限访问此页面"),
        404: _("页面不存在"),
        405: _("不支持此请求方法"),
        413: _("上传的内容过大"),
        429: _("请求过于频繁，请稍后再试"),
        503: _("服务暂时不可用，请稍后再试"),
    }
    if e.code in messages:
        return messages[e.code]
    if e.code is not None and e.code >= 500:
        return _("系统内部错误，请稍后再试")
    return _("请求无效")


def _handle_http_error(e: HTTPException):
    if e.code is None or e.code < 400:  # routing redirects are HTTPExceptions too
        return e
    if e.code >= 500:
        from app import db

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            pass
    if e.response is not None:  # abort(response): the view chose its answer
        return e.response
    message = _error_message(e)
    rid = request_id()
    # Allow (405), WWW-Authenticate (401), Retry-After (429, 503) … stay with the answer
    headers = {k: v for k, v in e.get_headers() if k.lower() != "content-type"}
    if request.path.startswith("/api/") or (
            request.accept_mimetypes.best_match(["text/html", "application/json"])
            == "application/json"):
        return jsonify(message=message, request_id=rid), e.code, headers
    from flask import render_template

    try:
        html = render_template("engine/error.html", message=message, status=e.code,
                               appbuilder=current_app.appbuilder)
    except Exception:  # noqa: BLE001 - the page of a broken database must still show
        log.exception("error page could not be rendered")
        from markupsafe import escape

        from app.engine.i18n import gettext as _

        html = (f'<!doctype html><meta charset="utf-8"><title>{e.code}</title>'
                f"<p>{escape(message)}</p><p>{escape(_('请求编号'))}: "
                f"<code>{escape(rid)}</code></p>")
    return html, e.code, headers


# --- static files ------------------------------------------------------------------------
STATIC_ENDPOINTS = frozenset({"static", "appbuilder.static", "admin.static"})


def static_stamp() -> str:
    """Changes with the product's own static files and with the FAB / Flask-Admin release."""
    import hashlib

    import flask_admin
    import flask_appbuilder

    digest = hashlib.sha1(f"{flask_appbuilder.__version__}|{flask_admin.__version__}".encode())
    root = os.path.join(os.path.dirname(__file__), "static")
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def _static_caching(app) -> None:
    """STATIC_MAX_AGE > 0 (production): the pages link each CSS and JavaScript file with
    ``?v=<hash of its content>`` and browsers keep such a URL that long (a year, immutable): a
    file changes its URL when, and only when, its content changes.  Without it a browser asks
    again for each of a page's ≈ 20 files on every page (304s, ≈ 0.7 ms of a worker each — more
    than the page itself, docs/scaling.md).  Unversioned URLs (fonts and images named inside the
    CSS) keep being revalidated; downloads of attachments are not static files and are never
    cached."""
    max_age = int(app.config.get("STATIC_MAX_AGE") or 0)
    if max_age <= 0:
        return
    import hashlib

    from werkzeug.security import safe_join

    stamp = static_stamp()
    hashes: dict[tuple[str, str], str] = {}

    def content_hash(endpoint: str, filename: str | None) -> str:
        key = (endpoint, filename or "")
        if key not in hashes:
            if endpoint == "static":
                folder = app.static_folder
            else:
                bp = app.blueprints.get(endpoint.rsplit(".", 1)[0])
                folder = bp.static_folder if bp is not None else None
            path = safe_join(folder, filename) if folder and filename else None
            try:
                with open(path, "rb") as f:
                    hashes[key] = hashlib.sha1(f.read()).hexdigest()[:12]
            except (OSError, TypeError):
                hashes[key] = stamp
        return hashes[key]

    @app.url_defaults
    def _versioned(endpoint, values):
        if endpoint in STATIC_ENDPOINTS and "v" not in values:
            values["v"] = content_hash(endpoint, values.get("filename"))

    @app.after_request
    def _cache(response):
        if (request.endpoint in STATIC_ENDPOINTS and response.status_code in (200, 304)
                and request.args.get("v") == content_hash(
                    request.endpoint, (request.view_args or {}).get("filename"))):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = max_age
            response.cache_control.immutable = True
        return response


# --- installation ------------------------------------------------------------------------
_sql_listener_installed = False


def engine_options(config) -> dict:
    """SQLAlchemy engine options from the settings (config.py documents them)."""
    url = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    options = {
        "pool_size": config.get("DB_POOL_SIZE", 5),
        "max_overflow": config.get("DB_MAX_OVERFLOW", 10),
        "pool_timeout": config.get("DB_POOL_TIMEOUT", 30),
        "pool_recycle": config.get("DB_POOL_RECYCLE", 1800),
        # After a second idle only (app/pool_ping.py), unless DB_POOL_PING_IDLE is 0.
        "pool_pre_ping": bool(config.get("DB_POOL_PRE_PING", True))
        and config.get("DB_POOL_PING_IDLE", 1) <= 0,
    }
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": config.get("DB_CONNECT_TIMEOUT", 5),
                                   "application_name": "backoffice"}
    return options


def install(app) -> None:
    """Called first in ``create_app``: logging, the request hooks, error pages, the routes."""
    global _sql_listener_installed

    configure_logging(app.config.get("LOG_FORMAT") or "text", app.config.get("LOG_LEVEL") or "INFO")
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    # FAB tells every permission it creates and "Initializing AppBuilder": not for operators.
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    if not _sql_listener_installed:
        event.listen(Engine, "before_cursor_execute", _count_sql)
        _sql_listener_installed = True
    app.wsgi_app = _Started(app.wsgi_app)
    app.after_request(_after_request)
    _static_caching(app)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_blueprint(bp)
    app.jinja_env.globals["request_id"] = request_id
