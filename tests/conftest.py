"""Test fixtures: a migrated database with the demo loaded, fresh for every test.

The template database is built once per run — once more for a run going on past 北京时间
midnight (template_db) — with migrations + code lists + demo, exactly what the first README
command does; each test gets its own copy — a file copy on SQLite, CREATE
DATABASE … TEMPLATE on PostgreSQL (set TEST_DATABASE_URL=postgresql://…/test).
"""

from __future__ import annotations

import gc
import itertools
import os
import queue
import re
import shutil
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .url_rule_cache import install as _cache_url_builders

_cache_url_builders()
# Each test builds an application (~300,000 objects), and the few kept alive make every full
# collection at the interpreter's default thresholds (700, 10, 10) walk them all: half of
# create_app's time here.  Collections stay on, just less often.
gc.set_threshold(10_000, 20, 100)

PASSWORD = "Demo@12345"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def pytest_sessionfinish(session, exitstatus):
    """The suite leaves millions of objects behind (an application per test); the interpreter's
    last collection at exit walked them all for minutes.  Frozen, they are left to the exit."""
    gc.freeze()
_counter = itertools.count()


def _pg_admin_url():
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
                   if PG_URL.startswith("postgresql://") else PG_URL)
    return url


def _build_template(tmp_path_factory) -> tuple[str, str]:
    """Migrations, code lists and the demo in a new database: ("pg", its name) or ("sqlite",
    its file)."""
    from app import create_app
    from app.cli import setup_database

    if PG_URL:
        admin_url = _pg_admin_url()
        name = f"swb_tmpl_{uuid.uuid4().hex[:8]}"
        eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        kind, source = "pg", name
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite:///{path}"
        kind, source = "sqlite", str(path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    setup_database(app, demo=True)
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()
    return kind, source


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """``template_db()``: the template of the day — the demo as loaded on the day (北京时间, the
    app's clock) the asking test runs.  The demo's data are of the day it is loaded: records
    touched that day, disposals from that day, licences valid at most to the end of that year,
    numbers counted in that year.  A run going on past midnight loads the new day's demo once,
    for the tests after midnight: tests of the old day's demo found it a day old (and, past New
    Year, its licences expired and its number series closed)."""
    built: dict = {}

    def of_today() -> tuple[str, str]:
        import datetime as dt

        import app  # noqa: F401 - the product's time zone (app/clock.py), before the clock is read

        day = dt.date.today()
        if day not in built:
            built[day] = _build_template(tmp_path_factory)
        return built[day]

    yield of_today
    if PG_URL:
        eng = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            for _kind, name in built.values():
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


class _PgDropper:
    """Drops each test's PostgreSQL database in a thread of its own.  DROP DATABASE waits for a
    checkpoint (0.1–1.4 s of disk writes here), which the next test need not wait for."""

    def __init__(self):
        self.names: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, name: str) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
            self.thread.start()
        self.names.put(name)

    def _run(self) -> None:
        eng = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        try:
            while (name := self.names.get()) is not None:
                try:
                    with eng.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                except Exception as e:  # noqa: BLE001 - reported at the end of the run
                    self.failures.append(f"{name}: {type(e).__name__}: {e}")
        finally:
            eng.dispose()

    def close(self) -> None:
        if self.thread is not None:
            self.names.put(None)
            self.thread.join()
        assert not self.failures, self.failures


@pytest.fixture(scope="session")
def pg_dropper():
    dropper = _PgDropper()
    yield dropper
    dropper.close()


@pytest.fixture(autouse=True)
def _nothing_left_from_the_test_before():
    """What the process keeps between tests is made anew for each one:

    - the code lists the app read (app/engine/codelists.py keeps them for 30 seconds, by list
      name, for the whole process — not per database): a list a test edited (the console's
      代码表) reached the tests of the next 30 seconds, each on a database without the edit;
    - the 年度 the forms' data type (helpers.HEAD): this year by the app's clock, now — not the
      year the run began in.
    """
    import datetime as dt

    from app.engine import codelists

    from .helpers import HEAD

    codelists.invalidate()
    HEAD["year"] = str(dt.date.today().year)
    yield


@pytest.fixture
def db_url(template_db, tmp_path, request):
    kind, source = template_db()
    if kind == "sqlite":
        target = tmp_path / "test.db"
        shutil.copy(source, target)
        yield f"sqlite:///{target}"
        return
    dropper = request.getfixturevalue("pg_dropper")
    admin_url = _pg_admin_url()
    name = f"swb_t_{uuid.uuid4().hex[:8]}"
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    eng.dispose()
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    dropper.drop(name)


