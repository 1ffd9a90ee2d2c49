"""gunicorn settings of the web service, from the environment.

    gunicorn --config deploy/gunicorn.conf.py app.wsgi:application

HOST, PORT          where to listen (default 127.0.0.1:5000; the container listens on 0.0.0.0:8000)
WEB_CONCURRENCY     worker processes (default, or 0: 2 × CPU cores + 1, at most 12)
GUNICORN_THREADS    threads per worker (default 4): a worker keeps answering while one of its
                    requests waits for the database or renders a long PDF or Excel export
GUNICORN_TIMEOUT    seconds of silence after which a worker is replaced (default 120)
GUNICORN_KEEPALIVE_REQUESTS   requests a kept-alive connection serves before the answer closes
                    it (default 20; 0: no limit) - the client's next connection goes to whichever
                    worker accepts it first, so long-lived clients spread over the workers
LOG_FORMAT, LOG_LEVEL   gunicorn's own lines go through the application's handler and format
PROMETHEUS_MULTIPROC_DIR   where the worker processes write their metrics for /metrics to add
                    up; emptied at start (default: a new temporary directory)

The application is loaded once in the master and the workers are forked from it: settings that
cannot serve stop the start once, with their list of problems, and the workers share the
loaded code's memory.  Each worker opens its own database connections after the fork.
"""

import gc
import os
import shutil
import tempfile

_prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if not _prometheus_dir:
    # Before the application (and prometheus_client) is imported: the multiprocess mode is
    # chosen when prometheus_client is first imported.
    _prometheus_dir = tempfile.mkdtemp(prefix="backoffice-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _prometheus_dir
    _made_prometheus_dir = True
else:
    _made_prometheus_dir = False
    os.makedirs(_prometheus_dir, exist_ok=True)
    for _name in os.listdir(_prometheus_dir):  # a previous run's figures are not this run's
        if _name.endswith(".db"):
            os.remove(os.path.join(_prometheus_dir, _name))

from app.observability import gunicorn_logconfig  # noqa: E402 - after the environment above


def _int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def default_workers(cores=None):
    """gunicorn's rule of thumb, 2 × cores + 1, capped: each worker holds its own pool of
    database connections (docs/scaling.md)."""
    return min(2 * (cores or os.cpu_count() or 1) + 1, 12)


bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{_int('PORT', 5000)}"
workers = _int("WEB_CONCURRENCY", 0) or default_workers()
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
keepalive_requests = _int("GUNICORN_KEEPALIVE_REQUESTS", 20)
preload_app = True
proc_name = "backoffice-web"
control_socket_disable = True  # no runtime control socket: start and stop through signals
accesslog = None  # the application writes one access line per request, with its request id
logconfig_dict = gunicorn_logconfig(
    os.environ.get("LOG_FORMAT")
    or ("json" if os.environ.get("APP_ENV") == "production" else "text"),
    os.environ.get("LOG_LEVEL") or "INFO")


def pre_fork(server, worker):
    """The application loaded in the master lives as long as each worker: frozen, the cyclic
    garbage collector no longer walks its objects in every collection of every worker (about
    6 % of a request's CPU under the load test, 0.9 → 0.4 ms) nor writes to the memory pages
    the workers share with the master."""
    gc.freeze()


def post_fork(server, worker):
    """Connections opened by the master (none, normally) are not shared with a worker."""
    from app import db
    from app.wsgi import application

    with application.app_context():
        db.engine.dispose(close=False)


def pre_request(worker, req):
    """A connection is accepted by one worker and kept alive there: without a limit, clients
    that stay connected (browsers, API clients, a load balancer's pool) pin themselves to the
    workers that were free when they connected - under the load test 50 connections sat
    19/14/13/4 on 4 workers, so one core queued while the other idled.  Closing every
    keepalive_requests-th answer (the client reconnects, as HTTP/1.1 allows) lets the
    connections drift to the workers with time to accept."""
    if keepalive_requests and req.req_number >= keepalive_requests:
        req.must_close = True


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_prometheus_dir:
        shutil.rmtree(_prometheus_dir, ignore_errors=True)
