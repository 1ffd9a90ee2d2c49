"""Start the backoffice: migrate, load code lists, (development) demo data, then serve.

    python run.py                 serve at http://127.0.0.1:5000 (PORT overrides)
    APP_ENV=production python run.py --no-serve   set a production database up, no demo

DATABASE_URL selects the database (SQLite file by default; PostgreSQL in production).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

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


def _deliver_loop(app, interval: int = 60) -> None:
    from app.engine.notify import deliver_pending

    while True:
        time.sleep(interval)
        with app.app_context():
            try:
                deliver_pending(app.appbuilder.session)
            except Exception:  # noqa: BLE001 - keep the loop alive; the outbox retries
                app.logger.exception("notification delivery failed")
            finally:
                app.appbuilder.session.remove()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-serve", action="store_true", help="set up and exit")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)

    compile_translations()
    from app import create_app
    from app.cli import setup_database

    app = create_app()
    production = app.config.get("APP_ENV") == "production"
    accounts = setup_database(app, demo=not production)
    db = app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
    print(f"\n  Database: {db}")
    if accounts:
        print("  Demo accounts (password Demo@12345):")
        for username, role, org in accounts:
            print(f"    {username:14} {role:6} {org}")
    if args.no_serve:
        return
    threading.Thread(target=_deliver_loop, args=(app,), daemon=True).start()
    print(f"\n  Serving at http://{args.host}:{args.port}\n", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
