"""生成报关单 from a 核注清单 of more goods than a declaration may hold (商品信息最多 50 项):
no line is lost — the goods go, in their order, into as many declarations as needed, at most 50
lines each, each weighing what its own lines weigh; once generated, never again.  Through
HTTP, as enterprise1 and customs1 do it."""

from __future__ import annotations

import decimal
import re

from sqlalchemy import select

from demo.customs_declaration import INVENTORY
from models.customs_declaration import MAX_GOODS, CdDeclaration
from models.customs_inventory import CdInventory

from .helpers import get

API = "/api/v1/cd_inventory"
D = decimal.Decimal


def _line(i: int) -> dict:
    """Goods line i (1-based): its own 备案序号,料号, weights and value, so each is traceable."""
    return {**INVENTORY["goods"][0], "put_rec_seq": str(i), "gds_mtno": f"QC-M-{i:04d}",
            "g_model": f"0|3|数控车床用|铸铁|ROHM|RH-{i:03d}", "dcl_qty": str(i),
            "qty1": str(10 * i), "dcl_price": "42", "dcl_total": str(42 * i),
            "gross_wt": str(D("1.5") * i), "net_wt": str(i)}


def _pre_approved_inventory(api, lines: int) -> int:
    """enterprise1 enters and 申报 a 核注清单 of ``lines`` goods; customs1 预审批通过."""
    c = api("enterprise1")
    resp = c.post(f"{API}/", json={**INVENTORY, "manual_no": "C61012600003",
                                   "process_name": "陕西秦川精密机械有限公司",
                                   "goods": [_line(i) for i in range(1, lines + 1)]})
    assert resp.status_code == 201, resp.get_data(as_text=True)[:2000]
    pk = resp.json["id"]
    resp = c.post(f"{API}/{pk}/action/declare", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    resp = api("customs1").post(f"{API}/{pk}/action/pre_approve", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return pk


def _generated(db, pk) -> list[CdDeclaration]:
    db.rollback()
    return list(db.scalars(select(CdDeclaration).where(CdDeclaration.inventory_id == pk)
                           .order_by(CdDeclaration.id)))


def test_55_goods_make_two_declarations_and_no_line_is_lost(api, browser, db):
    pk = _pre_approved_inventory(api, 55)
    inv = get(db, CdInventory, pk)
    assert len(inv.goods) == 55
    b = browser("enterprise1")
    resp = b.post(f"/cd_inventory/{pk}/do/make_declaration")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    decs = _generated(db, pk)
    # every line, once, in its order: 50 in the first declaration, 5 in the second
    assert [len(d.goods) for d in decs] == [MAX_GOODS, 5]
    carried = [g.contr_item for d in decs for g in d.goods]
    assert carried == list(range(1, 56))
    assert [g.g_no for g in decs[1].goods] == [1, 2, 3, 4, 5]
    assert decs[1].goods[-1].g_model == "0|3|数控车床用|铸铁|ROHM|RH-055"
    for dec in decs:
        # each weighs what its own lines weigh
        assert dec.gross_wt == sum(D("1.5") * g.contr_item for g in dec.goods)
        assert dec.net_wt == sum(D(g.contr_item) for g in dec.goods)
        assert (dec.inv_no, dec.company_id, dec.status, dec.kind) == (
            inv.inv_no, inv.company_id, "draft", "I_DEC")
    assert decs[0].gross_wt + decs[1].gross_wt == sum(g.gross_wt for g in inv.goods)
    # the user is taken to the first and told of both, with the limit and the count
    assert resp.headers["Location"].endswith(f"/cd_declaration/{decs[0].id}")
    told = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert "共 55 项商品" in told and "最多 50 项" in told
    assert decs[0].seq_no in told and decs[1].seq_no in told
    # the inventory lists both; a second generation is refused, and makes nothing
    html = b.get(f"/cd_inventory/{pk}").get_data(as_text=True)
    assert "生成的报关单" in html and decs[0].seq_no in html and decs[1].seq_no in html
    again = api("enterprise1").post(f"{API}/{pk}/action/make_declaration", json={})
    assert again.status_code == 422 and "该核注清单已生成报关单" in again.json["message"]
    assert len(_generated(db, pk)) == 2


def test_each_generated_declaration_keeps_within_the_limit_and_saves(api, db):
    """101 goods: 50 + 50 + 1; the API says so, and each declaration is a draft that the
    enterprise can 暂存 (the 50-line check of the declaration holds for each)."""
    pk = _pre_approved_inventory(api, 101)
    c = api("enterprise1")
    resp = c.post(f"{API}/{pk}/action/make_declaration", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    decs = _generated(db, pk)
    assert [len(d.goods) for d in decs] == [50, 50, 1]
    assert [g.contr_item for d in decs for g in d.goods] == list(range(1, 102))
    assert re.search(r"共 101 项商品.*3 份报关单", resp.json["message"]), resp.json["message"]
    for dec in decs:
        assert dec.seq_no in resp.json["message"]
        assert dec.gross_wt == sum(D("1.5") * g.contr_item for g in dec.goods)
        rec = c.get(f"/api/v1/cd_declaration/{dec.id}").json["result"]
        put = c.put(f"/api/v1/cd_declaration/{dec.id}",
                    json={"note_s": "由核注清单生成", "version": rec["version"]})
        assert put.status_code == 200, put.get_data(as_text=True)[:2000]


def test_50_goods_or_fewer_make_one_declaration(api, db):
    pk = _pre_approved_inventory(api, 50)
    resp = api("enterprise1").post(f"{API}/{pk}/action/make_declaration", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    (dec,) = _generated(db, pk)
    assert len(dec.goods) == 50 and dec.gross_wt == sum(D("1.5") * i for i in range(1, 51))
    assert "已生成报关单" in resp.json["message"] and "份报关单" not in resp.json["message"]


def test_generating_at_the_same_moment_makes_the_declarations_once(api, db):
    """Several 生成报关单 of one 55-goods inventory released together (PostgreSQL races them
    for real): one makes its two declarations, every other is refused with a clear 4xx."""
    from .test_concurrency import race

    pk = _pre_approved_inventory(api, 55)
    clients = [api("enterprise1") for _ in range(4)]
    answers = race([lambda c=c: c.post(f"{API}/{pk}/action/make_declaration", json={})
                    for c in clients])
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 1 and all(c in (409, 422) for c in codes[1:]), codes
    decs = _generated(db, pk)
    assert [len(d.goods) for d in decs] == [50, 5]
    assert [g.contr_item for d in decs for g in d.goods] == list(range(1, 56))
