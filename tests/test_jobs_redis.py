"""Background jobs on Redis (REDIS_URL): a real RQ worker process (``flask app worker``) takes
the 按天 sync; killed mid-way it leaves no declaration half-synced and every file in the inbox,
the job shows 已中断, 重新运行 with a new worker finishes it, and the same sync again changes
nothing.

Needs Redis at 127.0.0.1:6379 (``REDIS_TEST_URL`` overrides); skipped without one unless
``REQUIRE_REDIS=1`` (.ci/run sets it and starts redis-server)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import func, select

from models.customs_declaration import CdDeclaration
from models.customs_sync import CdDecSync

from .helpers import created_id, numbered_messages, wait_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
RELEASED = 5
FILES = 200


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as e:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}: {e}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


# A running job shows 已中断 once its progress has not moved for JOB_STALE_AFTER seconds — as
# the app that reads its status counts them (jobs.view_status), not the worker.  The test reads
# with 3 seconds only while it waits for the killed job to show 已中断: a worker alive but slowed
# for 3 seconds by a loaded machine (between two files, before its first, over its commit) made
# its job 已中断 too, and the test failed on a job that was running or about to end 已完成.
ALIVE, KILLED = 300, 3


@pytest.fixture
def queued(app, redis_url, db_url, exchange, tmp_path):
    """The app on Redis with a queue of its own, and a way to start worker processes."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    app.config.update(REDIS_URL=redis_url, JOB_QUEUE=queue, JOB_STALE_AFTER=ALIVE)
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, JOB_QUEUE=queue,
               JOB_STALE_AFTER="3", EXCHANGE_DIR=str(exchange), WORKER_INTERVAL="3600",
               PYTHONPATH=ROOT)
    procs = []

    def start_worker():
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115 - the child's
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app:create_app",
                                 "app", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        proc.log_path = log.name
        procs.append(proc)
        return proc

    yield start_worker
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _messages(api, exchange, n):
    xml = api("enterprise1").get(f"/api/v1/cd_declaration/{RELEASED}/message").get_data(
        as_text=True)
    numbers = []
    for i, (seq, body) in enumerate(numbered_messages(xml, "E2026888", n)):
        (exchange / "inbox" / f"dec-{i:04d}.xml").write_bytes(body)
        numbers.append(seq)
    return numbers


def _synced(db, numbers):
    db.rollback()
    return db.scalar(select(func.count()).select_from(CdDeclaration).where(
        CdDeclaration.seq_no.in_(numbers)))


def _status(b, job_id):
    return json.loads(b.get(f"/jobs/{job_id}/status").get_data(as_text=True))


def _by_day(b):
    pk = created_id(b.post("/cd_dec_sync/new/do/run", data={
        "mode": "day", "ent_category": "D", "op_from": "2000-01-01", "op_to": "2099-12-31"}))
    _s, html = b.text(f"/cd_dec_sync/{pk}")
    return pk, int(re.search(r'data-job="(\d+)"', html).group(1)), html


def test_a_job_killed_mid_way_leaves_nothing_and_runs_again(app, api, browser, db, exchange,
                                                           queued):
    numbers = _messages(api, exchange, FILES)
    b = browser("enterprise1")
    worker = queued()
    pk, job_id, html = _by_day(b)
    assert "同步中" in html
    deadline = time.monotonic() + 120
    while True:  # the worker has taken the job and is part-way through the inbox
        s = _status(b, job_id)
        if s["status"] == "running" and s["done"] >= 10:
            break
        assert s["status"] in ("queued", "running"), s
        assert worker.poll() is None, open(worker.log_path).read()[-3000:]
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    assert s["done"] < FILES, "the job ended before it could be interrupted"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    # nothing half-synced: no declaration, every file still in the inbox, the run still 同步中
    assert _synced(db, numbers) == 0
    assert len(os.listdir(exchange / "inbox")) == FILES
    assert db.get(CdDecSync, pk).status == "syncing"
    # its progress stopped: 已中断, and it may be run again
    app.config["JOB_STALE_AFTER"] = KILLED
    deadline = time.monotonic() + 30
    while _status(b, job_id)["status"] != "stale":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    _s, page = b.text(f"/jobs/{job_id}")
    assert "已中断" in page and "重新运行" in page
    resp = b.post(f"/jobs/{job_id}/rerun", data={"csrf_token": b.csrf()})
    assert resp.status_code == 302
    app.config["JOB_STALE_AFTER"] = ALIVE
    assert _status(b, job_id)["status"] == "queued"
    queued()
    status = wait_job(b, html, timeout=180)
    assert status["status"] == "done", status
    assert f"新增 {FILES}" in status["message"]
    assert _synced(db, numbers) == FILES
    # the files move to done/ once the job's transaction has committed (exchange.py: never a
    # file marked read whose data was not kept), so just after 已完成 some may still be moving
    deadline = time.monotonic() + 30
    while os.listdir(exchange / "inbox"):
        assert time.monotonic() < deadline, os.listdir(exchange / "inbox")[:5]
        time.sleep(0.2)
    _s, page = b.text(f"/cd_dec_sync/{pk}")
    assert "已同步" in page
    # the same files again: a second run changes nothing
    for name in os.listdir(exchange / "done"):
        shutil.copy(exchange / "done" / name, exchange / "inbox" / name)
    _pk2, _job2, html2 = _by_day(b)
    status = wait_job(b, html2, timeout=180)
    assert status["status"] == "done"
    assert "新增 0" in status["message"] and f"未变化 {FILES}" in status["message"], status
    assert _synced(db, numbers) == FILES
