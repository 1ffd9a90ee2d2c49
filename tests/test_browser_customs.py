"""Browser journey of 智慧云报关 in Debian's Chromium: enterprise1 enters an 出口报关单 with three
goods lines by keyboard and submits it for review; reviewer1 marks boxes in 可视化审核 (by mouse
and by keyboard), one red, and returns it; enterprise1 sees the red box on the form, fixes it and
submits again; reviewer1 passes it; enterprise1 declares it and prints the 报关单.

Screenshots and the PDF go to tests/artifacts/ (customs-*.png, customs-declaration.pdf).

    python -m pytest -q -m browser tests/test_browser_customs.py
"""

from __future__ import annotations

import io
import re

import pdfplumber
import pytest

from .browser_support import ARTIFACTS, css, no_page_errors

pytestmark = pytest.mark.browser

GREEN = "rgb(200, 240, 200)"  # review_marks.css
RED = "rgb(255, 201, 201)"

# 商品编号 typed, picked, then (规格型号, 成交数量, 成交单位, 法定第一数量, 法定第二数量, 单价, 总价)
GOODS = [
    ("8458", "8458110000", "0|0|金属切削加工|车削|数控|秦川|CK6150", "2", "001", "2", "8600",
     "38500", "77000"),
    ("8466", "8466939000", "0|0|数控车床用|铸铁|秦川|CK6150-SP", "120", "011", "1850", "",
     "95.5", "11460"),
    ("8483", "8483409000", "0|0|机床用|齿轮箱|秦川|QJ-80", "40", "007", "1200", "", "620",
     "24800"),
]


def stored(live, pk):
    from app import db
    from models.customs_declaration import CdDeclaration

    with live.app.app_context():
        try:
            d = db.session.get(CdDeclaration, pk)
            return {"status": d.status, "bill_no": d.bill_no, "pre_entry_no": d.pre_entry_no,
                    "goods": [(g.code_ts, g.g_name, g.g_qty, g.qty1, g.qty2, g.decl_total,
                               g.unit1, g.unit2, g.g_model) for g in d.goods]}
        finally:
            db.session.remove()


def type_head(ent):
    """The head of the new 出口报关单, by keyboard: values typed, Enter moves on, code lists
    taken from their type-ahead."""
    page, kb = ent.page, ent.page.keyboard
    ent.wait_focus("ie_port")  # the cursor starts in 出境关别
    ent.type_code("9001", "9001")
    ent.enter_to("customs_master")
    ent.type_code("关中", "9001")
    ent.enter_to("traf_mode")
    ent.type_code("铁路", "3")
    ent.enter_to("traf_name")
    kb.type("X8024")
    ent.enter_to("voyage_no")
    kb.type("20261205")
    ent.enter_to("bill_no")
    kb.type("XAHB2026120501")
    ent.enter_to("enty_port_code")
    ent.type_code("610102", "610102")
    ent.enter_to("distinate_port")
    ent.type_code("杜伊斯堡", "DEDUI")
    ent.enter_to("trade_mode")          # 0110 一般贸易 is the default
    ent.enter_to("cut_mode")
    ent.type_code("101", "101")
    ent.enter_to("manual_no")
    ent.enter_to("license_no")
    ent.enter_to("contr_no")
    kb.type("QC-DE-2026-140")
    ent.enter_to("trade_area_code")
    ent.type_code("DEU", "DEU")
    ent.enter_to("trade_country")
    ent.type_code("德国", "DEU")
    ent.enter_to("trans_mode")          # 3 FOB is the default
    page.focus("[name=wrap_type]")
    ent.type_code("木制", "23")
    ent.enter_to("pack_no")
    kb.type("5")
    ent.enter_to("gross_wt")
    kb.type("12800")
    ent.enter_to("net_wt")
    kb.type("11650")
    page.focus("[name=overseas_name]")
    kb.type("MASCHINENHANDEL RUHR GMBH")


