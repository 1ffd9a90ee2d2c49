"""The single window's links through HTTP: a declaration citing an automatic import licence
(随附单证 O or 许可证号) is checked in its 逻辑校验 against the M&E licence system — 审批通过,
the same company (another company's licence is answered as unknown), not expired, 一批一证
used once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from demo.customs_declaration import import_data
from models.customs_declaration import CdDeclaration
from models.me_licence import LicenceApplication

PASSED = 4
API = "/api/v1/cd_declaration"


def _licence(db, **where):
    db.rollback()
    q = select(LicenceApplication).where(LicenceApplication.status == "approved")
    for k, v in where.items():
        q = q.where(getattr(LicenceApplication, k) == v)
    return db.scalars(q.order_by(LicenceApplication.id)).first()


def _submit(c, licence_no):
    resp = c.post(f"{API}/", json=import_data(licence_no))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return c.post(f"{API}/{resp.json['id']}/action/submit", json={})


def test_an_unknown_or_unapproved_licence_is_refused(api, db):
    resp = _submit(api("enterprise1"), "26-61-999999")
    assert resp.status_code == 422
    assert resp.json["errors"]["license_no"] == [
        "许可证 26-61-999999 不存在、未审批通过或不是本企业的许可证"]
    assert "documents-0-cert_code" in resp.json["errors"]
    db.rollback()
    draft = db.scalars(select(LicenceApplication).where(
        LicenceApplication.status != "approved",
        LicenceApplication.licence_no.is_not(None))).first()
    if draft is not None:
        assert _submit(api("enterprise1"), draft.licence_no).status_code == 422


def test_another_companys_licence_is_answered_as_unknown(api, db):
    lic = _licence(db, batch_mode="0")
    resp = _submit(api("enterprise2"), lic.licence_no)
    assert resp.status_code == 422
    assert resp.json["errors"]["license_no"] == [
        f"许可证 {lic.licence_no} 不存在、未审批通过或不是本企业的许可证"]


def test_an_expired_licence_is_refused(api, db, app):
    lic = _licence(db, batch_mode="0")
    db.execute(update(LicenceApplication).where(LicenceApplication.id == lic.id)
               .values(valid_until=dt.date.today() - dt.timedelta(days=1)))
    db.commit()
    resp = _submit(api("enterprise1"), lic.licence_no)
    assert resp.status_code == 422
    assert "已过有效截止日期" in resp.json["errors"]["license_no"][0]


def test_a_valid_licence_passes_and_one_batch_is_used_once(api, db):
    c = api("enterprise1")
    company = db.get(CdDeclaration, PASSED).company_id
    lic = _licence(db, batch_mode="0", company_id=company)
    assert _submit(c, lic.licence_no).status_code == 200  # 非一批一证: used again and again
    assert _submit(c, lic.licence_no).status_code == 200
    one = _licence(db, batch_mode="1", company_id=company)
    resp = _submit(c, one.licence_no)
    assert resp.status_code == 200, resp.json  # submitted, not yet at customs: not used
    pk = resp.json["id"]
    assert api("reviewer1").post(f"{API}/{pk}/action/review_pass", json={}).status_code == 200
    assert c.post(f"{API}/{pk}/action/declare", json={}).status_code == 200
    resp = _submit(c, one.licence_no)
    assert resp.status_code == 422
    db.rollback()
    assert resp.json["errors"]["license_no"] == [
        f"一批一证许可证 {one.licence_no} 已被报关单 {db.get(CdDeclaration, pk).seq_no} 使用"]
