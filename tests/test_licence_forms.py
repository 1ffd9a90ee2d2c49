"""机电产品进口单证申请 through its generated HTML screens, as its users work it."""

from __future__ import annotations

import decimal
import re

from sqlalchemy import func, select

from app.engine.history import FlowEntry
from models.me_licence import LicenceApplication, LicenceGoods

from .helpers import GOODS, HEAD, add_goods, flashes, get, new_draft, sql_statements


def test_new_form_starts_in_agent_mobile_with_defaults_and_grey_numbers(browser):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/new")
    assert status == 200
    # cursor starts in 经办人手机号
    assert re.search(r'<input[^>]*name="agent_mobile"[^>]*autofocus', html)
    # 申请单编号 and 许可证号 are grey text, never inputs
    assert not re.search(r'<(input|select|textarea)[^>]*\sname="(application_no|licence_no)"', html)
    assert 'data-name="application_no"' in html and 'data-name="licence_no"' in html
    # defaults for 外汇来源 / 商品用途 / 贸易方式
    assert re.search(r'name="fx_source" value="01"', html)
    assert re.search(r'name="goods_use" value="01"', html)
    assert re.search(r'name="trade_mode" value="0110"', html)
    # 进口用户 comes from the filing, grey
    assert "陕西秦川精密机械有限公司" in html
    # red * on required fields, and goods only after the first 暂存
    assert '<span class="req">*</span>经办人手机号' in html
    assert "请先暂存，再录入「商品信息」" in html
    assert 'name="__tables" value="goods"' not in html


