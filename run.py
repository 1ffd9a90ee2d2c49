"""Start the backoffice: migrate, load code lists, (development) demo data, then serve.

    python run.py                 serve at http://127.0.0.1:5000 (HOST, PORT override) with
                                  gunicorn and the job worker beside it
    python run.py --dev           Flask's development server with the reloader (code changes
                                  restart it); notices are delivered by a thread
    APP_ENV=production python run.py --no-serve   set a production database up, no demo

DATABASE_URL selects the database (SQLite file by default; PostgreSQL in production).
WEB_CONCURRENCY sets gunicorn's worker processes (default: 2 × CPU cores + 1, at most 12).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading

BASE_DIR = os.path.dirname(os.path.abspath(__file__))


def compile_translations() -> None:
    """Compile the Babel catalogues (.po → .mo) when they are missing or older."""
    root = os.path.join(BASE_DIR, "i18n", "translations")
    stale = False
    for lang in os.listdir(root):
        po = os.path.join(root, lang, "LC_MESSAGES", "messages.po")
        mo = po[:-2] + "mo"
        if os.path.exists(po) and (not os.path.exists(mo)
                                   or os.path.getmtime(mo) < os.path.getmtime(po)):
            stale = True
    if stale:
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", root,
                        "--statistics"], check=True)


def _deliver_loop(app) -> None:
    """--dev: the job worker's tasks in a thread of the development server."""
    from app import worker

    worker.run(app)


def gunicorn_available() -> bool:
    try:
        import gunicorn.app.wsgiapp  # noqa: F401 - needs fcntl: not on Windows
    except ImportError:
        return False
    return True


def serve_gunicorn(host: str, port: int) -> int:
    """gunicorn and the job worker as child processes, stopped together (Ctrl-C, SIGTERM)."""
    sys.path.insert(0, os.path.join(BASE_DIR, "deploy"))
    from services import BY_NAME, Supervisor, wait_ready

    env = dict(os.environ, HOST=host, PORT=str(port),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"

    def on_ready():
        if wait_ready(url + "/healthz"):
            print(f"\n  Serving at {url}  (gunicorn; Ctrl-C stops)\n", flush=True)
            return True
        return False

    return Supervisor([BY_NAME["web"], BY_NAME["worker"]], lambda _s: env).serve(on_ready)


def serve_dev(app, host: str, port: int, reload: bool) -> None:
    import logging

    from werkzeug.serving import run_simple

    # The application writes the access lines (with the request id); Werkzeug's would double them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not reload or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        threading.Thread(target=_deliver_loop, args=(app,), daemon=True).start()
        print(f"\n  Serving at http://{host}:{port}  (development server)\n", flush=True)
    run_simple(host, port, app, use_reloader=reload, threaded=True,
               extra_files=[os.path.join(BASE_DIR, "config.py")] if reload else None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-serve", action="store_true", help="set up and exit")
    parser.add_argument("--dev", action="store_true",
                        help="development server with the reloader instead of gunicorn")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)

    from app import create_app
    from app.settings import SettingsError

    reloaded = os.environ.get("WERKZEUG_RUN_MAIN") == "true"  # --dev: the reloader's child
    if not reloaded:
        compile_translations()
    try:
        app = create_app({"DEV_SERVER": True} if args.dev else None)
    except SettingsError as e:
        print(e, file=sys.stderr, flush=True)
        raise SystemExit(2) from None

    if not reloaded:
        from app.cli import setup_database

        production = app.config.get("APP_ENV") == "production"
        accounts = setup_database(app, demo=not production)
        db = app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
        print(f"\n  Database: {db}")
        if accounts:
            print("  Demo accounts (password Demo@12345):")
            for username, role, org in accounts:
                print(f"    {username:14} {role:6} {org}")
        sys.stdout.flush()
    if args.no_serve:
        return
    if args.dev:
        serve_dev(app, args.host, args.port, reload=True)
    elif gunicorn_available():
        with app.app_context():  # the web and worker processes open their own connections
            from app import db

            db.engine.dispose()
        raise SystemExit(serve_gunicorn(args.host, args.port))
    else:
        print("  gunicorn does not run on this system: serving with the development server")
        serve_dev(app, args.host, args.port, reload=False)


if __name__ == "__main__":
    main()
