"""智慧云报关: 打印报关单 / 打印通知书, the DecMessage (answered, validated, read back, hostile
files refused), 列表导出 and 导入 with the goods sheet, 生成报关单 from a 核注清单, and the
loader of the 商品综合分类表 — through HTTP (and the flask command), with the bad inputs."""

from __future__ import annotations

import io
import re

import pdfplumber
import pytest
from lxml import etree
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from demo.customs_declaration import export_data
from models.customs_declaration import CdDeclaration, CdGoods, CdHsCode
from models.customs_inventory import CdInventory
from models.customs_message import SCHEMA_PATH

from .helpers import get, wait_job

DRAFT, UNDER_REVIEW, RETURNED, PASSED, RELEASED, BILL_ACCEPTED, OTHER_DRAFT = range(1, 8)
INV_APPROVED, INV_DRAFT = 1, 2
API = "/api/v1/cd_declaration"
NS = "{http://www.chinaport.gov.cn/dec}"


def _pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def _count(db, model=CdDeclaration):
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


# --- print ---------------------------------------------------------------------------------
def test_print_the_declaration_as_the_official_form(browser):
    b = browser("enterprise1")
    resp = b.get(f"/cd_declaration/{RELEASED}/print")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert b"/FontFile2" in resp.data  # the CJK font is embedded
    txt = _pdf_text(resp.data).replace("\n", "")
    for expected in ("中华人民共和国海关出口货物报关单", "境内收发货人", "91610131MA6W2K3L3A",
                     "6101930123", "运输工具名称及航次号", "X8024/20261201", "XAHB2026110017",
                     "数控卧式车床", "77,000.00", "CHN 中国", "DEU 德国", "纳税之法律责任"):
        assert expected in txt, expected
    # the import declaration prints with the import wording
    txt = _pdf_text(b.get(f"/cd_declaration/{PASSED}/print").data)
    assert "中华人民共和国海关进口货物报关单" in txt and "消费使用单位" in txt
    assert "境内目的地" in txt and "入境口岸" in txt


def test_print_the_notices_customs_sent(api, browser):
    api("customs1").post(f"{API}/{BILL_ACCEPTED}/action/conclude", json={"opinion": "单证审结"})
    b = browser("enterprise1")
    resp = b.get(f"/cd_declaration/{BILL_ACCEPTED}/print/notices")
    assert resp.status_code == 200
    txt = _pdf_text(resp.data)
    assert "海关通知书" in txt and "海关入库成功" in txt and "单证审结" in txt
    assert "900120260000123789" in txt
    txt = _pdf_text(b.get(f"/cd_declaration/{DRAFT}/print/notices").data)
    assert "暂无海关通知" in txt
    # in English each notice is named by the status it told, not by the officer's button
    en = browser("enterprise1")
    assert en.get("/lang/en").status_code == 302
    txt = _pdf_text(en.get(f"/cd_declaration/{BILL_ACCEPTED}/print/notices").data)
    assert "Concluded" in txt and "Entered by customs" in txt, txt
    assert not re.search(r"\bConclude\b", txt)
    # the list's 打印通知书 opens it for the checked record
    _s, html = b.text("/cd_declaration/")
    assert 'data-suffix="/print/view?print=notices"' in html


# --- the exchange message ------------------------------------------------------------------
def test_the_message_is_the_decmessage_of_the_declaration(api, db):
    resp = api("enterprise1").get(f"{API}/{RELEASED}/message")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    root = etree.fromstring(resp.data)
    schema = etree.XMLSchema(etree.parse(SCHEMA_PATH))
    assert schema.validate(root), schema.error_log
    head = root.find(f"{NS}DecHead")
    assert head.findtext(f"{NS}SeqNo") == get(db, CdDeclaration, RELEASED).seq_no
    assert head.findtext(f"{NS}EntryId") == "900120260000123456"
    assert head.findtext(f"{NS}IEFlag") == "E"
    assert head.findtext(f"{NS}TradeCodeScc") == "91610131MA6W2K3L3A"
    assert head.findtext(f"{NS}OverseasConsigneeEname") == "MASCHINENHANDEL RUHR GMBH"
    goods = root.findall(f"{NS}DecLists/{NS}DecList")
    assert [g.findtext(f"{NS}CodeTS") for g in goods] == ["8458110000", "8466939000",
                                                           "8483409000"]
    assert goods[0].findtext(f"{NS}DeclTotal") == "77000"
    assert goods[0].findtext(f"{NS}FirstUnit") == "001"
    assert root.findtext(f"{NS}DecContainers/{NS}Container/{NS}ContainerId") == "TGHU1234567"
    assert root.findtext(f"{NS}DecFreeTxt/{NS}VoyNo") == "20261201"