def type_goods(ent):
    page, kb = ent.page, ent.page.keyboard
    page.click(".child-table[data-path=goods] .js-add-row")  # the first line; 商品编号 focused
    ent.wait_focus("goods-0-code_ts")
    for i, (text, code, model, qty, unit, q1, q2, price, total) in enumerate(GOODS):
        ent.pick_from_catalogue(text, code)          # fills 商品名称
        assert page.input_value(f"[name='goods-{i}-g_name']")
        ent.enter_to(f"goods-{i}-ciq_code")
        ent.enter_to(f"goods-{i}-g_name")
        ent.enter_to(f"goods-{i}-goods_state")      # 新 by default
        ent.enter_to(f"goods-{i}-g_model")
        kb.type(model)
        assert page.input_value(f"[name='goods-{i}-g_model']") == model
        ent.enter_to(f"goods-{i}-g_qty")
        kb.type(qty)
        ent.enter_to(f"goods-{i}-g_unit")
        ent.type_code(unit, unit)
        ent.enter_to(f"goods-{i}-qty1")
        kb.type(q1)
        ent.enter_to(f"goods-{i}-qty2")
        kb.type(q2)
        ent.enter_to(f"goods-{i}-decl_price")
        kb.type(price)
        ent.enter_to(f"goods-{i}-decl_total")
        kb.type(total)
        ent.enter_to(f"goods-{i}-trade_curr")        # USD by default
        ent.enter_to(f"goods-{i}-origin_country")
        ent.type_code("CHN", "CHN")
        ent.enter_to(f"goods-{i}-destination_country")
        ent.type_code("DEU", "DEU")
        ent.enter_to(f"goods-{i}-district_code")
        ent.type_code("61013", "61013")
        ent.enter_to(f"goods-{i}-duty_mode")         # 1 照章征税 by default
        ent.enter_to(f"goods-{i}-contr_item")
        if i + 1 < len(GOODS):
            ent.enter_to(f"goods-{i + 1}-code_ts")   # Enter in the last box adds a line


def check_row_and_open(page, seq_no: str, button: str):
    page.locator("tr.js-row", has_text=seq_no).locator("td.col-no").click()
    with page.expect_navigation():
        page.click(f"button:has-text('{button}')")


def decide(rev, name: str, opinion: str):
    page = rev.page
    page.click(f"button[data-transition={name}]")
    page.wait_for_selector(f"#dlg-{name}.show")
    page.fill(f"#dlg-{name} textarea[name=opinion]", opinion)
    with page.expect_navigation():
        page.click(f"#dlg-{name} button[type=submit]")


