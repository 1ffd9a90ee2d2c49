"""Hidden and secret columns stay hidden: a list is sorted, filtered, paged and exported only by
the columns it shows and searches, and a secret (a password hash) is never readable, sortable or
filterable through any channel."""

from __future__ import annotations

import base64
import io
import json
import re

import prison
from openpyxl import load_workbook
from sqlalchemy import select

from models.me_licence import MeEnterpriseFiling
from models.used_me import UeInstitutionFiling

AFTER_ALL = base64.urlsafe_b64encode(b'["",1]').decode().rstrip("=")


def _cursors(html):
    out = []
    for raw in re.findall(r"_(?:before|after)=([A-Za-z0-9_\-]+)", html):
        pad = "=" * (-len(raw) % 4)
        out.append(json.loads(base64.urlsafe_b64decode(raw + pad)))
    return out


def test_sorting_the_public_institution_query_by_a_hidden_column_reveals_nothing(browser, db):
    secret = db.scalar(select(UeInstitutionFiling.contact_id_no).where(
        UeInstitutionFiling.status == "accepted").limit(1))
    b = browser("enterprise1")
    for col in ("contact_id_no", "phone", "email"):
        # a cursor "after (empty, 0)" makes every row the next page's, the first one's sort
        # value the 上一页 link's cursor
        status, html = b.text(f"/ue_institution_filing/screen/filed/?_sort={col}&_dir=asc"
                              f"&_page=2&_after={AFTER_ALL}")
        assert status == 200
        assert secret not in html
        for value, _pk in _cursors(html):
            assert value != secret


def test_commerce_cannot_sort_filings_by_the_password_hash(browser, db):
    hashes = db.scalars(select(MeEnterpriseFiling.me_password)).all()
    b = browser("commerce1")
    status, html = b.text(f"/me_enterprise_filing/?_sort=me_password&_dir=asc&_page=2"
                          f"&_after={AFTER_ALL}")
    assert status == 200
    for value, _pk in _cursors(html):
        assert value not in hashes
    assert not any(h and h in html for h in hashes)


def test_the_api_filters_and_sorts_only_by_declared_columns(api):
    c = api("admin")
    for filt in ({"col": "me_password", "opr": "sw", "value": "scrypt:"},
                 {"col": "me_password", "opr": "sw", "value": "zzz"},
                 {"col": "company_id", "opr": "eq", "value": 3}):
        resp = c.get("/api/v1/me_enterprise_filing/?q=" + prison.dumps({"filters": [filt]}))
        assert resp.status_code == 400, resp.json
        assert "不能按" in resp.json["message"]
    resp = c.get("/api/v1/me_enterprise_filing/?q=" + prison.dumps(
        {"order_column": "me_password"}))
    assert resp.status_code == 400
    resp = c.get("/api/v1/ue_institution_filing/?q=" + prison.dumps(
        {"order_column": "contact_id_no"}))
    assert resp.status_code == 400


def test_a_password_hash_is_never_in_an_answer(api, browser, db):
    hashes = [h for h in db.scalars(select(MeEnterpriseFiling.me_password)).all() if h]
    assert hashes
    c = api("admin")
    bodies = [c.get("/api/v1/me_enterprise_filing/").get_data(as_text=True),
              c.get("/api/v1/me_enterprise_filing/1").get_data(as_text=True)]
    b = browser("commerce1")
    bodies.append(b.get("/me_enterprise_filing/").get_data(as_text=True))
    sheet = load_workbook(io.BytesIO(b.get("/me_enterprise_filing/export").data)).active
    bodies.append(" ".join(str(c.value) for row in sheet.iter_rows() for c in row))
    for body in bodies:
        assert not any(h in body for h in hashes)
        assert "scrypt:" not in body and "pbkdf2:" not in body


def test_the_api_pages_by_cursor_as_deep_as_it_goes(api, db):
    c = api("admin")
    seen, after = [], None
    for _ in range(100):
        q = {"page_size": 7, "order_column": "hs_code", "order_direction": "asc"}
        if after:
            q["after"] = after
        resp = c.get("/api/v1/me_product/?q=" + prison.dumps(q))
        assert resp.status_code == 200, resp.json
        assert "count" not in resp.json
        seen += resp.json["ids"]
        after = resp.json["next"]
        if not after:
            break
    assert len(seen) == len(set(seen)) > 4
    resp = c.get("/api/v1/me_product/?count=1")
    assert resp.json["count"] == len(seen)
    for bad in ("WyJ4IiwiMSJd", "!!!", "W10", "WzEsOTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ"):
        resp = c.get("/api/v1/me_product/?q=" + prison.dumps({"after": bad, "order_column": "id"}))
        assert resp.status_code == 400, (bad, resp.status_code)
