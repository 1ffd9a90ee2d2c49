"""智慧云报关 进出口管理 (seed 002): 报关单制单, the checks at 暂存 and before 提交审核 / 申报,
the review (审单 with 可视化审核) and who may see and do what — through HTTP, as its users work.

Demo (demo/customs_declaration.py): declarations 1 draft, 2 under review (3 boxes green),
3 returned (提运单号 and goods.2 数量及单位 red), 4 an import passed, 5 released, 6 an 出口备案清单
accepted by customs — all of enterprise1's company, prepared by enterprise1 — and 7 a draft of
enterprise2.  核注清单 1 pre-approved, 2 a draft (enterprise1).  reviewer1 holds 企业 and 企业审单
in enterprise1's company.
"""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from app.engine.review_marks import ReviewMark, ReviewRound
from demo.customs_declaration import export_data, import_data
from models.base import Organisation
from models.customs_declaration import CdDeclaration
from models.customs_message import CdMessage

from .helpers import get, today_for_a_while

DRAFT, UNDER_REVIEW, RETURNED, PASSED, RELEASED, BILL_ACCEPTED, OTHER_DRAFT = range(1, 8)
API = "/api/v1/cd_declaration"


def _seq_nos(db, *pks) -> list[str]:
    """统一编号 of demo declarations, as the demo numbered them (E/I + the year it was loaded in
    + a serial): never written out here, the year would be the one this was written in."""
    numbers = [get(db, CdDeclaration, pk).seq_no for pk in pks]
    db.rollback()  # nothing of the session's left open (a test writes through db.begin() next)
    return numbers


def _week_ago() -> str:
    """What a list opening on the last seven days fills into 最近操作时间 起 — by the app's clock,
    read clear of midnight so that the app answering next reads the same day."""
    return (today_for_a_while() - dt.timedelta(days=7)).isoformat()


def _create(client, data=None, status=201):
    resp = client.post(f"{API}/", json=data if data is not None else export_data())
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.json


def _act(client, pk, name, status=200, **body):
    resp = client.post(f"{API}/{pk}/action/{name}", json=body)
    assert resp.status_code == status, (name, resp.get_data(as_text=True)[:2000])
    return resp.json


def _put(client, pk, data, status=200):
    current = client.get(f"{API}/{pk}").json["result"]
    resp = client.put(f"{API}/{pk}", json={**data, "version": current["version"]})
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.json


def _marks(client, pk, marks, status=200):
    resp = client.put(f"{API}/{pk}/review_marks", json={"marks": marks})
    assert resp.status_code == status, resp.get_data(as_text=True)[:1000]
    return resp.json


# --- 报关单制单: menus, the eight kinds, the head from the company -------------------------------
def test_each_entry_menu_opens_its_kind_and_creates_that_kind(browser, db):
    b = browser("enterprise1")
    home = b.get("/").get_data(as_text=True)
    for label, kind in (("出口报关单", "E_DEC"), ("出口备案清单", "E_BILL"),
                        ("出口转关提前报关", "E_TRN"), ("出境转关提前备案清单", "E_TRN_BILL"),
                        ("进口报关单", "I_DEC"), ("进境转关提前备案清单", "I_TRN_BILL")):
        assert f'href="/cd_declaration/?kind={kind}"' in home and label in home
    status, html = b.text("/cd_declaration/?kind=E_TRN")
    assert status == 200
    assert '<h3 class="page-title">出口转关提前报关</h3>' in html
    assert 'href="/cd_declaration/new?kind=E_TRN"' in html  # 新增 makes this kind
    status, html = b.text("/cd_declaration/new?kind=E_TRN")
    assert re.search(r'<option value="E_TRN"\s+selected>', html)
    # the list of a kind shows the declarations of that kind only
    bill, released, passed = _seq_nos(db, BILL_ACCEPTED, RELEASED, PASSED)
    status, html = b.text("/cd_declaration/?kind=E_BILL")
    assert bill in html
    assert released not in html and passed not in html