def _import(b, data: bytes, filename: str):
    """The import page's answer — or, for a file over IMPORT_INLINE_BYTES, its job's page once
    the job has ended."""
    resp = b.post("/cd_declaration/import", data={"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")
    if resp.status_code == 302 and "/jobs/" in resp.headers["Location"]:
        _s, page = b.text(resp.headers["Location"])
        wait_job(b, page)
        return b.text(resp.headers["Location"])[1]
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _snapshot(db, pk):
    db.rollback()
    dec = db.get(CdDeclaration, pk)
    skip = {"status", "review_status", "decl_status", "preparer_name", "submitted_at",
            "reviewer_name", "reviewed_at", "declared_at", "sys_no", "decl_mode", "ent_category",
            "submitted_by_id",
            # numbered as a new draft: 导入 takes no number or date the system or customs give
            "seq_no", "pre_entry_no", "entry_id", "ie_date", "d_date"}
    head = {n: getattr(dec, n) for n in dec.meta().fields if n not in skip}
    lines = {t: [{n: getattr(line, n) for n in line.meta().fields}
                 for line in getattr(dec, t)] for t in ("goods", "documents", "containers")}
    return head, lines


def test_a_message_round_trip_gives_the_same_declaration(api, browser, db):
    for pk in (RELEASED, PASSED):  # an export with a container, an import with a document
        xml = api("enterprise1").get(f"{API}/{pk}/message").data
        before = _snapshot(db, pk)
        html = _import(browser("enterprise1"), xml, f"DecMessage-{pk}.xml")
        assert "导入成功：1 条" in html, html[:3000]
        db.rollback()
        new_id = db.scalar(select(func.max(CdDeclaration.id)))
        after = _snapshot(db, new_id)
        assert after[0] == before[0]
        assert after[1] == before[1]
        assert get(db, CdDeclaration, new_id).status == "draft"


def _new_declaration(api, user="enterprise1") -> dict:
    resp = api(user).post(f"{API}/", json=export_data())
    assert resp.status_code == 201, resp.get_data(as_text=True)[:2000]
    return resp.json["result"]


def test_an_imported_message_gets_numbers_of_its_own(api, browser, db):
    """导入 makes a new 暂存 of the importing company: what the system and customs give
    (统一编号, 预录入编号, 海关编号, 申报日期, 出口日期) is never taken from the file. A file naming
    the next 统一编号 once blocked every company's new declarations (409 「统一编号」… 已存在)."""
    last = _new_declaration(api)["seq_no"]
    named = last[:-13] + f"{int(last[-13:]) + 100:013d}"  # a number the system gives later
    xml = api("enterprise1").get(f"{API}/{RELEASED}/message").data
    assert b"<EntryId>" in xml and b"<PreEntryId>" in xml and b"<DDate>" in xml
    xml = re.sub(rb"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>{named}</SeqNo>".encode(), xml)
    seq_nos = []
    for _ in range(2):  # the same file twice: two drafts, each numbered as any new one
        html = _import(browser("enterprise1"), xml, "mine.xml")
        assert "导入成功：1 条" in html, html[:3000]
        db.rollback()
        dec = db.get(CdDeclaration, db.scalar(select(func.max(CdDeclaration.id))))
        assert dec.status == "draft"
        assert (dec.pre_entry_no, dec.entry_id, dec.d_date, dec.ie_date) == (None,) * 4
        seq_nos.append(dec.seq_no)
    assert named not in seq_nos and len(set(seq_nos)) == 2
    assert seq_nos[0] > last  # the next numbers the system gives, in turn
    assert _new_declaration(api, "enterprise2")["seq_no"] > seq_nos[1]


def test_an_imported_inventory_message_gets_numbers_of_its_own(api, browser, db):
    """The same for 核注清单: a 导入 InvtMessage carrying a 清单编号 made a draft that already had
    customs' number, and customs' 预审批通过 of another 核注清单 drawing it answered 409."""
    xml = api("enterprise1").get(f"/api/v1/cd_inventory/{INV_APPROVED}/message").data
    assert b"<BondInvtNo>" in xml
    xml = re.sub(rb"<SeqNo>[^<]*</SeqNo>", b"<SeqNo>Q2026000000000555</SeqNo>", xml)
    resp = browser("enterprise1").post(
        "/cd_inventory/import", data={"file": (io.BytesIO(xml), "InvtMessage.xml")},
        content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "导入成功：1 条" in html, html[:3000]
    db.rollback()
    inv = db.get(CdInventory, db.scalar(select(func.max(CdInventory.id))))
    assert inv.status == "draft" and inv.inv_no is None
    assert inv.seq_no != "Q2026000000000555"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE DecMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DecMessage xmlns="http://www.chinaport.gov.cn/dec"><DecHead><IEFlag>E</IEFlag>
<TradeName>&xxe;</TradeName></DecHead></DecMessage>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<DecMessage xmlns="http://www.chinaport.gov.cn/dec"><DecHead><IEFlag>E</IEFlag>
<NoteS>&lol2;</NoteS></DecHead></DecMessage>"""


@pytest.mark.parametrize("data, message", [
    (XXE, "报文不能包含 DOCTYPE 或实体声明（ENTITY），拒绝读取"),
    (XXE.decode().encode("utf-16"), "报文不能包含 DOCTYPE 或实体声明（ENTITY），拒绝读取"),
    (LAUGHS, "报文不能包含 DOCTYPE 或实体声明（ENTITY），拒绝读取"),
    (b"<DecMessage xmlns='http://www.chinaport.gov.cn/dec'><DecHead>", "报文不是格式正确的 XML"),
    (b"<Other/>", "不是报关单报文：根元素应为 DecMessage"),
    (b"<DecMessage xmlns='http://www.chinaport.gov.cn/dec'><DecHead><IEFlag>E</IEFlag>"
     b"<Password>x</Password></DecHead></DecMessage>", "报文不符合报文格式"),
    (b"<x>" + b"a" * (2 * 1024 * 1024) + b"</x>", "报文超过 2 MB，拒绝读取"),
])
def test_malformed_or_hostile_messages_are_refused(browser, db, data, message):
    before = _count(db)
    html = _import(browser("enterprise1"), data, "message.xml")
    assert message in html, html[-3000:]
    assert "root:" not in html and "lollol" not in html
    assert _count(db) == before


def test_a_message_of_another_company_is_not_imported(api, browser, db):
    xml = api("enterprise1").get(f"{API}/{RELEASED}/message").data
    seq_no = get(db, CdDeclaration, RELEASED).seq_no  # the demo's: E + the year it was loaded
    xml = xml.replace(f"<SeqNo>{seq_no}</SeqNo>".encode(), b"")
    assert b"<SeqNo>" not in xml
    before = _count(db)
    html = _import(browser("enterprise2"), xml, "foreign.xml")
    assert "报文的境内收发货人（统一社会信用代码 91610131MA6W2K3L3A）不是本企业，不能导入" in html
    assert _count(db) == before


# --- 导入 (xlsx) and 列表导出 ------------------------------------------------------------------
def _fill(template: bytes, heads, goods) -> bytes:
    wb = load_workbook(io.BytesIO(template))
    head_ws, goods_ws = wb.worksheets[0], wb.worksheets[1]
    names = [c.value for c in head_ws[2]]
    for row in heads:
        head_ws.append([row.get(n) for n in names])
    gnames = [c.value for c in goods_ws[2]]
    for row in goods:
        goods_ws.append([row.get(n) for n in gnames])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows(n: int):
    heads, goods = [], []
    for k in range(1, n + 1):
        data = export_data(bill_no=f"XAHB20261230{k:02d}")
        head = {key: v for key, v in data.items() if not isinstance(v, list)}
        head["_row"] = k
        heads.append(head)
        for g in data["goods"]:
            goods.append({**g, "_row": k})
    return heads, goods


def test_import_template_has_a_sheet_per_table_and_is_all_or_nothing(browser, db):
    b = browser("enterprise1")
    resp = b.get("/cd_declaration/import/template")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    assert [ws.title for ws in wb.worksheets] == ["报关单", "商品信息", "随附单证", "集装箱"]
    assert wb.worksheets[1]["A1"].value == "序号 *"
    heads, goods = _rows(3)
    goods[4]["decl_price"] = "abc"            # row 7 of the goods sheet: not a number
    goods[7]["g_unit"] = "XYZ"                # row 10: not a unit of measure
    heads[2]["owner_code_scc"] = "91610131MA6W2K3L3B"  # row 5 of the head sheet
    before, goods_before = _count(db), _count(db, CdGoods)
    html = _import(b, _fill(resp.data, heads, goods), "declarations.xlsx")
    assert "导入失败，没有导入任何数据" in html
    assert re.search(r"<td>商品信息</td><td>7</td><td><div>单价: 请输入数字</div>", html)
    assert re.search(r"<td>商品信息</td><td>10</td><td><div>成交计量单位: 「XYZ」不是有效的代码", html)
    assert re.search(r"<td>报关单</td><td>5</td><td><div>生产销售单位统一社会信用代码: "
                     r"统一社会信用代码格式或校验位错误", html)
    assert (_count(db), _count(db, CdGoods)) == (before, goods_before)
    heads, goods = _rows(3)
    html = _import(b, _fill(resp.data, heads, goods), "declarations.xlsx")
    assert "导入成功：3 条" in html
    assert (_count(db), _count(db, CdGoods)) == (before + 3, goods_before + 9)
    # lines that name a record the first sheet does not have
    heads, goods = _rows(1)
    goods[0]["_row"] = 9
    html = _import(b, _fill(resp.data, heads, goods), "declarations.xlsx")
    assert "序号 9 在第一个工作表中不存在" in html


def test_list_export_of_the_checked_rows_or_the_whole_filtered_list(browser, db):
    b = browser("enterprise1")
    resp = b.get(f"/cd_declaration/export?_ids={RELEASED},{DRAFT},{OTHER_DRAFT}")
    wb = load_workbook(io.BytesIO(resp.data))
    head = list(wb.worksheets[0].iter_rows(values_only=True))
    assert head[0][0] == "统一编号" and head[0][-1] == "序号"
    assert sorted(r[0] for r in head[1:]) == sorted(
        get(db, CdDeclaration, pk).seq_no for pk in (DRAFT, RELEASED))
    goods = list(wb.worksheets[1].iter_rows(values_only=True))
    assert wb.worksheets[1].title == "商品信息" and len(goods) == 1 + 6
    assert {r[0] for r in goods[1:]} == {1, 2}
    resp = b.get("/cd_declaration/export?kind=E_DEC&_searched=1")
    head = list(load_workbook(io.BytesIO(resp.data)).worksheets[0].iter_rows(values_only=True))
    assert len(head) == 1 + 4 and all(r[1] == "出口报关单" for r in head[1:])


# --- 生成报关单 from a 核注清单 ------------------------------------------------------------------
def test_generate_a_declaration_from_a_pre_approved_inventory(browser, api, db):
    b = browser("enterprise1")
    resp = b.post(f"/cd_inventory/{INV_APPROVED}/do/make_declaration")
    assert resp.status_code == 302
    m = re.search(r"/cd_declaration/(\d+)$", resp.headers["Location"])
    assert m, resp.headers["Location"]
    dec = get(db, CdDeclaration, int(m.group(1)))
    inv = get(db, CdInventory, INV_APPROVED)
    assert dec.inventory_id == inv.id and dec.inv_no == inv.inv_no
    # 清单编号: QD, 关区, the year's last two digits (the year the demo numbered it in, as its
    # 统一编号 Q + yyyy tells), I, a serial
    assert re.fullmatch(r"QD9001\d\dI\d{9}", inv.inv_no) and inv.inv_no[6:8] == inv.seq_no[3:5]
    assert (dec.kind, dec.manual_no, dec.trade_mode, dec.trade_country) == (
        "I_DEC", "C61012600001", "0615", "DEU")
    assert dec.company_id == inv.company_id and dec.status == "draft"
    g = dec.goods[0]
    assert (g.code_ts, g.g_qty, g.qty1, g.decl_total, g.contr_item, g.unit1) == (
        "8466939000", 300, 1500, 12600, 1, "035")
    assert dec.trade_name == "陕西秦川精密机械有限公司"
    # once only, and only from a pre-approved one
    c = api("enterprise1")
    resp = c.post(f"/api/v1/cd_inventory/{INV_APPROVED}/action/make_declaration", json={})
    assert resp.status_code == 422 and "该核注清单已生成报关单" in resp.json["message"]
    resp = c.post(f"/api/v1/cd_inventory/{INV_DRAFT}/action/make_declaration", json={})
    assert resp.status_code == 409
    assert api("enterprise2").post(f"/api/v1/cd_inventory/{INV_APPROVED}/action/"
                                   "make_declaration", json={}).status_code == 404
    # the inventory shows the declaration it generated
    _s, html = b.text(f"/cd_inventory/{INV_APPROVED}")
    assert "生成的报关单" in html and dec.seq_no in html


# --- the 商品综合分类表 loader -------------------------------------------------------------------
def test_load_the_hs_table_reporting_rows_it_cannot_read(app, db, tmp_path):
    path = tmp_path / "hs.csv"
    path.write_text(
        "商品编号,商品名称,法定第一单位,法定第二单位,监管条件,申报要素\n"
        "8458.1100.00,数控卧式车床（更新）,台,千克,AO,0:品牌类型;1:出口享惠情况;2:用途\n"
        "8461500000,锯床,001,035,O,0:品牌类型;1:出口享惠情况\n"
        "84615,短编码,001,,,\n"
        "8461909000,其他切削机床,千斤顶,,,\n"
        "8462109000,,001,,,\n", encoding="gb18030")
    result = app.test_cli_runner().invoke(args=["app", "load-hs", str(path)])
    assert result.exit_code == 0, result.output
    assert "商品综合分类表：新增 1 条，更新 1 条" in result.output
    assert "第 4 行未导入：商品编号「84615」应为 10 位数字" in result.output
    assert "第 5 行未导入：计量单位「千斤顶」不在计量单位代码表中" in result.output
    assert "第 6 行未导入：缺少商品名称" in result.output
    db.rollback()
    lathe = db.scalar(select(CdHsCode).where(CdHsCode.code_ts == "8458110000"))
    assert (lathe.g_name, lathe.unit1, lathe.unit2, lathe.control_mark) == (
        "数控卧式车床（更新）", "001", "035", "AO")
    assert db.scalar(select(CdHsCode).where(CdHsCode.code_ts == "8461500000")) is not None
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n1,2\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["app", "load-hs", str(bad)])
    assert "缺少列：商品编号、商品名称、法定第一单位" in result.output


def test_hs_codes_are_picked_from_four_digits(browser):
    b = browser("enterprise1")
    resp = b.get("/cd_declaration/pick/goods.code_ts?q=845")
    assert resp.json["results"] == []
    resp = b.get("/cd_declaration/pick/goods.code_ts?q=8458")
    values = [r["value"] for r in resp.json["results"]]
    assert "8458110000" in values and all(v.startswith("8458") for v in values)
    assert resp.json["results"][0]["fills"]["g_name"]


def test_an_empty_workbook_and_a_missing_sheet_are_reported(browser, db):
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    html = _import(browser("enterprise1"), buf.getvalue(), "empty.xlsx")
    assert "文件为空，请使用下载的 Excel 模板" in html
