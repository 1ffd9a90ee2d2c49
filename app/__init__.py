"""The app factory: one Flask application serving the backoffice, its REST API and the
administrators' console, all over the same declarative models."""

from __future__ import annotations

import logging
import os

from flask import Flask, has_request_context, request, session
from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from app import clock

BASE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
clock.use(clock.configured())  # before anything reads the clock (app/clock.py)

db = SQLA()
migrate = Migrate()


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder="static", static_url_path="/assets",
                template_folder="templates")
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    from app import observability, pool_ping, read_only_commit, settings

    zone_problem = clock.use(app.config["BABEL_DEFAULT_TIMEZONE"])
    if zone_problem:
        app.config["SETTINGS_PROBLEMS"] = [*app.config.get("SETTINGS_PROBLEMS", []),
                                           zone_problem]
    settings.validate(app)  # refuses a production start with a missing key, SQLite, debug …
    _security_settings(app)
    observability.install(app)  # request ids, JSON logs, metrics, /healthz, /readyz, errors
    os.makedirs(app.config.get("INSTANCE_DIR", os.path.join(BASE_DIR, "instance")),
                exist_ok=True)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", observability.engine_options(app.config))
    app.jinja_loader = ChoiceLoader([
        app.jinja_loader,
        PrefixLoader({"reports": FileSystemLoader(app.config["REPORTS_DIR"])}),
    ])
    from app import session_cookie
    from app.engine import guard, inputs, textindex

    # One per app: its exempt blueprints (the console's) belong to that app. A module-wide one
    # kept every app ever created alive through them (each test's app, 13 GB by the suite's end).
    CSRFProtect(app)
    session_cookie.init_app(app)

    guard.install()
    textindex.install()
    _drop_unused_aggregate_hook()

    import models  # noqa: F401 - registers every record type
    from app.engine import (
        checks,
        jobs,  # noqa: F401 - the job table
    )

    checks.verify(reports_dir=app.config["REPORTS_DIR"])  # refuses to start on a wrong one
    from app.security import SecurityManager
    from views.home import HomeView

    appbuilder = AppBuilder(security_manager_class=SecurityManager, indexview=HomeView,
                            base_template="engine/fab_layout.html")
    with app.app_context():
        db.init_app(app)
        _sqlite_pragmas(app)
        read_only_commit.install(db.engine)
        if app.config.get("DB_POOL_PRE_PING", True):
            pool_ping.install(db.engine, app.config.get("DB_POOL_PING_IDLE", 1))
        appbuilder.init_app(app, db.session)
        inputs.install(app)  # before any view reads the request (login included)
        from app.engine.views import EngineUtilView

        appbuilder.add_view_no_menu(EngineUtilView)
        from app.engine.job_views import JobApi, JobView
        from app.engine.policy import ROLES

        appbuilder.add_view_no_menu(JobView)
        appbuilder.add_api(JobApi)
        appbuilder.sm.engine_access[JobApi.__name__] = frozenset(ROLES)  # own jobs only
        from app.engine.registration import register

        register(appbuilder)
        from app.admin_console import init_admin

        init_admin(app, db)
    migrate.init_app(app, db, directory=os.path.join(BASE_DIR, "migrations"),
                     render_as_batch=True, compare_type=True)
    _locale_from_request(app)
    _template_helpers(app)
    from app import headers

    headers.install(app)
    from app.cli import register_cli

    register_cli(app)
    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    return app


def _security_settings(app) -> None:
    """Secure cookies and HSTS follow APP_ENV unless set; FAB's password forms use the
    product's policy; behind proxies the client's address comes from X-Forwarded-For."""
    production = app.config.get("APP_ENV") == "production"
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "SECURITY_HSTS"):
        if app.config.get(key) is None:
            app.config[key] = production
    from app import passwords

    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", passwords.fab_complexity)
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _drop_unused_aggregate_hook() -> None:
    """sqlalchemy_utils (imported by Flask-AppBuilder) walks every object of the session after
    every flush for its @aggregated attributes; nothing here uses them, and in a batch of
    1,000 records that walk was a third of the time."""
    try:
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from sqlalchemy_utils import aggregates
    except ImportError:  # pragma: no cover
        return
    hook = aggregates.manager.construct_aggregate_queries
    if not aggregates.aggregated_attrs and event.contains(Session, "after_flush", hook):
        event.remove(Session, "after_flush", hook)


