"""享惠受阻协调申请 (seed 003): certificates of origin and their binding (关联), the application
with its four types, attachments, 暂存 / 提交 with the manual's refusals, the states and who may
do what in them, customs' handling with notices, and scope — through HTTP.

Demo (demo/coo.py): enterprise1's certificates R266100000000101 (bound to its released export
declaration 900120260000123456), AE26610000000102 (bound), RD26610000000103 and
CCPIT26610000104 (not bound), R266100000000105 (bound); enterprise2's R266100000000201 (bound to
900120260000300001) and three unbound.  Applications: 1 draft, 2 declared, 3 待办, 4 已办结
(enterprise1), 5 退回 (enterprise2).
"""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import func, select

from app.engine.attachments import Attachment
from app.engine.notify import Notice, OutboxMessage
from demo.coo import ENTRY_RELEASED, application
from models.coo import CooCertificate, CooCoordination

from .helpers import get

API = "/api/v1/coo_coordination"
CERT_API = "/api/v1/coo_certificate"
DRAFT, DECLARED, PENDING, CLOSED, RETURNED = range(1, 6)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
NOT_BOUND = "提交失败，请进入证书申请系统进行关联操作"
WRONG_CERT = "企业填写证书有误"


def _create(c, kind="ccpit", status=201, **overrides):
    data = {"kind": kind, **application("CCPIT26610000104", ENTRY_RELEASED,
                                        agreement_code="02", import_country="SGP",
                                        import_port=""), **overrides}
    resp = c.post(f"{API}/", json=data)
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.json


def _act(c, pk, name, status=200, resource=API, **body):
    resp = c.post(f"{resource}/{pk}/action/{name}", json=body)
    assert resp.status_code == status, (name, resp.get_data(as_text=True)[:2000])
    return resp.json


def _cert(db, number) -> CooCertificate:
    db.rollback()
    return db.scalar(select(CooCertificate).where(CooCertificate.cert_no == number))


def _upload(c, pk, name, data, slot="origin_proof", status=201):
    resp = c.post(f"{API}/{pk}/attachments",
                  data={"slot": slot, "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")
    assert resp.status_code == status, resp.get_data(as_text=True)[:1000]
    return resp.json


def _attachments(db, pk) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.entity == "coo_coordination", Attachment.record_id == pk))


# --- the left menu: four types, each opening the manual's new form ----------------------------
def test_the_menu_offers_the_four_types_and_opens_the_new_form_of_each(browser):
    b = browser("enterprise1")
    home = b.get("/").get_data(as_text=True)
    for kind, label in (("customs", "海关原产地证书享惠受阻协调申请"),
                        ("approved", "经核准出口商原产地声明享惠受阻协调申请"),
                        ("ruling", "基于海关行政裁定或预裁定的原产地声明享惠受阻协调申请"),
                        ("ccpit", "贸促会原产地证书享惠受阻协调申请")):
        assert f'href="/coo_coordination/new?kind={kind}"' in home and label in home
    assert 'href="/coo_coordination/"' in home and "享惠受阻协调查询" in home
    status, html = b.text("/coo_coordination/new?kind=ccpit")
    assert status == 200
    assert re.search(r'<option value="ccpit"\s+selected>', html)
    for placeholder in ("原产地证书号必填", "优惠贸易协定代码必填", "出口报关单号必填", "进口报关单号必填",
                        "联系人姓名必填", "联系电话必填", "申请事由必填"):
        assert f'placeholder="{placeholder}"' in html
    # the company's name is shown grey, from the company
    assert "陕西秦川精密机械有限公司" in html


def test_the_application_takes_the_company_and_a_number(api):
    rec = _create(api("enterprise1"))["result"]
    assert rec["status"] == "draft" and rec["kind"] == "ccpit"
    assert rec["ent_name"] == "陕西秦川精密机械有限公司" and len(rec["uscc"]) == 18
    assert re.fullmatch(r"XH\d{8}\d{6}", rec["coord_no"])


def test_customs_and_others_do_not_get_the_application_menu(browser):
    html = browser("customs1").get("/").get_data(as_text=True)
    assert "/coo_coordination/new" not in html
    assert 'href="/coo_coordination/screen/handle/"' in html


