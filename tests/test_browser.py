"""Browser journeys through the generated screens, in Debian's Chromium driven by Playwright.

The app runs on a free localhost port in a thread, over a fresh copy of the demo database.
Screenshots go to tests/artifacts/ (git-ignored); UPDATE_README_SCREENSHOT=1 also rewrites
docs/screenshot.png (enterprise1's filled licence form).

    python -m pytest -q -m browser tests/test_browser.py
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from .browser_support import (
    LICENCE_NO_RE,
    README_SCREENSHOT,
    css,
    no_page_errors,
    update_readme_screenshot,
)

pytestmark = pytest.mark.browser

YELLOW = "rgb(255, 247, 194)"   # engine.css: editable for you now
GREY = "rgb(233, 233, 233)"     # engine.css: read-only
RED = "rgb(217, 0, 13)"         # engine.css: required *

# (规格型号, 数量, 单价) typed for each goods line
LATHE_SPECS = [("CK6150-1000", "2", "38500"), ("CK6163-1500", "1", "52800"),
               ("CK6180-2000", "1", "61000")]
CENTRE_SPECS = [("HMC630", "1", "168000"), ("HMC800", "2", "215000")]


def stored(live, pk):
    """What the server stored for application `pk`, read through the app's own session."""
    from app import db
    from models.me_licence import LicenceApplication

    with live.app.app_context():
        try:
            a = db.session.get(LicenceApplication, pk)
            return {
                "status": a.status, "application_no": a.application_no,
                "licence_no": a.licence_no, "agent_mobile": a.agent_mobile,
                "agent_name": a.agent_name, "trade_country": a.trade_country,
                "origin_country": a.origin_country, "customs_port": a.customs_port,
                "fx_source": a.fx_source, "goods_use": a.goods_use, "trade_mode": a.trade_mode,
                "currency": a.currency, "total_amount": a.total_amount,
                "goods": [(g.hs_code, g.name, g.unit,
                           [(s.model, s.qty, s.unit_price) for s in g.specs])
                          for g in a.goods],
            }
        finally:
            db.session.remove()


def fill_head(ent, mobile="13812345678", agent="李四"):
    """The 申请详细信息 of a new application, by keyboard only, from the autofocused field."""
    kb = ent.page.keyboard
    ent.wait_focus("agent_mobile")
    kb.type(mobile)
    ent.enter_to("agent_name")
    kb.type(agent)
    ent.enter_to("importer_code")       # pre-filled from the company
    ent.enter_to("year")
    ent.enter_to("trade_country")
    ent.type_code("JPN", "JPN")
    ent.enter_to("origin_country")
    ent.type_code("日本", "JPN")
    ent.enter_to("fx_source")           # defaults 01 / 01 / 0110 are kept: Enter moves on
    ent.enter_to("goods_use")
    ent.enter_to("trade_mode")
    ent.enter_to("customs_port")
    ent.type_code("9001", "9001")


def save_new(ent):
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    m = re.search(r"/me_licence_application/(\d+)$", ent.page.url)
    assert m, ent.page.url
    return int(m.group(1))


def type_goods(ent, g, text, code, specs, *, enter_after_last):
    """One goods line: 商品编码 through the picker, then its 规格型号 lines by keyboard."""
    page = ent.page
    ent.pick_from_catalogue(text, code)
    ent.enter_to(f"goods-{g}-name")
    ent.enter_to(f"goods-{g}-goods_state")
    ent.enter_to(f"goods-{g}-unit")
    # Enter in the goods line's last box opens its (empty) 规格型号 table.
    ent.enter_to(f"goods-{g}-specs-0-model")
    for i, (model, qty, price) in enumerate(specs):
        page.keyboard.type(model)
        ent.enter_to(f"goods-{g}-specs-{i}-qty")
        page.keyboard.type(qty)
        ent.enter_to(f"goods-{g}-specs-{i}-unit_price")
        page.keyboard.type(price)
        if i + 1 < len(specs) or enter_after_last:
            # Enter in 单价, the last box, adds the next 规格型号 line
            ent.enter_to(f"goods-{g}-specs-{i + 1}-model")


