"""Helpers of the browser tests: a live server in a thread and the keyboard gestures of the
generated forms (type-ahead code lists, the catalogue picker, Enter to move on)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "Demo@12345"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
README_SCREENSHOT = ROOT / "docs" / "screenshot.png"


def open_function(page, group: str, entry: str) -> None:
    """The left 功能栏 (the manuals' menu): open `group` when it is closed, click its function
    `entry`, wait for the page."""
    grp = page.locator("#sidebar .menu-group",
                       has=page.locator(".group-toggle", has_text=group)).first
    if "open" not in (grp.get_attribute("class") or "").split():
        grp.locator(".group-toggle").click()
    with page.expect_navigation():
        grp.locator("a.menu-entry", has_text=entry).first.click()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # errors are still logged
        pass


class LiveServer:
    """The app served on a free localhost port by a threaded werkzeug server."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server",
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class UserPage:
    """One signed-in user's browser tab (its own context: own cookies)."""

    def __init__(self, browser, base_url: str, username: str):
        self.base = base_url
        self.username = username
        self.context = browser.new_context(viewport={"width": 1400, "height": 900},
                                           locale="zh-CN", device_scale_factor=1)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"{username}: {e}"))
        self.page.on("response", self._on_response)
        self.page.on("console", self._on_console)
        self.dialogs: list[str] = []

        self.native_dialogs: list[str] = []   # the browser's own alert / confirm / prompt

        def accept(dialog):
            self.dialogs.append(dialog.message)
            self.native_dialogs.append(dialog.message)
            dialog.accept()

        self.page.on("dialog", accept)

    def _on_console(self, msg):
        # Chromium reports every script, style or frame the Content-Security-Policy blocked
        if msg.type == "error" and "Content Security Policy" in msg.text:
            self.errors.append(f"{self.username}: CSP: {msg.text}")

    def _on_response(self, resp):
        if resp.status >= 500:
            self.errors.append(f"{self.username}: HTTP {resp.status} {resp.url}")

    def goto(self, path: str, wait_until: str = "load"):
        resp = self.page.goto(self.base + path, wait_until=wait_until)
        assert resp is not None and resp.status < 400, \
            f"GET {path} -> {resp.status if resp else 'no response'}"
        return resp

    def login(self, password: str = PASSWORD) -> UserPage:
        page = self.page
        # signing in needs the form, not its images and fonts (which a busy machine may take
        # seconds to ask for): the DOM is enough, on the way in and on the way out
        self.goto("/login/", wait_until="domcontentloaded")
        page.fill("input[name=username]", self.username)
        page.fill("input[name=password]", password)
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.press("input[name=password]", "Enter")
        assert "/login" not in page.url, f"login of {self.username} failed"
        return self

    # -- keyboard -----------------------------------------------------------------------
    def focused_name(self) -> str | None:
        return self.page.evaluate("document.activeElement && document.activeElement.name")

    def wait_focus(self, name: str) -> None:
        self.page.wait_for_function("n => document.activeElement && document.activeElement.name === n",
                                    arg=name)

    def enter_to(self, name: str) -> None:
        """Enter moves the cursor on; it lands in `name`."""
        self.page.keyboard.press("Enter")
        self.wait_focus(name)

    def type_code(self, text: str, code: str) -> None:
        """In a focused code-list box: type `text`, wait until the type-ahead shows `code`
        first, Enter takes it."""
        page = self.page
        name = self.focused_name()
        page.keyboard.type(text)
        page.wait_for_function(
            "c => { const a = document.querySelector('.typeahead-menu .ta-item.active .ta-code');"
            " return a && a.textContent.trim() === c; }", arg=code)
        page.keyboard.press("Enter")
        page.wait_for_selector(".typeahead-menu", state="detached")
        assert page.input_value(f"[name='{name}']") == code

    def pick_from_catalogue(self, text: str, code: str) -> None:
        """In the focused 商品编码 box: type `text`, Enter shows the catalogue entries, the arrow
        keys move to `code`, Enter picks it (and fills 商品名称 / 计量单位)."""
        page = self.page
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        page.wait_for_selector(".typeahead-menu .ta-item.active")
        codes = [c.strip() for c in page.locator(".typeahead-menu .ta-item .ta-code").all_inner_texts()]
        assert code in codes, f"{code} not offered for {text}: {codes}"
        for _ in range(codes.index(code)):
            page.keyboard.press("ArrowDown")
        active = page.locator(".typeahead-menu .ta-item.active .ta-code").inner_text().strip()
        assert active == code
        page.keyboard.press("Enter")
        page.wait_for_selector(".typeahead-menu", state="detached")

    # -- page state ---------------------------------------------------------------------
    def state_label(self) -> str:
        return self.page.locator(".state-label").first.inner_text().strip()

    def flash(self) -> str:
        return " ".join(self.page.locator(".alert").all_inner_texts())

    def submit(self, selector: str) -> None:
        """Click a button that posts the page and wait for the page it lands on — answering
        确定 when the button asks first (是否申报？ …)."""
        button = self.page.locator(selector).first
        asks = button.get_attribute("data-confirm") or button.get_attribute("data-question")
        with self.page.expect_navigation():
            self.page.click(selector)
            if asks:
                self.answer_dialog()

    def answer_dialog(self, ok: bool = True) -> str:
        """The toolkit's dialog (the product's alert / confirm): note its message in
        ``dialogs``, answer it (确定, or 取消), and wait until it is gone."""
        dlg = self.page.locator("#ui-dialog")
        dlg.wait_for(state="visible")
        self.page.wait_for_function(
            "() => ['in', 'show'].some(c => document.getElementById('ui-dialog')"
            ".classList.contains(c))")  # Bootstrap 3 (its own screens), 4 (the console), 5
        message = dlg.locator(".ui-message").inner_text().strip()
        self.dialogs.append(message)
        dlg.locator(".js-ui-ok" if ok else ".js-ui-cancel").click()
        return message

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


def update_readme_screenshot() -> bool:
    """docs/screenshot.png is rewritten only on request (it is a tracked file)."""
    return os.environ.get("UPDATE_README_SCREENSHOT") == "1"


LICENCE_NO_RE = re.compile(r"^\d{2}-\d{2}-\d{6}$")


def no_page_errors(user) -> None:
    errors = [e for tab in user.tabs for e in tab.errors]
    assert not errors, "errors in the browser: " + "; ".join(errors)
    # the product asks and tells in the toolkit's dialog, never in the browser's alert()/confirm()
    native = [d for tab in user.tabs for d in tab.native_dialogs]
    assert not native, "the browser's own dialogs: " + "; ".join(native)


def css(page, selector: str, prop: str):
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")
