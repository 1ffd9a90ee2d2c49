"""The job worker: the background work of the backoffice, in a process of its own.

    flask --app app:create_app app worker          run until SIGTERM / Ctrl-C
    flask --app app:create_app app worker --once   one pass, then exit (cron, tests)

It runs two kinds of work:

- periodic tasks: the notification outbox (e-mail / SMS written in the business transaction,
  delivered here and retried with back-off while a sender is down), and forgetting the
  submission keys of forms older than a day (app/engine/submissions.py).  A task is a name, a period
  and a function of the app.
- queued background jobs (app/engine/jobs.py: 按天 sync, large exports, batch prints …) when
  ``REDIS_URL`` is set: an RQ worker on the queue ``JOB_QUEUE`` takes them, one at a time, in
  this process, while the periodic tasks run in a thread beside it.  Without Redis the jobs run
  in threads of the web process that started them, and this worker only runs the tasks.

Several workers may run at once, on one machine or several (each needs the same DATABASE_URL
and REDIS_URL): RQ hands each job to one of them, and each outbox pass takes the rows it sends
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so no notice goes out twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("backoffice.worker")


@dataclass(frozen=True)
class Task:
    name: str
    period: float  # seconds between two runs
    run: Callable  # run(app) -> dict | None, inside an application context


def deliver_outbox(app, batch: int = 100, max_batches: int = 50):
    """Everything due, a batch (one transaction) at a time: a notice to every enterprise goes
    out in one pass, not 100 per period."""
    from app.engine.notify import deliver_pending

    total = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(max_batches):
        counts = deliver_pending(app.appbuilder.session, limit=batch)
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
        if sum(counts.values()) < batch:
            break
    return total


def forget_submission_keys(app):
    """Keys that made a record once (app/engine/submissions.py) outlive any replay in a day."""
    from app.engine.submissions import forget_old

    hours = float(app.config.get("SUBMISSION_KEY_HOURS", 24))
    return {"forgotten": forget_old(app.appbuilder.session, hours)}


def tasks(app) -> list[Task]:
    period = float(app.config.get("WORKER_INTERVAL", 10))
    return [Task("outbox", period, deliver_outbox),
            Task("submission_keys", 3600.0, forget_submission_keys)]


def run_once(app, task: Task) -> bool:
    """One run of ``task``; a failure is logged and the worker goes on (the outbox retries)."""
    started = time.perf_counter()
    with app.app_context():
        try:
            result = task.run(app)
        except Exception:  # noqa: BLE001 - keep the worker alive
            log.exception("task %s failed", task.name, extra={"task": task.name})
            app.appbuilder.session.rollback()
            return False
        finally:
            app.appbuilder.session.remove()
    if result and any(result.values()):
        log.info("task %s: %s", task.name, result,
                 extra={"task": task.name, "result": result,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return True


def run(app, *, once: bool = False, stop: threading.Event | None = None) -> int:
    """Run every task at its period until ``stop`` is set (SIGTERM and SIGINT set it); with
    ``REDIS_URL``, the queued jobs too."""
    stop = stop or threading.Event()
    if app.config.get("REDIS_URL"):
        return _run_with_queue(app, once=once, stop=stop)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    return _run_tasks(app, once=once, stop=stop)


def _run_with_queue(app, *, once: bool, stop: threading.Event) -> int:
    """RQ's worker in this thread (on SIGTERM it finishes the job in hand, then stops), the
    periodic tasks in a thread beside it."""
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    from app.engine import jobs

    class Worker(SimpleWorker):
        # the job's time limit by a timer, not SIGALRM: works in any thread
        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self):
            if threading.current_thread() is threading.main_thread():
                super()._install_signal_handlers()

    jobs.bind(app)
    conn = Redis.from_url(app.config["REDIS_URL"])
    queue = Queue(app.config.get("JOB_QUEUE", "backoffice"), connection=conn)
    worker = Worker([queue], connection=conn)
    failures = [0]
    beside = threading.Thread(target=lambda: failures.__setitem__(
        0, _run_tasks(app, once=once, stop=stop)), name="worker-tasks", daemon=True)
    beside.start()
    try:
        worker.work(burst=once, with_scheduler=False, logging_level="WARNING")
    finally:
        stop.set()
        beside.join(timeout=30)
    return failures[0]


def _run_tasks(app, *, once: bool, stop: threading.Event) -> int:
    plan = tasks(app)
    log.info("worker started: %s", ", ".join(t.name for t in plan))
    due = {t.name: 0.0 for t in plan}
    failures = 0
    while not stop.is_set():
        now = time.monotonic()
        for task in plan:
            if due[task.name] <= now and not stop.is_set():
                failures += 0 if run_once(app, task) else 1
                due[task.name] = time.monotonic() + task.period
        if once:
            break
        stop.wait(max(0.1, min(due.values()) - time.monotonic()))
    log.info("worker stopped")
    return failures
