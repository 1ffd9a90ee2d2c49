"""Security headers on every response: a Content-Security-Policy that the pages satisfy (scripts
only from the app or with the response's nonce, no framing), X-Frame-Options, nosniff,
Referrer-Policy, and HSTS in production."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.engine.attachments import Attachment

from .browser_support import no_page_errors
from .conftest import CSRF_RE, PASSWORD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NONCE_RE = re.compile(r"'nonce-([^']+)'")
SCRIPT_RE = re.compile(r"<script\b[^>]*>", re.I)
HANDLER_RE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def assert_protected(resp, where, framing="'none'"):
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    assert f"frame-ancestors {framing}" in csp, where
    assert "object-src 'none'" in csp and "script-src 'self' 'nonce-" in csp, where
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1], where
    assert h.get("X-Frame-Options") == ("DENY" if framing == "'none'" else "SAMEORIGIN"), where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") == "same-origin", where


def test_every_kind_of_response_carries_the_headers(app, browser, api, db):
    anon = app.test_client()
    ent = browser("enterprise1")
    rest = api("enterprise1")
    admin = browser("admin")
    ent.post("/me_licence_application/1/attachments",
             data={"slot": "files", "file": (io.BytesIO(PDF), "合同.pdf")},
             content_type="multipart/form-data")
    att = db.scalar(select(Attachment).where(Attachment.entity == "me_licence_application",
                                             Attachment.record_id == 1))
    responses = {
        "login page": anon.get("/login/"),
        "redirect": anon.get("/me_licence_application/"),
        "home": ent.get("/"),
        "list": ent.get("/me_licence_application/"),
        "form": ent.get("/me_licence_application/1"),
        "print": ent.get("/me_licence_application/1/print"),
        "download": ent.get(f"/me_licence_application/1/attachments/{att.id}"),
        "static": anon.get("/assets/engine.js"),
        "not found": ent.get("/no-such-page"),
        "api": rest.get("/api/v1/me_licence_application/"),
        "api login": anon.post("/api/v1/security/login", json={"username": "x"}),
        "console": admin.get("/admin/user_admin/"),
        "swagger": ent.get("/swagger/v1"),
    }
    for where, resp in responses.items():
        # a print shows inside the app's own page (its tab of the workspace), nowhere else
        assert_protected(resp, where, "'self'" if where == "print" else "'none'")
        assert "Strict-Transport-Security" not in resp.headers, where  # not in development
    assert responses["download"].headers["Content-Type"] == "application/pdf"
    assert responses["download"].status_code == 200


def test_hsts_only_in_production(scratch_pg):
    from app import create_app

    # production refuses SQLite and TESTING: an empty PostgreSQL database serves the login page
    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_pg, "SECRET_KEY": "s" * 48,
                      "APP_ENV": "production", "SERVER_NAME": "localhost"})
    resp = app.test_client().get("/login/")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_protected(resp, "production")
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/me_licence_application/", "/me_licence_application/1",
                                  "/me_licence_application/new", "/ue_entrustment/",
                                  "/resetmypassword/form", "/users/userinfo/",
                                  "/admin/user_admin/", "/admin/user_admin/edit/?id=1"])
def test_every_script_carries_the_nonce_of_its_response(browser, path):
    user = browser("admin" if path.startswith(("/admin", "/users")) else "enterprise1")
    resp = user.get(path)
    assert resp.status_code == 200, path
    nonce = NONCE_RE.search(resp.headers["Content-Security-Policy"]).group(1)
    html = resp.get_data(as_text=True)
    scripts = SCRIPT_RE.findall(html)
    assert scripts, path
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, (path, tag)
    if not path.startswith("/admin"):
        # the product's pages have no inline event handlers and no javascript: links
        assert not HANDLER_RE.search(html), (path, HANDLER_RE.search(html).group(0))
        assert "javascript:" not in html, path


def test_each_response_gets_its_own_nonce(browser):
    ent = browser("enterprise1")
    first = NONCE_RE.search(ent.get("/").headers["Content-Security-Policy"]).group(1)
    second = NONCE_RE.search(ent.get("/").headers["Content-Security-Policy"]).group(1)
    assert first != second and len(first) >= 16


def test_the_cached_page_frame_takes_each_responses_nonce_and_language(browser):
    """The style sheets, scripts and dialogs around every page are rendered once per language
    (engine/frame.html): each response still gets its own nonce in them, and a user who
    switches to English gets the English frame."""
    ent = browser("enterprise1")
    for _ in range(2):
        resp = ent.get("/me_licence_application/")
        nonce = NONCE_RE.search(resp.headers["Content-Security-Policy"]).group(1)
        scripts = SCRIPT_RE.findall(resp.get_data(as_text=True))
        assert len(scripts) >= 5 and all(f'nonce="{nonce}"' in t for t in scripts), scripts
    assert 'id="workspace-keys-title">快捷键<' in resp.get_data(as_text=True)
    ent.get("/lang/en")
    html = ent.get("/me_licence_application/").get_data(as_text=True)
    assert "快捷键" not in html
    assert 'id="workspace-keys-title">Keyboard shortcuts<' in html


def test_the_console_allows_only_its_own_handlers_by_hash(browser):
    import base64
    import hashlib

    def sha(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    admin = browser("admin")
    console = admin.get("/admin/user_admin/").headers["Content-Security-Policy"]
    assert "'unsafe-hashes'" in console
    assert sha("return modelActions.execute('unlock');") in console
    assert sha("return modelActions.execute('delete');") in console
    page = admin.get("/").headers["Content-Security-Policy"]
    assert "'unsafe-hashes'" not in page and "sha256-" not in page


# --- in Chromium ----------------------------------------------------------------------------
@pytest.mark.browser
def test_the_pages_work_under_the_policy_and_cannot_be_framed(user, chromium, live):
    """The console's batch action 解除锁定 (an inline handler allowed by its hash) works, the
    product's pages raise no CSP report, an injected inline script is blocked, and another
    site cannot frame the app."""
    from app.throttle import LoginThrottle
    from models.base import AppUser

    with live.app.app_context():
        from app import db

        uid = db.session.scalar(select(AppUser.id).where(AppUser.username == "enterprise1"))
        db.session.add(LoginThrottle(key=f"user:{uid}", failures=0, locked_until=2_000_000_000))
        db.session.commit()
        db.session.remove()
    admin = user("admin")
    for path in ("/", "/me_licence_application/", "/ue_entrustment/", "/swagger/v1",
                 "/admin/", "/admin/org_admin/", "/admin/user_admin/"):
        admin.goto(path)
    page = admin.page
    page.check(f"input.action-checkbox[value='{uid}']")
    item = page.locator("a.dropdown-item", has_text="解除锁定")
    page.locator("*:has(> div.dropdown-menu)", has=item).locator(
        "> a[data-toggle=dropdown]").click()
    page.click("a.dropdown-item:has-text('解除锁定')")
    with page.expect_navigation():   # the console asks in the workspace's dialog too
        admin.answer_dialog()
    assert "已解除 1 个用户的登录锁定" in admin.flash()
    assert admin.dialogs == ["是否解除所选用户的登录锁定？"]
    with live.app.app_context():
        from app import db

        assert db.session.get(LoginThrottle, f"user:{uid}") is None
        db.session.remove()
    no_page_errors(user)

    # an injected inline script without the nonce is refused
    admin.goto("/")
    page.evaluate("() => { const s = document.createElement('script');"
                  " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }")
    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in e for e in admin.errors)
    admin.errors.clear()

    # a page of another site framing the login form gets nothing
    other = chromium.new_context()
    try:
        tab = other.new_page()
        tab.set_content(f'<iframe id="f" src="{live.url}/login/" width="600" height="400">'
                        "</iframe>")
        tab.wait_for_timeout(1500)
        frame = tab.frame_locator("#f")
        assert frame.locator("input[name=password]").count() == 0
    finally:
        other.close()


@pytest.mark.browser
def test_a_signed_in_user_changes_the_password_in_the_browser(user, live):
    ent = user("enterprise1")
    ent.goto("/resetmypassword/form")
    page = ent.page
    page.fill("input[name=password]", "Qinchuan#Lathe-88")
    page.fill("input[name=conf_password]", "Qinchuan#Lathe-88")
    ent.submit("button[type=submit], input[type=submit]")
    ent.goto("/me_licence_application/")  # still signed in
    assert "/login" not in page.url
    ent.shot("password-changed")
    no_page_errors(user)
    assert PASSWORD  # the demo password no longer signs enterprise1 in:
    c = live.app.test_client()
    html = c.get("/login/").get_data(as_text=True)
    resp = c.post("/login/", data={"username": "enterprise1", "password": PASSWORD,
                                   "csrf_token": CSRF_RE.search(html).group(1)})
    assert c.get("/me_licence_application/").status_code == 302, resp.status_code
