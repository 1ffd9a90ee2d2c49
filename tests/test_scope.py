"""Nobody reads or changes a row outside its scope — not even by guessing an id or a URL.

enterprise2 (another company) aims at enterprise1's records on every endpoint of the screens
and of the REST API, including actions, batch actions, print and attachments.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from app.engine.attachments import Attachment
from models.me_licence import LicenceApplication, MeEnterpriseFiling

from .helpers import HEAD, get

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# demo: 1 draft, 2 under review, 3 approved (non-one-batch), 4 returned, 5 approved — all of
# enterprise1's company; 6 is enterprise2's own draft.
A_DRAFT, A_REVIEW, A_APPROVED, B_DRAFT = 1, 2, 3, 6


def _attach(browser, pk=A_DRAFT):
    a = browser("enterprise1")
    resp = a.post(f"/me_licence_application/{pk}/attachments",
                  data={"slot": "files", "file": (io.BytesIO(PDF), "合同.pdf")},
                  content_type="multipart/form-data")
    assert resp.status_code == 302
    return a


def _state(db, pk):
    rec = get(db, LicenceApplication, pk)
    return (rec.status, rec.version, rec.agent_name) if rec else None


@pytest.mark.parametrize("method,path", [
    ("get", "/me_licence_application/1"),
    ("get", "/me_licence_application/1/history"),
    ("get", "/me_licence_application/1/history?tab=opinions"),
    ("get", "/me_licence_application/1/print"),
    ("get", "/me_licence_application/print?ids=1"),
    ("get", "/me_licence_application/print?ids=6,1"),
    ("post", "/me_licence_application/1/do/save"),
    ("post", "/me_licence_application/1/do/declare"),
    ("post", "/me_licence_application/1/do/copy"),
    ("post", "/me_licence_application/1/do/delete"),
    ("post", "/me_licence_application/3/do/withdraw"),
    ("post", "/me_licence_application/1/attachments"),
    ("get", "/me_enterprise_filing/1"),
    ("post", "/me_enterprise_filing/1/do/save"),
    ("get", "/me_enterprise_filing/1/print"),
])
def test_another_companys_record_does_not_exist_for_a_company(browser, db, method, path):
    before = [_state(db, pk) for pk in (1, 3)]
    b = browser("enterprise2")
    data = dict(HEAD, agent_name="冒名") if method == "post" else None
    resp = b.post(path, data=data) if method == "post" else b.get(path)
    assert resp.status_code == 404
    assert "记录不存在或无权访问" in resp.get_data(as_text=True)
    assert [_state(db, pk) for pk in (1, 3)] == before


def test_batch_actions_load_rows_through_the_scope(browser, db):
    b = browser("enterprise2")
    for name in ("declare", "delete"):
        b.post(f"/me_licence_application/batch/{name}", data={"ids": [str(A_DRAFT)]})
        html = b.get("/me_licence_application/").get_data(as_text=True)
        assert "失败 1 条" in html and "记录不存在或无权访问" in html
    assert get(db, LicenceApplication, A_DRAFT).status == "draft"
    resp = b.post("/me_licence_application/batch/copy", data={"ids": [str(A_DRAFT)]})
    assert resp.status_code == 404


def test_attachments_of_another_company_cannot_be_read_or_removed(browser, db):
    _attach(browser)
    att = db.scalar(select(Attachment).where(Attachment.record_id == A_DRAFT))
    b = browser("enterprise2")
    assert b.get(f"/me_licence_application/{A_DRAFT}/attachments/{att.id}").status_code == 404
    # the attachment id through one's own record does not work either
    assert b.get(f"/me_licence_application/{B_DRAFT}/attachments/{att.id}").status_code == 404
    b.post(f"/me_licence_application/{B_DRAFT}/attachments/{att.id}/delete")
    assert b.post(f"/me_licence_application/{A_DRAFT}/attachments/{att.id}/delete"
                  ).status_code == 404
    db.rollback()
    assert db.get(Attachment, att.id) is not None


def test_lists_search_and_export_show_only_ones_own_company(browser, db):
    b = browser("enterprise2")
    a_no = get(db, LicenceApplication, A_DRAFT).application_no
    b_no = get(db, LicenceApplication, B_DRAFT).application_no
    html = b.get("/me_licence_application/").get_data(as_text=True)
    assert b_no in html and a_no not in html
    html = b.get(f"/me_licence_application/?application_no={a_no}&_searched=1").get_data(
        as_text=True)
    assert "没有符合条件的记录" in html
    resp = b.get("/me_licence_application/export")
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    numbers = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert numbers == [b_no]


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/me_licence_application/1", None),
    ("put", "/api/v1/me_licence_application/1", {"agent_name": "冒名"}),
    ("delete", "/api/v1/me_licence_application/1", None),
    ("post", "/api/v1/me_licence_application/1/action/declare", {}),
    ("post", "/api/v1/me_licence_application/1/action/copy", {}),
    ("post", "/api/v1/me_licence_application/3/action/withdraw", {}),
    ("get", "/api/v1/me_licence_application/1/history", None),
    ("get", "/api/v1/me_licence_application/1/print", None),
    ("get", "/api/v1/me_licence_application/print?ids=1,6", None),
    ("get", "/api/v1/me_licence_application/1/attachments", None),
    ("get", "/api/v1/me_enterprise_filing/1", None),
    ("put", "/api/v1/me_enterprise_filing/1", {"address": "x"}),
])
def test_api_refuses_another_companys_ids(api, db, method, path, body):
    before = [_state(db, pk) for pk in (1, 3)]
    c = api("enterprise2")
    kw = {"json": body} if body is not None else {}
    resp = getattr(c, method)(path, **kw)
    assert resp.status_code == 404, resp.get_data(as_text=True)
    assert resp.json["message"] == "记录不存在或无权访问"
    assert [_state(db, pk) for pk in (1, 3)] == before


def test_api_attachment_download_and_delete_of_another_company(api, browser, db):
    _attach(browser)
    att = db.scalar(select(Attachment).where(Attachment.record_id == A_DRAFT))
    c = api("enterprise2")
    assert c.get(f"/api/v1/me_licence_application/1/attachments/{att.id}").status_code == 404
    assert c.delete(f"/api/v1/me_licence_application/1/attachments/{att.id}").status_code == 404
    assert c.get(f"/api/v1/me_licence_application/6/attachments/{att.id}").status_code == 404


def test_api_batch_with_another_companys_id_fails_for_that_id_only(api, db):
    c = api("enterprise2")
    resp = c.post("/api/v1/me_licence_application/action/delete", json={"ids": [1, 6]})
    assert resp.status_code == 200
    results = {r["id"]: r for r in resp.json["results"]}
    assert results[1]["ok"] is False and results[1]["message"] == "记录不存在或无权访问"
    assert results[6]["ok"] is True
    assert get(db, LicenceApplication, 1) is not None and get(db, LicenceApplication, 6) is None


def test_api_list_has_only_own_rows(api, db):
    c = api("enterprise2")
    resp = c.get("/api/v1/me_licence_application/?count=1")
    assert resp.status_code == 200
    assert resp.json["ids"] == [6] and resp.json["count"] == 1


def test_commerce_sees_submitted_applications_but_no_drafts(browser, api):
    b = browser("commerce1")
    assert b.get("/me_licence_application/1").status_code == 404
    assert b.get("/me_licence_application/2").status_code == 200
    ids = api("commerce1").get("/api/v1/me_licence_application/").json["ids"]
    assert 1 not in ids and 6 not in ids and {2, 3, 4, 5} <= set(ids)


def test_customs_sees_approved_licences_only(browser):
    b = browser("customs1")
    assert b.get("/me_licence_application/3").status_code == 200
    assert b.get("/me_licence_application/2").status_code == 404


def test_an_institution_has_no_access_to_the_licence_system(browser, api):
    b = browser("institution1")
    assert b.get("/me_licence_application/").status_code == 403
    assert b.get("/me_licence_application/3").status_code == 403
    html = b.get("/").get_data(as_text=True)
    assert "机电产品进口单证列表" not in html
    assert api("institution1").get("/api/v1/me_licence_application/").status_code == 403


def test_enterprise_filing_menu_opens_ones_own_filing(browser, db):
    a = browser("enterprise1")
    resp = a.get("/me_enterprise_filing/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/me_enterprise_filing/1")
    own = db.scalar(select(MeEnterpriseFiling.id).where(MeEnterpriseFiling.company_id != 3))
    assert own
    b = browser("enterprise2")
    resp = b.get("/me_enterprise_filing/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/me_enterprise_filing/2")
