"""列表导出 writes numbers as numbers and dates as dates (Excel sums and sorts them), each with
the number format that shows it as the screens do (77,000.00 · 8,600 · 95.5 · 2026-12-07
13:43); code lists, choices, 是/否 and the status stay their labels.  导入 reads such cells back."""

from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import load_workbook
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, inspect, select

from demo.customs_declaration import export_data

RELEASED = 5  # enterprise1's released export declaration: 数控卧式车床 2 台 8,600 千克 77,000.00
FORMATS = {"yyyy-mm-dd": "%Y-%m-%d", "yyyy-mm-dd hh:mm": "%Y-%m-%d %H:%M"}


def _shown(cell) -> str:
    """A cell as Excel shows it, for the number formats an export writes."""
    v, fmt = cell.value, cell.number_format
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime(FORMATS[fmt])
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if fmt in ("0", "General"):
            assert float(v).is_integer(), (v, fmt)
            return str(int(v))
        m = re.fullmatch(r"#,##0(?:\.(0+))?", fmt)
        assert m, fmt
        return f"{v:,.{len(m.group(1) or '')}f}"
    return v


def _typed(model, name) -> bool:
    """A column exported as a number or a date: an integer, a decimal, a date or a time shown
    as itself (not a code list's, a choice's or a computed text)."""
    meta = model.meta()
    spec = meta.fields.get(name)
    if name == "status" or name not in inspect(model).columns:
        return False
    if spec is not None and (spec.codelist or spec.choices is not None or spec.secret
                             or spec.display_fn is not None):
        return False
    coltype = meta.column_type(name)
    return not isinstance(coltype, Boolean) and isinstance(coltype, (Integer, Numeric, Date,
                                                                       DateTime))


def _sheets(data: bytes):
    """The rows below the header of each sheet."""
    wb = load_workbook(io.BytesIO(data))
    return [list(ws.iter_rows(min_row=2)) for ws in wb.worksheets]


def test_the_declaration_export_holds_numbers_and_dates(browser):
    b = browser("enterprise1")
    wb = load_workbook(io.BytesIO(b.get(f"/cd_declaration/export?_ids={RELEASED}").data))
    head, goods = (list(ws.iter_rows(min_row=2)) for ws in wb.worksheets[:2])
    assert len(head) == 1
    updated = head[0][-2]  # 最近操作时间
    assert isinstance(updated.value, dt.datetime) and updated.number_format == "yyyy-mm-dd hh:mm"
    assert isinstance(head[0][-1].value, int)  # 序号
    assert all(c.data_type == "s" for c in head[0][:-2])  # numbers, kinds, states: text
    lathe = next(r for r in goods if r[4].value == "数控卧式车床")
    cells = {c.value: cell for c, cell in zip(wb.worksheets[1][1], lathe, strict=True)}
    assert (cells["成交数量"].value, _shown(cells["成交数量"])) == (2, "2")
    assert (cells["法定第二数量"].value, _shown(cells["法定第二数量"])) == (8600, "8,600")
    assert (cells["单价"].value, _shown(cells["单价"])) == (38500, "38,500")
    assert (cells["总价"].value, _shown(cells["总价"])) == (77000, "77,000.00")
    assert cells["成交计量单位"].value == "001 台" and cells["币制"].value == "USD 美元"
    assert cells["商品状态"].value == "新"
    parts = next(r for r in goods if r[4].value == "其他机床用零件、附件")
    price = parts[list(cells).index("单价")]
    assert (price.value, _shown(price)) == (95.5, "95.5")