# --- 暂存: required fields and formats ------------------------------------------------------
def test_save_refuses_empty_required_fields_and_wrong_formats(api, db):
    c = api("enterprise1")
    before = db.scalar(select(func.count()).select_from(CooCoordination))
    resp = c.post(f"{API}/", json={"kind": "ccpit", "cert_no": "", "contact": ""})
    assert resp.status_code == 422
    errors = resp.json["errors"]
    for name in ("cert_no", "agreement_code", "export_entry_no", "import_entry_no", "contact",
                 "phone", "reason"):
        assert name in errors, name
    resp = c.post(f"{API}/", json={"kind": "ccpit", **application(
        "CCPIT26610000104", "12345", phone="abc", agreement_code="99")})
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert "18 位" in errors["export_entry_no"][0]
    assert "phone" in errors and "agreement_code" in errors
    resp = c.post(f"{API}/", json={"kind": "ccpit", **application(
        "R266100000000101", ENTRY_RELEASED)})
    assert resp.status_code == 422
    assert "贸促会原产地证书号应为" in resp.json["errors"]["cert_no"][0]
    resp = c.post(f"{API}/", json={"kind": "ccpit", **application(
        "CCPIT26610000104", "123420260000000001")})
    assert resp.status_code == 422 and "关区" in resp.json["errors"]["export_entry_no"][0]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CooCoordination)) == before


# --- 提交: 申报成功 or the manual's two refusals --------------------------------------------
def test_submit_with_an_unbound_certificate_refuses_and_changes_nothing(api, db):
    c = api("enterprise1")
    pk = _create(c)["id"]
    resp = c.post(f"{API}/{pk}/action/submit", json={})
    assert resp.status_code == 422 and resp.json["message"] == NOT_BOUND
    rec = get(db, CooCoordination, pk)
    assert rec.status == "draft" and rec.submitted_at is None


def test_submit_bound_to_another_declaration_refuses(api, db):
    c = api("enterprise1")
    pk = _create(c, kind="customs", cert_no="R266100000000101",
                 export_entry_no="900120260000123789", agreement_code="22")["id"]
    assert c.post(f"{API}/{pk}/action/submit", json={}).json["message"] == NOT_BOUND
    assert get(db, CooCoordination, pk).status == "draft"


def test_submit_with_another_enterprises_or_unknown_certificate_refuses(api, db):
    c = api("enterprise1")
    for number in ("R266100000000201", "R266100000009999"):
        pk = _create(c, kind="customs", cert_no=number, export_entry_no="900120260000300001")["id"]
        resp = c.post(f"{API}/{pk}/action/submit", json={})
        assert resp.status_code == 422 and resp.json["message"] == WRONG_CERT
        assert get(db, CooCoordination, pk).status == "draft"


def test_submit_of_a_bound_certificate_is_declared_and_customs_see_it(api, db):
    c = api("enterprise1")
    pk = _create(c, kind="customs", cert_no="R266100000000101", agreement_code="22")["id"]
    out = _act(c, pk, "submit")
    assert out["message"] == "申报成功"
    rec = get(db, CooCoordination, pk)
    assert rec.status == "declared" and rec.submitted_at is not None
    assert rec.certificate_id == _cert(db, "R266100000000101").id
    assert rec.cert_kind == "customs" and rec.cert_bound_at is not None
    assert ENTRY_RELEASED in rec.export_declaration and "放行" in rec.export_declaration
    assert "运抵国 DEU 德国，" in rec.export_declaration  # the country by its name, as shown
    seen = api("customs1").get(f"{API}/{pk}").json["result"]
    assert seen["export_declaration"] == rec.export_declaration


def test_after_binding_the_same_application_is_declared(api, db):
    c = api("enterprise1")
    pk = _create(c)["id"]
    assert c.post(f"{API}/{pk}/action/submit", json={}).json["message"] == NOT_BOUND
    cert = _cert(db, "CCPIT26610000104")
    _act(c, cert.id, "bind", resource=CERT_API, export_entry_no=ENTRY_RELEASED)
    assert _act(c, pk, "submit")["message"] == "申报成功"


