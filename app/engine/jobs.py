"""Background jobs: long work (数据同步 按天, 列表导出 of more than 10,000 rows, batch print of more
than 50 records, 导入 of large files) runs outside the web request, with its progress, result
file and errors on the 我的任务 screen (app/engine/job_views.py).

A job is declared once, by name::

    @task("cd_sync_day", _l("报关单同步（按天）"))
    def sync_by_day(ctx, run_id):
        ...                       # ctx.session, ctx.actor, ctx.progress(done, total, note)
        ctx.result(data, "报关单.xlsx", XLSX_MIME)   # optional result file
        return "新增 3 票"          # the job's message

and started from a request with :func:`start` (the row is committed, then queued).  Where it
runs:

- ``REDIS_URL`` set: on an RQ queue in Redis; ``flask app worker`` (started beside gunicorn by
  ``./bin/start`` / ``deploy/run-services``, or on other machines) takes it;
- otherwise in-process: a thread of the process that started it, so ``./bin/start`` needs no
  Redis.

The job's work and its outcome (``done``, message, result file) are one transaction: a job
killed mid-way (worker killed, machine lost) leaves nothing half-written.  Its row stays
``running`` with a progress heartbeat that stops; after ``JOB_STALE_AFTER`` seconds without one
it shows as 已中断 and 重新运行 queues it again.  Each run claims the job with a token; a run
whose token was replaced meanwhile (the job was re-run) rolls its work back instead of
committing it, so a job's work is committed at most once per run that finishes.

Progress lives beside the database, not in it (the work's transaction is still open while it
advances, and SQLite has one writer): in Redis when ``REDIS_URL`` is set, else in a small file
per job under ``INSTANCE_DIR/jobs`` (every process of the machine reads it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app
from flask_appbuilder import Model
from flask_babel import force_locale
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
    select,
    update,
)
from sqlalchemy.orm import Session, mapped_column

from .i18n import gettext as _
from .i18n import lazy_gettext as _l

log = logging.getLogger("backoffice.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUS_LABELS = {QUEUED: _l("排队中"), RUNNING: _l("运行中"), DONE: _l("已完成"),
                 FAILED: _l("失败"), "stale": _l("已中断")}


class Job(Model):
    """One background job: who started it, what it does (``name`` + ``args``), where it stands
    and what came out of it."""

    __tablename__ = "job"

    id = mapped_column(Integer, primary_key=True)
    name = mapped_column(String(40), nullable=False)
    label = mapped_column(String(200), nullable=False)
    user_id = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    lang = mapped_column(String(10), nullable=False, default="zh_CN")
    args = mapped_column(Text, nullable=False, default="{}")
    # the page that started it (a record's, a list's): it shows the job's progress
    origin = mapped_column(String(300))
    status = mapped_column(String(10), nullable=False, default=QUEUED, index=True)
    token = mapped_column(String(32))
    attempts = mapped_column(Integer, nullable=False, default=0)
    done = mapped_column(Integer, nullable=False, default=0)
    total = mapped_column(Integer)
    message = mapped_column(Text)
    error = mapped_column(Text)
    input_data = mapped_column(LargeBinary)  # the uploaded file a job reads (导入)
    input_name = mapped_column(String(200))
    result = mapped_column(LargeBinary)
    result_name = mapped_column(String(200))
    result_mime = mapped_column(String(100))
    created_at = mapped_column(DateTime, nullable=False, default=lambda: _now())
    queued_at = mapped_column(DateTime, nullable=False, default=lambda: _now())  # or re-queued
    started_at = mapped_column(DateTime)
    finished_at = mapped_column(DateTime)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- declaring jobs --------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSpec:
    name: str
    label: object
    run: Callable


TASKS: dict[str, TaskSpec] = {}


def task(name: str, label) -> Callable:
    """Declare ``fn(ctx, **args)`` as the background job ``name``."""

    def register(fn):
        TASKS[name] = TaskSpec(name, label, fn)
        return fn

    return register


class JobFailed(Exception):
    """A job that ends with a message for its user (bad input, refused by a rule): shown as
    the job's error, without a traceback in the log."""