def test_the_consignor_is_the_company_and_cannot_be_changed(api, db):
    c = api("enterprise1")
    rec = _create(c)["result"]
    org = db.scalar(select(Organisation).where(Organisation.customs_code == "6101930123"))
    assert (rec["trade_code_scc"], rec["trade_code"], rec["trade_name"]) == (
        org.uscc, org.customs_code, org.name)
    assert rec["ie_flag"] == "E" and rec["status"] == "draft" and rec["seq_no"].startswith("E")
    resp = c.put(f"{API}/{rec['id']}", json={"trade_code_scc": "91350100M000100Y43",
                                             "version": rec["version"]})
    assert resp.status_code == 403 and "境内收发货人统一社会信用代码" in resp.json["message"]
    # the kind is chosen when the declaration is made, then fixed
    resp = c.put(f"{API}/{rec['id']}", json={"kind": "I_DEC", "version": rec["version"]})
    assert resp.status_code == 403 and "报关单类别" in resp.json["message"]


# --- 暂存: formats ------------------------------------------------------------------------------
def test_formats_are_checked_at_save(api):
    c = api("enterprise1")
    bad = export_data(owner_code_scc="91610131MA6W2K3L3B",  # wrong check character
                      owner_code="61019A0123")  # letters in the 10-digit customs code
    bad["containers"] = [{"container_id": "CSQU3054384", "container_md": "11"}]
    resp = c.post(f"{API}/", json=bad)
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert errors["owner_code_scc"] == ["统一社会信用代码格式或校验位错误"]
    assert errors["owner_code"] == ["海关编码应为 10 位数字"]
    assert errors["containers-0-container_id"] == ["集装箱号校验位错误"]
    good = export_data()
    good["containers"] = [{"container_id": "CSQU3054383", "container_md": "11"}]
    assert _create(c, good)["result"]["containers"][0]["container_id"] == "CSQU3054383"


def test_fifty_one_goods_lines_are_refused(api, db):
    c = api("enterprise1")
    data = export_data()
    data["goods"] = [dict(data["goods"][1]) for _ in range(51)]
    resp = c.post(f"{API}/", json=data)
    assert resp.status_code == 422
    assert resp.json["errors"]["goods"] == ["商品信息最多 50 项，现有 51 项"]
    data["goods"] = data["goods"][:50]
    rec = _create(c, data)["result"]
    assert len(rec["goods"]) == 50 and rec["goods"][49]["g_no"] == 50


def test_legal_units_come_from_the_hs_code(api):
    c = api("enterprise1")
    rec = _create(c)["result"]
    lathe, parts = rec["goods"][0], rec["goods"][1]
    assert (lathe["unit1"], lathe["unit2"]) == ("001", "035")
    assert (parts["unit1"], parts["unit2"]) == ("035", None)
    assert lathe["elements"].startswith("0:品牌类型;1:出口享惠情况")
    goods = copy.deepcopy(rec["goods"])
    goods[0]["unit1"] = "035"
    resp = c.put(f"{API}/{rec['id']}", json={"goods": goods, "version": rec["version"]})
    assert resp.status_code == 403 and "法定第一计量单位" in resp.json["message"]


# --- 提交审核 / 申报: the 逻辑校验, all at once --------------------------------------------------
def test_the_logic_check_lists_every_problem_by_field_and_line(api, db):
    c = api("enterprise1")
    data = export_data(net_wt="13000", fee_mark="3", fee_rate="1200", fee_curr="USD",
                       trade_mode="0615", contr_no="")
    data["goods"][1]["decl_total"] = "11461"         # 95.5 × 120 = 11,460.00
    data["goods"][2]["code_ts"] = "8483409099"       # not in the 商品综合分类表
    data["goods"][0]["qty2"] = ""                    # the lathe has a second legal unit
    rec = _create(c, data)["result"]
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.status_code == 422
    errors, message = resp.json["errors"], resp.json["message"]
    assert errors["net_wt"] == ["净重不能大于毛重（毛重 12800 千克）"]
    assert errors["fee_rate"] == ["成交方式为 FOB 时不应填报运费"]
    assert errors["manual_no"] == ["此项为必填项"]  # 0615 进料对口 needs a 备案号
    assert errors["goods-1-decl_total"] == ["总价应等于单价×成交数量：95.5 × 120 = 11460.00"]
    assert errors["goods-2-code_ts"] == ["商品编号 8483409099 不在商品综合分类表中"]
    assert "应填报法定第二数量" in errors["goods-0-qty2"][0]
    assert message.startswith("逻辑校验未通过")
    assert "商品信息第2行 总价：总价应等于单价×成交数量" in message  # the field and the line
    assert get(db, CdDeclaration, rec["id"]).status == "draft"


