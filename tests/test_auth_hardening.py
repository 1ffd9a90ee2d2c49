"""Sign-in throttling, the password policy and the end of sessions.

- An account is locked after AUTH_LOCKOUT_ATTEMPTS failures (form and API alike, counted in
  the database so that every worker sees them), an address is slowed after
  AUTH_ADDRESS_ATTEMPTS; the message tells the minutes left; an administrator unlocks; the
  lock ends by itself.
- Every channel that sets a password refuses short, user-name and common passwords.
- Signing out ends the session (an old cookie is worthless) and a password change ends every
  JWT issued before it.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from app.throttle import LoginThrottle
from models.base import AppUser

from .conftest import CSRF_RE, PASSWORD, Browser
from .helpers import sql_statements

LOCKED_ZH = "登录失败次数过多，账号已锁定，请 15 分钟后再试"


def form_login(client, username, password, **kw) -> str:
    """Sign in through the login form; the text of the page it lands on."""
    page = client.get("/login/", **kw)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    resp = client.post("/login/", data={"username": username, "password": password,
                                        "csrf_token": token}, **kw)
    assert resp.status_code == 302
    return client.get(resp.headers["Location"], **kw).get_data(as_text=True)


def signed_in(client) -> bool:
    resp = client.get("/me_licence_application/")
    return resp.status_code == 200


def api_login(client, username, password, **kw):
    return client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"}, **kw)


def user_row(db, username) -> AppUser:
    db.rollback()
    return db.scalar(select(AppUser).where(AppUser.username == username))


# --- lockout --------------------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(app, db):
    c = app.test_client()
    for _ in range(5):
        html = form_login(c, "enterprise1", "wrong-password")
        assert LOCKED_ZH not in html
    html = form_login(c, "enterprise1", PASSWORD)
    assert LOCKED_ZH in html
    assert not signed_in(c)
    uid = user_row(db, "enterprise1").id
    db.rollback()
    row = db.get(LoginThrottle, f"user:{uid}")
    assert row is not None and row.locked_until - time.time() > 14 * 60
    # another user is not affected
    other = app.test_client()
    form_login(other, "enterprise2", PASSWORD)
    assert signed_in(other)


def test_the_api_answers_429_with_the_time_left_in_the_callers_language(app):
    c = app.test_client()
    for _ in range(5):
        assert api_login(c, "enterprise1", "wrong-password").status_code == 401
    resp = api_login(c, "enterprise1", PASSWORD, headers={"Accept-Language": "en"})
    assert resp.status_code == 429
    assert 14 * 60 < int(resp.headers["Retry-After"]) <= 15 * 60
    assert resp.json["message"] == ("Too many failed sign-ins: the account is locked. "
                                    "Try again in 15 minutes.")
    assert "access_token" not in resp.json
    resp = api_login(c, "enterprise1", PASSWORD)
    assert resp.status_code == 429 and resp.json["message"] == LOCKED_ZH


def test_the_form_and_the_api_count_the_same_failures(app):
    c = app.test_client()
    for _ in range(3):
        form_login(c, "enterprise1", "wrong-password")
    for _ in range(2):
        assert api_login(c, "enterprise1", "wrong-password").status_code == 401
    assert api_login(c, "enterprise1", PASSWORD).status_code == 429
    assert LOCKED_ZH in form_login(c, "enterprise1", PASSWORD)


def test_a_success_starts_the_count_anew(app):
    c = app.test_client()
    for _ in range(4):
        api_login(c, "enterprise1", "wrong-password")
    assert api_login(c, "enterprise1", PASSWORD).status_code == 200
    for _ in range(4):
        assert api_login(c, "enterprise1", "wrong-password").status_code == 401
    assert api_login(c, "enterprise1", PASSWORD).status_code == 200


def test_a_name_nobody_has_is_locked_the_same_way(app):
    c = app.test_client()
    for _ in range(5):
        assert api_login(c, "nobody-here", "wrong-password").status_code == 401
    resp = api_login(c, "nobody-here", "wrong-password")
    assert resp.status_code == 429 and resp.json["message"] == LOCKED_ZH


def test_the_lock_ends_by_itself_after_the_period(app, monkeypatch):
    """The throttle reads the test's clock: the five failures fall within the 3-second window
    however slowly a loaded machine answers them (with the real clock, five sign-ins taking
    over two seconds opened a new window and nothing was locked), and the lock's end is
    reached without sleeping."""
    from types import SimpleNamespace

    from app import throttle

    now = [float(int(time.time()))]
    monkeypatch.setattr(throttle, "time", SimpleNamespace(time=lambda: now[0]))
    app.config["AUTH_LOCKOUT_MINUTES"] = 0.05  # 3 seconds
    c = app.test_client()
    for _ in range(5):
        api_login(c, "enterprise1", "wrong-password")
    resp = api_login(c, "enterprise1", PASSWORD)
    assert resp.status_code == 429 and "1 分钟" in resp.json["message"]
    now[0] += 2.9
    assert api_login(c, "enterprise1", PASSWORD).status_code == 429  # not over yet
    now[0] += 0.2
    assert api_login(c, "enterprise1", PASSWORD).status_code == 200


def test_an_administrator_unlocks_from_the_console(app, browser, db):
    c = app.test_client()
    for _ in range(5):
        api_login(c, "enterprise1", "wrong-password")
    assert api_login(c, "enterprise1", PASSWORD).status_code == 429
    admin = browser("admin")
    html = admin.get("/admin/user_admin/").get_data(as_text=True)
    assert "解除锁定" in html
    token = console_token(html)
    uid = user_row(db, "enterprise1").id
    resp = admin.client.post("/admin/user_admin/action/", data={
        "csrf_token": token, "action": "unlock", "rowid": str(uid)})
    assert resp.status_code == 302
    assert "已解除 1 个用户的登录锁定" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert api_login(c, "enterprise1", PASSWORD).status_code == 200


def test_an_address_spraying_many_accounts_is_slowed(app):
    app.config["AUTH_ADDRESS_ATTEMPTS"] = 8
    attacker = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    c = app.test_client()
    names = ["enterprise1", "enterprise2", "customs1", "commerce1"]
    for i in range(8):
        assert api_login(c, names[i % 4], "wrong-password", **attacker).status_code == 401
    resp = api_login(c, "institution1", PASSWORD, **attacker)
    assert resp.status_code == 429
    assert resp.json["message"] == "该地址登录失败次数过多，请 5 分钟后再试"
    assert 4 * 60 < int(resp.headers["Retry-After"]) <= 5 * 60
    html = form_login(c, "institution1", PASSWORD, **attacker)
    assert "该地址登录失败次数过多" in html
    # no account reached its own limit, and other addresses sign in
    assert api_login(c, "enterprise1", PASSWORD,
                     environ_base={"REMOTE_ADDR": "198.51.100.2"}).status_code == 200


def test_attempts_arriving_at_once_get_no_more_password_checks_than_the_limit(app):
    """Twelve wrong passwords sent together: the count is taken before the password is
    checked, in one atomic step, so at most five of them are checked (401) and the others
    are refused (429) — however the requests interleave."""
    results: list[int] = []
    start = threading.Barrier(12)

    def attempt():
        c = app.test_client()
        start.wait()
        results.append(api_login(c, "enterprise1", "wrong-password").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 12
    assert results.count(401) <= 5 and results.count(401) + results.count(429) == 12
    assert api_login(app.test_client(), "enterprise1", PASSWORD).status_code == 429


def test_the_lock_holds_in_redis_too(app):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server at 127.0.0.1:6379")
    import uuid

    app.config.update(REDIS_URL=url, REDIS_PREFIX=f"test:{uuid.uuid4().hex}:")
    c = app.test_client()
    for _ in range(5):
        assert api_login(c, "enterprise1", "wrong-password").status_code == 401
    resp = api_login(c, "enterprise1", PASSWORD)
    assert resp.status_code == 429 and resp.json["message"] == LOCKED_ZH
    with app.app_context():
        from app import db

        assert db.session.scalar(select(LoginThrottle).limit(1)) is None  # not in the database
        from app.throttle import unlock_users

        uid = db.session.scalar(select(AppUser.id).where(AppUser.username == "enterprise1"))
        unlock_users([uid])
    assert api_login(c, "enterprise1", PASSWORD).status_code == 200


# --- password policy ------------------------------------------------------------------------
WEAK = [
    ("1", "密码长度不能少于 10 位"),
    ("a", "密码长度不能少于 10 位"),
    ("Enterprise1-2026", "密码不能包含用户名"),
    ("password123", "密码过于常见，容易被猜中，请换一个"),
    ("1234567890", "密码过于常见，容易被猜中，请换一个"),
]


def can_login(app, username, password) -> bool:
    return api_login(app.test_client(), username, password).status_code == 200


def console_token(html: str) -> str:
    """The console form's own CSRF token (Flask-Admin's SecureForm)."""
    return CSRF_RE.findall(html)[-1]


def test_the_admin_console_refuses_weak_passwords(browser, db, app):
    admin = browser("admin")
    user = user_row(db, "enterprise1")
    url = f"/admin/user_admin/edit/?id={user.id}"
    for weak, message in WEAK:
        form = {"csrf_token": console_token(admin.get(url).get_data(as_text=True)),
                "username": "enterprise1", "first_name": user.first_name,
                "last_name": user.last_name or "王", "email": user.email,
                "organisation": str(user.organisation_id),
                "roles": [str(r.id) for r in user.roles], "active": "y", "new_password": weak}
        resp = admin.client.post(url, data=form)
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), weak
    assert can_login(app, "enterprise1", PASSWORD)
    form["new_password"] = "Qinchuan#Lathe-88"
    form["csrf_token"] = console_token(admin.get(url).get_data(as_text=True))
    assert admin.client.post(url, data=form).status_code == 302
    assert can_login(app, "enterprise1", "Qinchuan#Lathe-88")
    # a new user with password "1" is not created
    html = admin.get("/admin/user_admin/new/").get_data(as_text=True)
    token = console_token(html)
    resp = admin.client.post("/admin/user_admin/new/", data={
        "csrf_token": token, "username": "admin2", "first_name": "一", "last_name": "王",
        "email": "admin2@example.cn", "active": "y", "new_password": "1"})
    assert "密码长度不能少于 10 位" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(AppUser).where(AppUser.username == "admin2")) is None


def test_a_user_cannot_change_their_own_password_to_a_weak_one(browser, app):
    ent = browser("enterprise1")
    html = ent.get("/resetmypassword/form").get_data(as_text=True)
    assert "至少 10 位，不能包含用户名，不能是常见密码" in html
    for weak, message in WEAK:
        token = CSRF_RE.search(ent.get("/resetmypassword/form").get_data(as_text=True)).group(1)
        resp = ent.client.post("/resetmypassword/form", data={
            "csrf_token": token, "password": weak, "conf_password": weak})
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), weak
    assert can_login(app, "enterprise1", PASSWORD)
    token = CSRF_RE.search(ent.get("/resetmypassword/form").get_data(as_text=True)).group(1)
    resp = ent.client.post("/resetmypassword/form", data={
        "csrf_token": token, "password": "Qinchuan#Lathe-88", "conf_password": "Qinchuan#Lathe-88"})
    assert resp.status_code == 302
    assert can_login(app, "enterprise1", "Qinchuan#Lathe-88")
    assert not can_login(app, "enterprise1", PASSWORD)


def test_an_administrator_cannot_reset_a_password_to_a_weak_one(browser, db, app):
    admin = browser("admin")
    uid = user_row(db, "customs1").id
    url = f"/resetpassword/form?pk={uid}"
    for weak, message in [("a", "密码长度不能少于 10 位"), ("customs1customs1", "密码不能包含用户名")]:
        token = CSRF_RE.search(admin.get(url).get_data(as_text=True)).group(1)
        resp = admin.client.post(url, data={"csrf_token": token, "password": weak,
                                            "conf_password": weak})
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), weak
    assert can_login(app, "customs1", PASSWORD)
    token = CSRF_RE.search(admin.get(url).get_data(as_text=True)).group(1)
    assert admin.client.post(url, data={"csrf_token": token, "password": "Xi'an#Customs-2026",
                                        "conf_password": "Xi'an#Customs-2026"}).status_code == 302
    assert can_login(app, "customs1", "Xi'an#Customs-2026")


def test_flask_appbuilders_user_form_refuses_a_weak_password(browser, db):
    admin = browser("admin")
    html = admin.get("/users/add").get_data(as_text=True)
    token = CSRF_RE.search(html).group(1)
    resp = admin.client.post("/users/add", data={
        "csrf_token": token, "first_name": "一", "last_name": "王", "username": "wangyi",
        "email": "wangyi@example.cn", "active": "y", "password": "wangyi2026!",
        "conf_password": "wangyi2026!"})
    assert "密码不能包含用户名" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(AppUser).where(AppUser.username == "wangyi")) is None


def test_the_command_line_sets_a_password_only_if_it_meets_the_policy(app):
    runner = app.test_cli_runner()
    with app.app_context():  # as the flask command runs it
        _set_passwords(app, runner)
    assert can_login(app, "enterprise1", "Qinchuan#Lathe-88")


def _set_passwords(app, runner):
    result = runner.invoke(args=["app", "set-password", "enterprise1"], input="a\na\n")
    assert result.exit_code != 0 and "密码长度不能少于 10 位" in result.output
    result = runner.invoke(args=["app", "set-password", "nobody"], input="x\nx\n")
    assert result.exit_code != 0 and "nobody" in result.output
    assert can_login(app, "enterprise1", PASSWORD)
    result = runner.invoke(args=["app", "set-password", "enterprise1"],
                           input="Qinchuan#Lathe-88\nQinchuan#Lathe-88\n")
    assert result.exit_code == 0, result.output


def test_the_demo_password_meets_the_policy():
    from app.passwords import problem

    for name in ("admin", "commerce1", "customs1", "enterprise1", "institution2"):
        assert problem(PASSWORD, name) is None


# --- sessions and tokens --------------------------------------------------------------------
def test_a_cookie_saved_before_logout_no_longer_authenticates(app):
    c = app.test_client()
    form_login(c, "enterprise1", PASSWORD)
    assert signed_in(c)
    saved = c.get_cookie("session").value
    c.get("/logout/")
    assert not signed_in(c)
    c.set_cookie("session", saved)  # the attacker's copy, replayed
    resp = c.get("/me_licence_application/")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    # signing in again works
    form_login(c, "enterprise1", PASSWORD)
    assert signed_in(c)


def test_a_password_change_ends_jwts_and_other_sessions_but_not_the_own_one(app, api):
    rest = api("enterprise1")
    refresh = app.test_client().post("/api/v1/security/login", json={
        "username": "enterprise1", "password": PASSWORD, "provider": "db",
        "refresh": True}).json["refresh_token"]
    assert rest.get("/api/v1/me_licence_application/").status_code == 200
    other = Browser(app, "enterprise1")
    me = Browser(app, "enterprise1")
    token = CSRF_RE.search(me.get("/resetmypassword/form").get_data(as_text=True)).group(1)
    assert me.client.post("/resetmypassword/form", data={
        "csrf_token": token, "password": "Qinchuan#Lathe-88",
        "conf_password": "Qinchuan#Lathe-88"}).status_code == 302
    assert rest.get("/api/v1/me_licence_application/").status_code == 401
    assert app.test_client().post("/api/v1/security/refresh", headers={
        "Authorization": f"Bearer {refresh}"}).status_code == 401
    assert not signed_in(other.client)
    assert signed_in(me.client)
    fresh = api_login(app.test_client(), "enterprise1", "Qinchuan#Lathe-88")
    assert app.test_client().get("/api/v1/me_licence_application/", headers={
        "Authorization": f"Bearer {fresh.json['access_token']}"}).status_code == 200


def test_a_password_set_by_an_administrator_ends_the_users_tokens(app, api, db):
    rest = api("customs1")
    assert rest.get("/api/v1/me_licence_application/").status_code == 200
    with app.app_context():
        app.appbuilder.sm.reset_password(user_row(db, "customs1").id, "Xi'an#Customs-2026")
    assert rest.get("/api/v1/me_licence_application/").status_code == 401


def test_signing_out_does_not_cost_a_page_request_more_sql(browser, app):
    """A page request reads the security stamp and nothing else of the user (the epoch is
    compared with the cached user)."""
    b = browser("enterprise1")
    b.get("/me_licence_application/")
    statements, resp = sql_statements(app, lambda: b.get("/me_licence_application/"))
    assert resp.status_code == 200
    assert sum("security_stamp" in s for s in statements) == 1, statements
    assert not any("FROM ab_user" in s for s in statements), statements


def _session_cookie(app, *, sign_in: bool) -> str:
    c = app.test_client()
    page = c.get("/login/")
    if not sign_in:
        return page.headers["Set-Cookie"]
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    resp = c.post("/login/", data={"username": "enterprise1", "password": PASSWORD,
                                   "csrf_token": token})
    return resp.headers["Set-Cookie"]


def _dispose(app):
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()


def test_the_session_cookie_is_secure_in_production(db_url, scratch_pg):
    """Production (which refuses SQLite and TESTING) sets the cookie Secure from its first
    answer; development does not."""
    from app import create_app

    prod = create_app({"SQLALCHEMY_DATABASE_URI": scratch_pg, "APP_ENV": "production",
                       "SECRET_KEY": "s" * 48, "SERVER_NAME": "localhost"})
    cookie = _session_cookie(prod, sign_in=False)
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    _dispose(prod)
    dev = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True,
                      "APP_ENV": "development", "SERVER_NAME": "localhost"})
    cookie = _session_cookie(dev, sign_in=True)
    assert "; Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    _dispose(dev)


@pytest.mark.browser
def test_a_locked_account_reads_the_minutes_left_on_the_login_form(chromium, live):
    from .browser_support import UserPage

    tab = UserPage(chromium, live.url, "enterprise1")
    try:
        page = tab.page
        for password in ["wrong-password"] * 5 + [PASSWORD]:
            tab.goto("/login/")
            page.fill("input[name=username]", "enterprise1")
            page.fill("input[name=password]", password)
            tab.submit("input[type=submit], button[type=submit]")
        assert "/login" in page.url
        assert LOCKED_ZH in tab.flash()
        tab.shot("login-locked", full_page=False)
        assert not tab.errors, tab.errors
    finally:
        tab.close()


def test_a_missing_broken_or_expired_token_is_a_401_in_the_apis_own_words(app):
    """Flask-JWT-Extended answered {"msg": …} in English, and 422 for a malformed token."""
    import datetime as dt

    from flask_jwt_extended import create_access_token

    c = app.test_client()
    with app.app_context():
        expired = create_access_token(identity="1", expires_delta=dt.timedelta(seconds=-60))
    cases = [({}, "请先登录"), ({"Authorization": "Bearer not-a-token"}, "访问令牌无效"),
             ({"Authorization": "Bearer a.b.c"}, "访问令牌无效"),
             ({"Authorization": "Token abc"}, "请先登录"),
             ({"Authorization": f"Bearer {expired}"}, "访问令牌已过期")]
    for headers, words in cases:
        resp = c.get("/api/v1/me_licence_application/", headers=headers)
        assert resp.status_code == 401, (headers, resp.status_code, resp.json)
        assert words in resp.json["message"] and "msg" not in resp.json, (headers, resp.json)
    resp = c.get("/api/v1/me_licence_application/", headers={
        "Authorization": "Bearer not-a-token", "Accept-Language": "en"})
    assert resp.status_code == 401 and "token" in resp.json["message"].lower()


def test_the_api_sign_in_says_what_is_wrong_in_the_callers_language(app):
    """Flask-AppBuilder answered "Not authorized" and marshmallow's objects in English."""
    c = app.test_client()
    cases = [({"username": "enterprise1", "password": "wrong-one", "provider": "db"}, 401,
              "用户名或密码错误"),
             ({"username": "enterprise1", "password": "x", "provider": "ldap"}, 400, "只能是 db"),
             ([1], 400, "JSON 对象"), ("x", 400, "JSON 对象"),
             ({"username": 1, "password": "x", "provider": "db"}, 400, "用户名（username）"),
             ({"username": "enterprise1", "provider": "db"}, 400, "密码（password）")]
    for body, status, words in cases:
        resp = c.post("/api/v1/security/login", json=body)
        assert resp.status_code == status and isinstance(resp.json["message"], str), resp.json
        assert words in resp.json["message"], (body, resp.json)
    resp = c.post("/api/v1/security/login?_l_=en", json=cases[0][0])
    assert resp.json["message"] == "Wrong user name or password"