def test_save_then_goods_then_declare(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    app = get(db, LicenceApplication, pk)
    assert app.status == "draft"
    assert re.fullmatch(r"JD\d{4}\d{10}", app.application_no)
    assert app.consignee_name == "陕西秦川精密机械有限公司"
    assert app.importer_name == "陕西秦川精密机械有限公司"
    assert app.region == "610000"

    add_goods(b, pk)
    app = get(db, LicenceApplication, pk)
    assert [g.name for g in app.goods] == ["数控卧式车床", "立式加工中心"]
    assert [len(g.specs) for g in app.goods] == [2, 1]
    assert app.total_qty == 6
    assert app.total_amount == decimal.Decimal("267800.00")
    assert app.total_usd == decimal.Decimal("267800.00")
    assert app.goods[0].amount == decimal.Decimal("129800.00")
    assert app.goods_names == "数控卧式车床、立式加工中心"

    resp = b.post(f"/me_licence_application/{pk}/do/declare")
    assert resp.status_code == 302
    assert "申报成功" in flashes(b)
    app = get(db, LicenceApplication, pk)
    assert app.status == "under_review" and app.declared_at is not None
    entries = db.scalars(select(FlowEntry).where(FlowEntry.entity == "me_licence_application",
                                                 FlowEntry.record_id == pk)).all()
    assert [(e.transition, e.from_state, e.to_state, e.role) for e in entries] == [
        ("create", None, "draft", "企业"), ("declare", "draft", "under_review", "企业")]
    status, html = b.text(f"/me_licence_application/{pk}")
    assert "审批中" in html
    # nothing is editable any more: no yellow inputs, no 暂存 / 申报 buttons
    assert not re.search(r'<input[^>]*\sname="agent_mobile"', html)
    assert "/do/declare" not in html and "/do/save" not in html.split('id="record-form"')[0]


def test_foreign_currency_is_converted_with_the_rate_table(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b, currency="EUR")
    add_goods(b, pk)
    app = get(db, LicenceApplication, pk)
    # demo rate EUR -> USD 1.0850
    assert app.total_usd == decimal.Decimal("290563.00")


def test_a_step_refused_by_a_rule_keeps_what_was_typed(browser, db):
    """申报 refused because the company's 备案 is not approved: the form comes back with the
    typed 经办人 and 备注 and the reason, and nothing is stored."""
    b = browser("enterprise2")
    before = get(db, LicenceApplication, 6)
    html = b.get("/me_licence_application/6").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    resp = b.post("/me_licence_application/6/do/declare", data=dict(
        HEAD, importer_code=before.importer_code, agent_name="李四新填", remark="新备注",
        version=version))
    page = resp.get_data(as_text=True)
    assert resp.status_code in (409, 422), resp.status_code
    assert "企业信息备案尚未审批通过" in page
    assert 'value="李四新填"' in page and "新备注" in page
    db.expire_all()
    after = get(db, LicenceApplication, 6)
    assert (after.agent_name, after.remark, after.status) == (
        before.agent_name, before.remark, before.status)


def test_declare_without_goods_is_refused_with_the_reason(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    html = b.post(f"/me_licence_application/{pk}/do/declare").get_data(as_text=True)
    no = get(db, LicenceApplication, pk).application_no
    assert f"申请单 {no} 缺少商品信息" in html
    assert get(db, LicenceApplication, pk).status == "draft"


def test_declare_checks_required_fields_inline(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b, customs_port="")
    add_goods(b, pk)
    data = dict(HEAD, customs_port="")
    resp = b.post(f"/me_licence_application/{pk}/do/declare", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    field = html.split('data-field="customs_port"')[1].split("</div>\n  </div>")[0]
    assert "此项为必填项" in field
    assert get(db, LicenceApplication, pk).status == "draft"


def test_bad_phone_number_is_refused_inline_and_nothing_is_stored(browser, db):
    b = browser("enterprise1")
    before = db.scalar(select(func.count()).select_from(LicenceApplication))
    resp = b.post("/me_licence_application/new/do/save", data=dict(HEAD, agent_mobile="12345"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "手机号码格式错误" in html
    # what was typed is kept on the page
    assert 'value="12345"' in html
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LicenceApplication)) == before


def test_unknown_code_list_value_is_refused(browser):
    b = browser("enterprise1")
    resp = b.post("/me_licence_application/new/do/save", data=dict(HEAD, trade_country="XYZ"))
    assert resp.status_code == 422
    assert "「XYZ」不是有效的代码" in resp.get_data(as_text=True)


def test_goods_must_be_in_the_catalogue_of_the_year(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    data = dict(GOODS)
    data["goods-0-hs_code"] = "0101210010"
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=data)
    assert resp.status_code == 422
    assert f"商品编码 0101210010 不在 {HEAD['year']} 年度机电产品目录中" in resp.get_data(
        as_text=True)
    assert get(db, LicenceApplication, pk).goods == []


def test_nonpositive_quantity_is_refused(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    data = dict(GOODS)
    data["goods-0-specs-0-qty"] = "-2"
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=data)
    assert resp.status_code == 422
    assert "必须大于 0" in resp.get_data(as_text=True)


def test_read_only_field_posted_anyway_is_refused_and_nothing_changes(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    before = get(db, LicenceApplication, pk)
    no, version = before.application_no, before.version
    data = dict(HEAD, agent_name="李四", licence_no="26-61-999999", application_no="HACKED")
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=data)
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert "以下字段在当前状态下不可修改：申请单编号、许可证号" in html
    assert 'value="李四"' in html  # what was typed stays in the form
    after = get(db, LicenceApplication, pk)
    assert (after.application_no, after.licence_no, after.agent_name, after.version) == (
        no, None, "王建国", version)


def test_computed_total_posted_anyway_is_refused(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    add_goods(b, pk)
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=dict(HEAD, total_usd="1"))
    assert "以下字段在当前状态下不可修改：折美元总值" in resp.get_data(as_text=True)
    assert get(db, LicenceApplication, pk).total_usd == decimal.Decimal("267800.00")


def test_record_under_review_cannot_be_saved(browser, db):
    b = browser("enterprise1")
    # demo application 2 (激光切割机) is 审批中
    resp = b.post("/me_licence_application/2/do/save", data=dict(HEAD, agent_name="改名"))
    assert resp.status_code == 409
    assert "当前状态「审批中」不能执行「暂存」" in resp.get_data(as_text=True)
    assert get(db, LicenceApplication, 2).agent_name == "王建国"


def test_stale_edit_is_refused_not_overwritten(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    v = get(db, LicenceApplication, pk).version
    assert b.post(f"/me_licence_application/{pk}/do/save",
                  data=dict(HEAD, agent_name="第一人", version=str(v))).status_code == 302
    resp = b.post(f"/me_licence_application/{pk}/do/save",
                  data=dict(HEAD, agent_name="第二人", version=str(v)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "该记录已被他人修改" in html
    assert 'value="第二人"' in html  # the second user's typing is not thrown away
    assert get(db, LicenceApplication, pk).agent_name == "第一人"


def test_commerce_approves_and_the_licence_number_is_issued(browser, db):
    ent, com = browser("enterprise1"), browser("commerce1")
    status, html = com.text("/me_licence_application/2")
    assert status == 200 and "审批通过" in html and 'data-bs-target="#dlg-approve"' in html
    resp = com.post("/me_licence_application/2/do/approve", data={"opinion": "同意"})
    assert resp.status_code == 302
    app = get(db, LicenceApplication, 2)
    assert app.status == "approved"
    assert re.fullmatch(r"\d{2}-61-\d{6}", app.licence_no)
    assert app.valid_until is not None and app.customs_status == "sent"
    html = ent.get("/me_licence_application/2").get_data(as_text=True)
    assert app.licence_no in html and "审批通过" in html
    home = ent.get("/").get_data(as_text=True)
    assert "机电产品进口单证申请已审批通过" in home


def test_return_needs_an_opinion_which_the_enterprise_reads(browser, db):
    ent, com = browser("enterprise1"), browser("commerce1")
    resp = com.post("/me_licence_application/2/do/return", data={"opinion": "  "})
    assert resp.status_code == 422
    assert "请填写审批意见" in resp.get_data(as_text=True)
    assert get(db, LicenceApplication, 2).status == "under_review"
    com.post("/me_licence_application/2/do/return", data={"opinion": "请补充合同"})
    assert get(db, LicenceApplication, 2).status == "returned"
    status, html = ent.text("/me_licence_application/2/history?tab=opinions")
    assert status == 200 and "请补充合同" in html and "张华" in html
    # a returned application is editable again and may be declared again
    ent.post("/me_licence_application/2/do/save", data=dict(
        HEAD, trade_country="DEU", origin_country="DEU", currency="EUR", remark="已补充合同"))
    assert get(db, LicenceApplication, 2).remark == "已补充合同"
    ent.post("/me_licence_application/2/do/declare")
    assert get(db, LicenceApplication, 2).status == "under_review"


def test_withdraw_takes_an_application_back_to_draft(browser, db):
    ent, com = browser("enterprise1"), browser("commerce1")
    com.post("/me_licence_application/2/do/withdraw")
    assert "您的角色无权执行「撤回」" in flashes(com)
    assert get(db, LicenceApplication, 2).status == "under_review"
    ent.post("/me_licence_application/2/do/withdraw")
    assert get(db, LicenceApplication, 2).status == "draft"
    ent.post("/me_licence_application/2/do/withdraw")
    assert "当前状态「暂存」不能执行「撤回」" in flashes(ent)


def test_copy_makes_a_new_draft_without_number_history_or_attachments(browser, db):
    b = browser("enterprise1")
    resp = b.post("/me_licence_application/3/do/copy")
    new_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    src, new = get(db, LicenceApplication, 3), get(db, LicenceApplication, new_id)
    assert new.status == "draft" and new.licence_no is None
    assert new.application_no != src.application_no and new.application_no.startswith("JD")
    assert [g.hs_code for g in new.goods] == [g.hs_code for g in src.goods]
    assert [s.model for g in new.goods for s in g.specs] == [
        s.model for g in src.goods for s in g.specs]
    assert new.total_amount == src.total_amount
    assert new.declared_at is None and new.cleared_qty is None
    flow = db.scalars(select(FlowEntry).where(FlowEntry.entity == "me_licence_application",
                                              FlowEntry.record_id == new_id)).all()
    assert flow == []


def test_copy_clicked_twice_makes_one_copy(browser, api, db):
    from sqlalchemy import func

    b = browser("enterprise1")
    html = b.get("/me_licence_application/3").get_data(as_text=True)
    form = re.search(r'action="/me_licence_application/3/do/copy".*?</form>', html, re.S).group(0)
    key = re.search(r'name="_once" value="([^"]+)"', form).group(1)
    count = lambda: db.scalar(select(func.count()).select_from(LicenceApplication))  # noqa: E731
    before = count()
    first = b.post("/me_licence_application/3/do/copy", data={"_once": key})
    again = b.post("/me_licence_application/3/do/copy", data={"_once": key})
    assert first.headers["Location"] == again.headers["Location"]
    assert "/me_licence_application/3" not in first.headers["Location"]
    db.rollback()
    assert count() == before + 1
    # the REST step likewise, by its Idempotency-Key
    c = api("enterprise1")
    answers = [c.post("/api/v1/me_licence_application/3/action/copy",
                      headers={"Idempotency-Key": "copy-of-3-at-0900"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json["id"] == answers[1].json["id"] != 3
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    db.rollback()
    assert count() == before + 2


def test_delete_only_in_draft_or_returned(browser, db):
    b = browser("enterprise1")
    b.post("/me_licence_application/3/do/delete")
    assert "当前状态「审批通过」不能执行「删除」" in flashes(b)
    assert get(db, LicenceApplication, 3) is not None
    pk = new_draft(b)
    add_goods(b, pk)
    b.post(f"/me_licence_application/{pk}/do/delete")
    assert get(db, LicenceApplication, pk) is None
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LicenceGoods).where(
        LicenceGoods.application_id == pk)) == 0


def test_batch_declare_reports_a_result_per_record(browser, db):
    b = browser("enterprise1")
    good = new_draft(b)
    add_goods(b, good)
    empty = new_draft(b)
    no_empty = get(db, LicenceApplication, empty).application_no
    resp = b.post("/me_licence_application/batch/declare", data={
        "ids": [str(good), str(empty)], "_next": "/me_licence_application/"})
    assert resp.status_code == 302
    html = b.get("/me_licence_application/").get_data(as_text=True)
    assert f"申报成功 1 条；申报失败 1 条：申请单 {no_empty} 缺少商品信息" in html
    assert get(db, LicenceApplication, good).status == "under_review"
    assert get(db, LicenceApplication, empty).status == "draft"


def test_batch_delete_of_drafts(browser, db):
    b = browser("enterprise1")
    a, c = new_draft(b), new_draft(b)
    b.post("/me_licence_application/batch/delete", data={"ids": [str(a), str(c), "3"]})
    html = flashes(b)
    assert "删除成功 2 条；删除失败 1 条：" in html and "不能执行「删除」" in html
    assert get(db, LicenceApplication, a) is None and get(db, LicenceApplication, 3) is not None


def test_single_record_actions_from_the_list_need_exactly_one_row(browser, db):
    b = browser("enterprise1")
    b.post("/me_licence_application/batch/withdraw", data={"ids": ["2", "3"]})
    assert "「撤回」只能选择一条记录" in flashes(b)
    b.post("/me_licence_application/batch/withdraw", data={"ids": ["2"]})
    assert get(db, LicenceApplication, 2).status == "draft"


def test_project_goods_need_project_type_and_industry(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b, goods_kind="project")
    add_goods(b, pk)
    b.post(f"/me_licence_application/{pk}/do/declare")
    resp = b.post(f"/me_licence_application/{pk}/do/declare", data=dict(HEAD, goods_kind="project"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.count("此项为必填项") >= 2
    b.post(f"/me_licence_application/{pk}/do/declare", data=dict(
        HEAD, goods_kind="project", project_type="01", project_industry="01"))
    assert get(db, LicenceApplication, pk).status == "under_review"


def test_a_field_hidden_by_the_chosen_kind_neither_applies_nor_errs(browser, db):
    """项目类型 typed wrong, then 单机 chosen: the form hid the field and still posted it, and the
    save was refused for an error the user could not see."""
    b = browser("enterprise1")
    pk = new_draft(b)
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=dict(
        HEAD, goods_kind="single", project_type="ZZ", project_industry="not a code"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    app = get(db, LicenceApplication, pk)
    assert app.goods_kind == "single" and app.project_type is None
    # shown again once 项目 is chosen: checked as always
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=dict(
        HEAD, goods_kind="project", project_type="ZZ"))
    assert resp.status_code == 422
    assert re.search(r'has-error[^>]*data-field="project_type"', resp.get_data(as_text=True))


def test_history_shows_flow_and_field_changes(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    b.post(f"/me_licence_application/{pk}/do/save", data=dict(HEAD, agent_name="赵六"))
    status, html = b.text(f"/me_licence_application/{pk}/history?tab=changes")
    assert status == 200 and "经办人" in html and "王建国" in html and "赵六" in html
    status, html = b.text(f"/me_licence_application/{pk}/history?tab=flow")
    assert "新增" in html or "暂存" in html


def test_the_form_reads_the_flow_once_for_its_status_and_opinion_buttons(browser, app):
    ent, com = browser("enterprise1"), browser("commerce1")
    pk = new_draft(ent)
    opinions = f'href="/me_licence_application/{pk}/history?tab=opinions"'
    flow = f'href="/me_licence_application/{pk}/history?tab=flow"'
    statements, resp = sql_statements(app, lambda: ent.get(f"/me_licence_application/{pk}"))
    html = resp.get_data(as_text=True)
    assert len([s for s in statements if "FROM flow_entry" in s]) == 1, statements
    # a new draft: no flow to show beyond its creation, no opinions
    assert flow not in html and opinions not in html
    add_goods(ent, pk)
    ent.post(f"/me_licence_application/{pk}/do/declare")
    com.post(f"/me_licence_application/{pk}/do/return", data={"opinion": "请补充合同"})
    html = ent.get(f"/me_licence_application/{pk}").get_data(as_text=True)
    assert flow in html and opinions in html


def _goods(n):
    """``n`` goods lines of one specification each, as the form posts them."""
    data = {"__tables": ["goods"] + [f"goods-{i}-specs" for i in range(n)]}
    for i in range(n):
        data.update({f"goods-{i}-hs_code": "8458110000", f"goods-{i}-name": f"数控车床{i}",
                     f"goods-{i}-goods_state": "N", f"goods-{i}-unit": "001",
                     f"goods-{i}-specs-0-model": f"CK{i}", f"goods-{i}-specs-0-qty": "1",
                     f"goods-{i}-specs-0-unit_price": "1000"})
    return data


def test_opening_or_printing_a_record_reads_its_lines_in_as_many_statements_whatever_their_count(
        browser, app):
    """Goods and their specifications are read one table at a time, not once per goods line:
    the statements of the form, its saved-with-errors page and its print do not grow with the
    lines (a licence of 20 goods lines read its specifications in 20 statements)."""
    ent = browser("enterprise1")
    counts = {}
    for n in (1, 4):
        pk = new_draft(ent)
        add_goods(ent, pk, _goods(n))
        pages = {
            "form": lambda pk=pk: ent.get(f"/me_licence_application/{pk}"),
            "refused save": lambda pk=pk: ent.post(f"/me_licence_application/{pk}/do/save",
                                                   data={**HEAD, "agent_mobile": "12"}),
            "print": lambda pk=pk: ent.get(f"/me_licence_application/{pk}/print"),
        }
        for page, call in pages.items():
            statements, resp = sql_statements(app, call)
            assert resp.status_code == (422 if page == "refused save" else 200), page
            counts[page, n] = len(statements)
        html = ent.get(f"/me_licence_application/{pk}").get_data(as_text=True)
        assert all(f"CK{i}" in html for i in range(n))
    for page in ("form", "refused save", "print"):
        assert counts[page, 4] == counts[page, 1], counts


def test_a_new_form_sent_again_opens_the_record_it_made(browser, api, db):
    from sqlalchemy import func, select

    b = browser("enterprise1")
    html = b.get("/me_licence_application/new").get_data(as_text=True)
    key = re.search(r'name="_once" value="([^"]+)"', html).group(1)
    count = lambda: db.scalar(select(func.count()).select_from(LicenceApplication))  # noqa: E731
    before = count()
    # refused first (nothing made): the form keeps its key, and the corrected one makes it
    resp = b.post("/me_licence_application/new/do/save",
                  data=dict(HEAD, agent_mobile="12", _once=key))
    assert resp.status_code == 422 and f'value="{key}"' in resp.get_data(as_text=True)
    first = b.post("/me_licence_application/new/do/save", data=dict(HEAD, _once=key))
    again = b.post("/me_licence_application/new/do/save", data=dict(HEAD, _once=key))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    db.rollback()
    assert count() == before + 1
    assert "重复提交" in b.get(again.headers["Location"]).get_data(as_text=True)
    # another form, or no key at all (a client that sends none): a record each
    b.post("/me_licence_application/new/do/save", data=dict(HEAD))
    b.post("/me_licence_application/new/do/save", data=dict(HEAD))
    db.rollback()
    assert count() == before + 3
    # a key is the user's own: another user's equal key is another submission
    c = api("enterprise2")
    resp = c.post("/api/v1/me_licence_application/", json={"agent_name": "李四"},
                  headers={"Idempotency-Key": key})
    assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers
    assert c.post("/api/v1/me_licence_application/", json={},
                  headers={"Idempotency-Key": "短"}).status_code == 400