@pytest.fixture
def app(db_url):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True,
                      "WTF_CSRF_ENABLED": True, "SERVER_NAME": "localhost"})
    yield app
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db(app):
    """A session of its own on the test database, for arrange and assert.

    Deliberately not the app's scoped session and not inside a pushed app context: a pushed
    context of the same app would be reused by the test client's requests, sharing ``g``
    (the signed-in user) between them.
    """
    from sqlalchemy.orm import Session

    with app.app_context():
        from app import db as _db

        engine = _db.engine
    # Reads only: on SQLite it must not hold the write lock the app's requests need.
    session = Session(bind=engine.execution_options(sqlite_deferred_begin=True),
                      expire_on_commit=False)
    yield session
    session.close()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RECORD_DO_RE = re.compile(r"^(/\w+/\d+)/do/\w+$")
VERSION_RE = re.compile(r'<input type="hidden" name="version" value="(\d+)">')


class Browser:
    """A Flask test client signed in as one user, with the CSRF token of its session."""

    def __init__(self, app, username):
        self.app = app
        self.username = username
        self.client = app.test_client()
        self.token = None
        if username:
            self.login(username)

    def login(self, username, password=PASSWORD):
        page = self.client.get("/login/")
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        resp = self.client.post("/login/", data={"username": username, "password": password,
                                                 "csrf_token": token})
        assert resp.status_code == 302, f"login of {username} failed"
        home = self.client.get("/")
        assert home.status_code == 200 and "公告消息" in home.get_data(as_text=True), \
            f"{username} is not signed in"
        self.token = CSRF_RE.search(home.get_data(as_text=True))
        self.token = self.csrf()

    def csrf(self, path="/notice/"):
        html = self.client.get(path).get_data(as_text=True)
        m = CSRF_RE.search(html)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, **kw):
        """A form post as the page sends it: with the CSRF token and, for a transition of a
        saved record, the version the page was loaded at (``version=None`` sends none)."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        m = RECORD_DO_RE.match(path)
        if m and "version" not in data:
            page = self.client.get(m.group(1)).get_data(as_text=True)
            found = VERSION_RE.search(page)
            if found:
                data["version"] = found.group(1)
        elif data.get("version", "") is None:
            del data["version"]
        return self.client.post(path, data=data, **kw)

    def text(self, path, **kw):
        resp = self.client.get(path, **kw)
        return resp.status_code, resp.get_data(as_text=True)


@pytest.fixture
def browser(app):
    def make(username):
        return Browser(app, username)

    return make


class Api:
    """A REST client with a JWT of one user."""

    def __init__(self, app, username, password=PASSWORD):
        self.client = app.test_client()
        resp = self.client.post("/api/v1/security/login", json={
            "username": username, "password": password, "provider": "db"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        self.headers = {"Authorization": f"Bearer {resp.json['access_token']}"}

    def _h(self, kw):
        headers = dict(self.headers)
        headers.update(kw.pop("headers", {}))
        return headers

    def get(self, path, **kw):
        return self.client.get(path, headers=self._h(kw), **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self._h(kw), **kw)

    def put(self, path, **kw):
        return self.client.put(path, headers=self._h(kw), **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self._h(kw), **kw)


@pytest.fixture
def api(app):
    def make(username):
        return Api(app, username)

    return make


# --- browser journeys (Debian's Chromium driven by Playwright; tests marked "browser") -------------
@pytest.fixture(scope="session")
def chromium():
    from .browser_support import CHROMIUM, LAUNCH_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (bin/test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(db_url):
    """The app over this test's database copy, served for real on 127.0.0.1:<free port>
    (no SERVER_NAME: the browser talks to the address the server listens on)."""
    from app import create_app
    from app import db as _db

    from .browser_support import LiveServer

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True,
                      "WTF_CSRF_ENABLED": True})
    server = LiveServer(app).start()
    yield server
    server.stop()
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def user(chromium, live):
    """user("enterprise1") -> a signed-in browser tab of its own."""
    from .browser_support import UserPage

    tabs = []

    def make(username):
        tab = UserPage(chromium, live.url, username).login()
        tabs.append(tab)
        return tab

    make.tabs = tabs
    yield make
    for tab in tabs:
        tab.close()


# --- an empty PostgreSQL database of its own -------------------------------------------------
# Production refuses SQLite, so production set-ups are tested on PostgreSQL in both runs of the
# suite: the server of TEST_DATABASE_URL, or the local one.
LOCAL_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def scratch_pg():
    """The URL (postgresql://…) of a new, empty database, dropped afterwards."""
    base = make_url((PG_URL or LOCAL_PG_URL).replace("postgresql://", "postgresql+psycopg://", 1))
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"swb_s_{uuid.uuid4().hex[:8]}"
    try:
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001
        eng.dispose()
        pytest.skip(f"no PostgreSQL server at {base.host}:{base.port}: {type(e).__name__}")
    yield base.set(database=name).render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://", 1)
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture
def exchange(app, tmp_path):
    """The exchange folder of 数据同步 (inbox, outbox, rejected, done), empty."""
    root = tmp_path / "exchange"
    app.config["EXCHANGE_DIR"] = str(root)
    for sub in ("inbox", "outbox", "rejected", "done"):
        (root / sub).mkdir(parents=True)
    return root