# --- 证书申请 › 关联 -------------------------------------------------------------------------
def test_binding_checks_the_declaration(api, db):
    c = api("enterprise1")
    cert = _cert(db, "RD26610000000103")
    for number, words in (("12345", "18 位"), ("123420260000000001", "关区"),
                          ("", "必填")):
        resp = c.post(f"{CERT_API}/{cert.id}/action/bind",
                      json={"export_entry_no": number})
        assert resp.status_code == 422 and words in str(resp.json), (number, resp.json)
    # a declaration of 智慧云报关 that is not this enterprise's own export declaration
    from models.customs_declaration import CdDeclaration

    db.rollback()
    other = db.scalar(select(CdDeclaration).where(CdDeclaration.entry_id.is_not(None),
                                                  CdDeclaration.ie_flag == "E"))
    other.company_id = db.scalar(select(CooCertificate.company_id).where(
        CooCertificate.cert_no == "R266100000000201"))
    db.commit()
    resp = c.post(f"{CERT_API}/{cert.id}/action/bind",
                  json={"export_entry_no": other.entry_id})
    assert resp.status_code == 422 and "不是本企业的出口报关单" in resp.json["message"]
    assert _cert(db, "RD26610000000103").bound_entry_no is None
    # a number customs know elsewhere (not in 智慧云报关) with a real 关区
    _act(c, cert.id, "bind", resource=CERT_API, export_entry_no="900220260000555555")
    assert _cert(db, "RD26610000000103").bound_entry_no == "900220260000555555"


def test_certificates_are_customs_records_the_enterprise_sees_its_own(api, browser, db):
    c = api("enterprise1")
    numbers = {r["cert_no"] for r in c.get(f"{CERT_API}/").json["result"]}
    assert "R266100000000101" in numbers and "R266100000000201" not in numbers
    other = _cert(db, "R266100000000201")
    assert c.get(f"{CERT_API}/{other.id}").status_code == 404
    assert c.post(f"{CERT_API}/{other.id}/action/bind",
                  json={"export_entry_no": ENTRY_RELEASED}).status_code == 404
    mine = _cert(db, "RD26610000000103")
    resp = c.put(f"{CERT_API}/{mine.id}", json={"goods": "x", "version": mine.version})
    assert resp.status_code in (403, 409, 422)
    assert c.post(f"{CERT_API}/", json={"kind": "customs"}).status_code == 403
    html = browser("enterprise1").get("/coo_certificate/screen/bind/").get_data(as_text=True)
    assert "RD26610000000103" in html and "R266100000000201" not in html
    # customs issue certificates, in the format of their kind
    cus = api("customs1")
    company = str(mine.company_id)
    resp = cus.post(f"{CERT_API}/", json={"kind": "ccpit", "cert_no": "R266100000000999",
                                         "company_id": company, "agreement_code": "22",
                                         "issue_date": "2026-01-05", "import_country": "JPN",
                                         "goods": "车床"})
    assert resp.status_code == 422 and "CCPIT" in resp.json["errors"]["cert_no"][0]
    resp = cus.post(f"{CERT_API}/", json={"kind": "ccpit", "cert_no": "CCPIT26610000999",
                                         "company_id": company, "agreement_code": "22",
                                         "issue_date": "2026-01-05", "import_country": "JPN",
                                         "goods": "车床"})
    assert resp.status_code == 201, resp.json