class Context:
    """What a running job sees: its session (one transaction for all its work), the user who
    started it (every scope and permission rule applies as in their request), and the means to
    report progress and leave a result file."""

    def __init__(self, job: Job, session, actor, store):
        self.job, self.session, self.actor, self._store = job, session, actor, store
        self._last = 0.0

    def progress(self, done: int, total: int | None = None, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and (total is None or done < total):
            return  # at most five a second: a file or a Redis write each
        self._last = now
        self.job.done, self.job.total = done, total
        self._store.put(self.job.id, {"done": done, "total": total, "note": str(note)})

    @property
    def input(self) -> tuple[str, bytes]:
        """The file the job was given (导入's upload): (name, bytes)."""
        return self.job.input_name or "", self.job.input_data or b""

    def result(self, data: bytes, filename: str, mimetype: str) -> None:
        self.job.result, self.job.result_name, self.job.result_mime = data, filename, mimetype


# --- where progress lives --------------------------------------------------------------------
class FileProgress:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)

    def _path(self, job_id: int) -> str:
        return os.path.join(self.root, f"{int(job_id)}.json")

    def put(self, job_id: int, value: dict) -> None:
        value = dict(value, at=time.time())
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(value, f)
        os.replace(tmp, self._path(job_id))

    def get(self, job_id: int) -> dict | None:
        try:
            with open(self._path(job_id)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def drop(self, job_id: int) -> None:
        try:
            os.remove(self._path(job_id))
        except OSError:
            pass


class RedisProgress:
    def __init__(self, url: str, prefix: str = "swb:job:"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.prefix = prefix

    def put(self, job_id: int, value: dict) -> None:
        self.client.set(f"{self.prefix}{int(job_id)}", json.dumps(dict(value, at=time.time())),
                        ex=7 * 24 * 3600)

    def get(self, job_id: int) -> dict | None:
        raw = self.client.get(f"{self.prefix}{int(job_id)}")
        return json.loads(raw) if raw else None

    def drop(self, job_id: int) -> None:
        self.client.delete(f"{self.prefix}{int(job_id)}")


def progress_store(app):
    store = app.extensions.get("job_progress")
    if store is None:
        url = app.config.get("REDIS_URL")
        store = RedisProgress(url, f"swb:job:{app.config.get('JOB_QUEUE', 'backoffice')}:") \
            if url else FileProgress(
            os.path.join(app.config["INSTANCE_DIR"], "jobs"))
        app.extensions["job_progress"] = store
    return store


# --- starting and running --------------------------------------------------------------------
def start(session, name: str, actor, *, origin: str | None = None, label: str | None = None,
          input_: tuple[str, bytes] | None = None, **args) -> Job:
    """Record the job ``name`` for ``actor`` and queue it; commits the session (the job must be
    visible to the worker that takes it).  ``input_`` is a file it reads: (name, bytes)."""
    job = start_after_commit(session, name, actor, origin=origin, label=label, input_=input_,
                             **args)
    session.commit()
    return job


def start_after_commit(session, name: str, actor, *, origin: str | None = None,
                       label: str | None = None, input_: tuple[str, bytes] | None = None,
                       **args) -> Job:
    """The job ``name`` as part of the session's transaction (a transition's effect): queued
    when that transaction commits, never when it rolls back."""
    from flask_babel import get_locale

    spec = TASKS[name]
    job = Job(name=name, label=str(label or spec.label)[:200], user_id=actor.user_id,
              lang=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
              args=json.dumps(args, ensure_ascii=False), origin=origin, status=QUEUED)
    if input_ is not None:
        job.input_name, job.input_data = input_
    session.add(job)
    session.flush()
    app = current_app._get_current_object()
    session.info.setdefault("jobs_after_commit", []).append((app, job.id))
    return job


@event.listens_for(Session, "after_commit")
def _queue_committed(session):
    if session.in_nested_transaction():  # a savepoint's RELEASE fires after_commit too
        return
    for app, job_id in session.info.pop("jobs_after_commit", []):
        _queue(app, job_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session):
    if not session.in_transaction():
        session.info.pop("jobs_after_commit", None)


def record_origin(record) -> str:
    """The page of ``record``: its jobs' progress shows there."""
    return f"/{record.meta().resource}/{record.id}"


def rerun(session, job_id: int, actor) -> bool:
    """Queue a failed or interrupted job of ``actor`` again; False when it is not one."""
    app = current_app._get_current_object()
    job = session.get(Job, job_id)
    if job is None or job.user_id != actor.user_id or view_status(app, job) not in (
            FAILED, "stale"):
        return False
    moved = session.execute(update(Job).where(Job.id == job_id, Job.status == job.status)
                            .values(status=QUEUED, error=None, message=None, token=None,
                                    done=0, finished_at=None, queued_at=_now())).rowcount
    session.commit()
    if moved:
        progress_store(app).drop(job_id)
        _queue(app, job_id)
    return bool(moved)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _queue(app, job_id: int) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        from redis import Redis
        from rq import Queue

        Queue(app.config.get("JOB_QUEUE", "backoffice"), connection=Redis.from_url(url)).enqueue(
            "app.engine.jobs.perform_queued", job_id, job_timeout=int(
                app.config.get("JOB_TIMEOUT", 3600)), result_ttl=0, failure_ttl=86400)
        return
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=int(app.config.get("JOB_THREADS", 2)),
                                           thread_name_prefix="job")
    _executor.submit(_perform_logged, app, job_id)


def _perform_logged(app, job_id: int) -> None:
    try:
        perform(app, job_id)
    except Exception:  # noqa: BLE001 - a thread's exception would vanish with its future
        log.exception("job %s could not run", job_id)


_bound_app = None


def bind(app) -> None:
    """The application of this worker process (RQ calls :func:`perform_queued` with ids)."""
    global _bound_app
    _bound_app = app


def perform_queued(job_id: int) -> None:
    perform(_bound_app, job_id)


def perform(app, job_id: int) -> str:
    """Run job ``job_id`` once; answers its final status."""
    from app.engine.policy import actor_for_user

    with app.app_context():
        session = app.appbuilder.session
        try:
            token = uuid.uuid4().hex
            claimed = session.execute(update(Job).where(Job.id == job_id,
                                                        Job.status == QUEUED).values(
                status=RUNNING, token=token, started_at=_now(),
                attempts=Job.attempts + 1)).rowcount
            session.commit()
            if not claimed:
                return "skipped"
            store = progress_store(app)
            job = session.get(Job, job_id)
            store.put(job_id, {"done": 0, "total": None, "note": ""})
            spec = TASKS.get(job.name)
            user = session.get(app.appbuilder.sm.user_model, job.user_id)
            actor = actor_for_user(user) if user is not None and user.active else None
            with force_locale(job.lang):
                return _run(session, job, spec, actor, token, store)
        finally:
            session.remove()


def _run(session, job, spec, actor, token, store) -> str:
    job_id = job.id
    try:
        if spec is None or actor is None:
            raise JobFailed(_("任务无法运行：任务类型或用户已不存在"))
        ctx = Context(job, session, actor, store)
        message = spec.run(ctx, **json.loads(job.args or "{}"))
        mine = session.scalar(select(Job.token).where(Job.id == job_id).with_for_update())
        if mine != token:  # re-run meanwhile: that run's outcome counts, not this one's
            session.rollback()
            return "superseded"
        job.status, job.finished_at = DONE, _now()
        job.input_data = None  # read: not kept twice
        job.message = str(message)[:20000] if message else None
        if job.total is None or job.done < (job.total or 0):
            job.done = job.total or job.done
        session.commit()
        store.drop(job_id)
        return DONE
    except Exception as e:  # noqa: BLE001 - a job's failure is its row's, not the worker's
        session.rollback()
        if isinstance(e, JobFailed):
            error = str(e)
        else:
            from app.engine.changes import ValidationErrors
            from app.engine.policy import Refused

            if isinstance(e, (Refused, ValidationErrors)):
                error = str(e)
            else:
                log.exception("job %s (%s) failed", job_id, job.name)
                error = _("任务运行出错，已记录日志，请稍后重新运行或联系管理员")
        session.execute(update(Job).where(Job.id == job_id, Job.token == token).values(
            status=FAILED, error=error[:5000], finished_at=_now()))
        session.commit()
        store.drop(job_id)
        return FAILED


# --- reading ---------------------------------------------------------------------------------
def view_status(app, job: Job) -> str:
    """The status to show: ``stale`` for a running job whose progress stopped beating — and,
    in-process, for a job queued so long ago that the process holding it must be gone (a queued
    job on Redis waits there for a worker, however long)."""
    stale_after = float(app.config.get("JOB_STALE_AFTER", 300))
    if job.status == QUEUED and not app.config.get("REDIS_URL"):
        return "stale" if time.time() - job.queued_at.timestamp() > stale_after else QUEUED
    if job.status != RUNNING:
        return job.status
    live = progress_store(app).get(job.id)
    beat = live["at"] if live else (job.started_at or job.created_at).timestamp()
    return "stale" if time.time() - beat > stale_after else RUNNING


def snapshot(app, job: Job) -> dict:
    """What the 我的任务 screen and a page's progress bar show of ``job``."""
    status = view_status(app, job)
    live = progress_store(app).get(job.id) if status == RUNNING else None
    done = live["done"] if live else job.done
    total = live["total"] if live else job.total
    percent = 100 if status == DONE else (
        min(99, int(done * 100 / total)) if total else 0)
    return {"id": job.id, "label": job.label, "status": status,
            "status_label": str(STATUS_LABELS[status]), "done": done, "total": total,
            "percent": percent, "note": (live or {}).get("note", ""),
            "message": job.message or "", "error": job.error or "",
            "result": bool(job.result_name), "result_name": job.result_name or "",
            "finished": status in (DONE, FAILED, "stale"),
            "created_at": job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "finished_at": job.finished_at.strftime("%Y-%m-%d %H:%M:%S")
            if job.finished_at else ""}


def latest_for(session, actor, origin: str, limit: int = 3) -> list[Job]:
    """The jobs ``actor`` started from the page ``origin``, newest first."""
    if actor is None or actor.user_id is None:
        return []
    return list(session.scalars(select(Job).where(Job.user_id == actor.user_id,
                                                  Job.origin == origin)
                                .order_by(Job.id.desc()).limit(limit)))