# --- the journey --------------------------------------------------------------------------------
def test_licence_application_journey(user, live):
    # 1. enterprise1 fills a new application by keyboard and saves it
    ent = user("enterprise1")
    page = ent.page
    ent.goto("/me_licence_application/new")
    ent.wait_focus("agent_mobile")          # 系统自动将光标显示在经办人手机号录入框内
    assert page.input_value("[name=fx_source]") == "01"
    assert page.input_value("[name=goods_use]") == "01"
    assert page.input_value("[name=trade_mode]") == "0110"
    assert ent.state_label() == "暂存"
    ent.shot("01-new-form", full_page=False)

    fill_head(ent)
    assert page.inner_text("[data-field=trade_country] .code-name") == "日本"
    assert page.inner_text("[data-field=customs_port] .code-name") != ""
    # 进口商编码 → 进口商名称 while typing, before any 暂存 (the server computes it)
    page.wait_for_function(
        "() => document.querySelector('.field-ro.computed[data-name=importer_name]')"
        ".textContent.trim() === '陕西秦川精密机械有限公司'")
    ent.shot("02-head-filled", full_page=False)
    pk = save_new(ent)
    assert ent.state_label() == "暂存"

    # 2. two goods lines on the saved record, each with its 规格型号 lines
    goods = ".child-table[data-path=goods]"
    page.click(f"{goods} > .child-table-head .js-add-row")
    ent.wait_focus("goods-0-hs_code")
    type_goods(ent, 0, "8458", "8458110000", LATHE_SPECS, enter_after_last=True)
    assert page.input_value("[name=goods-0-name]") == "数控卧式车床"     # filled by the picker
    assert page.input_value("[name=goods-0-unit]") == "001"
    page.wait_for_function(
        "() => document.querySelector('[data-field=unit] .code-name').textContent.trim() === '台'")
    page.click(f"{goods} > .child-table-head .js-add-row")
    ent.wait_focus("goods-1-hs_code")
    type_goods(ent, 1, "8457", "8457102000", CENTRE_SPECS, enter_after_last=False)
    assert page.input_value("[name=goods-1-name]") == "卧式加工中心"
    assert page.locator(f"{goods} > table > tbody > tr.child-row .row-no").all_inner_texts() \
        == ["1", "2"]
    # the grey totals follow the typing (computed by the server, nothing saved yet)
    total = sum(Decimal(q) * Decimal(p) for _m, q, p in LATHE_SPECS + CENTRE_SPECS)
    page.wait_for_function(
        "(t) => document.querySelector('.field-ro.computed[data-name=total_amount]')"
        ".textContent.trim() === t", arg=f"{total:,.2f}")
    page.wait_for_function(
        "() => document.querySelector('.field-ro.computed[data-name=goods-1-specs-1-amount]')"
        ".textContent.trim() === '430,000.00'")
    ent.shot("03-goods-typed")
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "暂存"

    # the saved form: yellow = editable now, grey = read-only, red * = required
    assert css(page, "[name=agent_mobile]", "backgroundColor") == YELLOW
    assert css(page, "[name=goods-0-specs-0-model]", "backgroundColor") == YELLOW
    assert css(page, "[data-name=application_no]", "backgroundColor") == GREY
    assert css(page, "[data-name=total_amount]", "backgroundColor") == GREY
    assert css(page, "[data-field=agent_mobile] .req", "color") == RED
    assert page.locator("[data-field=application_no] .req").count() == 0
    assert page.input_value("[name=goods-0-specs-2-model]") == "CK6180-2000"
    assert page.locator("[name=goods-0-specs-3-model]").count() == 0   # the empty line is dropped
    assert page.inner_text("[data-name=total_amount]").replace(",", "") == "788800.00"
    ent.shot("04-draft-saved")
    if update_readme_screenshot():                      # the README's picture, without the flash
        ent.goto(f"/me_licence_application/{pk}")
        page.set_viewport_size({"width": 1400, "height": 1610})
        page.screenshot(path=str(README_SCREENSHOT), full_page=False)
        page.set_viewport_size({"width": 1400, "height": 900})

    # 3. 申报 (with its confirmation)
    ent.submit("button[data-transition=declare]")
    assert any("是否申报" in d for d in ent.dialogs), ent.dialogs
    assert "申报成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "审批中"
    assert page.locator("#record-form .field-edit").count() == 0      # nothing editable now
    s = stored(live, pk)
    assert s["status"] == "under_review"
    assert (s["agent_mobile"], s["agent_name"]) == ("13812345678", "李四")
    assert (s["trade_country"], s["origin_country"], s["customs_port"]) == ("JPN", "JPN", "9001")
    assert (s["fx_source"], s["goods_use"], s["trade_mode"], s["currency"]) == \
        ("01", "01", "0110", "USD")
    assert [(hs, name, unit) for hs, name, unit, _ in s["goods"]] == [
        ("8458110000", "数控卧式车床", "001"), ("8457102000", "卧式加工中心", "001")]
    assert [[(m, f"{q.normalize():f}", f"{p.normalize():f}") for m, q, p in specs]
            for *_, specs in s["goods"]] == [LATHE_SPECS, CENTRE_SPECS]
    assert s["total_amount"] == Decimal("788800.00")
    ent.shot("05-declared")

    # 4. commerce1 approves
    com = user("commerce1")
    cpage = com.page
    com.goto(f"/me_licence_application/{pk}")
    assert com.state_label() == "审批中"
    assert cpage.locator("#record-form .field-edit").count() == 0
    assert cpage.locator("#record-form .js-add-row").count() == 0
    assert css(cpage, "[data-name=agent_mobile]", "backgroundColor") == GREY
    assert cpage.inner_text("[data-name=agent_mobile]") == "13812345678"
    com.shot("06-commerce-view")
    cpage.click("button[data-transition=approve]")
    dialog = cpage.locator("#dlg-approve")
    dialog.locator("textarea[name=opinion]").wait_for(state="visible")
    assert dialog.locator("label .req").count() == 0                  # 审批意见 is optional
    dialog.locator("textarea[name=opinion]").fill("材料齐全，同意。")
    com.shot("07-approve-dialog", full_page=False)
    com.submit("#dlg-approve button[type=submit]")
    assert com.state_label() == "审批通过"
    licence_no = cpage.inner_text("[data-name=licence_no]").strip()
    assert LICENCE_NO_RE.match(licence_no), licence_no
    assert licence_no.split("-")[1] == "61"           # the company's 所属机电办 (陕西)
    assert licence_no in com.flash()
    assert stored(live, pk)["licence_no"] == licence_no
    com.shot("08-approved-commerce")

    # 5. enterprise1 sees the licence, prints it, and reads the flow
    ent.goto(f"/me_licence_application/{pk}")
    assert ent.state_label() == "审批通过"
    assert page.inner_text("[data-name=licence_no]").strip() == licence_no
    ent.shot("09-approved-enterprise")
    ent.goto("/me_licence_application/")
    row = page.locator(f"tr.js-row[data-id='{pk}']")
    assert licence_no in row.inner_text()
    assert "审批通过" in row.inner_text()
    ent.shot("10-list", full_page=False)

    ent.goto(f"/me_licence_application/{pk}")
    with page.expect_navigation():                 # the print opens in a tab of the workspace
        page.click(".form-toolbar a:has(.fa-print)")
    href = page.get_attribute("iframe.print-frame", "src")
    assert href == f"/me_licence_application/{pk}/print"
    pdf = page.request.get(live.url + href)
    assert pdf.status == 200
    assert pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body().startswith(b"%PDF")

    ent.goto(f"/me_licence_application/{pk}")
    with page.expect_navigation():
        page.click(".form-toolbar a:has-text('查看流程状态')")
    assert "tab=flow" in page.url
    entries = page.locator(".timeline li").all_inner_texts()
    when = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?!:\d)"  # to the minute, as every screen
    declared = [e for e in entries if "申报" in e and "王建国" in e]
    approved = [e for e in entries if "审批通过" in e and "张华" in e]
    assert declared and re.search(when, declared[-1]), entries
    assert approved and re.search(when, approved[-1]) and "材料齐全，同意。" in approved[-1], entries
    ent.shot("11-flow")
    no_page_errors(user)


