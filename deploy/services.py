"""The services of a production installation, declared once, and a supervisor that runs them
on a machine without containers.

    deploy/run-services            migrate once, then web (gunicorn) and worker, until SIGTERM
    python deploy/services.py      the same

deploy/compose.yaml runs the same services in containers; tests/test_deploy.py checks that it
names the same services, commands and settings as the table below.  ``./bin/start`` uses the
same supervisor for its web and worker processes (with the development settings).

Settings come from the environment.  A setting is *required* (the start refuses without it),
has a *default*, is *optional*, or is *fixed* (the same in every installation).  In the compose
file, DATABASE_URL and REDIS_URL name the compose services instead (``compose=``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None = None  # used when the environment does not set it
    required: bool = False
    fixed: str | None = None  # always this value
    compose: str | None = None  # what the compose file gives instead of ${NAME}

    def compose_value(self) -> str:
        """The value the compose file must write for this setting."""
        if self.compose is not None:
            return self.compose
        if self.fixed is not None:
            return self.fixed
        if self.required:
            return f"${{{self.name}:?set {self.name}}}"
        return f"${{{self.name}:-{self.default or ''}}}"


@dataclass(frozen=True)
class Service:
    name: str
    command: tuple[str, ...]  # run from the project's folder, the virtualenv's bin on PATH
    settings: tuple[Setting, ...]
    once: bool = False  # runs to completion before the others start
    description: str = ""
    ports: tuple[int, ...] = field(default=())

    def missing(self, environ) -> list[str]:
        return [s.name for s in self.settings if s.required and not environ.get(s.name)]

    def environment(self, environ) -> dict[str, str]:
        """The service's settings taken from ``environ`` (required ones must be there)."""
        out = {}
        for s in self.settings:
            if s.fixed is not None:
                out[s.name] = s.fixed
            elif environ.get(s.name):
                out[s.name] = environ[s.name]
            elif s.default is not None:
                out[s.name] = s.default
        return out


PG_COMPOSE = "postgresql://backoffice:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/backoffice"

COMMON = (
    Setting("APP_ENV", fixed="production"),
    Setting("DATABASE_URL", required=True, compose=PG_COMPOSE),
    Setting("SECRET_KEY", required=True),
    Setting("REDIS_URL", compose="redis://redis:6379/0"),
    Setting("LOG_FORMAT", fixed="json"),
    Setting("LOG_LEVEL", default="INFO"),
    Setting("DB_POOL_SIZE", default="5"),
    Setting("DB_MAX_OVERFLOW", default="10"),
)

SERVICES = (
    Service(
        "migrate",
        ("flask", "--app", "app:create_app", "app", "setup"),
        COMMON,
        once=True,
        description="Alembic migrations, roles and code lists; runs once before web and worker",
    ),
    Service(
        "web",
        ("gunicorn", "--config", "deploy/gunicorn.conf.py", "app.wsgi:application"),
        (*COMMON,
         Setting("HOST", default="0.0.0.0", compose="0.0.0.0"),
         Setting("PORT", default="8000", compose="8000"),
         Setting("WEB_CONCURRENCY", default="0"),  # 0: from the CPU cores
         Setting("GUNICORN_THREADS", default="4"),
         Setting("GUNICORN_KEEPALIVE_REQUESTS", default="20"),
         Setting("METRICS_TOKEN", default="")),
        description="gunicorn: the screens, the REST API, /healthz, /readyz, /metrics",
        ports=(8000,),
    ),
    Service(
        "worker",
        ("flask", "--app", "app:create_app", "app", "worker"),
        (*COMMON,
         Setting("WORKER_INTERVAL", default="10"),
         Setting("SMTP_HOST", default=""),
         Setting("SMTP_PORT", default="25"),
         Setting("SMTP_FROM", default="noreply@singlewindow.local")),
        description="the job worker: notification outbox (and queued jobs)",
    ),
)

BY_NAME = {s.name: s for s in SERVICES}


# --- the supervisor --------------------------------------------------------------------
def _bin_dir() -> str:
    return os.path.dirname(sys.executable)


def _argv(service: Service) -> list[str]:
    head = shutil.which(service.command[0], path=_bin_dir()) or service.command[0]
    return [head, *service.command[1:]]


def _log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts services as child processes, stops them all on SIGTERM / SIGINT or when the web
    service ends, and restarts a worker that died (after a pause)."""

    def __init__(self, services, env_for, cwd=ROOT):
        self.services = list(services)
        self.env_for = env_for  # service -> full environment of its process
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, service: Service) -> subprocess.Popen:
        proc = subprocess.Popen(_argv(service), cwd=self.cwd, env=self.env_for(service))
        self.procs[service.name] = proc
        _log(f"{service.name} started (pid {proc.pid})")
        return proc

    def run_once(self, service: Service) -> int:
        proc = self.start(service)
        code = proc.wait()
        del self.procs[service.name]
        _log(f"{service.name} finished ({code})")
        return code

    def _on_signal(self, signum, _frame):
        self.stopping = True

    def stop(self, timeout: float = 40.0) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                _log(f"stopping {name}")
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _log(f"{name} did not stop in time: killed")
                proc.kill()
                proc.wait()

    def serve(self, on_ready=None) -> int:
        """Run-once services first (stopping at a failure), then the others until a signal."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        for service in self.services:
            if service.once:
                code = self.run_once(service)
                if code != 0:
                    _log(f"{service.name} failed: nothing else is started")
                    return code
            if self.stopping:
                return 0
        long_running = [s for s in self.services if not s.once]
        for service in long_running:
            self.start(service)
        restarts: dict[str, float] = {}
        ready_told = on_ready is None
        code = 0
        try:
            while not self.stopping:
                if not ready_told:
                    ready_told = on_ready()
                for service in long_running:
                    proc = self.procs[service.name]
                    if proc.poll() is None:
                        continue
                    if service.name == "web":
                        _log(f"web ended ({proc.returncode}): stopping")
                        code = proc.returncode or 1
                        self.stopping = True
                        break
                    if time.monotonic() >= restarts.get(service.name, 0.0):
                        _log(f"{service.name} ended ({proc.returncode}): restarting")
                        restarts[service.name] = time.monotonic() + 10
                        self.start(service)
                time.sleep(0.2)
        finally:
            self.stop()
        return code


def wait_ready(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def production_environment(service: Service, environ=None) -> dict[str, str]:
    """The process environment of ``service`` on a machine without containers."""
    environ = os.environ if environ is None else environ
    env = dict(environ)
    env.update(service.environment(environ))
    env["PATH"] = _bin_dir() + os.pathsep + environ.get("PATH", "")
    return env


def main() -> int:
    """Start the services of the table on this machine, as the compose file does."""
    missing = sorted({name for service in SERVICES for name in service.missing(os.environ)})
    if missing:
        _log(f"set {', '.join(missing)} in the environment (see deploy/services.py)")
        return 2
    metrics_dir = tempfile.mkdtemp(prefix="backoffice-metrics-")

    def env_for(service):
        env = production_environment(service)
        if service.name == "web":
            env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return env

    web_env = production_environment(BY_NAME["web"])
    host = "127.0.0.1" if web_env["HOST"] in ("0.0.0.0", "::") else web_env["HOST"]
    ready_url = f"http://{host}:{web_env['PORT']}/readyz"

    def on_ready():
        if wait_ready(ready_url):
            _log(f"ready: {ready_url}")
            return True
        return False

    try:
        return Supervisor(SERVICES, env_for).serve(on_ready)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