def test_declaration_review_journey(user, live):
    # 1. enterprise1 enters an 出口报关单 by keyboard
    ent = user("enterprise1")
    page = ent.page
    ent.goto("/cd_declaration/?kind=E_DEC")
    assert page.locator("h3.page-title").inner_text().strip() == "出口报关单"
    with page.expect_navigation():
        page.click("a:has-text('新增')")
    assert page.input_value("[name=kind]") == "E_DEC"
    type_head(ent)
    type_goods(ent)
    ent.shot("customs-01-entry")
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    pk = int(re.search(r"/cd_declaration/(\d+)$", page.url).group(1))
    s = stored(live, pk)
    assert [g[0] for g in s["goods"]] == [g[1] for g in GOODS]
    assert [g[1] for g in s["goods"]] == ["数控卧式车床", "其他机床用零件、附件",
                                          "其他齿轮及齿轮传动装置"]  # filled by the pick
    assert [g[6:8] for g in s["goods"]] == [("001", "035"), ("035", None), ("035", None)]
    assert [g[8] for g in s["goods"]] == [g[2] for g in GOODS]   # 规格型号 as typed
    seq_no = page.locator(".page-title small").inner_text().strip()
    ent.submit("button[data-transition=submit]")
    assert "已提交审核" in ent.flash(), ent.flash()
    assert ent.state_label() == "待审核"

    # 2. reviewer1: 报关单审核 → 可视化审核; marks by mouse and keyboard; one box red → 退回
    rev = user("reviewer1")
    rp = rev.page
    rev.goto("/cd_declaration/screen/review/")
    check_row_and_open(rp, seq_no, "可视化审核")
    assert "/visual_review" in rp.url
    trade = rp.locator(".rv-cell[data-path=trade_name]")
    trade.click()
    assert css(rp, ".rv-cell[data-path=trade_name]", "backgroundColor") == GREEN
    bill = rp.locator(".rv-cell[data-path=bill_no]")
    bill.click()
    bill.click()
    rp.wait_for_function("() => document.querySelector('.rv-cell[data-path=bill_no]')"
                         ".classList.contains('mark-red') && !document.querySelector('.rv-saving')")
    assert css(rp, ".rv-cell[data-path=bill_no]", "backgroundColor") == RED
    # keyboard: from 境内收发货人 the right arrow goes to 出境关别, Space marks it green
    trade.focus()
    rp.keyboard.press("ArrowRight")
    assert rp.evaluate("document.activeElement.dataset.path") == "ie_port"
    rp.keyboard.press(" ")
    rp.keyboard.press("ArrowLeft")
    rp.keyboard.press("ArrowDown")  # the box below 境内收发货人
    assert rp.evaluate("document.activeElement.dataset.path") == "overseas_name"
    rp.keyboard.press("Space")
    rp.locator(".rv-cell[data-path='goods.1.code_ts']").click()
    rp.wait_for_function("() => !document.querySelector('.rv-saving')")
    assert rp.locator(".rv-red-list li").all_inner_texts() == ["提运单号"]
    rev.shot("customs-02-visual-review")
    # a reload keeps the marks
    rev.goto(f"/cd_declaration/{pk}/visual_review")
    marked = {c.get_attribute("data-path"): c.get_attribute("class")
              for c in rp.locator(".rv-cell[class*=mark-]").all()}
    assert set(marked) == {"trade_name", "ie_port", "overseas_name", "bill_no",
                           "goods.1.code_ts"}
    assert "mark-red" in marked["bill_no"]
    # 审核通过 is refused while a box is red
    decide(rev, "review_pass", "")
    assert "不能审核通过：提运单号" in rev.flash(), rev.flash()
    rev.goto(f"/cd_declaration/{pk}/visual_review")
    assert "提运单号" in rp.locator("#dlg-review_return .rv-red-names").inner_text()
    decide(rev, "review_return", "提运单号与铁路运单不符，请核对。")
    assert "已退回" in rev.flash() and "标红字段：提运单号" in rev.flash(), rev.flash()

    # 3. enterprise1 sees the red box on the form, fixes it, submits again
    ent.goto(f"/cd_declaration/{pk}")
    assert ent.state_label() == "审核退回"
    red = page.locator(".engine-field.review-red[data-field=bill_no]")
    assert red.count() == 1 and "审单标红" in red.inner_text()
    assert css(page, ".review-red [name=bill_no]", "backgroundColor") == "rgb(255, 227, 227)"
    ent.shot("customs-03-returned-form", full_page=False)
    page.fill("[name=bill_no]", "XAHB2026120502")
    ent.submit("button[data-transition=submit]")
    assert "已提交审核" in ent.flash(), ent.flash()

    # 4. reviewer1 passes it (a new round: no marks left from the first)
    rev.goto(f"/cd_declaration/{pk}/visual_review")
    assert rp.locator(".rv-cell[class*=mark-]").count() == 0
    assert "第 2 轮审核" in rp.locator(".rv-round").inner_text()
    rp.locator(".rv-cell[data-path=bill_no]").click()
    rp.wait_for_function("() => !document.querySelector('.rv-saving')")
    assert rp.locator(".rv-history tbody tr").count() == 1
    rev.shot("customs-04-second-round")
    decide(rev, "review_pass", "单证齐全，同意申报。")
    assert "已审核通过" in rev.flash(), rev.flash()

    # 5. enterprise1 declares it and prints the 报关单
    ent.goto(f"/cd_declaration/{pk}")
    assert ent.state_label() == "审核通过"
    ent.submit("button[data-transition=declare]")
    assert "申报成功" in ent.flash(), ent.flash()
    assert ent.dialogs and "是否申报" in ent.dialogs[-1]
    s = stored(live, pk)
    assert s["status"] == "declared" and s["bill_no"] == "XAHB2026120502"
    assert re.fullmatch(r"9001\d{4}0\d{9}", s["pre_entry_no"])
    resp = page.request.get(f"{live.url}/cd_declaration/{pk}/print")
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "customs-declaration.pdf").write_bytes(resp.body())
    with pdfplumber.open(io.BytesIO(resp.body())) as pdf:
        txt = "".join(p.extract_text() or "" for p in pdf.pages)
    assert "中华人民共和国海关出口货物报关单" in txt and s["pre_entry_no"] in txt
    assert "XAHB2026120502" in txt and "8483409000" in txt  # a goods line's 商品编号, whole
    no_page_errors(user)


