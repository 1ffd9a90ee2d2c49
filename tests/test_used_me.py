"""进口旧机电产品装运前检验监督管理 through its screens and API, as its three parties work it.

Demo ids: organisations 5 日本机械检验 (institution1), 6 德国莱茵 (institution2), 7 韩国 (under
不予认可), 8 新加坡 (under 限期整改), 9 意大利 (备案 revoked), 10 美国 (filing pending).
Filings 1..6 in that order; entrustments 1 draft, 2 pending, 3 accepted, 4 done, 5 补充材料 (all
enterprise1 → institution1) and 6 (enterprise2 → institution2).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.engine.attachments import Attachment
from app.engine.change_requests import ChangeRequest
from app.engine.history import FieldChange, FlowEntry
from models.base import AppUser, Organisation
from models.used_me import (
    UeAnnualReport,
    UeDisposal,
    UeEntrustment,
    UeInstitutionFiling,
    UeQualityIssue,
    UeSupervisionCheck,
)

from .conftest import PASSWORD
from .helpers import created_id, flashes, get

INST1, INST2, INST_NR, INST_RECTIFY, INST_REVOKED, INST_PENDING = 5, 6, 7, 8, 9, 10
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00" + b"\x00" * 60

ENTRUSTMENT = {
    "consignee": "陕西秦川精密机械有限公司", "entry_customs": "9001", "destination": "610000",
    "destination_customs": "9000", "use": "02", "institution_id": str(INST1),
    "contact_name": "王建国", "contact_mobile": "13809181234", "currency": "USD",
}
GOODS = {
    "__tables": "goods",
    "goods-0-hs_code": "8458110000", "goods-0-name": "数控卧式车床", "goods-0-model": "QT-250",
    "goods-0-qty": "2", "goods-0-unit": "001", "goods-0-unit_price": "46000",
    "goods-1-hs_code": "8457101000", "goods-1-name": "立式加工中心", "goods-1-model": "MB-46VA",
    "goods-1-qty": "1", "goods-1-unit": "001", "goods-1-unit_price": "68000",
}


@pytest.fixture
def institution_user(db):
    """A signed-in user for one of the demo institutions that have none."""
    def make(org_id, username):
        role = db.scalar(select(AppUser).where(AppUser.username == "institution1")).roles[0]
        db.add(AppUser(username=username, first_name=username, last_name="", active=True,
                       email=f"{username}@example.org", password=generate_password_hash(PASSWORD),
                       roles=[role], organisation_id=org_id))
        db.commit()
        return username
    return make


def _notice_titles(b) -> str:
    return b.get("/").get_data(as_text=True)


def _options(html: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select_html)


# --- 备案申请 ---------------------------------------------------------------------------------
FILING = {
    "name_cn": "美国太平洋检验服务公司", "name_en": "Pacific Inspection Services Inc.",
    "country": "USA", "address": "1200 Harbor Blvd, Long Beach", "legal_rep": "Emily Carter",
    "scope_text": "机床、工程机械装运前检验", "contact": "Emily Carter",
    "contact_id_no": "11010519491231002X", "phone": "+1 562 555 0142",
    "email": "psi@pacific-inspect.example",
}


def test_filing_contact_data_are_validated(browser, institution_user):
    b = browser(institution_user(INST_REVOKED, "italy"))
    resp = b.post("/ue_institution_filing/new/do/save", data=dict(
        FILING, phone="电话", email="not-an-email", contact_id_no="110105194912310021"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "电话号码格式错误" in html and "电子邮件格式错误" in html
    assert "身份证号码格式或校验位错误" in html


def test_child_tables_open_after_the_first_save(browser, institution_user, db):
    b = browser(institution_user(INST_REVOKED, "italy"))
    html = b.get("/ue_institution_filing/new").get_data(as_text=True)
    assert 'name="__tables" value="departments"' not in html
    assert "请先暂存，再录入「主要部门情况」" in html
    pk = created_id(b.post("/ue_institution_filing/new/do/save", data=FILING))
    html = b.get(f"/ue_institution_filing/{pk}").get_data(as_text=True)
    for table in ("departments", "equipment", "certifications", "track_record"):
        assert f'name="__tables" value="{table}"' in html
    b.post(f"/ue_institution_filing/{pk}/do/save", data=dict(FILING, **{
        "__tables": ["departments"], "departments-0-dept_name": "检验部",
        "departments-0-staff": "9"}))
    assert [d.dept_name for d in get(db, UeInstitutionFiling, pk).departments] == ["检验部"]


def test_a_revoked_institution_may_file_anew(browser, institution_user, db):
    b, customs = browser(institution_user(INST_REVOKED, "italy")), browser("customs1")
    pk = created_id(b.post("/ue_institution_filing/new/do/save", data=FILING))
    b.post(f"/ue_institution_filing/{pk}/do/apply")
    assert get(db, UeInstitutionFiling, pk).status == "pending"
    # customs: 补充材料 needs the list of materials, reaches the institution as a notice
    resp = customs.post(f"/ue_institution_filing/{pk}/do/supplement", data={"opinion": ""})
    assert resp.status_code == 422
    customs.post(f"/ue_institution_filing/{pk}/do/supplement",
                 data={"opinion": "请补充 ISO/IEC 17020 认可证书"})
    assert get(db, UeInstitutionFiling, pk).status == "supplement"
    assert "补充材料" in _notice_titles(b)
    b.post(f"/ue_institution_filing/{pk}/do/apply", data=dict(FILING, phone="+39 02 5555 0199"))
    assert get(db, UeInstitutionFiling, pk).status == "pending"
    customs.post(f"/ue_institution_filing/{pk}/do/accept", data={"opinion": "同意"})
    filing = get(db, UeInstitutionFiling, pk)
    assert filing.status == "accepted" and re.fullmatch(r"ZJ\d{4}\d{4}", filing.cert_no)
    assert "备案申请已受理" in _notice_titles(b)


@pytest.mark.parametrize("org,message", [
    (INST_NR, "不予认可处置期间不予重新备案"),
    (INST_RECTIFY, "请完成限期整改后重新备案"),
    (INST1, "已有备案申请 {filing_no} 正在办理或有效，不能重复申请"),
])
def test_re_filing_is_refused_with_the_manuals_messages(browser, institution_user, db, org,
                                                         message):
    # the demo's filing number, as the demo numbered it (BA + the year it was loaded in)
    message = message.format(filing_no=db.scalar(select(UeInstitutionFiling.filing_no).where(
        UeInstitutionFiling.institution_id == org).order_by(UeInstitutionFiling.id)))
    username = "institution1" if org == INST1 else institution_user(org, f"inst{org}")
    b = browser(username)
    before = db.scalar(select(func.count()).select_from(UeInstitutionFiling))
    # the form does not open: the reason, at once
    resp = b.get("/ue_institution_filing/new")
    assert resp.status_code == 302
    assert message in flashes(b)
    html = b.get("/ue_institution_filing/").get_data(as_text=True)
    assert "/ue_institution_filing/new" not in html  # no 新增 offered
    # nor does a posted one get stored
    resp = b.post("/ue_institution_filing/new/do/save", data=FILING)
    assert message in (resp.get_data(as_text=True) + flashes(b))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(UeInstitutionFiling)) == before


def test_customs_may_refuse_a_filing(browser, institution_user, db):
    customs = browser("customs1")
    customs.post("/ue_institution_filing/6/do/reject", data={"opinion": "检验能力证明不足"})
    assert get(db, UeInstitutionFiling, 6).status == "rejected"


def test_an_institution_reads_only_its_own_filing(browser):
    b = browser("institution1")
    assert b.get("/ue_institution_filing/1").status_code == 200
    assert b.get("/ue_institution_filing/2").status_code == 404


def test_change_request_is_reviewed_before_it_applies(browser, db):
    inst, customs = browser("institution1"), browser("customs1")
    before = get(db, UeInstitutionFiling, 1)
    old_phone = before.phone
    html = inst.get("/ue_institution_filing/1").get_data(as_text=True)
    assert 'data-transition="request_change"' in html
    assert re.search(r'<input[^>]*\sname="phone"', html)  # yellow: editable for a change
    inst.post("/ue_institution_filing/1/do/request_change",
              data=dict(FILING, name_cn=before.name_cn, name_en=before.name_en, country="JPN",
                        address=before.address, legal_rep=before.legal_rep,
                        contact=before.contact, contact_id_no=before.contact_id_no,
                        email=before.email, phone="+81 3 5444 9999",
                        scope_text=before.scope_text))
    filing = get(db, UeInstitutionFiling, 1)
    assert filing.status == "change_review" and filing.phone == old_phone
    cr = db.scalar(select(ChangeRequest).where(ChangeRequest.record_id == 1,
                                               ChangeRequest.entity == "ue_institution_filing"))
    assert cr.status == "pending" and set(cr.values) == {"phone"}
    html = customs.get("/ue_institution_filing/1").get_data(as_text=True)
    assert "待审核的变更" in html and old_phone in html and "+81 3 5444 9999" in html
    customs.post("/ue_institution_filing/1/do/approve_change", data={"opinion": "同意变更"})
    filing = get(db, UeInstitutionFiling, 1)
    assert filing.status == "accepted" and filing.phone == "+81 3 5444 9999"
    flow = [e.transition for e in db.scalars(select(FlowEntry).where(
        FlowEntry.entity == "ue_institution_filing", FlowEntry.record_id == 1))]
    assert flow[-2:] == ["request_change", "approve_change"]
    change = db.scalar(select(FieldChange).where(FieldChange.entity == "ue_institution_filing",
                                                 FieldChange.record_id == 1,
                                                 FieldChange.field == "phone"))
    assert (change.old_value, change.new_value) == (old_phone, "+81 3 5444 9999")
    assert "备案变更审核通过" in _notice_titles(inst)


def test_a_rejected_change_leaves_the_filing_as_it_was(browser, db):
    customs = browser("customs1")
    before = get(db, UeInstitutionFiling, 2).address
    customs.post("/ue_institution_filing/2/do/reject_change", data={"opinion": "请提供新址证明"})
    filing = get(db, UeInstitutionFiling, 2)
    assert filing.status == "accepted" and filing.address == before
    cr = db.scalar(select(ChangeRequest).where(ChangeRequest.record_id == 2))
    assert cr.status == "rejected" and cr.opinion == "请提供新址证明"


def test_an_accepted_filing_is_not_edited_directly(browser, api, db):
    inst = browser("institution1")
    resp = inst.post("/ue_institution_filing/1/do/save", data=dict(FILING, phone="+81 1"))
    assert "不能执行「暂存」" in resp.get_data(as_text=True)
    resp = api("institution1").put("/api/v1/ue_institution_filing/1", json={
        "phone": "+81 1", "version": get(db, UeInstitutionFiling, 1).version})
    assert resp.status_code == 403
    assert get(db, UeInstitutionFiling, 1).phone != "+81 1"


def test_an_unchanged_change_request_is_refused(browser, db):
    inst = browser("institution1")
    f = get(db, UeInstitutionFiling, 1)
    resp = inst.post("/ue_institution_filing/1/do/request_change", data={
        "phone": f.phone, "email": f.email})
    assert resp.status_code == 422 and "没有修改任何内容" in resp.get_data(as_text=True)
    assert get(db, UeInstitutionFiling, 1).status == "accepted"


def test_a_change_request_is_checked_as_the_filing_itself(browser, api, db):
    """A change that would leave the filing without a required value is refused when it is
    proposed: approving it would store the blank (the reviewer cannot mend the fields)."""
    inst = browser("institution1")
    f = get(db, UeInstitutionFiling, 1)
    resp = inst.post("/ue_institution_filing/1/do/request_change", data={
        "version": f.version, "phone": "", "email": f.email})
    assert resp.status_code == 422, resp.status_code
    assert "必填" in resp.get_data(as_text=True)
    resp = api("institution1").post("/api/v1/ue_institution_filing/1/action/request_change",
                                     json={"data": {"legal_rep": "", "version": f.version}})
    assert resp.status_code == 422 and "legal_rep" in resp.json["errors"]
    db.expire_all()
    f = get(db, UeInstitutionFiling, 1)
    assert f.status == "accepted" and f.phone and f.legal_rep
    assert db.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.entity == "ue_institution_filing", ChangeRequest.record_id == 1)) == 0


# --- 业务委托 / 业务受理 -----------------------------------------------------------------------
def _entrust(b, **overrides) -> int:
    pk = created_id(b.post("/ue_entrustment/new/do/save", data=dict(ENTRUSTMENT, **overrides)))
    resp = b.post(f"/ue_entrustment/{pk}/do/save", data=dict(ENTRUSTMENT, **overrides, **GOODS))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    return pk


def test_only_institutions_that_may_be_entrusted_today_are_offered(browser):
    html = browser("enterprise1").get("/ue_entrustment/new").get_data(as_text=True)
    assert _options(html, "institution_id") == ["德国莱茵装运前检验有限公司", "日本机械检验株式会社"]


@pytest.mark.parametrize("org,message", [
    (INST_NR, "检验机构「韩国产业技术检验院」处于不予认可装运前检验结果处置期间"),
    (INST_RECTIFY, "检验机构「新加坡环球检验有限公司」处于限期整改期间，不能接受委托"),
    (INST_REVOKED, "检验机构「意大利欧洲技术检验公司」已被撤销备案，不能接受委托"),
    (INST_PENDING, "检验机构「美国太平洋检验服务公司」尚未备案，不能接受委托"),
    (3, "装运前检验机构不存在"),
])
def test_entrusting_a_disposed_institution_by_posting_its_id_is_refused(browser, db, org,
                                                                       message):
    b = browser("enterprise1")
    resp = b.post("/ue_entrustment/new/do/save", data=dict(ENTRUSTMENT, institution_id=str(org)))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(UeEntrustment).where(UeEntrustment.institution_id == org)) is None


def test_totals_are_computed_and_grey(browser, db):
    b = browser("enterprise1")
    pk = _entrust(b)
    e = get(db, UeEntrustment, pk)
    assert (e.total_qty, e.total_amount) == (3, 160000)
    html = b.get(f"/ue_entrustment/{pk}").get_data(as_text=True)
    assert 'data-name="total_qty"' in html and not re.search(r'<input[^>]*name="total_qty"', html)
    resp = b.post(f"/ue_entrustment/{pk}/do/save", data=dict(ENTRUSTMENT, total_amount="1"))
    assert "以下字段在当前状态下不可修改：总金额" in resp.get_data(as_text=True)


def test_entrustment_round_trip_with_return_and_result(browser, db):
    ent, inst = browser("enterprise1"), browser("institution1")
    pk = _entrust(ent)
    ent.post(f"/ue_entrustment/{pk}/do/submit")
    e = get(db, UeEntrustment, pk)
    assert e.status == "pending" and e.entrusted_at is not None
    html = inst.get(f"/ue_entrustment/screen/inbox/?_searched=1&entrust_no={e.entrust_no}"
                    ).get_data(as_text=True)
    assert e.entrust_no in html and "陕西秦川精密机械有限公司" in html
    assert "新的业务委托" in _notice_titles(inst)
    # 退回 needs a reason; the enterprise sees it and may edit again
    resp = inst.post(f"/ue_entrustment/{pk}/do/return", data={"input-reason": ""})
    assert resp.status_code == 422
    inst.post(f"/ue_entrustment/{pk}/do/return", data={"input-reason": "请补充铭牌照片"})
    e = get(db, UeEntrustment, pk)
    assert (e.status, e.return_reason) == ("supplement", "请补充铭牌照片")
    html = ent.get(f"/ue_entrustment/{pk}").get_data(as_text=True)
    assert "请补充铭牌照片" in html and "补充材料" in html
    assert "补充材料" in _notice_titles(ent)
    ent.post(f"/ue_entrustment/{pk}/do/submit", data=dict(ENTRUSTMENT, remark="已补充照片"))
    assert get(db, UeEntrustment, pk).status == "pending"
    inst.post(f"/ue_entrustment/{pk}/do/accept")
    assert get(db, UeEntrustment, pk).status == "accepted"
    # 检验结果: a file, the certificate number and its validity (ahead of today, whenever today is)
    valid = dt.date.today() + dt.timedelta(days=200)
    resp = inst.post(f"/ue_entrustment/{pk}/do/result", data={
        "input-cert_no": "JMI-1", "input-valid_until": valid.isoformat(),
        "input-result_file": (io.BytesIO(EXE), "证书.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "内容不是允许的类型" in resp.get_data(as_text=True)
    resp = inst.post(f"/ue_entrustment/{pk}/do/result", data={
        "input-cert_no": "", "input-valid_until": ""}, content_type="multipart/form-data")
    assert resp.status_code == 422
    inst.post(f"/ue_entrustment/{pk}/do/result", data={
        "input-cert_no": "JMI-PSI-2026-0999", "input-valid_until": valid.isoformat(),
        "input-result_file": (io.BytesIO(PDF), "装运前检验证书.pdf")},
        content_type="multipart/form-data")
    e = get(db, UeEntrustment, pk)
    assert (e.status, e.inst_cert_no, e.cert_valid_until) == (
        "done", "JMI-PSI-2026-0999", valid)
    att = db.scalar(select(Attachment).where(Attachment.entity == "ue_entrustment",
                                             Attachment.record_id == pk))
    assert att.slot == "result" and att.filename == "装运前检验证书.pdf"
    assert ent.get(f"/ue_entrustment/{pk}/attachments/{att.id}").data == PDF
    assert browser("enterprise2").get(
        f"/ue_entrustment/{pk}/attachments/{att.id}").status_code == 404
    assert "检验完成" in _notice_titles(ent)


def test_submit_checks_the_institution_again(browser, db):
    ent, customs = browser("enterprise1"), browser("customs1")
    pk = _entrust(ent, institution_id=str(INST2))
    today = dt.date.today()
    d = created_id(customs.post("/ue_disposal/new/do/save", data={
        "institution_id": str(INST2), "disposal_type": "rectify", "notice_content": "限期整改",
        "start_on": today.isoformat(), "end_on": (today + dt.timedelta(days=30)).isoformat()}))
    customs.post(f"/ue_disposal/{d}/do/issue")
    resp = ent.post(f"/ue_entrustment/{pk}/do/submit")
    assert resp.status_code == 422
    assert "处于限期整改期间，不能接受委托" in resp.get_data(as_text=True)
    assert get(db, UeEntrustment, pk).status == "draft"


def test_submit_without_goods_is_refused(browser, db):
    b = browser("enterprise1")
    pk = created_id(b.post("/ue_entrustment/new/do/save", data=ENTRUSTMENT))
    resp = b.post(f"/ue_entrustment/{pk}/do/submit")
    assert "缺少货物信息" in resp.get_data(as_text=True)


def test_parties_read_only_their_entrustments(browser, api):
    assert browser("institution2").get("/ue_entrustment/2").status_code == 404
    assert browser("institution1").get("/ue_entrustment/6").status_code == 404
    assert browser("enterprise2").get("/ue_entrustment/2").status_code == 404
    # drafts are the enterprise's own business
    assert browser("institution1").get("/ue_entrustment/1").status_code == 404
    assert browser("customs1").get("/ue_entrustment/1").status_code == 404
    ids = api("institution1").get("/api/v1/ue_entrustment/").json["ids"]
    assert sorted(ids) == [2, 3, 4, 5]
    resp = api("institution2").post("/api/v1/ue_entrustment/2/action/accept", json={})
    assert resp.status_code == 404


def test_an_institution_cannot_edit_the_enterprises_data(browser, db):
    inst = browser("institution1")
    inst.post("/ue_entrustment/2/do/accept", data={"consignee": "别人"})
    assert get(db, UeEntrustment, 2).consignee == "陕西秦川精密机械有限公司"
    resp = inst.post("/ue_entrustment/2/do/save", data={"consignee": "别人"})
    assert resp.status_code in (302, 403)
    assert get(db, UeEntrustment, 2).consignee == "陕西秦川精密机械有限公司"


# --- 处置 -------------------------------------------------------------------------------------
def _dispose(customs, org, kind, days=90, text="处置", start=None):
    """A disposal of ``org`` issued by ``customs``, from ``start`` (today, read now: a module's
    today went stale when a run went on past 北京时间 midnight) for ``days``."""
    start = start or dt.date.today()
    pk = created_id(customs.post("/ue_disposal/new/do/save", data={
        "institution_id": str(org), "disposal_type": kind, "notice_content": text,
        "start_on": start.isoformat(),
        "end_on": (start + dt.timedelta(days=days)).isoformat() if days else ""}))
    customs.post(f"/ue_disposal/{pk}/do/issue")
    return pk


def test_not_recognised_stops_entrustments_and_shows_in_the_public_query(browser):
    customs, ent = browser("customs1"), browser("enterprise1")
    start = dt.date.today()
    _dispose(customs, INST1, "not_recognised", 30, start=start)
    html = ent.get("/ue_entrustment/new").get_data(as_text=True)
    assert "日本机械检验株式会社" not in _options(html, "institution_id")
    html = ent.get("/ue_institution_filing/screen/filed/?_searched=1&name_cn=日本").get_data(
        as_text=True)
    end = (start + dt.timedelta(days=30)).isoformat()
    assert "不予认可装运前检验结果" in html and end in html
    assert "处置通知" in _notice_titles(browser("institution1"))


def test_revocation_removes_the_institution_from_the_public_query(browser, db):
    customs = browser("customs1")
    _dispose(customs, INST2, "revoke", None)
    assert get(db, UeInstitutionFiling, 2).status == "revoked"
    html = browser("enterprise1").get("/ue_institution_filing/screen/filed/").get_data(
        as_text=True)
    assert "德国莱茵装运前检验有限公司" not in html and "日本机械检验株式会社" in html
    assert "意大利欧洲技术检验公司" not in html
    flow = [e.transition for e in db.scalars(select(FlowEntry).where(
        FlowEntry.entity == "ue_institution_filing", FlowEntry.record_id == 2))]
    assert flow[-1] == "revoke"


def test_public_query_shows_disposal_state_and_hides_nothing_else(browser):
    html = browser("institution2").get("/ue_institution_filing/screen/filed/").get_data(
        as_text=True)
    assert "韩国产业技术检验院" in html and "不予认可装运前检验结果" in html
    assert "新加坡环球检验有限公司" in html and "限期整改" in html
    assert "美国太平洋检验服务公司" not in html  # still pending
    assert '/ue_institution_filing/3"' not in html  # public rows do not open records


def test_rectification_is_submitted_reviewed_and_lifts_the_disposal(browser, institution_user,
                                                                   db):
    inst, customs, ent = (browser(institution_user(INST_RECTIFY, "singapore")),
                          browser("customs1"), browser("enterprise1"))
    inst.post("/ue_disposal/2/do/submit_rectification", data={"rectification": ""})
    assert get(db, UeDisposal, 2).status == "in_force"
    inst.post("/ue_disposal/2/do/submit_rectification",
              data={"rectification": "已完成设备校准并补全检验记录"})
    assert get(db, UeDisposal, 2).status == "rectify_submitted"
    resp = customs.post("/ue_disposal/2/do/return_rectification", data={"opinion": ""})
    assert resp.status_code == 422
    customs.post("/ue_disposal/2/do/return_rectification", data={"opinion": "请提供校准证书"})
    assert get(db, UeDisposal, 2).status == "in_force"
    inst.post("/ue_disposal/2/do/submit_rectification",
              data={"rectification": "已提供校准证书"})
    customs.post("/ue_disposal/2/do/lift", data={"opinion": "整改到位"})
    assert get(db, UeDisposal, 2).status == "lifted"
    html = ent.get("/ue_entrustment/new").get_data(as_text=True)
    assert "新加坡环球检验有限公司" in _options(html, "institution_id")
    assert get(db, UeInstitutionFiling, 4).disposal_type is None


def test_only_rectification_takes_materials(browser, institution_user, db):
    inst = browser(institution_user(INST_NR, "korea"))
    html = inst.get("/ue_disposal/1").get_data(as_text=True)
    assert 'data-transition="submit_rectification"' not in html
    resp = inst.post("/ue_disposal/1/do/submit_rectification", data={"rectification": "x"})
    assert "只有限期整改需要提交整改材料" in resp.get_data(as_text=True)
    assert browser("institution1").get("/ue_disposal/1").status_code == 404


def test_disposal_dates_are_checked(browser):
    resp = browser("customs1").post("/ue_disposal/new/do/save", data={
        "institution_id": str(INST1), "disposal_type": "not_recognised", "notice_content": "x",
        "start_on": "2026-12-01", "end_on": "2026-11-01"})
    assert resp.status_code == 422 and "不能早于「开始日期」" in resp.get_data(as_text=True)


# --- 质量反馈, 监督检查, 年度报告 -------------------------------------------------------------
def test_quality_issue_reply(browser, db):
    customs, inst = browser("customs1"), browser("institution1")
    pk = created_id(customs.post("/ue_quality_issue/new/do/save", data={
        "institution_id": str(INST1), "content": "证书未注明检验日期"}))
    assert inst.get(f"/ue_quality_issue/{pk}").status_code == 404  # not sent yet
    customs.post(f"/ue_quality_issue/{pk}/do/send")
    assert "工作质量问题反馈" in _notice_titles(inst)
    html = inst.get(f"/ue_quality_issue/{pk}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="reply"', html)
    assert not re.search(r'<textarea[^>]*name="content"', html)
    inst.post(f"/ue_quality_issue/{pk}/do/reply", data={"reply": ""})
    assert get(db, UeQualityIssue, pk).status == "sent"
    resp = inst.post(f"/ue_quality_issue/{pk}/do/reply",
                     data={"content": "改掉问题", "reply": "已补注"})
    assert "以下字段在当前状态下不可修改：问题内容" in resp.get_data(as_text=True)
    inst.post(f"/ue_quality_issue/{pk}/do/reply", data={"reply": "已在证书中补注检验日期"})
    issue = get(db, UeQualityIssue, pk)
    assert (issue.status, issue.reply) == ("replied", "已在证书中补注检验日期")
    customs.post(f"/ue_quality_issue/{pk}/do/close")
    assert get(db, UeQualityIssue, pk).status == "closed"
    assert browser("institution2").get(f"/ue_quality_issue/{pk}").status_code == 404
    html = inst.get("/ue_quality_issue/?_searched=1&reply=补注").get_data(as_text=True)
    assert issue.issue_no in html


def test_file_check_with_supplementary_materials(browser, db):
    customs, inst = browser("customs1"), browser("institution1")
    inst.post("/ue_supervision_check/1/do/submit", data={"feedback": "已提交台账及证书"})
    assert get(db, UeSupervisionCheck, 1).status == "submitted"
    resp = customs.post("/ue_supervision_check/1/do/fail", data={"opinion": ""})
    assert resp.status_code == 422
    customs.post("/ue_supervision_check/1/do/fail", data={"opinion": "缺少设备校准证书"})
    assert get(db, UeSupervisionCheck, 1).status == "supplement"
    assert "补充材料" in _notice_titles(inst)
    inst.post("/ue_supervision_check/1/do/resubmit", data={"feedback": "补交校准证书"})
    customs.post("/ue_supervision_check/1/do/pass")
    assert get(db, UeSupervisionCheck, 1).status == "passed"


def test_site_check_needs_no_files_unless_it_fails(browser, db):
    customs, inst = browser("customs1"), browser("institution1")
    pk = created_id(customs.post("/ue_supervision_check/new/do/save", data={
        "institution_id": str(INST1), "check_type": "site", "requirement": "实地检查东京检验现场"}))
    customs.post(f"/ue_supervision_check/{pk}/do/issue")
    html = inst.get(f"/ue_supervision_check/{pk}").get_data(as_text=True)
    assert 'data-transition="submit"' not in html
    resp = inst.post(f"/ue_supervision_check/{pk}/do/submit", data={"feedback": "x"})
    assert "实地检查无需提交文件" in resp.get_data(as_text=True)
    customs.post(f"/ue_supervision_check/{pk}/do/site_fail", data={"opinion": "检验记录不全"})
    assert get(db, UeSupervisionCheck, pk).status == "supplement"
    inst.post(f"/ue_supervision_check/{pk}/do/resubmit", data={"feedback": "补全检验记录"})
    customs.post(f"/ue_supervision_check/{pk}/do/pass")
    assert get(db, UeSupervisionCheck, pk).status == "passed"


def test_annual_report_request_fill_and_read(browser, db):
    customs, inst = browser("customs1"), browser("institution1")
    year = get(db, UeAnnualReport, 1).year  # the demo's report: of the year before it was loaded
    resp = customs.post("/ue_annual_report/new/do/save", data={
        "institution_id": str(INST1), "year": str(year)})
    assert resp.status_code == 422 and "年度的报告已在" in resp.get_data(as_text=True)
    inst.post("/ue_annual_report/1/do/submit", data={"batches": "40"})
    assert get(db, UeAnnualReport, 1).status == "requested"
    inst.post("/ue_annual_report/1/do/submit", data={
        "batches": "40", "goods_value": "1200.5", "certificates": "40",
        "summary": "全年完成装运前检验 40 批。"})
    assert get(db, UeAnnualReport, 1).status == "submitted"
    customs.post("/ue_annual_report/1/do/review")
    assert get(db, UeAnnualReport, 1).status == "reviewed"
    html = inst.get(f"/ue_annual_report/?_searched=1&year={year}").get_data(as_text=True)
    assert "ND" in html and str(year) in html
    assert browser("institution2").get("/ue_annual_report/1").status_code == 404


# --- 公共查询 and the API ---------------------------------------------------------------------
def test_business_rules_and_regulations_are_public(browser, api):
    ent = browser("enterprise1")
    html = ent.get("/ue_business_rule/?_searched=1&hs_code=8458").get_data(as_text=True)
    assert "金属切削车床" in html and "需实施装运前检验" in html
    html = browser("institution1").get("/ue_business_rule/?_searched=1&name=冰箱").get_data(
        as_text=True)
    assert "禁止进口" in html
    html = ent.get("/regulation/?_searched=1&title=监督管理").get_data(as_text=True)
    assert "进口旧机电产品检验监督管理办法" in html
    assert api("enterprise1").post("/api/v1/ue_business_rule/", json={
        "hs_code": "8460", "name": "磨床", "measure": "general"}).status_code == 403
    resp = api("customs1").post("/api/v1/ue_business_rule/", json={
        "hs_code": "8460", "name": "磨床", "measure": "pre_shipment"})
    assert resp.status_code == 201


@pytest.mark.parametrize("resource", [
    "ue_institution_filing", "ue_entrustment", "ue_quality_issue", "ue_supervision_check",
    "ue_disposal", "ue_annual_report", "ue_business_rule", "regulation", "notice"])
def test_every_resource_is_served_by_the_api(api, resource):
    resp = api("customs1").get(f"/api/v1/{resource}/")
    assert resp.status_code == 200 and resp.json["ids"] and "next" in resp.json


def test_api_shows_status_labels_and_pending_changes(api):
    c = api("customs1")
    r = c.get("/api/v1/ue_institution_filing/2").json["result"]
    assert (r["status"], r["status_label"]) == ("change_review", "变更审核中")
    assert r["pending_change"]["phone"]["new"] == "+49 221 806 1999"
    r = c.get("/api/v1/ue_entrustment/4").json["result"]
    assert r["status_label"] == "检验完成" and len(r["goods"]) == 2


def test_api_entrustment_actions_and_print(api, db):
    inst = api("institution1")
    resp = inst.post("/api/v1/ue_entrustment/2/action/return", json={})
    assert resp.status_code == 422 and "reason" in resp.json["errors"]
    resp = inst.post("/api/v1/ue_entrustment/action/accept", json={"ids": [2, 6]})
    res = {r["id"]: r for r in resp.json["results"]}
    assert res[2]["ok"] and not res[6]["ok"]
    resp = inst.post("/api/v1/ue_entrustment/3/action/result",
                     data={"cert_no": "API-1",
                           "valid_until": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
                           "result_file": (io.BytesIO(PDF), "result.pdf")},
                     content_type="multipart/form-data")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "done"
    pdf = inst.get("/api/v1/ue_entrustment/3/print")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_institution_menus_follow_the_manual(browser):
    html = browser("institution1").get("/").get_data(as_text=True)
    for label in ("系统通知", "公共查询", "备案管理", "业务管理", "质量反馈", "监督检查", "处置反馈",
                  "年度报告", "旧机电业务规则查询", "已备案检验机构查询", "法规及政策查询", "业务受理",
                  "工作质量问题反馈", "监督检查反馈", "年度工作报告"):
        assert label in html, label
    assert ">机电产品进口单证<" not in html and "fa-cogs" not in html
    html = browser("enterprise1").get("/").get_data(as_text=True)
    assert "业务委托" in html and "备案申请" not in html and "质量反馈" not in html


__all__ = ["Organisation"]


def test_goods_lines_are_removed_and_documents_attached(browser, db):
    b = browser("enterprise1")
    pk = _entrust(b)
    data = {k: v for k, v in GOODS.items() if not k.startswith("goods-1-")}
    e = get(db, UeEntrustment, pk)
    data["goods-0-id"] = str(e.goods[0].id)
    b.post(f"/ue_entrustment/{pk}/do/save", data=dict(ENTRUSTMENT, **data))
    e = get(db, UeEntrustment, pk)
    assert [g.name for g in e.goods] == ["数控卧式车床"] and e.total_amount == 92000
    resp = b.post(f"/ue_entrustment/{pk}/attachments", data={
        "slot": "docs", "file": (io.BytesIO(PDF), "购货合同.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    db.rollback()
    att = db.scalar(select(Attachment).where(Attachment.entity == "ue_entrustment",
                                             Attachment.record_id == pk))
    assert (att.slot, att.filename) == ("docs", "购货合同.pdf")
    # the result slot is the institution's, through 检验结果 only
    b.post(f"/ue_entrustment/{pk}/attachments", data={
        "slot": "result", "file": (io.BytesIO(PDF), "伪造证书.pdf")},
        content_type="multipart/form-data")
    assert "当前状态下不能上传「检验结果」" in flashes(b)


def test_accepting_during_a_disposal_says_why(browser, db):
    ent, inst, customs = browser("enterprise1"), browser("institution1"), browser("customs1")
    pk = _entrust(ent)
    ent.post(f"/ue_entrustment/{pk}/do/submit")
    _dispose(customs, INST1, "rectify", text="限期整改")
    resp = inst.post(f"/ue_entrustment/{pk}/do/accept")
    assert resp.status_code == 302
    page = flashes(inst)
    assert "处于限期整改期间，不能接受委托" in page
    assert "请检查标红的字段" not in page
    assert get(db, UeEntrustment, pk).status == "pending"


def test_enterprise_filing_offers_new_only_when_it_may(browser):
    b = browser("enterprise1")  # its company has its 企业信息备案 already
    resp = b.get("/me_enterprise_filing/")  # opens its own filing
    assert resp.status_code == 302
    status, html = b.text(resp.headers["Location"])
    assert status == 200 and "陕西秦川精密机械有限公司" in html
    assert "/me_enterprise_filing/new" not in html
    resp = b.get("/me_enterprise_filing/new")
    assert resp.status_code == 302 and "不能重复新增" in flashes(b)


# --- the reader's language ----------------------------------------------------------------
JAPAN, RHEIN = "Japan Machinery Inspection Co., Ltd.", "Rhein Pre-shipment Inspection GmbH"


def _search_options(html: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="\d+">([^<]+)</option>', select_html)


def test_institutions_are_offered_by_their_english_names_in_english(browser):
    """The 装运前检验机构 / 检验机构 selects — the list's filter, the entrustment's and the
    records customs address (处置, 质量问题, 监督检查, 年度报告) — name the institutions as their
    rows do: in English on English pages, in Chinese on Chinese ones."""
    customs, ent = browser("customs1"), browser("enterprise1")
    for b in (customs, ent):
        assert b.get("/lang/en").status_code == 302
        html = b.get("/ue_entrustment/").get_data(as_text=True)
        assert _search_options(html, "institution_id") == [JAPAN, RHEIN]
        assert RHEIN in html and "德国莱茵装运前检验有限公司" not in html
    html = ent.get("/ue_entrustment/new").get_data(as_text=True)
    assert _options(html, "institution_id") == [JAPAN, RHEIN]
    for path in ("/ue_disposal/new", "/ue_quality_issue/new", "/ue_supervision_check/new",
                 "/ue_annual_report/new"):
        offered = _options(customs.get(path).get_data(as_text=True), "institution_id")
        assert JAPAN in offered and RHEIN in offered, path
        assert not [o for o in offered if re.search(r"[\u4e00-\u9fff]", o)], (path, offered)
    # why one may not be entrusted names it as the reader reads it
    resp = ent.post("/ue_entrustment/new/do/save",
                    data=dict(ENTRUSTMENT, institution_id=str(INST_NR)))
    assert resp.status_code == 422
    assert "Korea Industrial Testing Institute" in resp.get_data(as_text=True)
    # and Chinese pages keep the Chinese names
    html = browser("customs1").get("/ue_disposal/new").get_data(as_text=True)
    assert "德国莱茵装运前检验有限公司" in _options(html, "institution_id")


def test_a_revocations_step_reads_in_the_readers_language(browser):
    """撤销备案 by a disposal writes the filing's flow entry: what it records (the disposal's
    number) is shown with its label in the language of whoever reads the history, not in the
    language of the officer who issued the disposal."""
    customs = browser("customs1")
    assert customs.get("/lang/en").status_code == 302
    pk = _dispose(customs, INST2, "revoke", None)
    html = customs.get(f"/ue_disposal/{pk}").get_data(as_text=True)
    number = re.search(r"CZ\d{9}", html).group(0)
    html = customs.get("/ue_institution_filing/2/history").get_data(as_text=True)
    assert f"Disposal No.: {number}" in html and "Opinion: Disposal No." not in html
    assert "处置" not in html and "撤销备案" not in html
    html = browser("customs1").get("/ue_institution_filing/2/history").get_data(as_text=True)
    assert f"处置编号：{number}" in html and "意见：处置编号" not in html
    # the demo's revoked filing too
    html = customs.get("/ue_institution_filing/5/history").get_data(as_text=True)
    assert "Disposal No.: CZ" in html and "处置" not in html
