"""An amount computed from typed numbers (quantity × unit price, a sum of lines) can be larger
than its column although each number fits its own: the save refuses it at the line with
数值过大 (422), the live totals answer, a logic check compares it — never a 500, and nothing is
stored."""

from __future__ import annotations

import pytest

from demo.customs_declaration import export_data
from models.me_licence import LicenceApplication
from models.used_me import UeEntrustment

from .helpers import get, new_draft
from .test_used_me import _entrust

# Each fits its column (numeric 18,3 and 18,2); the product has 28 digits before the point —
# more than the default decimal context rounds to — or merely 17, more than 16 the amount holds.
WIDEST = ("99999999999999.999", "99999999999999.99")
WIDE = ("10000000", "10000000000")


def _licence_line(qty, price):
    return {"__tables": ["goods", "goods-0-specs"], "goods-0-hs_code": "8458110000",
            "goods-0-name": "数控卧式车床", "goods-0-goods_state": "N", "goods-0-unit": "001",
            "goods-0-specs-0-model": "CK6150", "goods-0-specs-0-qty": qty,
            "goods-0-specs-0-unit_price": price}


@pytest.mark.parametrize("qty, price", [WIDEST, WIDE])
def test_a_licence_line_too_large_for_its_amount_is_refused_at_the_line(browser, db, qty, price):
    ent = browser("enterprise1")
    pk = new_draft(ent)
    data = _licence_line(qty, price)

    live = ent.post(f"/me_licence_application/{pk}/computed", data=data)
    assert live.status_code == 200

    resp = ent.post(f"/me_licence_application/{pk}/do/save", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html[:500]
    assert "数值过大" in html
    assert f'value="{qty}"' in html  # what was typed is still there
    assert get(db, LicenceApplication, pk).goods == []


def test_the_api_refuses_it_by_the_amounts_path(api, db):
    c = api("enterprise1")
    version = get(db, LicenceApplication, 1).version
    resp = c.put("/api/v1/me_licence_application/1", json={"version": version, "goods": [{
        "hs_code": "8458110000", "name": "车床", "goods_state": "N", "unit": "001",
        "specs": [{"model": "X", "qty": WIDE[0], "unit_price": WIDE[1]}]}]})
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert resp.json["errors"]["goods-0-specs-0-amount"] == ["数值过大"]
    assert get(db, LicenceApplication, 1).version == version


@pytest.mark.parametrize("qty, price", [("999999999999999", "9999999999999999"),
                                        ("10000000", "10000000000")])
def test_an_entrustment_line_too_large_for_its_amount_is_refused(browser, db, qty, price):
    ent = browser("enterprise1")
    pk = _entrust(ent)
    before = [(g.qty, g.amount) for g in get(db, UeEntrustment, pk).goods]
    line = {"__tables": "goods", "goods-0-hs_code": "8458110000", "goods-0-name": "车床",
            "goods-0-model": "QT-250", "goods-0-qty": qty, "goods-0-unit": "001",
            "goods-0-unit_price": price}
    assert ent.post(f"/ue_entrustment/{pk}/computed", data=line).status_code == 200
    resp = ent.post(f"/ue_entrustment/{pk}/do/save", data=line)
    assert resp.status_code == 422
    assert "数值过大" in resp.get_data(as_text=True)
    db.expire_all()
    assert [(g.qty, g.amount) for g in get(db, UeEntrustment, pk).goods] == before


def test_a_declarations_logic_check_compares_the_widest_total(api):
    c = api("enterprise1")
    data = export_data()
    data["goods"][0].update(g_qty="99999999999999", decl_price="999999999999999",
                            decl_total="1")
    resp = c.post("/api/v1/cd_declaration/", json=data)
    assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
    pk = resp.json["result"]["id"]
    resp = c.post(f"/api/v1/cd_declaration/{pk}/action/submit", json={})
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert resp.json["errors"]["goods-0-decl_total"][0].startswith("总价应等于单价×成交数量")