def test_two_quick_clicks_on_a_box_leave_it_red_whatever_order_the_server_answers(
        user, api, live):
    """可视化审核 saves one mark at a time: the first save is held back by the test, and the
    second click's save (red) must not overtake it and be undone by it (green)."""
    from .test_customs_declaration import _act, _create

    c = api("enterprise1")
    rec = _create(c)["result"]
    assert _act(c, rec["id"], "submit")["status"] == "under_review"
    rp = user("reviewer1").page
    held = []

    def hold_the_first(route):
        if route.request.method == "POST" and not held:
            held.append(route)  # answered below
        else:
            route.continue_()

    rp.route("**/visual_review/marks", hold_the_first)
    rp.goto(f"{live.url}/cd_declaration/{rec['id']}/visual_review")
    bill = rp.locator(".rv-cell[data-path=bill_no]")
    bill.click()
    bill.click()
    for _ in range(200):  # the first save reaches the route (a loaded machine took over 0.5 s)
        if held:
            break
        rp.wait_for_timeout(100)
    assert held, "the first click's save was never sent"
    rp.wait_for_timeout(500)  # time for a second save to be sent and answered, were it sent
    held[0].continue_()
    rp.wait_for_function("() => !document.querySelector('.rv-saving')")
    assert "mark-red" in bill.get_attribute("class")
    marks = api("reviewer1").get(f"/api/v1/cd_declaration/{rec['id']}/review_marks").json
    assert marks["marks"].get("bill_no") == "red", marks


GRID_PROBLEMS = """() => {
  const out = [], ctx = document.createElement('canvas').getContext('2d');
  const width = (el, text) => { ctx.font = getComputedStyle(el).font; return ctx.measureText(text).width; };
  for (const input of document.querySelectorAll('.child-table td input.form-control')) {
    if (!input.offsetParent || !input.value) continue;
    const pad = parseFloat(getComputedStyle(input).paddingLeft);
    const r = input.getBoundingClientRect(), codeRight = r.left + pad + width(input, input.value);
    const code = input.dataset.codelist || input.dataset.picker;  // a code, not free text
    if (code && input.scrollWidth > input.clientWidth + 1) out.push(input.name + ' cut: ' + input.value);
    const name = input.parentElement.querySelector('.code-name');
    if (name && name.textContent.trim() && name.getBoundingClientRect().left < codeRight - 0.5)
      out.push(input.name + ' ' + input.value + ' under ' + name.textContent);
  }
  return out;
}"""


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_codes_in_the_goods_grid_are_whole_and_never_under_their_names(user, lang):
    """商品编号 (10 digits) whole in its box; 成交单位 011 beside 'piece (article)', not under."""
    ent = user("enterprise1")
    ent.goto(f"/lang/{lang}")
    ent.goto("/cd_declaration/3")
    assert ent.page.locator(".child-table td input[name$=code_ts]").count() > 0
    ent.shot(f"customs-grid-{lang}")
    assert ent.page.evaluate(GRID_PROBLEMS) == []
