"""The administrators' console is generated from the declarations: every record type and every
code list is there, values read as labels, secrets nowhere, reference records edited through the
engine's write path, documents with a workflow read only, and a refused inline edit is a 400."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from app.engine import codelists
from app.engine.record import REGISTRY
from models.me_licence import MeEnterpriseFiling, MeProduct

CSRF_RE = re.compile(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"')
RESOURCES = sorted(REGISTRY)


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_record_type_is_listed_detailed_and_exported(browser, db, resource):
    b = browser("admin")
    status, html = b.text(f"/admin/rec_{resource}/")
    assert status == 200, resource
    model = REGISTRY[resource]
    first = db.scalar(select(model.id).order_by(model.id).limit(1))
    if first is not None:
        status, html = b.text(f"/admin/rec_{resource}/details/?id={first}")
        assert status == 200
    resp = b.get(f"/admin/rec_{resource}/export/xlsx/")
    assert resp.status_code == 200
    openpyxl.load_workbook(io.BytesIO(resp.data))


def test_every_code_list_has_its_view(browser):
    b = browser("admin")
    for name in codelists.LISTS:
        status, html = b.text(f"/admin/codelist_{name}/")
        assert status == 200, name
    status, html = b.text("/admin/codelist_currency/?search=USD")
    assert "美元" in html and "日本" not in html


def test_values_read_as_labels_and_secrets_never_show(browser, db):
    b = browser("admin")
    hashes = [h for h in db.scalars(select(MeEnterpriseFiling.me_password)) if h]
    status, html = b.text("/admin/rec_me_enterprise_filing/")
    pk = db.scalar(select(MeEnterpriseFiling.id).limit(1))
    details = b.get(f"/admin/rec_me_enterprise_filing/details/?id={pk}").get_data(as_text=True)
    export = b.get("/admin/rec_me_enterprise_filing/export/csv/").get_data(as_text=True)
    for text in (html, details, export):
        assert not any(h in text for h in hashes)
        assert "账户密码" not in text
    assert "已备案" in html  # the state's label, not "approved"
    resp = b.get("/admin/rec_me_enterprise_filing/?sort=99&flt1_0=scrypt")
    assert resp.status_code == 200


def test_reference_records_are_edited_through_the_write_path(browser, db):
    b = browser("admin")
    product = db.scalar(select(MeProduct).order_by(MeProduct.id).limit(1))
    name, version = product.name, product.version
    url = f"/admin/rec_me_product/edit/?id={product.id}"
    token = CSRF_RE.search(b.get(url).get_data(as_text=True)).group(1)
    form = {"csrf_token": token, "year": str(product.year), "hs_code": product.hs_code,
            "name": "改名的商品", "unit": "ZZZ", "category": product.category, "remark": ""}
    b.client.post(url, data=form)
    db.rollback()
    assert db.get(MeProduct, product.id).name == name  # refused: unknown unit code
    form["unit"] = product.unit
    b.client.post(url, data=form)
    db.rollback()
    stored = db.get(MeProduct, product.id)
    assert stored.name == "改名的商品" and stored.version == version + 1


def test_documents_with_a_workflow_are_read_only_here(browser, db):
    b = browser("admin")
    resp = b.get("/admin/rec_me_licence_application/edit/?id=1")
    assert resp.status_code in (302, 403, 404)
    status, html = b.text("/admin/rec_me_licence_application/")
    assert status == 200 and "/me_licence_application/1" in html


def test_an_inline_edit_without_its_token_is_a_bad_request(browser, db):
    b = browser("admin")
    item = db.scalar(select(codelists.CodeItem).where(
        codelists.CodeItem.list_name == "currency").limit(1))
    resp = b.client.post("/admin/codelist_currency/ajax/update/", data={
        "list_form_pk": str(item.id), "name": "改"})
    assert resp.status_code == 400
    resp = b.client.post("/admin/org_admin/ajax/update/", data={
        "list_form_pk": "1", "phone": "1"})
    assert resp.status_code == 400
    db.rollback()
    assert db.get(codelists.CodeItem, item.id).name != "改"


def test_only_administrators_enter_the_generated_views(browser):
    for user in ("enterprise1", "customs1"):
        resp = browser(user).get("/admin/rec_me_licence_application/")
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