def test_freight_and_insurance_follow_the_terms_of_sale(api):
    c = api("enterprise1")
    rec = _create(c, export_data(trans_mode="1"))["result"]  # CIF export: both are due
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.status_code == 422
    assert resp.json["errors"]["fee_rate"] == ["成交方式为 CIF 时应填报运费"]
    assert resp.json["errors"]["insur_rate"] == ["成交方式为 CIF 时应填报保费"]
    _put(c, rec["id"], {"fee_mark": "3", "fee_rate": "1200", "fee_curr": "USD",
                        "insur_mark": "1", "insur_rate": "0.3", "insur_curr": "USD"})
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.status_code == 422 and resp.json["errors"] == {
        "insur_curr": ["保费为率时不填报币制"]}
    _put(c, rec["id"], {"insur_curr": ""})
    assert _act(c, rec["id"], "submit")["status"] == "under_review"


def test_documents_required_by_the_goods_conditions_must_be_there(api, db):
    from models.me_licence import LicenceApplication

    c = api("enterprise1")
    # the demo's first licence (yy-61-000001: the year's last digits, the year it was loaded in)
    licence_no = get(db, LicenceApplication, 3).licence_no
    data = import_data(licence_no)
    data["documents"] = []
    rec = _create(c, data)["result"]
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.status_code == 422
    assert resp.json["errors"]["documents"] == [
        "第 1 项商品 8460121000 的监管条件要求随附单证：O 自动进口许可证(新旧机电产品)"]
    _put(c, rec["id"], {"documents": [{"docu_code": "O", "cert_code": licence_no}]})
    assert _act(c, rec["id"], "submit")["status"] == "under_review"
    # an export of apples needs the 电子底账 (B) but not the import-only codes
    apples = export_data()
    apples["goods"] = [{"code_ts": "0808100000", "g_name": "鲜苹果",
                        "g_model": "0|0|鲜|富士|一级|洛川苹果", "g_qty": "18000",
                        "g_unit": "035", "qty1": "18000", "decl_price": "1.35",
                        "decl_total": "24300", "trade_curr": "USD", "origin_country": "CHN",
                        "destination_country": "DEU", "district_code": "61059",
                        "duty_mode": "1"}]
    rec = _create(c, apples)["result"]
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.json["errors"]["documents"] == [
        "第 1 项商品 0808100000 的监管条件要求随附单证：B 电子底账"]


def test_transit_declarations_take_the_manifest_number_as_transport_name(api):
    c = api("enterprise1")
    rec = _create(c, export_data(kind="E_TRN"))["result"]
    resp = c.post(f"{API}/{rec['id']}/action/submit", json={})
    assert resp.json["errors"]["traf_name"] == [
        "转关提前报关的运输工具名称应为“@”+载货清单号（13 至 18 位数字）"]
    _put(c, rec["id"], {"traf_name": "@6101202612000178"})
    assert _act(c, rec["id"], "submit")["status"] == "under_review"


def test_southern_mode_fields_show_only_for_guangdong_districts(browser, api):
    c = api("enterprise1")
    north = _create(c, export_data(kind="E_TRN", traf_name="@6101202612000178"))["result"]
    south = _create(c, export_data(kind="E_TRN", traf_name="@6101202612000179",
                                   customs_master="5141"))["result"]
    b = browser("enterprise1")
    _s, html = b.text(f"/cd_declaration/{north['id']}")
    assert re.search(r'data-field="trn_traf_name"[^>]*style="display:none"', html)
    _s, html = b.text(f"/cd_declaration/{south['id']}")
    assert 'data-field="trn_traf_name"' in html
    assert not re.search(r'data-field="trn_traf_name"[^>]*style="display:none"', html)
    resp = c.post(f"{API}/{south['id']}/action/submit", json={})
    assert resp.json["errors"]["trn_traf_name"] == ["此项为必填项"]