# --- attachments: 4 MB a file, 300 KB a PDF, by content --------------------------------------
def test_attachment_limits_are_checked_by_content(api, db):
    c = api("enterprise1")
    pk = _create(c)["id"]
    resp = c.post(f"{API}/{pk}/attachments", data={
        "slot": "other1", "file": (io.BytesIO(PNG + b"\x00" * int(4.1 * 1024 * 1024)), "a.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "4 MB" in resp.json["message"]
    resp = c.post(f"{API}/{pk}/attachments", data={
        "slot": "origin_proof", "file": (io.BytesIO(PDF + b"0" * (301 * 1024)), "证书.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "300 KB" in resp.json["message"]
    resp = c.post(f"{API}/{pk}/attachments", data={
        "slot": "origin_proof", "file": (io.BytesIO(PNG), "证书.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "扩展名" in resp.json["message"]
    assert _attachments(db, pk) == 0
    # a 299 KB PDF and a 3.9 MB picture are fine, one per slot
    _upload(c, pk, "证书.pdf", PDF + b"0" * (299 * 1024))
    _upload(c, pk, "进口报关单.png", PNG + b"\x00" * int(3.9 * 1024 * 1024),
            slot="import_declaration")
    assert _attachments(db, pk) == 2


def test_attachments_follow_the_states_and_download_in_every_state(api, db):
    c = api("enterprise1")
    pk = _create(c, kind="customs", cert_no="R266100000000101", agreement_code="22")["id"]
    aid = _upload(c, pk, "证书.pdf", PDF)["id"]
    _act(c, pk, "submit")
    _upload(c, pk, "b.pdf", PDF, status=403)
    assert c.delete(f"{API}/{pk}/attachments/{aid}").status_code == 403
    for user in ("enterprise1", "customs1"):
        assert api(user).get(f"{API}/{pk}/attachments/{aid}").data == PDF
    _act(api("customs1"), pk, "receive")
    _act(api("customs1"), pk, "close", result="已协调")
    assert c.get(f"{API}/{pk}/attachments/{aid}").data == PDF


# --- states: what may be done where -------------------------------------------------------------
def test_withdraw_only_from_pending_delete_only_where_allowed(api, db):
    c = api("enterprise1")
    resp = c.post(f"{API}/{DRAFT}/action/withdraw", json={})
    assert resp.status_code in (403, 409) and get(db, CooCoordination, DRAFT).status == "draft"
    resp = c.post(f"{API}/{DECLARED}/action/withdraw", json={})
    assert resp.status_code in (403, 409)
    resp = c.post(f"{API}/{PENDING}/action/delete", json={})
    assert resp.status_code in (403, 409) and get(db, CooCoordination, PENDING) is not None
    _act(c, PENDING, "withdraw")
    assert get(db, CooCoordination, PENDING).status == "withdrawn"
    _act(c, PENDING, "delete")
    assert get(db, CooCoordination, PENDING) is None
    _act(c, DRAFT, "delete")
    assert get(db, CooCoordination, DRAFT) is None


def test_no_edit_once_closed_or_while_at_customs(api, browser, db):
    c = api("enterprise1")
    for pk in (CLOSED, DECLARED):
        rec = get(db, CooCoordination, pk)
        resp = c.put(f"{API}/{pk}", json={"reason": "改", "version": rec.version})
        assert resp.status_code in (403, 409), resp.json
        assert get(db, CooCoordination, pk).reason != "改"
    b = browser("enterprise1")
    resp = b.post(f"/coo_coordination/{CLOSED}/do/save", data={"reason": "改"})
    assert resp.status_code in (302, 403, 409)
    assert get(db, CooCoordination, CLOSED).reason != "改"
    assert c.post(f"{API}/{CLOSED}/action/delete", json={}).status_code in (403, 409)


def test_customs_receive_return_close_and_the_enterprise_is_told(api, db):
    c, cus = api("enterprise1"), api("customs1")
    pk = _create(c, kind="customs", cert_no="R266100000000101", agreement_code="22")["id"]
    _act(c, pk, "submit")
    assert c.post(f"{API}/{pk}/action/receive", json={}).status_code == 403
    _act(cus, pk, "receive")
    resp = cus.post(f"{API}/{pk}/action/return", json={})
    assert resp.status_code == 422
    _act(cus, pk, "return", opinion="请补充拒绝享惠通知书")
    rec = get(db, CooCoordination, pk)
    assert rec.status == "returned" and rec.customs_reply == "请补充拒绝享惠通知书"
    notice = db.scalar(select(Notice).where(Notice.entity == "coo_coordination",
                                            Notice.record_id == pk,
                                            Notice.title == "享惠受阻协调申请被退回"))
    assert notice is not None and notice.org_id == rec.company_id
    assert db.scalar(select(OutboxMessage).where(
        OutboxMessage.subject == "享惠受阻协调申请被退回")) is not None
    # edited and submitted again; customs cannot receive it, then close it with the result
    resp = c.put(f"{API}/{pk}", json={"reason": "补充了拒绝享惠通知书", "version": rec.version})
    assert resp.status_code == 200, resp.json
    _act(c, pk, "submit")
    resp = cus.post(f"{API}/{pk}/action/reject_receipt", json={})
    assert resp.status_code == 422
    _act(cus, pk, "reject_receipt", reason="附件无法打开")
    assert get(db, CooCoordination, pk).status == "receive_failed"
    _act(c, pk, "submit")
    _act(cus, pk, "receive")
    _act(cus, pk, "close", result="进口方海关已补予协定税率")
    rec = get(db, CooCoordination, pk)
    assert rec.status == "closed" and rec.result == "进口方海关已补予协定税率"
    titles = set(db.scalars(select(Notice.title).where(Notice.entity == "coo_coordination",
                                                       Notice.record_id == pk)))
    assert titles >= {"享惠受阻协调申请海关已接收", "享惠受阻协调申请被退回",
                      "享惠受阻协调申请海关接收失败", "享惠受阻协调申请已办结"}


def test_customs_list_and_the_todo_count(browser):
    b = browser("customs1")
    status, html = b.text("/coo_coordination/screen/handle/")
    assert status == 200
    assert "XH" in html and "陕西秦川精密机械有限公司" in html
    home = b.get("/").get_data(as_text=True)
    assert "享惠受阻协调申请" in home and "待办" in home
    # drafts are not customs' business
    assert browser("customs1").get(f"/coo_coordination/{DRAFT}").status_code == 404


def test_the_query_filters_of_the_manual(browser):
    b = browser("enterprise1")
    status, html = b.text("/coo_coordination/")
    assert status == 200
    for label in ("协调单号", "原产地证明号", "出口报关单编号", "处理状态", "协调单类型",
                  "优惠贸易协定代码", "提交起止日期"):
        assert label in html, label
    status, html = b.text("/coo_coordination/?status=closed&_searched=1")
    assert html.count('href="/coo_coordination/4"') >= 1
    assert 'href="/coo_coordination/1"' not in html


# --- scope: another company's ids on every endpoint -------------------------------------------
def test_another_companys_ids_are_not_found_everywhere(api, browser, db):
    c1 = api("enterprise1")
    aid = _upload(c1, DRAFT, "证书.pdf", PDF)["id"]
    c2, b2 = api("enterprise2"), browser("enterprise2")
    for path in (f"{API}/{DRAFT}", f"{API}/{DRAFT}/attachments",
                 f"{API}/{DRAFT}/attachments/{aid}", f"{API}/{DRAFT}/print"):
        assert c2.get(path).status_code == 404, path
    for name in ("submit", "withdraw", "delete", "save"):
        assert c2.post(f"{API}/{DRAFT}/action/{name}", json={}).status_code == 404, name
    assert c2.put(f"{API}/{DRAFT}", json={"reason": "x", "version": 1}).status_code == 404
    assert c2.delete(f"{API}/{DRAFT}/attachments/{aid}").status_code == 404
    resp = c2.post(f"{API}/{DRAFT}/attachments", data={
        "slot": "other1", "file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 404
    for path in (f"/coo_coordination/{DRAFT}", f"/coo_coordination/{DRAFT}/attachments/{aid}",
                 f"/coo_coordination/{DRAFT}/print"):
        assert b2.get(path).status_code == 404, path
    resp = b2.post(f"/coo_coordination/{DRAFT}/do/delete", data={"version": None})
    assert resp.status_code == 404
    resp = b2.post(f"/coo_coordination/{DRAFT}/attachments/{aid}/delete")
    assert resp.status_code == 404
    assert _attachments(db, DRAFT) == 1 and get(db, CooCoordination, DRAFT) is not None


def test_submit_straight_from_the_new_form_declares_it(browser, db):
    """提交 on a form never saved (no 暂存 first): the certificate is looked up and row-locked
    through the request's session, the application is declared, nothing typed is lost."""
    b = browser("enterprise1")
    data = {"kind": "customs", **application("R266100000000101", ENTRY_RELEASED,
                                             agreement_code="22")}
    resp = b.post("/coo_coordination/new/do/submit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    pk = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    rec = get(db, CooCoordination, pk)
    assert rec.status == "declared" and rec.cert_no == "R266100000000101"
    assert rec.certificate_id == _cert(db, "R266100000000101").id


def test_trade_agreements_read_by_their_english_names(browser):
    """优惠贸易协定 in English: 'China-Korea FTA', not the abbreviation 'KR'."""
    b = browser("enterprise1")
    assert b.get("/lang/en").status_code == 302
    html = b.get(f"/coo_coordination/{CLOSED}").get_data(as_text=True)
    assert "22 Regional Comprehensive Economic Partnership (RCEP)" in html
    listing = b.get("/coo_certificate/screen/bind/").get_data(as_text=True)
    assert "19 China-Korea FTA" in listing, re.findall(r"<td[^>]*>\s*19[^<]*", listing)


def test_a_steps_inputs_read_in_the_readers_language_in_the_history(browser, db):
    """办结 in English, read in Chinese: 协调结果：…, not the writer's 'Coordination result'."""
    cus = browser("customs1")
    assert cus.get("/lang/en").status_code == 302
    resp = cus.post(f"/coo_coordination/{PENDING}/do/close",
                    data={"input-result": "Preference granted after consultation"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    assert "Coordination result: Preference granted" in cus.get(
        f"/coo_coordination/{PENDING}/history?tab=flow").get_data(as_text=True)
    zh = browser("customs1").get(f"/coo_coordination/{PENDING}/history?tab=opinions")
    html = zh.get_data(as_text=True)
    assert "协调结果：Preference granted after consultation" in html
    assert "Coordination result" not in html


# --- 提交 uses a declaration of 智慧云报关 only when it is the applicant's own export one ------
NUMBER = "900220260000555555"
NOT_OWN_EXPORT = f"提交失败，报关单 {NUMBER} 不是本企业的出口报关单，请进入证书申请系统进行关联操作"


def _company(db, cert_no) -> int:
    return _cert(db, cert_no).company_id


def _bind_an_unbound_certificate(api, db, company) -> CooCertificate:
    """An unbound certificate of ``company``, bound by its enterprise to NUMBER — not in
    智慧云报关 yet, so the binding is accepted."""
    db.rollback()
    cert = db.scalar(select(CooCertificate).where(CooCertificate.company_id == company,
                                                  CooCertificate.bound_entry_no.is_(None))
                     .order_by(CooCertificate.id))
    _act(api("enterprise2"), cert.id, "bind", resource=CERT_API, export_entry_no=NUMBER)
    assert _cert(db, cert.cert_no).bound_entry_no == NUMBER
    return cert


def _submitted_application(api, db, cert):
    c = api("enterprise2")
    pk = _create(c, kind=cert.kind, cert_no=cert.cert_no, agreement_code=cert.agreement_code,
                 export_entry_no=NUMBER)["id"]
    return c, pk, c.post(f"{API}/{pk}/action/submit", json={})


def test_submit_never_shows_another_companys_declaration_of_the_number(api, browser, db):
    """enterprise2 binds its certificate to a number 智慧云报关 does not hold; the number then
    becomes enterprise1's IMPORT declaration: enterprise2's 提交 is refused and nothing of
    enterprise1's declaration is stored or shown."""
    from models.customs_declaration import CdDeclaration

    company1, company2 = _company(db, "R266100000000101"), _company(db, "R266100000000201")
    cert = _bind_an_unbound_certificate(api, db, company2)
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.company_id == company1,
                                                CdDeclaration.ie_flag == "I",
                                                CdDeclaration.status == "review_passed"))
    dec_api = "/api/v1/cd_declaration"
    _act(api("enterprise1"), dec.id, "declare", resource=dec_api)
    _act(api("customs1"), dec.id, "cus_accept", resource=dec_api, entry_id=NUMBER)
    assert get(db, CdDeclaration, dec.id).entry_id == NUMBER
    c, pk, resp = _submitted_application(api, db, cert)
    assert resp.status_code == 422 and resp.json["message"] == NOT_OWN_EXPORT, resp.json
    rec = get(db, CooCoordination, pk)
    assert rec.status == "draft" and rec.export_declaration is None
    assert rec.submitted_at is None and rec.certificate_id is None
    shown = c.get(f"{API}/{pk}").get_data(as_text=True) + browser("enterprise2").get(
        f"/coo_coordination/{pk}").get_data(as_text=True)
    for theirs in ("陕西秦川精密机械有限公司", dec.goods_names or "数控平面磨床", "海关入库成功"):
        assert theirs not in shown, theirs
    # the browser's 提交 is told the same, and the application stays a draft
    b = browser("enterprise2")
    resp = b.post(f"/coo_coordination/{pk}/do/submit", data={}, follow_redirects=True)
    assert resp.status_code in (200, 422)
    assert "不是本企业的出口报关单" in resp.get_data(as_text=True)
    assert get(db, CooCoordination, pk).status == "draft"


def test_submit_refuses_the_applicants_own_import_declaration_as_its_export_one(api, db):
    from sqlalchemy import update

    from models.customs_declaration import CdDeclaration

    company2 = _company(db, "R266100000000201")
    cert = _bind_an_unbound_certificate(api, db, company2)
    own_import = db.scalar(select(CdDeclaration.id).where(CdDeclaration.company_id == company2,
                                                          CdDeclaration.ie_flag == "I"))
    db.execute(update(CdDeclaration).where(CdDeclaration.id == own_import)
               .values(entry_id=NUMBER))
    db.commit()
    _c, pk, resp = _submitted_application(api, db, cert)
    assert resp.status_code == 422 and resp.json["message"] == NOT_OWN_EXPORT, resp.json
    rec = get(db, CooCoordination, pk)
    assert rec.status == "draft" and rec.export_declaration is None


# --- 出口报关单 beside an application, in the reader's language -----------------------------------
def _pdf_text(resp) -> str:
    from pypdf import PdfReader

    assert resp.status_code == 200 and resp.data.startswith(b"%PDF"), resp.status_code
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    return " ".join(text.split())  # lines as wrapped to the page joined again


def _page(b, path) -> str:
    resp = b.get(path)
    assert resp.status_code == 200, path
    return html.unescape(resp.get_data(as_text=True))


def test_the_export_declaration_beside_an_application_reads_in_the_readers_language(browser,
                                                                                     db):
    """What 提交 found of the export declaration is worded for whoever reads it — form and
    print — not in the language of the enterprise user who submitted."""
    zh_words = (f"出口报关单 {ENTRY_RELEASED}：", "运抵国 DEU 德国，", "状态 放行")
    en_words = (f"Export declaration {ENTRY_RELEASED}: ", "destination DEU Germany,",
                "status Released")
    b = browser("customs1")
    page = _page(b, f"/coo_coordination/{DECLARED}")
    assert all(w in page for w in zh_words), page
    assert b.get("/lang/en").status_code == 302
    page = _page(b, f"/coo_coordination/{DECLARED}")
    assert all(w in page for w in en_words) and not any(w in page for w in zh_words)
    printed = _pdf_text(b.get(f"/coo_coordination/{DECLARED}/print"))
    assert "destination DEU Germany" in printed and "运抵国" not in printed, printed
    # enterprise2's application cites a declaration made elsewhere (demo application 5)
    page = _page(b, f"/coo_coordination/{RETURNED}")
    assert "Not a declaration of the Smart Cloud Customs platform" in page
    assert "智慧云报关中无此报关单" not in page
    printed = _pdf_text(b.get(f"/coo_coordination/{RETURNED}/print"))
    assert "Not a declaration of the Smart Cloud Customs platform" in printed, printed
    assert "智慧云报关中无此报关单" not in printed


def test_an_application_submitted_in_english_is_read_in_chinese(api, browser, db):
    """An enterprise user working in English submits; customs, in Chinese, read Chinese — and
    the stored text (the REST API's) is the default language's, whoever submitted."""
    c = api("enterprise1")
    pk = _create(c, kind="customs", cert_no="R266100000000101", agreement_code="22")["id"]
    resp = c.post(f"{API}/{pk}/action/submit?_l_=en", json={})
    assert resp.status_code == 200 and resp.json["message"] == "Declared successfully", resp.json
    rec = get(db, CooCoordination, pk)
    assert "运抵国 DEU 德国，" in rec.export_declaration and "状态 放行" in rec.export_declaration
    page = _page(browser("customs1"), f"/coo_coordination/{pk}")
    assert "运抵国 DEU 德国，" in page and "状态 放行" in page and "Germany" not in page


def test_an_export_declaration_stored_as_text_before_still_reads(browser, db):
    """An application submitted before the facts were kept shows the text it was given."""
    from sqlalchemy import null, update

    db.execute(update(CooCoordination).where(CooCoordination.id == RETURNED).values(
        export_declaration="出口报关单 900120260000300001：旧文本", export_declaration_facts=null()))
    db.commit()
    b = browser("customs1")
    assert "出口报关单 900120260000300001：旧文本" in _page(b, f"/coo_coordination/{RETURNED}")
    b.get("/lang/en")
    assert "出口报关单 900120260000300001：旧文本" in _page(b, f"/coo_coordination/{RETURNED}")
