"""Signed-in users are cached per process; a change made elsewhere (another worker, the admin
console, a script) must still reach the very next request through the security stamp."""

from __future__ import annotations

from sqlalchemy import select

from models.base import AppUser, Organisation, SecurityStamp
from models.me_licence import LicenceApplication


def _user(db, username):
    db.rollback()
    return db.scalar(select(AppUser).where(AppUser.username == username))


def _stamp(db):
    db.rollback()
    return db.scalar(select(SecurityStamp.version))


def test_deactivating_a_user_elsewhere_signs_it_out_on_the_next_request(browser, api, db):
    ent = browser("enterprise1")
    rest = api("enterprise1")
    assert ent.get("/me_licence_application/").status_code == 200
    assert rest.get("/api/v1/me_licence_application/").status_code == 200

    user = _user(db, "enterprise1")
    user.active = False
    db.commit()

    resp = ent.get("/me_licence_application/")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    assert rest.get("/api/v1/me_licence_application/").status_code == 401


def test_a_role_taken_away_elsewhere_applies_at_once(browser, db):
    ent = browser("enterprise1")
    assert ent.get("/me_licence_application/").status_code == 200

    user = _user(db, "enterprise1")
    user.roles = [r for r in user.roles if r.name != "企业"]
    db.commit()

    assert ent.get("/me_licence_application/").status_code == 403
    assert "机电产品进口单证申请" not in ent.text("/")[1]


def test_moving_a_user_to_another_company_moves_its_scope(browser, db):
    ent = browser("enterprise1")
    other = db.scalar(select(LicenceApplication).join(
        Organisation, Organisation.id == LicenceApplication.company_id).where(
        Organisation.name.like("%长安医疗%")).limit(1))
    assert other is not None
    assert ent.get(f"/me_licence_application/{other.id}").status_code == 404

    user = _user(db, "enterprise1")
    user.organisation_id = other.company_id
    db.commit()

    resp = ent.get(f"/me_licence_application/{other.id}")
    assert resp.status_code == 200 and other.application_no in resp.get_data(as_text=True)


def test_signing_in_does_not_invalidate_every_cached_user(browser, db):
    browser("enterprise1")
    before = _stamp(db)
    browser("enterprise2")
    browser("customs1")
    assert _stamp(db) == before
    # while a real change moves it
    org = db.scalar(select(Organisation).where(Organisation.kind == "company").limit(1))
    org.phone = "029-88886666"
    db.commit()
    assert _stamp(db) == before + 1


def test_a_session_cookie_decoded_before_is_still_checked_for_age_keys_and_tampering(
        browser, app):
    """What a session cookie decodes to is remembered (app/session_cookie.py): the same cookie
    is still refused once the session lifetime is over or the secret key changed, and a
    cookie differing by one character is checked, never taken from memory."""
    import datetime as dt
    import time

    ent = browser("enterprise1")
    assert ent.get("/me_licence_application/").status_code == 200
    assert ent.get("/me_licence_application/").status_code == 200  # from memory
    cookie = ent.client.get_cookie("session").value

    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    ent.client.set_cookie("session", tampered)
    resp = ent.get("/me_licence_application/")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    ent.client.set_cookie("session", cookie)
    assert ent.get("/me_licence_application/").status_code == 200

    old_key = app.secret_key
    app.secret_key = old_key + "-rotated"
    try:
        resp = ent.get("/me_licence_application/")
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    finally:
        app.secret_key = old_key
    ent.client.set_cookie("session", cookie)
    assert ent.get("/me_licence_application/").status_code == 200

    lifetime = app.permanent_session_lifetime
    app.permanent_session_lifetime = dt.timedelta(seconds=1)
    try:
        time.sleep(2.1)
        resp = ent.get("/me_licence_application/")
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    finally:
        app.permanent_session_lifetime = lifetime


def test_the_csrf_token_of_a_page_is_the_sessions_and_no_other(browser, monkeypatch):
    """The token signed for a session is remembered: each session's pages carry a token its
    own POSTs pass with, and another session's token is refused.  Each signature is made a
    second later than the one before, so a token signed anew shows."""
    import itertools
    import re
    import time

    from itsdangerous.timed import TimestampSigner

    clock, signed_now = itertools.count(int(time.time()) - 3600), TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: next(clock) if (
        self.salt == b"wtf-csrf-token") else signed_now(self))
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    a, b = browser("enterprise1"), browser("enterprise2")
    ta = token.search(a.get("/me_licence_application/").get_data(as_text=True)).group(1)
    assert token.search(a.get("/me_licence_application/").get_data(as_text=True)).group(1) == ta
    tb = token.search(b.get("/me_licence_application/").get_data(as_text=True)).group(1)
    assert ta != tb
    refused = b.post("/me_licence_application/batch/copy", data={"csrf_token": ta, "ids": ["6"]})
    assert refused.status_code == 400
    passed = b.post("/me_licence_application/batch/copy", data={"csrf_token": tb, "ids": ["6"]})
    assert passed.status_code == 302


def test_a_rest_request_does_not_query_the_public_role_and_a_grant_to_it_applies_at_once(
        api, app):
    """FAB asks whether a REST endpoint is public before it checks the token; the Public
    role's permissions are kept like any role's, and a permission granted to it counts on the
    next request."""
    from .helpers import sql_statements

    rest = api("enterprise1")
    assert rest.get("/api/v1/me_licence_application/").status_code == 200
    statements, resp = sql_statements(app, lambda: rest.get("/api/v1/me_licence_application/"))
    assert resp.status_code == 200
    assert not [s for s in statements if "ab_role" in s], statements

    with app.app_context():
        sm = app.appbuilder.sm
        assert not sm.is_item_public("can_get", "LicenceApplicationProbe")
        public = sm.find_role(sm.auth_role_public) or sm.add_role(sm.auth_role_public)
        pv = sm.add_permission_view_menu("can_get", "LicenceApplicationProbe")
        sm.add_permission_role(public, pv)
        assert sm.is_item_public("can_get", "LicenceApplicationProbe")
        sm.del_permission_role(public, pv)
        assert not sm.is_item_public("can_get", "LicenceApplicationProbe")