# --- batch 申报 from the list ---------------------------------------------------------------------
def test_batch_declare_reports_each_record(user, live):
    from sqlalchemy import select

    from app import db
    from models.me_licence import LicenceApplication

    ent = user("enterprise1")
    page = ent.page
    ent.goto("/me_licence_application/new")
    fill_head(ent, agent="赵磊")
    empty_pk = save_new(ent)                                # a draft without goods
    empty_no = stored(live, empty_pk)["application_no"]
    with live.app.app_context():
        ready_pk = db.session.scalar(                       # the demo draft, goods complete
            select(LicenceApplication.id).where(
                LicenceApplication.status == "draft", LicenceApplication.id != empty_pk,
                LicenceApplication.agent_name == "王建国").order_by(LicenceApplication.id))
        db.session.remove()
    assert ready_pk

    ent.goto("/me_licence_application/")
    for pk in (empty_pk, ready_pk):
        page.check(f"tr.js-row[data-id='{pk}'] input[name=ids]")
    assert page.locator("tr.js-row.selected").count() == 2
    ent.shot("12-batch-selected", full_page=False)
    ent.submit("button.js-batch[data-action$='/batch/declare']")
    assert any("是否申报" in d for d in ent.dialogs), ent.dialogs
    message = ent.flash()
    assert "申报成功 1 条；申报失败 1 条：" in message, message
    assert f"{empty_no} 缺少商品信息" in message, message
    ent.shot("13-batch-result", full_page=False)
    assert stored(live, ready_pk)["status"] == "under_review"
    assert stored(live, empty_pk)["status"] == "draft"
    no_page_errors(user)
