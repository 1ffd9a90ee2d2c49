"""Deployment: the compose file and the no-container script start the same services, the
script really serves (PostgreSQL, gunicorn, the job worker), and ./bin/start serves through
gunicorn with the job worker beside it."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from deploy.services import BY_NAME, SERVICES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _compose():
    with open(os.path.join(ROOT, "deploy", "compose.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_the_compose_file_runs_the_services_of_the_script_with_the_same_commands_and_settings():
    services = _compose()["services"]
    for service in SERVICES:
        assert service.name in services, f"compose has no {service.name} service"
        declared = services[service.name]
        assert declared["command"] == list(service.command), service.name
        assert declared["environment"] == {s.name: s.compose_value() for s in service.settings}, \
            service.name
    assert set(services) == {s.name for s in SERVICES} | {"postgres", "redis"}


def test_the_compose_file_migrates_once_before_web_and_worker():
    services = _compose()["services"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        assert services[name]["restart"] == "unless-stopped"
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["ports"] == ["${WEB_PUBLISH:-127.0.0.1:8000}:8000"]


def test_the_compose_file_keeps_the_data_on_volumes_and_the_secrets_in_the_environment():
    compose = _compose()
    services = compose["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == \
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    for service in SERVICES:
        env = services[service.name]["environment"]
        assert env["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY}"
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
        assert env["APP_ENV"] == "production"


def test_a_required_setting_missing_stops_the_script_with_its_name():
    out = subprocess.run([sys.executable, "deploy/services.py"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60,
                         env={"PATH": os.environ["PATH"], "DATABASE_URL": "postgresql://x/y"})
    assert out.returncode != 0
    assert out.returncode == 2
    assert "[services] set SECRET_KEY in the environment" in out.stderr


# --- the services without containers ---------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def _wait_for(url, proc, seconds=240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the services stopped before they were ready"
        try:
            status, _h, body = _get(url, timeout=2)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {seconds} s")


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stop(proc, seconds=60):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_the_services_start_without_containers_serve_and_stop(scratch_pg, tmp_path):
    port = _free_port()
    token = secrets.token_urlsafe(24)
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
        "DATABASE_URL": scratch_pg, "SECRET_KEY": secrets.token_urlsafe(40),
        "REDIS_URL": "redis://127.0.0.1:6379/15", "METRICS_TOKEN": token,
        "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2", "WORKER_INTERVAL": "1",
    }
    err_path = tmp_path / "services.err"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(["deploy/run-services"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = json.loads(_wait_for(base + "/readyz", proc))
        assert ready == {"status": "ready",
                         "checks": {"database": "ok", "migrations": "ok", "redis": "ok"}}
        children = _descendants(proc.pid)
        assert len(children) >= 4  # gunicorn's master and 2 workers, the job worker

        status, headers, _body = _get(base + "/healthz")
        assert status == 200 and headers["Server"] == "gunicorn"
        for i in range(6):  # spread over both gunicorn workers
            status, headers, body = _get(base + "/login/", {"X-Request-ID": f"deploy-{i}"})
            assert status == 200 and headers["X-Request-ID"] == f"deploy-{i}" and "登录" in body

        # the worker delivers a notice queued by the application
        eng = create_engine(scratch_pg.replace("postgresql://", "postgresql+psycopg://", 1))
        with eng.begin() as conn:
            msg_id = conn.execute(text(
                "INSERT INTO outbox_message (channel, recipient, subject, body, status, attempts,"
                " next_attempt_at, created_at) VALUES ('sms', '13800000000', '', '已受理',"
                " 'pending', 0, :t, :t) RETURNING id"), {"t": dt.datetime.now()}).scalar()
        deadline = time.monotonic() + 30
        state = "pending"
        while state == "pending" and time.monotonic() < deadline:
            time.sleep(0.5)
            with eng.connect() as conn:
                state = conn.execute(text("SELECT status FROM outbox_message WHERE id = :i"),
                                     {"i": msg_id}).scalar()
        eng.dispose()
        assert state == "sent"

        # /metrics adds up what both gunicorn workers answered; only with the token
        assert _get(base + "/metrics")[0] == 403
        status, _h, body = _get(base + "/metrics", {"Authorization": f"Bearer {token}"})
        assert status == 200
        counts = {
            s.labels["status"]: s.value
            for fam in text_string_to_metric_families(body) for s in fam.samples
            if s.name == "backoffice_http_request_duration_seconds_count"
            and s.labels.get("endpoint") == "AuthDBView.login"}
        assert counts == {"200": 6.0}
    finally:
        code = _stop(proc)
    log = err_path.read_text()
    assert code == 0, log[-3000:]
    assert not [pid for pid in children if _alive(pid)], "a service outlived the script"
    assert "[services] migrate finished (0)" in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "backoffice.access"]
    assert {line["request_id"] for line in access} >= {f"deploy-{i}" for i in range(6)}
    assert all("request_id" in line for line in lines)
    assert any(line["logger"] == "gunicorn.error" for line in lines)


def _closing_answers(port, requests):
    """Which of `requests` answers on one kept-alive client closed the connection."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    closing = []
    try:
        for number in range(1, requests + 1):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            if (resp.getheader("Connection") or "").lower() == "close":
                closing.append(number)  # http.client opens a new connection for the next one
    finally:
        conn.close()
    return closing


def test_start_serves_through_gunicorn_with_the_worker_beside_it(tmp_path):
    port = _free_port()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}", "PORT": str(port),
           "WEB_CONCURRENCY": "2", "GUNICORN_KEEPALIVE_REQUESTS": "5"}
    out_path = tmp_path / "start.out"
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/readyz", proc)
        children = _descendants(proc.pid)
        commands = []
        for pid in children:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                commands.append(f.read().replace(b"\0", b" ").decode())
        assert any("gunicorn" in c for c in commands), commands
        assert any(c.endswith("app worker ") for c in commands), commands
        status, headers, body = _get(f"http://127.0.0.1:{port}/login/")
        assert status == 200 and headers["Server"] == "gunicorn"
        assert _closing_answers(port, 12) == [5, 10]
    finally:
        code = _stop(proc)
    output = out_path.read_text()
    assert code == 0, output[-3000:]
    assert f"Serving at http://127.0.0.1:{port}" in output
    assert "Demo accounts (password Demo@12345)" in output
    assert "development server" not in output
    assert not [pid for pid in children if _alive(pid)]
    assert BY_NAME["web"].command[0] == "gunicorn"


def test_workers_are_forked_with_the_loaded_application_frozen_for_the_garbage_collector():
    """gunicorn's pre_fork hook moves what the master loaded out of the collector's reach, so
    the workers' collections walk only what their requests make."""
    import gc
    import runpy

    environ = dict(os.environ)
    conf = runpy.run_path(os.path.join(ROOT, "deploy", "gunicorn.conf.py"))
    try:
        conf["pre_fork"](None, None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        conf["on_exit"](None)  # the settings' own metrics directory
        os.environ.clear()
        os.environ.update(environ)