# --- the review --------------------------------------------------------------------------------
def test_prepare_review_return_fix_pass_declare(api, browser, db):
    prep, rev = api("enterprise1"), api("reviewer1")
    rec = _create(prep)["result"]
    pk = rec["id"]
    assert _act(prep, pk, "submit")["status"] == "under_review"
    # the preparer cannot review; the reviewer must give an opinion to return
    resp = prep.post(f"{API}/{pk}/action/review_pass", json={})
    assert resp.status_code == 403
    resp = rev.post(f"{API}/{pk}/action/review_return", json={})
    assert resp.status_code == 422 and "审核意见" in resp.json["errors"]["opinion"][0]
    state = _marks(rev, pk, {"trade_name": "green", "bill_no": "red", "goods.2.g_qty": "red"})
    assert state["round"] == 1 and state["marks"]["bill_no"] == "red"
    assert [x["label"] for x in state["red"]] == ["提运单号", "第2项 数量及单位"]
    # passing is refused while a box is red
    resp = rev.post(f"{API}/{pk}/action/review_pass", json={})
    assert resp.status_code == 422
    assert resp.json["message"] == ("以下字段已标为错误（红色），不能审核通过：提运单号、"
                                    "第2项 数量及单位")
    out = _act(rev, pk, "review_return", opinion="提运单号有误")
    assert out["status"] == "review_returned"
    assert "标红字段：提运单号、第2项 数量及单位" in out["message"]
    # the preparer sees the red boxes on the form itself
    b = browser("enterprise1")
    _s, html = b.text(f"/cd_declaration/{pk}")
    assert re.search(r'data-field="bill_no"', html)
    bill = re.search(r'<div class="form-group engine-field is-edit review-red[^"]*"\s+'
                     r'data-field="bill_no"', html)
    assert bill, "提运单号 is not shown red"
    assert re.search(r'<td class="is-edit review-red[^"]*" data-field="g_qty"', html)
    assert "审单标红：请核对此项" in html
    # fixed and submitted again: a new round with no marks
    _put(prep, pk, {"bill_no": "XAHB2026120099"})
    _act(prep, pk, "submit")
    state = rev.get(f"{API}/{pk}/review_marks").json
    assert state["round"] == 2 and state["marks"] == {}
    assert state["rounds"][0]["outcome"] == "returned"
    assert state["rounds"][0]["opinion"] == "提运单号有误"
    assert [x["path"] for x in state["rounds"][0]["red"]] == ["bill_no", "goods.2.g_qty"]
    _marks(rev, pk, {"bill_no": "green"})
    out = _act(rev, pk, "review_pass")
    assert out["status"] == "review_passed"
    # 申报: the preparer; numbers and the exchange message
    out = _act(prep, pk, "declare")
    assert out["status"] == "declared"
    pre = out["result"]["pre_entry_no"]
    assert re.fullmatch(r"9001\d{4}0\d{9}", pre) and out["result"]["decl_status"] == "1"
    msg = db.scalar(select(CdMessage).where(CdMessage.declaration_id == pk))
    assert f"<PreEntryId>{pre}</PreEntryId>" in msg.body
    rounds = db.scalars(select(ReviewRound).where(ReviewRound.record_id == pk,
                                                  ReviewRound.entity == "cd_declaration")).all()
    assert [r.outcome for r in rounds] == ["returned", "passed"]
    history = prep.get(f"{API}/{pk}/history").json["flow"]
    assert [(e["transition"], e["role"]) for e in history] == [
        ("create", "企业"), ("submit", "企业"), ("review_return", "企业审单"),
        ("submit", "企业"), ("review_pass", "企业审单"), ("declare", "企业")]


def test_nobody_reviews_a_declaration_they_prepared(api):
    rev = api("reviewer1")  # also 企业: may prepare, but then not review it
    rec = _create(rev)["result"]
    _act(rev, rec["id"], "submit")
    resp = rev.post(f"{API}/{rec['id']}/action/review_pass", json={})
    assert resp.status_code == 409 and resp.json["message"] == "不能审核本人制单的报关单"
    resp = rev.put(f"{API}/{rec['id']}/review_marks", json={"marks": {"bill_no": "green"}})
    assert resp.status_code == 409 and resp.json["message"] == "不能审核本人制单的报关单"


