"""Grey computed fields follow the typing: the form posts what has been typed to
/<resource>/[<pk>/|new/]computed and shows the answer; nothing is saved."""

from __future__ import annotations

from sqlalchemy import func, select

from models.base import Organisation
from models.me_licence import LicenceApplication

from .helpers import GOODS, HEAD, add_goods, get, new_draft, one

NEW = "/me_licence_application/new/computed"


def _count(db):
    return one(db, select(func.count()).select_from(LicenceApplication))


def test_a_new_application_computes_the_importer_name_without_saving(browser, db):
    ent = browser("enterprise1")
    before = _count(db)
    name = one(db, select(Organisation.name).where(Organisation.customs_code == "6101930123"))

    resp = ent.post(NEW, data=HEAD)
    assert resp.status_code == 200
    assert resp.json["values"]["importer_name"] == name
    assert _count(db) == before


def test_goods_lines_typed_into_a_draft_give_line_and_record_totals(browser, db):
    ent = browser("enterprise1")
    pk = new_draft(ent)
    before = _count(db)

    resp = ent.post(f"/me_licence_application/{pk}/computed", data=GOODS)
    assert resp.status_code == 200
    values = resp.json["values"]
    assert values["goods-0-specs-0-amount"] == "77,000.00"       # 2 × 38,500
    assert values["goods-0-amount"] == "129,800.00"              # 77,000 + 52,800
    assert values["goods-1-amount"] == "138,000.00"              # 3 × 46,000
    assert values["total_qty"] == "6"
    assert values["total_amount"] == "267,800.00"
    assert values["total_usd"] == "267,800.00"                   # USD
    assert _count(db) == before
    assert get(db, LicenceApplication, pk).goods == []


def test_an_unknown_importer_code_leaves_the_name_empty(browser):
    ent = browser("enterprise1")
    values = ent.post(NEW, data={**HEAD, "importer_code": "0000000000"}).json["values"]
    assert values["importer_name"] == ""


def test_paths_keep_the_page_row_indexes_after_a_row_was_deleted(browser):
    ent = browser("enterprise1")
    pk = new_draft(ent)
    data = {"__tables": ["goods", "goods-2-specs"],
            "goods-2-hs_code": "8458110000", "goods-2-name": "数控卧式车床",
            "goods-2-goods_state": "N", "goods-2-unit": "001",
            "goods-2-specs-3-model": "CK6150", "goods-2-specs-3-qty": "4",
            "goods-2-specs-3-unit_price": "10"}
    values = ent.post(f"/me_licence_application/{pk}/computed", data=data).json["values"]
    assert values["goods-2-specs-3-amount"] == "40.00"
    assert values["goods-2-amount"] == "40.00"
    assert "goods-0-amount" not in values


def test_a_saved_draft_is_recomputed_from_the_typed_values_and_left_as_stored(browser, db):
    ent = browser("enterprise1")
    pk = new_draft(ent)
    add_goods(ent, pk)
    rec = get(db, LicenceApplication, pk)
    goods = sorted(rec.goods, key=lambda g: g.id)
    spec = sorted(goods[0].specs, key=lambda s: s.id)[0]
    stored_total = rec.total_amount

    data = {"__tables": ["goods", "goods-0-specs"],
            "goods-0-id": str(goods[0].id),
            "goods-0-specs-0-id": str(spec.id), "goods-0-specs-0-qty": "10",
            "goods-0-specs-0-unit_price": "38500"}
    values = ent.post(f"/me_licence_application/{pk}/computed", data=data).json["values"]
    assert values["goods-0-specs-0-amount"] == "385,000.00"
    assert get(db, LicenceApplication, pk).total_amount == stored_total


def test_another_companys_record_is_not_found(browser, db):
    ent2 = browser("enterprise2")
    ent1 = browser("enterprise1")
    pk = new_draft(ent1)
    assert ent2.post(f"/me_licence_application/{pk}/computed", data=HEAD).status_code == 404


def test_a_field_the_user_may_not_change_is_not_applied(browser, db):
    ent = browser("enterprise1")
    pk = new_draft(ent)
    add_goods(ent, pk)
    assert ent.post(f"/me_licence_application/{pk}/do/declare").status_code == 302
    assert get(db, LicenceApplication, pk).status == "under_review"
    stored = get(db, LicenceApplication, pk).importer_name
    values = ent.post(f"/me_licence_application/{pk}/computed",
                      data={"importer_code": "0000000000"}).json["values"]
    assert values["importer_name"] == stored


def test_without_the_csrf_token_nothing_is_computed(browser):
    ent = browser("enterprise1")
    resp = ent.client.post(NEW, data=HEAD)
    assert resp.status_code == 400


def test_the_form_asks_only_where_something_is_computed(browser):
    ent = browser("enterprise1")
    html = ent.get("/me_licence_application/new").get_data(as_text=True)
    assert 'data-computed="/me_licence_application/new/computed"' in html
