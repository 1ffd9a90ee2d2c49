"""Browser journey through 进口旧机电产品装运前检验监督管理 (seed 001, 1.4 and 2.3 业务管理; 1.7 处置反馈),
in Debian's Chromium driven by Playwright, over a fresh copy of the demo database.

enterprise1 entrusts 日本机械检验株式会社 (head and three goods lines by keyboard), institution1
returns it, enterprise1 corrects and resubmits, institution1 accepts and enters the result with
its certificate; customs1 puts 德国莱茵 under 限期整改, which takes it out of the entrustment form
and shows in the public query.  Screenshots go to tests/artifacts/ue-*.png (git-ignored).

    python -m pytest -q -m browser tests/test_browser_used_me.py
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from .browser_support import css, no_page_errors, open_function

pytestmark = pytest.mark.browser

YELLOW = "rgb(255, 247, 194)"   # engine.css: editable for you now
GREY = "rgb(233, 233, 233)"     # engine.css: read-only
RED = "rgb(217, 0, 13)"         # engine.css: required *

JAPAN = "日本机械检验株式会社"        # institution1
RHEIN = "德国莱茵装运前检验有限公司"    # institution2
UNDER_DEMO_DISPOSALS = ["韩国产业技术检验院", "新加坡环球检验有限公司", "意大利欧洲技术检验公司"]
PENDING_FILING = "美国太平洋检验服务公司"  # filed, still 待审核: not entrustable either

# (HS编码, 品名, 规格型号, 制造商, 制造年月, 数量, 单价) typed for each goods line (单位 stays 001)
GOODS = [
    ("8458110000", "数控卧式车床", "MAZAK QT-250", "Yamazaki Mazak", "2016-05", "2", "46000"),
    ("8457101000", "立式加工中心", "OKUMA MB-46VA", "Okuma", "2015-09", "1", "68000"),
    ("8443139000", "单张纸胶印机", "SM 74-4", "Heidelberger Druckmaschinen", "2003-06", "3",
     "12500.50"),
]
CATALOGUE = {"8458110000", "8457101000"}   # in the demo's HS catalogue; 8443139000 is not
FIXED_MADE_ON = "2013-06"          # line 3's 制造年月 as corrected after the return
TOTAL_QTY = Decimal("6")
TOTAL_AMOUNT = Decimal("197501.50")   # 2×46000 + 68000 + 3×12500.50
RETURN_REASON = "第3行单张纸胶印机的制造年月有误，请核实铭牌后修改。"
CERT_NO = "JMI-PSI-2026-0777"
# Dates relative to today are read when the journey types them (the app's clock: this module
# is imported before the app, in the server's own zone when run alone, and a run can go on past
# 北京时间 midnight): certificate valid 180 days, 限期整改 for 60 days.
CERT_DAYS, RECTIFY_DAYS = 180, 60
RECTIFY_TEXT = "检验报告未附设备铭牌照片，检验记录不完整，限期整改。"


def tiny_pdf() -> bytes:
    """A small, well-formed one-page PDF (objects, xref with true offsets, trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # the content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    text = b"BT /F1 18 Tf 72 770 Td (Pre-shipment inspection certificate JMI-PSI-2026-0777) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


# --- what the server stored -----------------------------------------------------------------------
def stored(live, pk):
    """Entrustment `pk` as stored, read through the app's own session."""
    from app import db
    from app.engine import attachments
    from models.base import Organisation
    from models.used_me import UeEntrustment

    with live.app.app_context():
        try:
            e = db.session.get(UeEntrustment, pk)
            files = attachments.list_for(db.session, e)
            return {
                "status": e.status, "entrust_no": e.entrust_no, "company_name": e.company_name,
                "consignee": e.consignee, "entry_customs": e.entry_customs,
                "destination": e.destination, "destination_customs": e.destination_customs,
                "use": e.use, "institution": db.session.get(Organisation, e.institution_id).name,
                "contact_mobile": e.contact_mobile, "currency": e.currency,
                "total_qty": e.total_qty, "total_amount": e.total_amount,
                "goods": [(g.hs_code, g.name, g.model, g.manufacturer, g.made_on, g.qty, g.unit,
                           g.unit_price, g.amount) for g in e.goods],
                "return_reason": e.return_reason, "inst_cert_no": e.inst_cert_no,
                "cert_valid_until": e.cert_valid_until, "entrusted_at": e.entrusted_at,
                "accepted_at": e.accepted_at, "completed_at": e.completed_at,
                "files": [(a.slot, a.filename, a.kind, a.data) for a in files],
            }
        finally:
            db.session.remove()


def org_id(live, name):
    from sqlalchemy import select

    from app import db
    from models.base import Organisation

    with live.app.app_context():
        try:
            return db.session.scalar(select(Organisation.id).where(Organisation.name == name))
        finally:
            db.session.remove()


def notices_to(live, org, record_id):
    from sqlalchemy import select

    from app import db
    from app.engine.notify import Notice

    with live.app.app_context():
        try:
            return [(n.title, n.content) for n in db.session.scalars(
                select(Notice).where(Notice.org_id == org, Notice.entity == "ue_entrustment",
                                     Notice.record_id == record_id).order_by(Notice.id))]
        finally:
            db.session.remove()


def disposal_state(live, institution):
    """The newest disposal of `institution` and what it did to the institution's filing."""
    from sqlalchemy import select

    from app import db
    from models.used_me import UeDisposal, current_filing

    with live.app.app_context():
        try:
            d = db.session.scalars(select(UeDisposal).where(
                UeDisposal.institution_id == institution).order_by(UeDisposal.id.desc())).first()
            f = current_filing(db.session, institution)
            return {"status": d.status, "type": d.disposal_type, "end_on": d.end_on,
                    "disposal_no": d.disposal_no, "notice_content": d.notice_content,
                    "filing_type": f.disposal_type, "filing_until": f.disposal_until}
        finally:
            db.session.remove()


# --- gestures -----------------------------------------------------------------------------------
def menu(tab, group, entry):
    """The left menu: open `group`, click `entry`, wait for the page."""
    open_function(tab.page, group, entry)


def open_dialog(tab, name):
    page = tab.page
    page.click(f"button[data-transition={name}]")
    dialog = page.locator(f"#dlg-{name}")
    dialog.wait_for(state="visible")
    page.wait_for_function(                    # the fade-in is over: the dialog can be typed in
        "id => document.getElementById(id).classList.contains('show')", arg=f"dlg-{name}")
    return dialog


def one_line_navbar(tab):
    """The menu bar is one line high (52px), not wrapped under its last menus."""
    height = tab.page.evaluate("document.querySelector('.navbar').getBoundingClientRect().height")
    assert height < 60, f"{tab.username}: the menu bar wraps ({height}px)"


def not_cut(page, selector):
    """A grey read-only box shows its whole value (nothing hidden behind an ellipsis)."""
    box = page.eval_on_selector(selector, "e => [e.scrollWidth, e.clientWidth, e.scrollHeight,"
                                          " e.clientHeight]")
    assert box[0] <= box[1] + 1 and box[2] <= box[3] + 1, f"{selector} is cut off: {box}"


def code_name(page, path, name):
    """The name shown next to the code of code-list box `path`."""
    page.wait_for_function(
        "([p, n]) => { const e = document.querySelector(`[name='${p}'] ~ .code-name`);"
        " return e && e.textContent.trim() === n; }", arg=[path, name])


def institution_options(page):
    return [o.strip() for o in page.locator("select[name=institution_id] option").all_inner_texts()
            if o.strip()]


def type_goods_line(ent, i, line, *, enter_after_last):
    """One 货物详细信息 line by keyboard, from its focused HS编码 box; 单位 keeps its 001."""
    kb, page = ent.page.keyboard, ent.page
    hs, name, model, maker, made_on, qty, price = line
    ent.wait_focus(f"goods-{i}-hs_code")
    typed = [(name, "model"), (model, "manufacturer"), (maker, "made_on"), (made_on, "qty"),
             (qty, "unit")]
    if hs in CATALOGUE:
        # the HS pick of the licence form: four digits, Enter shows the catalogue, Enter picks
        # the code and fills 品名
        ent.pick_from_catalogue(hs[:4], hs)
        assert page.input_value(f"[name=goods-{i}-name]") == name
        ent.enter_to(f"goods-{i}-name")
        ent.enter_to(f"goods-{i}-model")
        typed = typed[1:]
    else:
        # a code the catalogue lacks: Enter says so, the next Enter keeps it and moves on
        kb.type(hs)
        kb.press("Enter")
        page.wait_for_selector(".typeahead-menu .ta-empty")
        ent.enter_to(f"goods-{i}-name")
        assert page.input_value(f"[name=goods-{i}-hs_code]") == hs
    for value, nxt in typed:
        kb.type(value)
        ent.enter_to(f"goods-{i}-{nxt}")
    assert ent.page.input_value(f"[name=goods-{i}-unit]") == "001"
    code_name(ent.page, f"goods-{i}-unit", "台")    # the default code is named on a new line
    ent.enter_to(f"goods-{i}-unit_price")
    kb.type(price)
    if enter_after_last:
        # Enter in 单价, the last box of the line, adds the next line
        ent.enter_to(f"goods-{i + 1}-hs_code")


def list_row(page, text):
    return page.locator("table.record-list tbody tr", has_text=text)


# --- the journey ----------------------------------------------------------------------------------
def test_used_me_entrustment_journey(user, live, tmp_path):
    journey(user, live, tmp_path)
    no_page_errors(user)


def journey(user, live, tmp_path):
    japan, rhein = org_id(live, JAPAN), org_id(live, RHEIN)

    # 1. enterprise1: 业务管理 → 业务委托 → 新增
    ent = user("enterprise1")
    page, kb = ent.page, ent.page.keyboard
    menu(ent, "业务管理", "业务委托")
    assert "/ue_entrustment/" in page.url
    with page.expect_navigation():
        page.click(".list-toolbar a:has-text('新增')")
    assert page.url.endswith("/ue_entrustment/new")
    assert ent.state_label() == "暂存"
    assert page.input_value("[name=consignee]") == "陕西秦川精密机械有限公司"   # prefilled
    assert page.input_value("[name=currency]") == "USD"
    offered = institution_options(page)
    assert JAPAN in offered and RHEIN in offered, offered
    for name in UNDER_DEMO_DISPOSALS + [PENDING_FILING]:
        assert name not in offered, offered
    # the head: yellow = editable, grey = read-only, red * = required
    assert css(page, "[name=consignee]", "backgroundColor") == YELLOW
    assert css(page, "[name=institution_id]", "backgroundColor") == YELLOW
    assert css(page, "[data-name=entrust_no]", "backgroundColor") == GREY
    assert css(page, "[data-name=company_name]", "backgroundColor") == GREY
    for f in ("consignee", "entry_customs", "destination", "destination_customs", "use",
              "institution_id", "contact_name", "contact_mobile", "currency"):
        assert css(page, f"[data-field={f}] .req", "color") == RED, f
    assert page.locator("[data-field=contact_email] .req").count() == 0
    assert page.locator("[data-field=entrust_no] .req").count() == 0

    one_line_navbar(ent)

    # the head by keyboard: code lists take a code or Chinese, Enter picks, Enter moves on
    page.click("[name=consignee]")
    ent.enter_to("entry_customs")
    ent.type_code("9001", "9001")
    ent.enter_to("destination")
    ent.type_code("陕西", "610000")
    ent.enter_to("destination_customs")
    ent.type_code("西安", "9000")
    ent.enter_to("use")
    ent.type_code("生产", "02")
    ent.enter_to("institution_id")
    page.select_option("[name=institution_id]", label=JAPAN)
    ent.enter_to("contact_name")                     # 王建国 from the company
    ent.enter_to("contact_phone")
    ent.enter_to("contact_mobile")
    kb.type("1380918")                               # too short: the server says why
    for f, name in [("entry_customs", "关中海关"), ("destination", "陕西省"),
                    ("destination_customs", "西安关区/西安海关"), ("use", "生产用")]:
        assert page.inner_text(f"[data-field={f}] .code-name").strip() == name, f
    ent.shot("ue-01-new-head", full_page=False)
    ent.submit("button[data-transition=save]")
    assert "手机号码格式错误" in page.inner_text("[data-field=contact_mobile] .field-error")
    # the form comes back with what was typed, code names looked up again
    assert page.input_value("[name=entry_customs]") == "9001"
    assert page.input_value("[name=institution_id]") == str(japan)
    page.wait_for_function("() => document.querySelector("
                           "'[data-field=use] .code-name').textContent.trim() === '生产用'")
    ent.shot("ue-02-mobile-error", full_page=False)
    page.fill("[name=contact_mobile]", "")
    page.click("[name=contact_mobile]")
    kb.type("13809181234")
    saved_in = dt.date.today().year
    ent.submit("button[data-transition=save]")
    years = {saved_in, dt.date.today().year}  # the year the number was given in: either
    assert "暂存成功" in ent.flash(), ent.flash()
    m = re.search(r"/ue_entrustment/(\d+)$", page.url)
    assert m, page.url
    pk = int(m.group(1))
    assert ent.state_label() == "暂存"
    entrust_no = page.inner_text("[data-name=entrust_no]").strip()
    assert re.fullmatch(r"WT\d{10}", entrust_no) and int(entrust_no[2:6]) in years, entrust_no
    s = stored(live, pk)
    assert (s["status"], s["entrust_no"], s["consignee"]) == \
        ("draft", entrust_no, "陕西秦川精密机械有限公司")
    assert (s["entry_customs"], s["destination"], s["destination_customs"], s["use"]) == \
        ("9001", "610000", "9000", "02")
    assert (s["institution"], s["contact_mobile"], s["currency"]) == \
        (JAPAN, "13809181234", "USD")

    # three goods lines by keyboard; Enter in 单价 adds the next line
    goods = ".child-table[data-path=goods]"
    page.click(f"{goods} > .child-table-head .js-add-row")
    for i, line in enumerate(GOODS):
        type_goods_line(ent, i, line, enter_after_last=i + 1 < len(GOODS))
    assert page.locator(f"{goods} > table > tbody > tr.child-row .row-no").all_inner_texts() \
        == ["1", "2", "3"]
    ent.shot("ue-03-goods-typed")
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "暂存"
    for i, line in enumerate(GOODS):
        assert page.input_value(f"[name=goods-{i}-model]") == line[2]
    assert page.locator("[name=goods-3-hs_code]").count() == 0
    # 总数量 / 总金额: grey, computed from the lines; 金额 of each line too
    assert css(page, "[data-name=total_qty]", "backgroundColor") == GREY
    assert css(page, "[data-name=total_amount]", "backgroundColor") == GREY
    assert page.locator("[name=total_qty], [name=total_amount]").count() == 0
    assert Decimal(page.inner_text("[data-name=total_qty]").replace(",", "")) == TOTAL_QTY
    assert Decimal(page.inner_text("[data-name=total_amount]").replace(",", "")) == TOTAL_AMOUNT
    assert [Decimal(t.replace(",", "")) for t in
            page.locator(f"{goods} [data-name$='-amount']").all_inner_texts()] == \
        [Decimal("92000.00"), Decimal("68000.00"), Decimal("37501.50")]
    assert css(page, "[name=goods-0-hs_code]", "backgroundColor") == YELLOW
    assert css(page, "[data-name=goods-0-amount]", "backgroundColor") == GREY
    ent.shot("ue-04-draft-saved")
    s = stored(live, pk)
    assert [g[:7] for g in s["goods"]] == [
        (hs, n, mdl, mk, made, Decimal(q), "001") for hs, n, mdl, mk, made, q, _p in GOODS]
    assert [g[7] for g in s["goods"]] == [Decimal(line[6]) for line in GOODS]
    assert (s["total_qty"], s["total_amount"]) == (TOTAL_QTY, TOTAL_AMOUNT)

    # 提交 → 待受理; nothing is editable any more.  (提交 declares no confirmation in
    # models/used_me.py; a confirm() it might get is accepted by UserPage.)
    ent.submit("button[data-transition=submit]")
    assert "提交成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "待受理"
    assert page.locator("#record-form .field-edit").count() == 0
    s = stored(live, pk)
    assert s["status"] == "pending" and s["entrusted_at"] is not None
    assert ("新的业务委托", f"陕西秦川精密机械有限公司 提交了业务委托 {entrust_no}") in \
        notices_to(live, japan, pk)

    # 2. institution1: the entrustment is in its 待办; 业务管理 → 业务受理, search by 业务编号,
    #    open, 退回
    ins = user("institution1")
    ipage = ins.page
    one_line_navbar(ins)
    with ipage.expect_navigation():
        ipage.click(".todo a:has-text('业务委托')")
    assert "待受理" in list_row(ipage, entrust_no).inner_text()
    menu(ins, "业务管理", "业务受理")
    assert "/ue_entrustment/screen/inbox/" in ipage.url
    ipage.fill(".search-form [name=entrust_no]", entrust_no)
    with ipage.expect_navigation():
        ipage.click(".search-form button[type=submit]")
    rows = ipage.locator("table.record-list tbody tr.js-row")
    assert rows.count() == 1, rows.all_inner_texts()
    assert "待受理" in rows.first.inner_text()
    assert "陕西秦川精密机械有限公司" in rows.first.inner_text()
    ins.shot("ue-05-inbox-search", full_page=False)
    with ipage.expect_navigation():
        ipage.click(f"a.record-link:has-text('{entrust_no}')")
    assert ipage.url.endswith(f"/ue_entrustment/{pk}")
    assert ins.state_label() == "待受理"
    assert ipage.locator("#record-form .field-edit").count() == 0
    assert css(ipage, "[data-name=consignee]", "backgroundColor") == GREY
    assert ipage.inner_text("[data-name=institution_id]").strip() == JAPAN
    for label in ("接受委托", "退回"):
        assert ipage.locator(f".form-toolbar button:has-text('{label}')").count() == 1, label
    assert ipage.locator("button[data-transition=result]").count() == 0
    dialog = open_dialog(ins, "return")
    assert dialog.locator("label:has-text('退回原因') .req").count() == 1
    dialog.locator("button[type=submit]").click()    # no reason: the dialog says so, stays open
    assert "此项为必填项" in dialog.locator(".form-group.has-error").inner_text()
    assert dialog.is_visible() and ipage.url.endswith(f"/ue_entrustment/{pk}")
    dialog.locator("textarea[name=input-reason]").click()
    kb_i = ipage.keyboard
    kb_i.type(RETURN_REASON)
    ins.shot("ue-06-return-dialog", full_page=False)
    ins.submit("#dlg-return button[type=submit]")
    assert "操作成功" in ins.flash(), ins.flash()
    assert ins.state_label() == "补充材料"
    assert ipage.inner_text("[data-name=return_reason]").strip() == RETURN_REASON
    not_cut(ipage, "[data-name=return_reason]")
    s = stored(live, pk)
    assert (s["status"], s["return_reason"]) == ("supplement", RETURN_REASON)

    # 3. enterprise1 sees 补充材料 and why, corrects line 3, 暂存, 提交 again
    ent.goto("/")
    notice = page.locator(f".notices a[href='/ue_entrustment/{pk}']")
    assert notice.count() >= 1 and "补充材料" in notice.first.inner_text()
    assert ("补充材料", f"业务委托 {entrust_no} 被退回，退回原因：{RETURN_REASON}") in \
        notices_to(live, org_id(live, "陕西秦川精密机械有限公司"), pk)
    ent.shot("ue-07-home-notice", full_page=False)
    with page.expect_navigation():                  # 待办: the records waiting for me
        page.click(".todo a:has-text('业务委托')")
    assert "status=supplement" in page.url
    assert "补充材料" in list_row(page, entrust_no).inner_text()
    with page.expect_navigation():
        page.click(f"a.record-link:has-text('{entrust_no}')")
    assert ent.state_label() == "补充材料"
    assert page.inner_text("[data-name=return_reason]").strip() == RETURN_REASON
    not_cut(page, "[data-name=return_reason]")
    assert css(page, "[name=goods-2-made_on]", "backgroundColor") == YELLOW   # editable again
    page.fill("[name=goods-2-made_on]", "")
    page.click("[name=goods-2-made_on]")
    kb.type(FIXED_MADE_ON)
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "补充材料"
    assert page.input_value("[name=goods-2-made_on]") == FIXED_MADE_ON
    ent.shot("ue-08-supplement-fixed")
    ent.submit("button[data-transition=submit]")
    assert "提交成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "待受理"
    s = stored(live, pk)
    assert s["status"] == "pending"
    assert [g[4] for g in s["goods"]] == ["2016-05", "2015-09", FIXED_MADE_ON]
    assert (s["total_qty"], s["total_amount"]) == (TOTAL_QTY, TOTAL_AMOUNT)

    # 4. institution1: 接受委托 → 受理中; 检验结果 (file, 证书编号, 有效期) → 检验完成
    ins.goto(f"/ue_entrustment/{pk}")
    assert ins.state_label() == "待受理"
    ins.submit("button[data-transition=accept]")
    assert "操作成功" in ins.flash(), ins.flash()
    assert ins.state_label() == "受理中"
    assert ipage.locator("button[data-transition=return]").count() == 0
    assert stored(live, pk)["status"] == "accepted"
    pdf = tmp_path / "装运前检验证书.pdf"
    pdf.write_bytes(tiny_pdf())
    cert_valid = dt.date.today() + dt.timedelta(days=CERT_DAYS)
    dialog = open_dialog(ins, "result")
    for label in ("检验结果", "检验机构证书编号", "证书有效期"):
        assert dialog.locator(f"label:has-text('{label}') .req").count() == 1, label
    dialog.locator("input[name=input-cert_no]").click()
    kb_i.type(CERT_NO)
    dialog.locator("button[type=submit]").click()    # no file, no date: pointed out in place
    missing = dialog.locator(".form-group.has-error")
    assert missing.count() == 2, missing.all_inner_texts()
    assert "检验结果" in missing.nth(0).inner_text() and "证书有效期" in missing.nth(1).inner_text()
    ipage.wait_for_function(                         # red once the border's transition is over
        "c => getComputedStyle(document.querySelector('#dlg-result [name=input-result_file]'))"
        ".borderTopColor === c", arg=RED)
    assert dialog.locator("input[name=input-cert_no]").input_value() == CERT_NO   # kept
    ins.shot("ue-09-result-dialog-missing", full_page=False)
    assert dialog.locator("input[name=input-valid_until]").get_attribute("type") == "date"
    assert css(ipage, "#dlg-result input[name=input-result_file]", "backgroundColor") == YELLOW
    assert css(ipage, "#dlg-result input[name=input-cert_no]", "backgroundColor") == YELLOW
    dialog.locator("input[name=input-result_file]").set_input_files(str(pdf))
    dialog.locator("input[name=input-valid_until]").fill(cert_valid.isoformat())
    assert missing.count() == 0
    ins.shot("ue-09-result-dialog", full_page=False)
    assert dialog.locator("button[type=submit]").inner_text().strip() == "提交"
    ins.submit("#dlg-result button[type=submit]")
    assert "提交成功" in ins.flash(), ins.flash()
    assert ins.state_label() == "检验完成"
    assert ipage.inner_text("[data-name=inst_cert_no]").strip() == CERT_NO
    assert ipage.inner_text("[data-name=cert_valid_until]").strip() == cert_valid.isoformat()
    att = ipage.locator("#attachments tbody tr", has_text=pdf.name)
    assert att.count() == 1 and "检验结果" in att.inner_text()
    ins.shot("ue-10-inspected")
    s = stored(live, pk)
    assert s["status"] == "done" and s["completed_at"] is not None
    assert (s["inst_cert_no"], s["cert_valid_until"]) == (CERT_NO, cert_valid)
    assert [f[:3] for f in s["files"]] == [("result", pdf.name, "pdf")]
    assert s["files"][0][3] == pdf.read_bytes()

    # the enterprise sees the result and downloads the certificate
    ent.goto(f"/ue_entrustment/{pk}")
    assert ent.state_label() == "检验完成"
    assert page.inner_text("[data-name=inst_cert_no]").strip() == CERT_NO
    link = page.locator("#attachments tbody tr", has_text=pdf.name).locator("a")
    with page.expect_download() as dl:
        link.click()
    download = dl.value
    assert download.suggested_filename == pdf.name
    assert open(download.path(), "rb").read() == pdf.read_bytes()
    ent.shot("ue-11-enterprise-done")
    with page.expect_navigation():
        page.click(".form-toolbar a:has-text('查看流程状态')")
    entries = page.locator(".timeline li").all_inner_texts()
    steps = [next((t for t in ("提交", "退回", "接受委托", "检验结果") if t in e), None)
             for e in entries]
    assert [x for x in steps if x] == ["提交", "退回", "提交", "接受委托", "检验结果"], entries
    ent.shot("ue-12-flow")
    ent.goto("/ue_entrustment/")
    assert "检验完成" in list_row(page, entrust_no).inner_text()

    # 5. customs1: 处置反馈 → 新增 — 德国莱茵 under 限期整改
    cus = user("customs1")
    cpage = cus.page
    one_line_navbar(cus)                             # nine menus
    menu(cus, "处置反馈", "处置反馈")
    opened_on = dt.date.today()
    with cpage.expect_navigation():
        cpage.click(".list-toolbar a:has-text('新增')")
    assert cpage.url.endswith("/ue_disposal/new")
    start = dt.date.fromisoformat(cpage.input_value("[name=start_on]"))
    assert start in (opened_on, dt.date.today()), start  # today: the day the form was opened
    rectify_end = start + dt.timedelta(days=RECTIFY_DAYS)
    cpage.select_option("[name=institution_id]", label=RHEIN)
    cpage.select_option("[name=disposal_type]", label="限期整改")
    cpage.locator("[name=end_on]").wait_for(state="visible")     # shown for 限期整改
    cpage.click("[name=notice_content]")
    cpage.keyboard.type(RECTIFY_TEXT)
    cpage.fill("[name=end_on]", rectify_end.isoformat())
    cus.shot("ue-13-disposal-new", full_page=False)
    cus.submit("button[data-transition=issue]")
    assert any("是否下达" in d for d in cus.dialogs), cus.dialogs
    assert "下达成功" in cus.flash(), cus.flash()
    assert cus.state_label() == "处置中"
    d = disposal_state(live, rhein)
    assert (d["status"], d["type"], d["end_on"], d["notice_content"]) == \
        ("in_force", "rectify", rectify_end, RECTIFY_TEXT)
    assert (d["filing_type"], d["filing_until"]) == ("rectify", rectify_end)

    # 6. 德国莱茵 is no longer offered; the public query shows its 限期整改
    ent.goto("/ue_entrustment/new")
    offered = institution_options(page)
    assert offered == [JAPAN], offered
    ent.shot("ue-14-new-form-after-disposal", full_page=False)
    menu(ent, "公共查询", "已备案检验机构查询")
    assert "/ue_institution_filing/screen/filed/" in page.url
    rhein_row = list_row(page, RHEIN)
    assert rhein_row.count() == 1
    cells = [c.strip() for c in rhein_row.locator("td").all_inner_texts()]
    assert "限期整改" in cells and rectify_end.isoformat() in cells, cells
    assert "正常" in list_row(page, JAPAN).inner_text()
    assert list_row(page, "意大利欧洲技术检验公司").count() == 0            # 撤销备案
    assert "不予认可装运前检验结果" in list_row(page, "韩国产业技术检验院").inner_text()
    assert "限期整改" in list_row(page, "新加坡环球检验有限公司").inner_text()
    assert page.locator("table.record-list tbody a.record-link").count() == 0   # no detail
    ent.shot("ue-15-public-query")
    page.fill(".search-form [name=name_cn]", "莱茵")
    with page.expect_navigation():
        page.click(".search-form button[type=submit]")
    rows = page.locator("table.record-list tbody tr")
    assert rows.count() == 1 and RHEIN in rows.first.inner_text()