def test_nobody_reviews_a_declaration_they_changed_since_its_last_review(api):
    """A reviewer who is also 企业 changed a returned declaration (a goods line's name),
    another preparer submitted it, and the reviewer passed their own change: whoever changed
    it since its last review is one of its preparers. A declaration they only reviewed stays
    theirs to review."""
    rev, prep = api("reviewer1"), api("enterprise1")
    dec = prep.get(f"{API}/{RETURNED}").json["result"]
    goods = copy.deepcopy(dec["goods"])
    goods[0]["g_name"] = goods[0]["g_name"] + "（审单改）"
    resp = rev.put(f"{API}/{RETURNED}", json={"goods": goods, "version": dec["version"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    _act(prep, RETURNED, "submit")
    resp = rev.post(f"{API}/{RETURNED}/action/review_return", json={"opinion": "x"})
    assert resp.status_code == 409 and resp.json["message"] == "不能审核本人制单的报关单"
    resp = rev.post(f"{API}/{RETURNED}/action/review_pass", json={})
    assert resp.status_code == 409 and resp.json["message"] == "不能审核本人制单的报关单"
    # the declaration waiting for review that the reviewer never changed: theirs to review
    assert _act(rev, UNDER_REVIEW, "review_return", opinion="请核对")["status"] == \
        "review_returned"


def test_review_marks_cycle_and_are_kept(api, browser):
    rev = api("reviewer1")
    state = rev.get(f"{API}/{UNDER_REVIEW}/review_marks").json
    assert state["marks"] == {"trade_name": "green", "ie_port": "green",
                              "goods.1.code_ts": "green"}
    _marks(rev, UNDER_REVIEW, {"ie_port": "red"})
    _marks(rev, UNDER_REVIEW, {"trade_name": None})
    assert rev.get(f"{API}/{UNDER_REVIEW}/review_marks").json["marks"] == {
        "ie_port": "red", "goods.1.code_ts": "green"}
    # unknown boxes, lines that do not exist and other marks are refused, nothing stored
    resp = rev.put(f"{API}/{UNDER_REVIEW}/review_marks",
                   json={"marks": {"password": "red", "goods.9.code_ts": "red",
                                   "bill_no": "blue"}})
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"password", "goods.9.code_ts", "bill_no"}
    for body in ({}, {"marks": []}, {"marks": "red"}):
        assert rev.put(f"{API}/{UNDER_REVIEW}/review_marks", json=body).status_code == 422
    # only while under review, only by the reviewer role
    resp = rev.put(f"{API}/{PASSED}/review_marks", json={"marks": {"bill_no": "red"}})
    assert resp.status_code == 409 and "不能审核" in resp.json["message"]
    resp = api("enterprise1").put(f"{API}/{UNDER_REVIEW}/review_marks",
                                  json={"marks": {"bill_no": "red"}})
    assert resp.status_code == 403
    # the screen: the same marks, saved by its own route (CSRF token of the page)
    b = browser("reviewer1")
    status, html = b.text(f"/cd_declaration/{UNDER_REVIEW}/visual_review")
    assert status == 200 and "中华人民共和国海关出口货物报关单" in html
    assert re.search(r'class="rv-cell mark-red" data-path="ie_port"', html)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = b.client.post(f"/cd_declaration/{UNDER_REVIEW}/visual_review/marks",
                         json={"marks": {"bill_no": "green"}}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.json["marks"]["bill_no"] == "green"
    resp = b.client.post(f"/cd_declaration/{UNDER_REVIEW}/visual_review/marks",
                         json={"marks": {"bill_no": "red"}})
    assert resp.status_code == 400  # no CSRF token
    _s, html = b.text(f"/cd_declaration/{UNDER_REVIEW}/visual_review")
    assert re.search(r'class="rv-cell mark-green" data-path="bill_no"', html)  # a reload keeps it


def test_copy_is_a_new_draft_without_numbers_or_marks(api, db):
    c = api("enterprise1")
    out = _act(c, RELEASED, "copy")
    new = out["result"]
    assert new["id"] != RELEASED and new["status"] == "draft"
    assert new["pre_entry_no"] is None and new["entry_id"] is None
    assert new["seq_no"] != get(db, CdDeclaration, RELEASED).seq_no
    assert len(new["goods"]) == 3 and new["bill_no"] == "XAHB2026110017"
    assert db.scalar(select(ReviewMark).where(ReviewMark.record_id == new["id"])) is None
    assert c.get(f"{API}/{new['id']}/review_marks").json["rounds"] == []


# --- 报关单审核 list, 概要申报数据查询 ----------------------------------------------------------------
def test_the_review_list_has_the_manuals_query_fields_and_buttons(browser, db):
    b = browser("reviewer1")
    week_ago = _week_ago()
    status, html = b.text("/cd_declaration/screen/review/")
    assert status == 200
    for label in ("申报单号", "提运单号", "进出口标志", "审核状态", "申报地海关", "境内收发货人",
                  "最近操作时间", "制单人", "申报方式", "系统编号", "统一编号", "海关编号", "申报状态",
                  "企业类别"):
        assert f'<label class="form-label">{label}</label>' in html, label
    for button in ("可视化审核", "普通审核", "状态筛选", "打印", "发送"):
        assert re.search(rf">\s*(<i [^>]*></i>\s*)?{button}\s*<", html), button
    assert 'data-suffix="/visual_review"' in html
    # opens on the last seven days
    assert f'name="updated_at__from" value="{week_ago}"' in html
    under_review, passed = _seq_nos(db, UNDER_REVIEW, PASSED)
    assert "YB" in html and under_review in html
    # a declaration last touched a month ago is found by searching, not by the default list
    with db.begin():
        db.execute(update(CdDeclaration).where(CdDeclaration.id == PASSED).values(
            updated_at=dt.datetime.now() - dt.timedelta(days=30)))
    _s, html = b.text("/cd_declaration/screen/review/")
    assert passed not in html
    _s, html = b.text("/cd_declaration/screen/review/?_searched=1&ie_flag=I")
    assert passed in html
    # only reviewers have it
    assert browser("enterprise1").get("/cd_declaration/screen/review/").status_code == 403


def test_send_from_the_review_list_declares_the_passed_ones(browser, db):
    b = browser("reviewer1")
    resp = b.post("/cd_declaration/batch/declare",
                  data={"ids": [str(PASSED), str(UNDER_REVIEW), str(OTHER_DRAFT)],
                        "_next": "/cd_declaration/screen/review/"})
    assert resp.status_code == 302
    html = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert "申报成功 1 条；申报失败 2 条：" in html and "记录不存在或无权访问" in html
    assert get(db, CdDeclaration, PASSED).status == "declared"
    assert get(db, CdDeclaration, UNDER_REVIEW).status == "under_review"


def test_summary_declarations_open_on_the_last_seven_days(browser, db):
    week_ago = _week_ago()
    status, html = browser("enterprise1").text("/cd_declaration/screen/summary/")
    assert status == 200 and "概要申报数据查询" in html
    assert f'name="updated_at__from" value="{week_ago}"' in html
    bill, released = _seq_nos(db, BILL_ACCEPTED, RELEASED)
    assert bill in html and released not in html


# --- scope: another company's ids on every endpoint -----------------------------------------
def test_another_companys_declaration_does_not_exist_for_enterprise2(api, browser, db):
    c = api("enterprise2")
    listed = c.get(f"{API}/").json["ids"]
    assert OTHER_DRAFT in listed and UNDER_REVIEW not in listed and RELEASED not in listed
    for pk in (DRAFT, UNDER_REVIEW, RELEASED):
        assert c.get(f"{API}/{pk}").status_code == 404
        assert c.put(f"{API}/{pk}", json={"bill_no": "X", "version": 1}).status_code == 404
        assert c.delete(f"{API}/{pk}").status_code == 404
        for name in ("save", "submit", "declare", "copy", "review_pass"):
            assert c.post(f"{API}/{pk}/action/{name}", json={}).status_code == 404
        assert c.get(f"{API}/{pk}/history").status_code == 404
        assert c.get(f"{API}/{pk}/review_marks").status_code == 404
        assert c.put(f"{API}/{pk}/review_marks",
                     json={"marks": {"bill_no": "red"}}).status_code == 404
        assert c.get(f"{API}/{pk}/message").status_code == 404
        assert c.get(f"{API}/{pk}/print").status_code == 404
        assert c.get(f"{API}/{pk}/print/notices").status_code == 404
    assert c.get(f"{API}/print?ids={OTHER_DRAFT},{DRAFT}").status_code == 404
    out = c.post(f"{API}/action/delete", json={"ids": [DRAFT, OTHER_DRAFT]}).json
    assert [r["ok"] for r in out["results"]] == [False, True]
    assert get(db, CdDeclaration, DRAFT) is not None
    b = browser("enterprise2")
    for path in (f"/cd_declaration/{DRAFT}", f"/cd_declaration/{UNDER_REVIEW}/visual_review",
                 f"/cd_declaration/{RELEASED}/message", f"/cd_declaration/{RELEASED}/print",
                 f"/cd_declaration/{RELEASED}/print/notices"):
        assert b.get(path).status_code == 404, path
    resp = b.client.post(f"/cd_declaration/{UNDER_REVIEW}/visual_review/marks",
                         json={"marks": {"bill_no": "red"}}, headers={"X-CSRFToken": b.token})
    assert resp.status_code == 404
    # 列表导出 of the checked rows: another company's ids export nothing
    import io

    from openpyxl import load_workbook

    data = b.get(f"/cd_declaration/export?_ids={DRAFT},{RELEASED}").data
    assert len(list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows())) == 1


def test_customs_see_declared_declarations_of_their_districts_only(api):
    c = api("customs1")
    ids = c.get(f"{API}/").json["ids"]
    assert RELEASED in ids and BILL_ACCEPTED in ids and DRAFT not in ids and PASSED not in ids
    assert c.get(f"{API}/{DRAFT}").status_code == 404
    out = _act(c, BILL_ACCEPTED, "conclude", opinion="单证审结")
    assert out["status"] == "concluded"
    resp = c.post(f"{API}/{BILL_ACCEPTED}/action/declare", json={})
    assert resp.status_code == 403


def test_customs_find_declarations_under_the_query_menu_not_the_entry_menu(browser):
    home = browser("customs1").get("/").get_data(as_text=True)
    assert 'href="/cd_declaration/"' in home and "报关数据查询" in home
    assert "/cd_declaration/?kind=" not in home and "报关单制单" not in home
    home = browser("reviewer1").get("/").get_data(as_text=True)
    assert "报关单制单" in home and 'href="/cd_declaration/screen/review/"' in home


@pytest.mark.parametrize("kind", ["", None])
def test_a_declaration_is_not_made_without_its_kind(api, browser, db, kind):
    """报关单类别 is chosen when the declaration is made and fixed after (a preset field): a
    暂存 without it made a declaration that could never be submitted, whose message answered
    500 — it is refused at once, in the API and the form."""
    before = db.scalar(select(func.count()).select_from(CdDeclaration))
    resp = api("enterprise1").post(f"{API}/", json=export_data(kind=kind))
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert resp.json["errors"]["kind"] == ["此项为必填项"]
    b = browser("enterprise1")
    data = {k: v for k, v in export_data().items() if not isinstance(v, list)}
    resp = b.post("/cd_declaration/new/do/save", data={**data, "kind": kind or ""})
    assert resp.status_code == 422
    assert "此项为必填项" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CdDeclaration)) == before


def test_a_declaration_saved_without_its_kind_before_still_gives_its_message(api, db):
    """A declaration made without 报关单类别 before it was refused: its message and print are
    still answered (as an export, the form's first choice), not a 500."""
    db.rollback()
    with db.begin():
        db.execute(update(CdDeclaration).where(CdDeclaration.id == DRAFT).values(kind=None))
    client = api("enterprise1")
    resp = client.get(f"{API}/{DRAFT}/message")
    assert resp.status_code == 200 and b"<IEFlag>E</IEFlag>" in resp.data
