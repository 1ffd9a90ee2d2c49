"""The single window's links through HTTP: a declaration citing an automatic import licence
(随附单证 O or 许可证号) is checked in its 逻辑校验 against the M&E licence system — 审批通过,
the same company (another company's licence is answered as unknown), not expired, 一批一证
used once — and its 结关 receipt consumes the licence's 报关余量, once, never below zero."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from demo.customs_declaration import import_data
from models.customs_declaration import CdDeclaration
from models.me_licence import LicenceApplication, MeClearance

from .test_customs_sync import _receipt, _sync

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


# --- 结关 consumes the licence's 报关余量 -----------------------------------------------------
def _to_customs(api, db, pk):
    c = api("enterprise1")
    db.rollback()
    if db.get(CdDeclaration, pk).status != "review_passed":
        assert c.post(f"{API}/{pk}/action/submit", json={}).status_code == 200
        assert api("reviewer1").post(f"{API}/{pk}/action/review_pass",
                                     json={}).status_code == 200
    resp = c.post(f"{API}/{pk}/action/declare", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.rollback()
    return db.get(CdDeclaration, pk).seq_no


def test_a_cleared_declaration_consumes_its_licence_once(api, browser, db, exchange):
    lic = _licence(db, licence_no=db.get(CdDeclaration, PASSED).license_no)
    spec = next(s for g in lic.goods for s in g.specs if g.hs_code == "8460121000")
    before_qty, before_count = spec.cleared_qty, lic.clearance_count or 0
    seq = _to_customs(api, db, PASSED)
    inbox = exchange / "inbox"
    inbox.joinpath("a.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 "900120260000777001"))
    inbox.joinpath("b.xml").write_bytes(_receipt(seq, "J", "20261204090000", "结关"))
    b = browser("enterprise1")
    _sync(b, seq_no="X")
    inbox.joinpath("b.xml").write_bytes(_receipt(seq, "J", "20261204090000", "结关"))
    _sync(b, seq_no="X")  # the same 结关 again: consumed once
    db.rollback()
    cleared = db.scalars(select(MeClearance).where(MeClearance.declaration_id == PASSED)).all()
    assert [(c.source, c.status, c.entry_id, str(c.cleared_on)) for c in cleared] == [
        ("declaration", "cleared", "900120260000777001", "2026-12-04")]
    # declared today in this system, cleared on the receipt's earlier date: declared by then
    assert str(cleared[0].declared_on) == "2026-12-04"
    db.refresh(spec)
    db.refresh(lic)
    assert spec.cleared_qty == before_qty + 1 and lic.clearance_count == before_count + 1
    # 结关数据查询 and 报关余量查询 show it, by its source
    status, html = browser("customs1").text("/me_clearance/?_searched=1&entry_id=900120260000777001")
    assert status == 200 and "报关单结关回执" in html


def test_two_declarations_clearing_past_the_remainder_at_once_one_wins(api, app, db):
    """Two 结关 receipts of declarations that each want the whole remainder of a licence's
    规格型号, processed at the same moment (on PostgreSQL for real): exactly one clears."""
    import threading

    from models.customs_links import clear_licences

    from .conftest import PG_URL

    if not PG_URL:
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")

    lic = _licence(db, licence_no=db.get(CdDeclaration, PASSED).license_no)
    spec = next(s for g in lic.goods for s in g.specs if g.hs_code == "8460121000")
    left = (spec.qty - (spec.cleared_qty or 0)).normalize()
    c = api("enterprise1")
    ids = []
    for n in range(2):
        data = import_data(lic.licence_no)
        data["goods"][0].update(qty1=str(left), g_qty=str(left), decl_total=format(41000 * left, "f"))
        data["bill_no"] = f"999-1234567{n}"
        resp = c.post(f"{API}/", json=data)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        ids.append(resp.json["id"])
        _to_customs(api, db, ids[-1])
    for pk in ids:  # the 海关编号 customs gave at 入库
        db.execute(update(CdDeclaration).where(CdDeclaration.id == pk).values(
            entry_id=f"90012026{pk:010d}"))
    db.commit()

    barrier, answers = threading.Barrier(2), {}

    def clear(pk):
        from app import db as app_db

        with app.app_context():
            session = app_db.session
            try:
                dec = session.get(CdDeclaration, pk)
                barrier.wait()
                answers[pk] = clear_licences(session, dec, dt.date(2026, 12, 4))
                session.commit()
            except Exception as e:  # noqa: BLE001 - asserted below
                answers[pk] = e
            finally:
                app_db.session.remove()

    threads = [threading.Thread(target=clear, args=(pk,)) for pk in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.rollback()
    cleared = db.scalars(select(MeClearance).where(MeClearance.declaration_id.in_(ids),
                                                   MeClearance.status == "cleared")).all()
    assert len(cleared) == 1, {k: repr(v)[:600] for k, v in answers.items()}
    refused = [msgs for msgs in answers.values() if msgs]
    assert len(refused) == 1 and "报关余量不足" in str(refused[0]), repr(refused)[:1500]
    db.refresh(spec)
    assert spec.cleared_qty == spec.qty


# --- 旧机电: used goods under a 旧机电业务规则 need the pre-shipment certificate -------------------
CERT = "JMI-PSI-2026-0418"  # enterprise1's 业务委托 WT2026000004, 检验完成 by 日本机械检验株式会社


def _used(c, db, *, cert="", code="8458110000", state="U", name="数控卧式车床"):
    """An import declaration of enterprise1 (valid licence) with one goods line, submitted."""
    db.rollback()
    company = db.get(CdDeclaration, PASSED).company_id
    data = import_data(_licence(db, batch_mode="0", company_id=company).licence_no)
    data["goods"][0].update(code_ts=code, g_name=name, goods_state=state)
    data["psi_cert_no"] = cert
    resp = c.post(f"{API}/", json=data)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return c.post(f"{API}/{resp.json['id']}/action/submit", json={})


def _entrustment(db):
    from models.used_me import UeEntrustment

    db.rollback()
    return db.scalar(select(UeEntrustment).where(UeEntrustment.inst_cert_no == CERT))


def test_used_goods_of_a_rule_need_the_pre_shipment_certificate(api, db):
    c = api("enterprise1")
    resp = _used(c, db)
    assert resp.status_code == 422
    assert resp.json["errors"]["psi_cert_no"] == [
        "第 1 项商品 8458110000 为需实施装运前检验的旧机电产品，请填报装运前检验证书编号"]
    # new goods of the same code, and used goods no rule names, need none
    assert _used(c, db, state="N").status_code == 200
    assert _used(c, db, code="8460121000", name="数控平面磨床").status_code == 200
    # the company's own certificate, valid, covering the code: passes
    assert _used(c, db, cert=CERT).status_code == 200


def test_a_certificate_that_does_not_hold_is_refused(api, db):
    from models.used_me import UeEntrustment

    c = api("enterprise1")
    resp = _used(c, db, cert="NO-SUCH-CERT")
    assert resp.json["errors"]["psi_cert_no"] == [
        "装运前检验证书 NO-SUCH-CERT 不存在或不是本企业业务委托的检验证书"]
    # another company's certificate is answered as unknown
    resp = _used(api("enterprise2"), db, cert=CERT)
    assert resp.json["errors"]["psi_cert_no"] == [
        f"装运前检验证书 {CERT} 不存在或不是本企业业务委托的检验证书"]
    # a code the certificate's 业务委托 does not cover
    resp = _used(c, db, cert=CERT, code="8443191000", name="圆网印刷机")
    assert resp.json["errors"]["goods-0-code_ts"] == [
        f"装运前检验证书 {CERT} 未包括第 1 项商品 8443191000"]
    # expired
    ent = _entrustment(db)
    db.execute(update(UeEntrustment).where(UeEntrustment.id == ent.id)
               .values(cert_valid_until=dt.date.today() - dt.timedelta(days=1)))
    db.commit()
    resp = _used(c, db, cert=CERT)
    assert resp.status_code == 422
    assert "已过有效期" in resp.json["errors"]["psi_cert_no"][0]


def test_a_certificate_of_an_institution_under_rectification_is_refused(api, browser, db):
    """customs1 orders 限期整改 on the institution that issued the certificate: from then on the
    certificate does not carry a declaration."""
    from .test_used_me import _dispose

    c = api("enterprise1")
    assert _used(c, db, cert=CERT).status_code == 200
    _dispose(browser("customs1"), _entrustment(db).institution_id, "rectify", text="限期整改")
    resp = _used(c, db, cert=CERT)
    assert resp.status_code == 422
    assert resp.json["errors"]["psi_cert_no"][0].startswith(f"装运前检验证书 {CERT} 不予认可：")
    assert "限期整改" in resp.json["errors"]["psi_cert_no"][0]


def test_prohibited_used_goods_are_refused(api, db):
    resp = _used(api("enterprise1"), db, code="8418109000", name="旧冷藏冷冻箱")
    assert resp.status_code == 422
    assert resp.json["errors"]["goods-0-code_ts"][-1] == \
        "第 1 项商品 8418109000 属禁止进口的旧机电产品"


def test_two_declarations_of_one_batch_licence_declared_at_once_one_wins(api, db, monkeypatch):
    """一批一证: two declarations citing the same licence, 申报 at the same moment (on
    PostgreSQL for real): the check that no other declaration uses it held in Python alone, so
    both passed. 申报 now locks the licence first: the second waits, then sees the first."""
    import threading

    from models import customs_links

    from .conftest import PG_URL

    if not PG_URL:
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")
    c = api("enterprise1")
    company = db.get(CdDeclaration, PASSED).company_id
    one = _licence(db, batch_mode="1", company_id=company)
    ids = []
    for n in range(2):
        data = import_data(one.licence_no)
        data["bill_no"] = f"999-7654321{n}"
        resp = c.post(f"{API}/", json=data)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        ids.append(resp.json["id"])
        assert c.post(f"{API}/{ids[-1]}/action/submit", json={}).status_code == 200
        assert api("reviewer1").post(f"{API}/{ids[-1]}/action/review_pass",
                                     json={}).status_code == 200

    checked = threading.Barrier(2)
    real = customs_links.licence_errors

    def licence_errors(session, dec, add):
        real(session, dec, add)
        try:  # both checks done before either declaration is written: the race, every time
            checked.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass  # the other waits for the licence's lock: it checks after this one commits

    monkeypatch.setattr(customs_links, "licence_errors", licence_errors)
    clients = [api("enterprise1"), api("enterprise1")]
    answers = {}

    def declare(i):
        resp = clients[i].post(f"{API}/{ids[i]}/action/declare", json={})
        answers[i] = (resp.status_code, resp.get_data(as_text=True))

    threads = [threading.Thread(target=declare, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(status for status, _body in answers.values()) == [200, 422], answers
    refused = next(body for status, body in answers.values() if status == 422)
    assert "已被报关单" in json.loads(refused)["message"]
    db.rollback()
    assert sorted(db.get(CdDeclaration, pk).status for pk in ids) == ["declared",
                                                                      "review_passed"]


def test_a_declaration_closed_by_a_customs_officer_consumes_its_licence(api, db):
    """结关 entered by a customs officer does what the 结关 receipt does: the licence's 报关余量
    is consumed (once), not only when the receipt arrives through 数据同步."""
    lic = _licence(db, licence_no=db.get(CdDeclaration, PASSED).license_no)
    before = lic.clearance_count or 0
    _to_customs(api, db, PASSED)
    cus = api("customs1")
    steps = [("cus_accept", {"entry_id": "900120260000777002"}), ("conclude", {}),
             ("release", {}), ("close", {})]
    for name, body in steps:
        resp = cus.post(f"{API}/{PASSED}/action/{name}", json=body)
        assert resp.status_code == 200, (name, resp.get_data(as_text=True)[:1000])
    db.rollback()
    cleared = db.scalars(select(MeClearance).where(MeClearance.declaration_id == PASSED)).all()
    assert [(c.source, c.status, c.entry_id) for c in cleared] == [
        ("declaration", "cleared", "900120260000777002")]
    assert db.get(LicenceApplication, lic.id).clearance_count == before + 1
