"""智慧云报关 异常状态登记 through HTTP: 报关单异常 and 核注清单异常 created by the enterprise
with their required fields, the number resolved to the company's own declaration, 变更状态 along
the workflow with the 完成日期 rules, 删除 of several, another company's ids answered 404
everywhere, customs seeing every company's, and the 删单 receipt registering its exception
once."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from models.customs_declaration import CdDeclaration
from models.customs_exception import CdDeclarationException, CdInventoryException

from .helpers import today_for_a_while
from .test_customs_sync import _declared_seq_no, _receipt, _sync

API = "/api/v1/cd_declaration_exception"
INV_API = "/api/v1/cd_inventory_exception"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _create(c, api=API, status=201, **overrides):
    data = {"number": "900120260000000001", "kind": "returned", "occurred_on": "2026-11-02",
            "ie_flag": "E", "consignee": "西安测试进出口有限公司", "duty_person": "张三",
            "penalised": "N", "reason": "申报要素不全"}
    data.update(overrides)
    resp = c.post(f"{api}/", json=data)
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.json


def _pk(answer) -> int:
    return answer.get("id") or answer["record"]["id"]


def _act(c, pk, status=200, api=API, name="change_status", **body):
    resp = c.post(f"{api}/{pk}/action/{name}", json=body)
    assert resp.status_code == status, (body, resp.get_data(as_text=True)[:2000])
    return resp.json


def _get(db, model, pk):
    db.rollback()
    return db.get(model, pk)


@pytest.mark.parametrize("url,model", [(API, CdDeclarationException),
                                       (INV_API, CdInventoryException)])
def test_create_with_required_fields(api, db, url, model):
    client = api("enterprise1")
    resp = client.post(f"{url}/", json={"consignee": "x"})
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    for name in ("number", "kind", "occurred_on"):
        assert name in text, name
    pk = _pk(_create(client, url))
    exc = _get(db, model, pk)
    assert exc.status == "pending" and exc.kind == "returned" and exc.done_on is None
    assert client.get(f"{url}/{pk}").status_code == 200


def test_the_number_links_the_companys_own_declaration(api, db):
    c = api("enterprise1")
    db.rollback()
    own = db.scalar(select(CdDeclaration).where(CdDeclaration.entry_id.is_not(None))
                    .order_by(CdDeclaration.id))
    pk = _pk(_create(c, number=own.entry_id))
    assert _get(db, CdDeclarationException, pk).linked_id == own.id
    pk = _pk(_create(c, number="900120269999999999"))
    assert _get(db, CdDeclarationException, pk).linked_id is None
    # another company's declaration is not linked
    assert _pk(_create(api("enterprise2"), number=own.entry_id))
    db.rollback()
    assert db.scalar(select(CdDeclarationException.linked_id).where(
        CdDeclarationException.company_id != own.company_id)) is None


def test_change_status_follows_the_workflow_and_the_completion_date(api, db):
    c = api("enterprise1")
    pk = _pk(_create(c))
    # 待处理 cannot jump to 已处理: the answer names the states it may go to, by their labels
    assert _act(c, pk, 422, new_status="done", done_on="2026-11-03")["message"] == \
        "处理状态：「已处理」不可选，可选：处理中"
    _act(c, pk, new_status="processing")
    assert _get(db, CdDeclarationException, pk).status == "processing"
    assert "完成日期必填" in _act(c, pk, 422, new_status="done")["message"]
    assert "不能早于" in _act(c, pk, 422, new_status="done", done_on="2026-11-01")["message"]
    _act(c, pk, new_status="done", done_on="2026-11-02")
    exc = _get(db, CdDeclarationException, pk)
    assert exc.status == "done" and str(exc.done_on) == "2026-11-02"
    # 重新打开: back to 处理中, then done again and closed
    _act(c, pk, new_status="processing")
    exc = _get(db, CdDeclarationException, pk)
    assert exc.status == "processing" and exc.done_on is None
    _act(c, pk, new_status="done", done_on="2026-11-05")
    _act(c, pk, new_status="closed")
    assert _get(db, CdDeclarationException, pk).status == "closed"
    assert c.post(f"{API}/{pk}/action/change_status",
                  json={"new_status": "processing"}).status_code in (403, 409, 422)
    # a code that is no 处理状态
    pk2 = _pk(_create(c))
    assert c.post(f"{API}/{pk2}/action/change_status",
                  json={"new_status": "bogus"}).status_code == 422


def test_delete_several(api, db):
    c = api("enterprise1")
    ids = [_pk(_create(c)) for _ in range(3)]
    resp = c.post(f"{API}/action/delete", json={"ids": ids[:2]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.rollback()
    left = set(db.scalars(select(CdDeclarationException.id).where(
        CdDeclarationException.id.in_(ids))))
    assert left == {ids[2]}


def test_another_companys_ids_are_not_found_everywhere(api, db):
    c1 = api("enterprise1")
    pk = _pk(_create(c1))
    resp = c1.post(f"{API}/{pk}/attachments", data={"slot": "file",
                                                   "file": (io.BytesIO(PDF), "退单.pdf")},
                   content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    aid = resp.json["id"]
    c2 = api("enterprise2")
    for path in (f"{API}/{pk}", f"{API}/{pk}/attachments", f"{API}/{pk}/attachments/{aid}"):
        assert c2.get(path).status_code == 404, path
    assert c2.put(f"{API}/{pk}", json={"reason": "x", "version": 1}).status_code == 404
    for name in ("change_status", "delete", "save"):
        assert c2.post(f"{API}/{pk}/action/{name}",
                       json={"new_status": "processing"}).status_code == 404, name
    resp = c2.post(f"{API}/action/delete", json={"ids": [pk]})
    assert pk in {r.get("id") for r in resp.json.get("results", [])} or resp.status_code >= 400
    assert _get(db, CdDeclarationException, pk) is not None
    assert c2.delete(f"{API}/{pk}/attachments/{aid}").status_code == 404
    resp = c2.post(f"{API}/{pk}/attachments", data={"slot": "file",
                                                   "file": (io.BytesIO(PDF), "x.pdf")},
                   content_type="multipart/form-data")
    assert resp.status_code == 404
    listed = c2.get(f"{API}/").get_data(as_text=True)
    assert f'"id": {pk},' not in listed and f'"id":{pk},' not in listed
    # customs see every company's
    assert api("customs1").get(f"{API}/{pk}").status_code == 200


def test_a_deletion_receipt_twice_registers_one_exception(api, browser, db, exchange):
    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    b = browser("enterprise1")
    for name, at in (("d1.xml", "20261203090000"), ("d2.xml", "20261203090000"),
                     ("d3.xml", "20261204100000")):
        inbox.joinpath(name).write_bytes(_receipt(seq, "D", at, "删单"))
        _sync(b, seq_no="X")
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == seq))
    assert dec.status == "cus_deleted"
    rows = db.scalars(select(CdDeclarationException).where(
        CdDeclarationException.linked_id == dec.id)).all()
    assert len(rows) == 1 and rows[0].kind == "deletion" and rows[0].deletion_of == dec.id
    assert str(rows[0].occurred_on) == "2026-12-03"
    assert db.scalar(select(func.count()).select_from(CdDeclarationException).where(
        CdDeclarationException.deletion_of == dec.id)) == 1


def test_the_demo_has_enterprise1s_exceptions(api, db):
    rows = db.scalars(select(CdDeclarationException)).all()
    assert len(rows) == 2 and any(r.linked_id for r in rows)
    assert any(r.status == "done" and r.done_on for r in rows)
    assert len(db.scalars(select(CdInventoryException)).all()) == 1
    assert api("enterprise2").get(f"{API}/{rows[0].id}").status_code == 404


def test_list_and_form_link_the_companys_declaration(browser, db):
    rows = db.scalars(select(CdDeclarationException).order_by(CdDeclarationException.id)).all()
    linked = next(r for r in rows if r.linked_id)
    other = next(r for r in rows if not r.linked_id)
    b = browser("enterprise1")
    html = b.get("/cd_declaration_exception/").get_data(as_text=True)
    assert f'href="/cd_declaration/{linked.linked_id}"' in html
    html = b.get(f"/cd_declaration_exception/{linked.id}").get_data(as_text=True)
    assert f'href="/cd_declaration/{linked.linked_id}"' in html
    html = b.get(f"/cd_declaration_exception/{other.id}").get_data(as_text=True)
    assert "linked-record" not in html


def test_the_menu_group_holds_both_lists_and_customs_list_every_company(browser, db):
    html = browser("enterprise1").get("/").get_data(as_text=True)
    for word in ("异常状态登记", "报关单异常", "核注清单异常", 'href="/cd_declaration_exception/',
                 'href="/cd_inventory_exception/'):
        assert word in html, word
    ids = db.scalars(select(CdDeclarationException.id)).all()
    html = browser("customs1").get("/cd_declaration_exception/").get_data(as_text=True)
    for pk in ids:
        assert f'data-id="{pk}"' in html, pk


def test_the_change_status_dialog_offers_the_states_the_record_may_go_to(api, browser, db):
    """变更状态 asks for the new 处理状态 with a select of where the record may go from its
    current state (not a text box to type a code into)."""
    c = api("enterprise1")
    pk = _pk(_create(c))
    b = browser("enterprise1")

    def offered():
        html = b.get(f"/cd_declaration_exception/{pk}").get_data(as_text=True)
        dialog = html[html.index('id="dlg-change_status"'):]
        select_ = dialog[dialog.index('<select'):dialog.index('</select>')]
        assert 'name="input-new_status"' in select_
        return re.findall(r'<option value="(\w+)"[^>]*>\s*([^<]*?)\s*</option>', select_)

    assert offered() == [("processing", "处理中")]
    _act(c, pk, new_status="processing")
    assert offered() == [("done", "已处理")]
    _act(c, pk, new_status="done", done_on="2026-11-02")
    assert offered() == [("processing", "处理中"), ("closed", "已关闭")]


def test_a_completion_date_is_not_in_the_future_and_the_history_names_the_states(api, db):
    import datetime as dt

    c = api("enterprise1")
    pk = _pk(_create(c))
    _act(c, pk, new_status="processing")
    tomorrow = (today_for_a_while() + dt.timedelta(days=1)).isoformat()
    refused = _act(c, pk, 422, new_status="done", done_on=tomorrow)
    assert "不能晚于今天" in refused["message"]
    assert _get(db, CdDeclarationException, pk).done_on is None
    _act(c, pk, new_status="done", done_on=dt.date.today().isoformat())
    flow = c.get(f"{API}/{pk}/history").json["flow"]
    opinions = [f["opinion"] for f in flow if f["opinion"]]
    assert opinions[0] == "处理状态：处理中"
    assert opinions[1].startswith("处理状态：已处理；完成日期：")
    english = c.get(f"{API}/{pk}/history?_l_=en").json["flow"]
    assert not any("processing" in (f["opinion"] or "") or "done;" in (f["opinion"] or "")
                   for f in english)


def test_a_declaration_deleted_by_a_customs_officer_registers_its_exception(api, db):
    """删单 entered by a customs officer registers the 删单 exception as the receipt does."""
    seq = _declared_seq_no(api, db)
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == seq))
    resp = api("customs1").post(f"/api/v1/cd_declaration/{dec.id}/action/cus_delete",
                                json={"opinion": "企业申请删单"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    db.rollback()
    rows = db.scalars(select(CdDeclarationException).where(
        CdDeclarationException.deletion_of == dec.id)).all()
    assert len(rows) == 1 and rows[0].kind == "deletion" and rows[0].linked_id == dec.id
    assert rows[0].reason == "海关删单"


def test_exception_types_read_as_nouns_in_english(browser):
    """异常类型 查验 / 退单 are kinds of exception (Inspection, Returned by customs), not the
    officer's buttons of the declaration (Inspect, Return by customs)."""
    b = browser("enterprise1")
    assert b.get("/lang/en").status_code == 302
    html = b.get("/cd_declaration_exception/new").get_data(as_text=True)
    assert ">Inspection<" in html and ">Returned by customs<" in html
    assert ">Inspect<" not in html and ">Return by customs<" not in html
