"""The settings check at start: every problem of the configuration at once, or nothing.

``create_app`` calls :func:`validate`; ``./bin/start``, the web service (gunicorn) and the
worker therefore refuse to start in production with a missing secret key, a SQLite database or
debug mode on, and print every problem with what to do about it.
"""

from __future__ import annotations

import os

PRODUCTION = "production"
ENVIRONMENTS = ("development", PRODUCTION)
MIN_SECRET_KEY = 32
MIN_METRICS_TOKEN = 16


class SettingsError(RuntimeError):
    """The configuration cannot be served; ``problems`` lists why."""

    def __init__(self, problems: list[str], app_env: str):
        self.problems = problems
        head = ("The backoffice refuses to start in production:" if app_env == PRODUCTION
                else "The backoffice cannot start:")
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


def problems(config, *, debug: bool = False) -> list[str]:
    """What is wrong with ``config`` (a Flask config or any mapping); empty when it may serve."""
    found = list(config.get("SETTINGS_PROBLEMS") or [])
    app_env = config.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        found.append(f"APP_ENV={app_env!r} is unknown: use 'development' or 'production'")
    fmt = config.get("LOG_FORMAT")
    if fmt not in (None, "json", "text"):
        found.append(f"LOG_FORMAT={fmt!r} is unknown: use 'json' or 'text'")
    token = config.get("METRICS_TOKEN")
    if token and len(token) < MIN_METRICS_TOKEN:
        found.append(f"METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN} characters")
    if app_env != PRODUCTION:
        return found

    key = config.get("SECRET_KEY") or ""
    if not key or key == config.get("DEVELOPMENT_SECRET_KEY"):
        found.append("SECRET_KEY is not set: set it to a long random value, e.g. the output of "
                     "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif len(key) < MIN_SECRET_KEY:
        found.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters")
    url = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if url.startswith("sqlite"):
        found.append("DATABASE_URL is SQLite: production runs on PostgreSQL, e.g. "
                     "DATABASE_URL=postgresql://user:password@host:5432/backoffice")
    if debug or config.get("DEBUG"):
        found.append("debug mode is on (FLASK_DEBUG or DEBUG): it shows code and data to "
                     "whoever causes an error; turn it off")
    if config.get("DEV_SERVER"):
        found.append("the development server (./bin/start --dev) does not serve production: "
                     "start without --dev (gunicorn)")
    if config.get("TESTING"):
        found.append("TESTING is on")
    return found


def validate(app) -> None:
    """Refuse to build ``app`` when its settings have a problem."""
    found = problems(app.config, debug=app.debug or _env_flag("FLASK_DEBUG"))
    if found:
        raise SettingsError(found, app.config.get("APP_ENV", "development"))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
