"""What operators rely on: health and readiness, the request id in logs and on error pages,
the metrics at /metrics (for operators only), and the settings check at start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text, update

from app.engine.notify import OutboxMessage

from .conftest import CSRF_RE, PASSWORD, PG_URL

HEX_ID = re.compile(r"[0-9a-f]{32}")


def _engine(db_url):
    if db_url.startswith("postgresql://"):
        db_url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(db_url)


# --- health and readiness ----------------------------------------------------------------------
def test_healthz_answers_while_the_process_serves(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(app):
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "ready"
    assert resp.json["checks"] == {"database": "ok", "migrations": "ok",
                                   "redis": "not configured"}


def test_readyz_is_not_ready_while_a_migration_is_missing(app, db_url):
    eng = _engine(db_url)
    with eng.begin() as conn:
        # the database of the previous release: one revision short of this one's head
        conn.execute(text("UPDATE alembic_version SET version_num = '2f40ed9d59f0'"))
    eng.dispose()
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["status"] == "not ready" and resp.json["checks"]["migrations"] == "pending"
    assert resp.json["checks"]["database"] == "ok"


def test_readyz_is_not_ready_when_the_database_is_down_but_healthz_still_answers():
    from app import create_app

    # nothing listens on port 1
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://backoffice@127.0.0.1:1/none",
                      "TESTING": True})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"].startswith("failed")
    assert resp.json["checks"]["migrations"] == "unknown"


def test_readyz_checks_redis_when_it_is_set(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200 and resp.json["checks"]["redis"] == "ok", resp.json


def test_readyz_is_not_ready_when_redis_is_down(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.json["checks"]["redis"].startswith("failed")


# --- request id --------------------------------------------------------------------------------
def test_the_request_id_is_the_callers_or_a_new_one(app):
    client = app.test_client()
    resp = client.get("/login/", headers={"X-Request-ID": "lb-7f3a:0001"})
    assert resp.headers["X-Request-ID"] == "lb-7f3a:0001"
    first = client.get("/login/").headers["X-Request-ID"]
    second = client.get("/login/").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second
    for bad in ("two words", "<script>", "x" * 200, "-starts-with-dash", "semi;colon"):
        rid = client.get("/login/", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert HEX_ID.fullmatch(rid), bad


def _json_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_every_log_line_of_a_request_carries_its_id(db_url, capsys):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True, "LOG_FORMAT": "json"})
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login/").get_data(as_text=True)).group(1)
    capsys.readouterr()
    resp = client.post("/login/", data={"username": "enterprise1", "password": "wrong",
                                        "csrf_token": token},
                       headers={"X-Request-ID": "req-login-1"})
    assert resp.status_code == 302 and resp.location.startswith("/login/")  # refused
    lines = _json_lines(capsys.readouterr().err)
    assert lines, "no JSON log line"
    assert all(line["request_id"] == "req-login-1" for line in lines), lines
    access = [line for line in lines if line["logger"] == "backoffice.access"]
    assert len(access) == 1
    assert access[0]["status"] == 302 and access[0]["path"] == "/login/"
    assert access[0]["endpoint"] == "AuthDBView.login" and access[0]["sql"] >= 1
    refused = [line for line in lines if line.get("event") == "login_failed"]
    assert refused and refused[0]["username"] == "enterprise1" and refused[0]["level"] == "WARNING"
    assert PASSWORD not in json.dumps(lines) and "wrong" not in json.dumps(refused)


def test_error_pages_show_the_request_id(browser):
    b = browser("enterprise1")
    resp = b.get("/no-such-page/", headers={"X-Request-ID": "req-404"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and resp.headers["X-Request-ID"] == "req-404"
    assert "页面不存在" in html and "请求编号" in html and "<code>req-404</code>" in html
    assert "公告消息" in html  # the product's page, with the signed-in user's menu

    resp = b.get("/no-such-page/?_l_=en")
    html = resp.get_data(as_text=True)
    assert "Page not found" in html and "Request ID" in html
    assert resp.headers["X-Request-ID"] in html


def test_api_errors_carry_the_request_id(api):
    client = api("enterprise1")
    resp = client.get("/api/v1/no_such_resource/", headers={"X-Request-ID": "req-api-404"})
    assert resp.status_code == 404
    assert resp.json["request_id"] == "req-api-404" and resp.json["message"]
    # an error answered by a REST view itself
    resp = client.get("/api/v1/me_licence_application/99999999",
                      headers={"X-Request-ID": "req-api-2"})
    assert resp.status_code == 404 and resp.json["request_id"] == "req-api-2"
    assert resp.headers["X-Request-ID"] == "req-api-2"


def test_a_failure_shows_the_request_id_and_logs_it_with_the_traceback(app, browser, db_url,
                                                                        capsys):
    b = browser("enterprise1")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, not a raise
    eng = _engine(db_url)
    with eng.begin() as conn:  # a broken database: the notices' table is gone
        conn.execute(text("ALTER TABLE notice RENAME TO notice_gone"))
    eng.dispose()
    capsys.readouterr()
    resp = b.get("/notice/", headers={"X-Request-ID": "req-500"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "系统内部错误，请稍后再试" in html and "req-500" in html
    assert "Traceback" not in html and "notice_gone" not in html
    err = capsys.readouterr().err
    logged = [line for line in err.splitlines() if "req-500" in line]
    assert any("ERROR" in line for line in logged), err[-3000:]
    assert "Traceback" in err


# --- metrics -----------------------------------------------------------------------------------
def _metrics(client, **kw) -> dict[tuple, float]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.status_code
    out = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_are_for_operators_only(app, browser):
    assert app.test_client().get("/metrics").status_code == 403
    assert browser("enterprise1").get("/metrics").status_code == 403
    assert browser("customs1").get("/metrics").status_code == 403
    resp = browser("admin").get("/metrics")
    assert resp.status_code == 200 and "backoffice_http_request_duration_seconds" in \
        resp.get_data(as_text=True)

    app.config["METRICS_TOKEN"] = "t0k3n-for-the-prometheus-server"
    client = app.test_client()
    assert client.get("/metrics", headers={
        "Authorization": "Bearer t0k3n-for-the-prometheus-server"}).status_code == 200
    for wrong in ("Bearer t0k3n-for-the-prometheus-serveR", "Bearer ", "t0k3n-for-the-prometheus-server",
                  "Basic dDBrM246eA=="):
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 403


def test_metrics_count_latency_sql_login_failures_and_the_queue(app, browser, api):
    app.config["METRICS_TOKEN"] = "t0k3n-for-the-prometheus-server"
    ops = app.test_client()
    auth = {"headers": {"Authorization": "Bearer t0k3n-for-the-prometheus-server"}}
    before = _metrics(ops, **auth)

    b = browser("enterprise1")
    assert b.get("/me_licence_application/").status_code == 200
    anonymous = app.test_client()
    token = CSRF_RE.search(anonymous.get("/login/").get_data(as_text=True)).group(1)
    assert anonymous.post("/login/", data={"username": "enterprise1", "password": "nope",
                                           "csrf_token": token}).status_code == 302
    assert anonymous.post("/api/v1/security/login", json={
        "username": "enterprise1", "password": "nope", "provider": "db"}).status_code == 401
    with app.app_context():
        from app import db
        from app.engine import notify

        notify.queue(db.session, "sms", "13800000000", "", "您的申请已受理")
        db.session.commit()
        db.session.remove()
    after = _metrics(ops, **auth)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    ep = "me_licence_application_view.list"
    assert delta("backoffice_http_request_duration_seconds_count",
                 endpoint=ep, method="GET", status="200") == 1
    assert delta("backoffice_http_request_duration_seconds_sum",
                 endpoint=ep, method="GET", status="200") > 0
    assert delta("backoffice_http_request_sql_statements_count", endpoint=ep) == 1
    assert 1 <= delta("backoffice_http_request_sql_statements_sum", endpoint=ep) <= 10
    assert delta("backoffice_login_failures_total", channel="form") == 1
    assert delta("backoffice_login_failures_total", channel="api") == 1
    assert delta("backoffice_job_queue_length", queue="outbox") == 1
    # signing in well is not a failure
    browser("enterprise2")
    assert _metrics(ops, **auth)[("backoffice_login_failures_total",
                                  (("channel", "form"),))] == after[
        ("backoffice_login_failures_total", (("channel", "form"),))]


# --- static files --------------------------------------------------------------------------------
def test_browsers_keep_the_releases_css_and_javascript(db_url):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True,
                      "STATIC_MAX_AGE": 3600})
    client = app.test_client()
    html = client.get("/login/").get_data(as_text=True)
    links = set(re.findall(r'(?:href|src)="([^"]+\.(?:css|js)(?:\?[^"]*)?)"', html))
    assert len(links) >= 10 and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in links), links
    engine_css = next(u for u in links if u.startswith("/assets/engine.css"))
    resp = client.get(engine_css)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=3600, immutable"
    # the stamp is the hash of that file's content: files differ, URLs differ
    import hashlib

    with open(os.path.join(app.static_folder, "engine.css"), "rb") as f:
        assert engine_css.endswith("?v=" + hashlib.sha1(f.read()).hexdigest()[:12])
    assert len({u.rsplit("=", 1)[1] for u in links}) > 5
    # the same file asked without the release's stamp (or with an old one) is revalidated
    for url in ("/assets/engine.css", "/assets/engine.css?v=000000000000"):
        assert client.get(url).headers["Cache-Control"] == "no-cache"


def test_in_production_static_files_are_kept_a_year(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("APP_ENV", "production")
    try:
        assert importlib.reload(config).STATIC_MAX_AGE == 365 * 24 * 3600
    finally:
        monkeypatch.delenv("APP_ENV")
        importlib.reload(config)


def test_in_development_css_and_javascript_are_revalidated_on_every_page(app):
    client = app.test_client()
    html = client.get("/login/").get_data(as_text=True)
    assert '/assets/engine.css"' in html
    assert client.get("/assets/engine.css").headers["Cache-Control"] == "no-cache"


# --- the job worker ----------------------------------------------------------------------------
def test_the_worker_delivers_queued_notices(app, db):
    with app.app_context():
        from app import db as _db
        from app.engine import notify

        msg = notify.queue(_db.session, "sms", "13900000000", "", "补充材料通知")
        _db.session.commit()
        msg_id = msg.id
        _db.session.remove()
    result = app.test_cli_runner().invoke(args=["app", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert db.get(OutboxMessage, msg_id).status == "sent"


def test_the_worker_forgets_submission_keys_after_a_day(app, db):
    import datetime as dt

    from app.engine.submissions import SubmissionKey

    with app.app_context():
        from app import db as _db

        old = dt.datetime.now() - dt.timedelta(hours=25)
        _db.session.add_all([
            SubmissionKey(key="1:yesterdays-key", resource="notice", record_id=1,
                          created_at=old),
            SubmissionKey(key="1:this-mornings", resource="notice", record_id=1,
                          created_at=dt.datetime.now() - dt.timedelta(hours=2))])
        _db.session.commit()
        _db.session.remove()
    result = app.test_cli_runner().invoke(args=["app", "worker", "--once"])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert db.get(SubmissionKey, "1:yesterdays-key") is None
    assert db.get(SubmissionKey, "1:this-mornings") is not None


def test_the_worker_sends_a_notice_to_many_in_one_pass(app, db):
    with app.app_context():
        from app import db as _db
        from app.engine import notify

        for i in range(250):  # more than one batch
            notify.queue(_db.session, "sms", f"139{i:08d}", "", "年度报告提交通知")
        _db.session.commit()
        _db.session.remove()
    result = app.test_cli_runner().invoke(args=["app", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.channel == "sms", OutboxMessage.status == "sent")) == 250


@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL only (SQLite has one writer)")
def test_two_workers_never_take_the_same_notice(app, db_url):
    from sqlalchemy.orm import Session

    from app.engine import notify

    eng = _engine(db_url)
    with Session(eng) as s:
        s.execute(update(OutboxMessage).values(status="sent"))  # the demo's e-mails: gone
        msgs = [notify.queue(s, "sms", f"1390000000{i}", "", "通知") for i in range(3)]
        s.commit()
        ids = [m.id for m in msgs]
    with app.app_context(), Session(eng) as first, Session(eng) as second:
        # the first worker is sending the oldest notice (its row is locked) …
        taken = first.scalars(select(OutboxMessage).where(OutboxMessage.id == ids[0])
                              .with_for_update()).one()
        # … the second sends the other two and leaves that one alone (without waiting for it)
        second.execute(text("SET lock_timeout = '3s'"))
        assert notify.deliver_pending(second) == {"sent": 2, "retry": 0, "failed": 0}
        assert [second.get(OutboxMessage, i).status for i in ids] == ["pending", "sent", "sent"]
        assert second.get(OutboxMessage, ids[0]).attempts == 0
        taken.status = "sent"
        first.commit()
    eng.dispose()


# --- settings checked at start -------------------------------------------------------------
def test_a_production_start_with_unsafe_settings_refuses_with_every_problem():
    from app import create_app
    from app.settings import SettingsError

    with pytest.raises(SettingsError) as refused:
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db",
                    "SECRET_KEY": "development-only-secret-key-change-me-in-production",
                    "DEBUG": True})
    message = str(refused.value)
    assert message.startswith("The backoffice refuses to start in production:")
    assert "SECRET_KEY is not set" in message
    assert "DATABASE_URL is SQLite" in message
    assert "debug mode is on" in message
    assert len(refused.value.problems) == 3


@pytest.mark.parametrize("overrides, problem", [
    ({"SECRET_KEY": "short-key"}, "SECRET_KEY is shorter than 32 characters"),
    ({"APP_ENV": "prod"}, "APP_ENV='prod' is unknown"),
    ({"METRICS_TOKEN": "1234"}, "METRICS_TOKEN is shorter than 16 characters"),
    ({"DEV_SERVER": True}, "the development server (./bin/start --dev) does not serve production"),
])
def test_each_unsafe_setting_is_named(overrides, problem):
    from app import create_app
    from app.settings import SettingsError

    settings = {"APP_ENV": "production", "SECRET_KEY": "s" * 40,
                "SQLALCHEMY_DATABASE_URI": "postgresql://backoffice@127.0.0.1:1/none"}
    with pytest.raises(SettingsError) as refused:
        create_app({**settings, **overrides})
    assert problem in str(refused.value)


def test_production_settings_that_can_serve_are_accepted():
    from app import create_app

    app = create_app({"APP_ENV": "production", "SECRET_KEY": "s" * 40,
                      "SQLALCHEMY_DATABASE_URI": "postgresql://backoffice@127.0.0.1:1/none",
                      "METRICS_TOKEN": "m" * 16})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 5 and options["max_overflow"] == 10
    # connections are tested after a second idle (app/pool_ping.py), not at every checkout
    assert options["pool_pre_ping"] is False
    assert _tests_idle_connections(app)


@pytest.mark.parametrize("env, pre_ping, idle_test", [
    ({"DB_POOL_PING_IDLE": 0}, True, False),
    ({"DB_POOL_PRE_PING": False}, False, False),
    ({"DB_POOL_PING_IDLE": 5}, False, True),
])
def test_connection_tests_follow_the_settings(env, pre_ping, idle_test):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://backoffice@127.0.0.1:1/none",
                      **env})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is pre_ping
    assert _tests_idle_connections(app) is idle_test


def _tests_idle_connections(app) -> bool:
    from sqlalchemy import event

    from app import db, pool_ping

    with app.app_context():
        return event.contains(db.engine, "checkin", pool_ping._checkin)


def _env(**extra):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    env.update(extra)
    return env


def test_start_refuses_production_without_secret_key_on_sqlite_with_debug(tmp_path):
    db_file = tmp_path / "p.db"
    out = subprocess.run(
        [sys.executable, "run.py", "--no-serve"], capture_output=True, text=True, timeout=120,
        env=_env(APP_ENV="production", DATABASE_URL=f"sqlite:///{db_file}", FLASK_DEBUG="1",
                 DB_POOL_SIZE="many", DB_POOL_PING_IDLE="soon"))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "The backoffice refuses to start in production:" in out.stderr
    for problem in ("SECRET_KEY is not set", "DATABASE_URL is SQLite", "debug mode is on",
                    "DB_POOL_SIZE='many' is not a whole number",
                    "DB_POOL_PING_IDLE='soon' is not a number of seconds (0 or more)"):
        assert problem in out.stderr
    assert "Traceback" not in out.stderr
    assert not db_file.exists()  # nothing was set up


def test_gunicorn_refuses_unsafe_production_settings(tmp_path):
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    out = subprocess.run(
        [gunicorn, "--config", "deploy/gunicorn.conf.py", "app.wsgi:application"],
        capture_output=True, text=True, timeout=120,
        env=_env(APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
                 PORT="1", WEB_CONCURRENCY="1"))
    assert out.returncode != 0
    assert "The backoffice refuses to start in production:" in out.stderr
    assert "SECRET_KEY is not set" in out.stderr and "DATABASE_URL is SQLite" in out.stderr