def test_every_record_types_export_reads_as_its_list(app, api, browser):
    """Each record type's export, its lines' sheets included: a number or a date column holds
    the value (never its text) and shows what the screens show; every other column the
    screen's text."""
    from app import db as _db
    from app.engine import present
    from app.engine.exporting import child_tables
    from app.engine.record import REGISTRY

    c, b = api("admin"), browser("admin")
    typed = 0
    for resource, model in REGISTRY.items():
        listed = c.get(f"/api/v1/{resource}/")
        if listed.status_code != 200:
            continue
        for pk in listed.json["ids"][:3]:
            resp = b.get(f"/{resource}/export?_ids={pk}")
            assert resp.status_code == 200, resource
            sheets = _sheets(resp.data)
            with app.test_request_context():
                session = _db.session
                rec = session.get(model, pk)
                expected = [[(present.cell(session, rec, col), _typed(model, col))
                             for col in model.meta().list_columns]]
                for name, cmodel in child_tables(model):
                    expected.append([
                        [(present.cell(session, line, col), _typed(cmodel, col))
                         for col in cmodel.meta().fields]
                        for line in sorted(getattr(rec, name), key=lambda x: x.id)])
                _db.session.remove()
            row = sheets[0][0]
            for cell, (text, is_typed) in zip(row, expected[0], strict=False):
                typed += _check(resource, cell, text, is_typed)
            for sheet, lines in zip(sheets[1:], expected[1:], strict=True):
                assert len(sheet) == len(lines), resource
                for row, line in zip(sheet, lines, strict=True):
                    for cell, (text, is_typed) in zip(row[1:], line, strict=True):
                        typed += _check(resource, cell, text, is_typed)
    assert typed > 100


def _check(resource, cell, text, is_typed) -> int:
    if is_typed and text:
        assert cell.data_type in ("n", "d") and not isinstance(cell.value, str), (
            resource, cell.coordinate, cell.value)
        assert _shown(cell) == text, (resource, cell.coordinate, cell.value,
                                      cell.number_format, text)
        return 1
    assert (cell.value or "") == text, (resource, cell.coordinate, cell.value, text)
    return 0


def test_an_exported_number_imports_back(browser, db):
    """The goods' numbers of an export, as Excel holds them (38500, 95.5 — and a total
    Excel worked out, 77000.00000000001), imported through the template: the same numbers."""
    from models.customs_declaration import CdDeclaration

    b = browser("enterprise1")
    wb = load_workbook(io.BytesIO(b.get(f"/cd_declaration/export?_ids={RELEASED}").data))
    goods_ws = wb.worksheets[1]
    labels = [c.value for c in goods_ws[1]]
    exported = {r[labels.index("商品名称")]: r for r in goods_ws.iter_rows(min_row=2,
                                                                        values_only=True)}
    template = load_workbook(io.BytesIO(b.get("/cd_declaration/import/template").data))
    head_ws, lines_ws = template.worksheets[0], template.worksheets[1]
    names, gnames = [c.value for c in head_ws[2]], [c.value for c in lines_ws[2]]
    glabels = {n: str(c.value).rstrip(" *") for n, c in zip(gnames, lines_ws[1], strict=True)}
    data = export_data(bill_no="XAHB2026123101")
    head_ws.append([{**data, "_row": 1}.get(n) for n in names])
    numbers = ("g_qty", "qty1", "qty2", "decl_price", "decl_total")
    sent = []
    for g in data["goods"]:
        row = exported[g["g_name"]]
        line = dict(g, _row=1, **{n: row[labels.index(glabels[n])] for n in numbers})
        assert all(isinstance(line[n], (int, float)) for n in numbers if line[n] is not None)
        sent.append(line)
        lines_ws.append([line.get(n) for n in gnames])
    lathe = next(i for i, g in enumerate(sent) if g["g_name"] == "数控卧式车床")
    lines_ws.cell(row=3 + lathe, column=gnames.index("decl_total") + 1, value=77000 + 1e-11)
    buf = io.BytesIO()
    template.save(buf)
    resp = b.post("/cd_declaration/import", data={"file": (io.BytesIO(buf.getvalue()),
                                                           "declarations.xlsx")},
                  content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert "导入成功：1 条" in page, re.findall(r"<td><div>([^<]*)</div>", page)
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.bill_no == "XAHB2026123101"))
    got = {g.g_name: g for g in dec.goods}
    for line in sent:
        for n in numbers:
            want = line[n]
            value = getattr(got[line["g_name"]], n)
            assert (value is None) if want is None else value == type(value)(str(want)), (
                line["g_name"], n, value, want)
