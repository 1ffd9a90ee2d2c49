"""导入: from the downloadable Excel template, errors row by row, nothing half-imported."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from models.me_licence import MeProduct


def _fill(template: bytes, rows) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb.active
    names = [c.value for c in ws[2]]
    for row in rows:
        ws.append([row.get(n) for n in names])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(MeProduct))


def test_template_import_is_all_or_nothing(browser, db):
    com = browser("commerce1")
    resp = com.get("/me_product/import/template")
    assert resp.status_code == 200
    header = [c.value for c in openpyxl.load_workbook(io.BytesIO(resp.data)).active[1]]
    assert header[:3] == ["年度 *", "商品编码 *", "商品名称 *"]
    before = _count(db)
    bad = _fill(resp.data, [
        {"year": 2026, "hs_code": "8460290000", "name": "其他磨床", "unit": "001",
         "category": "A"},
        {"year": 2026, "hs_code": "84602", "name": "短编码", "unit": "001", "category": "A"},
        {"year": 2026, "hs_code": "8461500000", "name": "锯床", "unit": "XYZ", "category": "A"},
    ])
    resp = com.post("/me_product/import", data={"file": (io.BytesIO(bad), "catalogue.xlsx")},
                    content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert "导入失败，没有导入任何数据" in html
    assert "<td>4</td>" in html and "商品编码应为 10 位数字" in html
    assert "<td>5</td>" in html and "「XYZ」不是有效的代码" in html
    assert _count(db) == before
    good = _fill(com.get("/me_product/import/template").data, [
        {"year": 2026, "hs_code": "8460290000", "name": "其他磨床", "unit": "001",
         "category": "A"},
        {"year": 2026, "hs_code": "8461500000", "name": "锯床", "unit": "001", "category": "A"},
    ])
    resp = com.post("/me_product/import", data={"file": (io.BytesIO(good), "catalogue.xlsx")},
                    content_type="multipart/form-data")
    assert "导入成功：2 条" in resp.get_data(as_text=True)
    assert _count(db) == before + 2


def test_import_of_a_file_that_is_not_excel(browser):
    resp = browser("commerce1").post("/me_product/import", data={
        "file": (io.BytesIO(b"not excel"), "x.xlsx")}, content_type="multipart/form-data")
    assert "无法读取文件，请使用下载的 Excel 模板" in resp.get_data(as_text=True)


def test_enterprises_cannot_import_into_the_catalogue(browser):
    assert browser("enterprise1").get("/me_product/import").status_code == 403
