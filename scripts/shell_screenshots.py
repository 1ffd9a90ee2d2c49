"""Screenshots of the workspace for docs/shell/: each demo role's home page with a function and a
record open in tabs, at 1440×900 and 1280×800, in Chinese and in English.

    .venv/bin/python scripts/shell_screenshots.py        # a new demo database in a temp dir

Debian's Chromium through Playwright (as the browser tests); the app is served by a thread.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "shell"
# role → the pages it opens (each becomes a tab; the last one is shown)
JOURNEYS = {
    "enterprise1": ["/cd_declaration/?kind=E_DEC", "/coo_coordination/", "/me_licence_application/"],
    "institution1": ["/ue_entrustment/", "/ue_institution_filing/"],
    "customs1": ["/cd_declaration/", "/cd_declaration_exception/stats/"],
    "commerce1": ["/me_licence_application/"],
    "admin": ["/users/list/", "/cd_declaration/", "/admin/rate_admin/"],
}
SIZES = [(1440, 900), (1280, 800)]
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/shots.db"
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from app import create_app
    from app.cli import setup_database

    app = create_app()
    setup_database(app, demo=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        for user, pages in JOURNEYS.items():
            for lang in ("zh", "en"):
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                page = ctx.new_page()
                page.goto(base + "/login/")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", "Demo@12345")
                with page.expect_navigation():
                    page.click("[type=submit]")
                if lang == "en":
                    page.goto(base + "/lang/en")
                for path in pages:
                    page.goto(base + path)
                for w, h in SIZES:
                    page.set_viewport_size({"width": w, "height": h})
                    page.reload()
                    page.wait_for_timeout(1200)  # charts draw with an animation
                    out = OUT / f"{user}-{lang}-{w}.png"
                    page.screenshot(path=str(out))
                    print(out.relative_to(ROOT))
                ctx.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