_COMMITTED = "backoffice.sqlite_committed"  # the request has committed its transaction


def _sqlite_pragmas(app) -> None:
    """SQLite (development): WAL, foreign keys, and real transactions.

    pysqlite's own transaction handling issues no BEGIN before a SAVEPOINT, so a savepoint
    opened first in a transaction *is* the transaction and its RELEASE commits — an import
    meant to be all-or-nothing would keep its first rows.  SQLAlchemy therefore emits BEGIN
    itself: IMMEDIATE for requests that write (and outside requests), so concurrent writers
    queue on the busy timeout instead of failing on a stale snapshot.  A reader outside a
    request (reports, tests) asks for a plain BEGIN with the execution option
    ``sqlite_deferred_begin=True`` and never holds the write lock.
    """
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    @event.listens_for(db.engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(db.engine, "begin")
    def _on_begin(conn):
        reading = conn.get_execution_options().get("sqlite_deferred_begin") or (
            has_request_context() and (request.method in ("GET", "HEAD", "OPTIONS")
                                       or request.environ.get(_COMMITTED)))
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    @event.listens_for(db.engine, "commit")
    def _on_commit(conn):
        if has_request_context():
            request.environ[_COMMITTED] = True


def _locale_from_request(app) -> None:
    """API clients choose the language with ?_l_=en or Accept-Language; browsers keep the
    language they switched to (FAB stores it in the session); the default is zh_CN."""
    from babel import Locale

    babel = app.extensions["babel"]
    fab_selector = babel.locale_selector
    languages = app.config["LANGUAGES"]
    # flask-babel parses the selector's answer on every request (Locale.parse scans every
    # locale identifier); answering with parsed Locale objects skips that.
    parsed = {code: Locale.parse(code) for code in languages}

    def select_locale():
        code = _select_code()
        return parsed.get(str(code), code)

    def _select_code():
        if not has_request_context():
            return app.config["BABEL_DEFAULT_LOCALE"]
        arg = request.args.get("_l_")
        if arg in languages:
            return arg
        if session.get("locale") in languages:
            return session["locale"]
        if request.path.startswith("/api/"):
            best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
            if best == "en":
                return "en"
            return app.config["BABEL_DEFAULT_LOCALE"]
        return fab_selector()

    babel.locale_selector = select_locale


def _memo_url_for(app) -> None:
    """Templates build the same URLs on every page (≈ 20 static files, the record type's
    routes); building one costs ~20 µs.  Plain ``url_for(endpoint, **values)`` calls are
    remembered per script root and host; anything else goes to Flask's ``url_for``."""
    from flask import url_for
    from flask.globals import _cv_request

    built: dict[tuple, str] = {}

    def memo_url_for(endpoint, **values):
        ctx = _cv_request.get(None)
        if ctx is None or endpoint.startswith(".") or any(k.startswith("_") for k in values) or not all(
                isinstance(v, (str, int)) for v in values.values()):
            return url_for(endpoint, **values)
        key = (ctx.request.script_root, ctx.request.host, endpoint, *sorted(values.items()))
        url = built.get(key)
        if url is None:
            url = url_for(endpoint, **values)
            if len(built) > 4096:
                built.clear()
            built[key] = url
        return url

    app.jinja_env.globals["url_for"] = memo_url_for


# Where a cached part of the page frame takes the response's CSP nonce.
FRAME_NONCE = "frame-nonce-3f9c1e"


def _template_helpers(app) -> None:
    from flask import render_template
    from flask_babel import get_locale
    from markupsafe import Markup

    from app.engine import attachments, i18n, policy, present, search_form
    from app.engine.policy import ROLE_LABELS
    from app.security import permissions_version

    # Templates translate ~50 strings per page: through the engine's per-request catalogue.
    app.jinja_env.install_gettext_callables(
        gettext=i18n.gettext, ngettext=i18n.ngettext,
        pgettext=i18n.pgettext, npgettext=i18n.npgettext, newstyle=True,
    )
    app.jinja_env.globals.update(_=i18n.template_gettext, gettext=i18n.template_gettext)
    _memo_url_for(app)
    chrome_cache: dict[tuple, Markup] = {}

    def cached(template: str, context=dict, variant: str = ""):
        """The navbar and the left menu depend on the user, its roles and the language only:
        rendered once per user and language, until the security stamp moves (a changed role,
        permission or user)."""
        from flask import session

        actor = policy.current_actor()
        if actor is None:
            return Markup(render_template(template, appbuilder=app.appbuilder, **context()))
        key = (template, variant, actor.user_id, tuple(sorted(actor.roles)), str(get_locale()),
               session.get("locale"), permissions_version())
        html = chrome_cache.get(key)
        if html is None:
            html = Markup(render_template(template, appbuilder=app.appbuilder, **context()))
            if len(chrome_cache) > 2048:
                chrome_cache.clear()
            chrome_cache[key] = html
        return html

    # <html lang> and the tabs' language (workspace.js): zh-CN, en
    app.jinja_env.globals["page_lang"] = lambda: str(get_locale() or "zh_CN").replace("_", "-")
    frame_cache: dict[tuple, str] = {}

    def cached_frame(part: str, toolkit: str = "bs5") -> Markup:
        """A part of engine/frame.html (style sheets, scripts, dialogs): it depends on the
        language and the page's toolkit only (the product's pages: Bootstrap 5; Flask-
        AppBuilder's screens, engine/fab_layout.html: its Bootstrap 3), so it is rendered once
        per language and toolkit; each response gets its own nonce."""
        from app.headers import csp_nonce

        key = (part, toolkit, str(get_locale()))
        html = frame_cache.get(key)
        if html is None:
            html = frame_cache[key] = render_template(
                "engine/frame.html", part=part, toolkit=toolkit, nonce=FRAME_NONCE,
                appbuilder=app.appbuilder)
        return Markup(html.replace(FRAME_NONCE, csp_nonce()))

    part_cache: dict[tuple, Markup] = {}

    def cached_part(*key, caller) -> Markup:
        """``{% call cached_part(name, …) %}…{% endcall %}``: a part of a page that depends on
        ``key`` and the language only (a list's buttons for a set of roles) is rendered once;
        the template names in ``key`` everything the part reads."""
        full = (key, str(get_locale()))
        html = part_cache.get(full)
        if html is None:
            html = Markup(caller())
            if len(part_cache) > 2048:
                part_cache.clear()
            part_cache[full] = html
        return html

    def cached_navbar():
        return cached("appbuilder/navbar.html")

    def cached_sidebar(console=None):
        """The 功能栏; on the administrators' console (``console``: its Flask-Admin) with the
        console's own menu as its first section."""
        from app.engine import sidebar

        def context():
            sm = app.appbuilder.sm
            sections = sidebar.tree(
                app.appbuilder.menu.get_list(),
                lambda item: sm.has_access("menu_access", item.name),
                lambda label: i18n.gettext(str(label)))
            if console is not None:
                own = sidebar.console_section(console.menu(), console.index_view)
                sections = ([own] if own else []) + sections
            return {"sections": sections, "initials": sidebar.initials}

        return cached("engine/sidebar.html", context,
                      variant="console" if console is not None else "")

    @app.context_processor
    def helpers():
        return {
            "present": present,
            "present_size": attachments.human_size,
            "search_fields": search_form.fields_html,
            "role_label": lambda r: ROLE_LABELS.get(r, r),
            "cached_frame": cached_frame,
            "cached_part": cached_part,
            "cached_navbar": cached_navbar,
            "cached_sidebar": cached_sidebar,
        }
