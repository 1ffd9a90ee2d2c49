"""打印 / 批量打印: PDFs with embedded Chinese font, one document for many records."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pypdf import PdfReader

from models.me_licence import LicenceApplication

from .helpers import get

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="poppler-utils is installed by bin/test")


def _pdf(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    return resp.data


@needs_poppler
def test_licence_application_prints_with_embedded_chinese_font(browser, db, tmp_path):
    data = _pdf(browser("enterprise1").get("/me_licence_application/3/print"))
    path = tmp_path / "a.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    lic = get(db, LicenceApplication, 3)
    assert "机电产品进口申请表" in text
    assert lic.application_no in text and lic.licence_no in text
    assert "立式加工中心" in text and "VMC850B" in text and "陕西秦川精密机械有限公司" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout
    wqy = [line for line in fonts.splitlines() if "WenQuanYi" in line or "wqy" in line.lower()]
    assert wqy and all(" yes " in line for line in wqy), fonts


def test_batch_print_is_one_pdf_with_a_page_per_record(browser):
    data = _pdf(browser("enterprise1").get("/me_licence_application/print?ids=1,3,5"))
    import io

    assert len(PdfReader(io.BytesIO(data)).pages) == 3


def test_every_state_prints(browser):
    b = browser("enterprise1")
    for pk in (1, 2, 3, 4):
        _pdf(b.get(f"/me_licence_application/{pk}/print"))


def test_print_through_the_api(api):
    c = api("commerce1")
    _pdf(c.get("/api/v1/me_licence_application/3/print"))
    import io

    data = _pdf(c.get("/api/v1/me_licence_application/print?ids=2,3"))
    assert len(PdfReader(io.BytesIO(data)).pages) == 2
    assert c.get("/api/v1/me_licence_application/print").status_code == 400


def test_batch_print_of_nothing_asks_for_a_selection(browser):
    resp = browser("enterprise1").get("/me_licence_application/print")
    assert resp.status_code == 302


def _frame_src(html: str) -> str:
    import html as html_mod
    import re

    m = re.search(r'<iframe class="print-frame" src="([^"]+)"', html)
    assert m, html[:2000]
    return html_mod.unescape(m.group(1))


def test_a_print_shows_in_the_work_area_and_only_the_app_may_frame_the_pdf(browser):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/3/print/view")
    assert status == 200
    assert _frame_src(html) == "/me_licence_application/3/print"
    assert 'id="sidebar"' in html and "下载 PDF" in html and "打印 机电产品进口申请表" in html
    assert 'href="/me_licence_application/3"' in html            # 返回 to the record
    # the record's form offers its print there, in the same tab of the workspace
    _s, form = b.text("/me_licence_application/3")
    assert 'href="/me_licence_application/3/print/view"' in form
    assert 'print_one' not in form and 'target="_blank" title="打印' not in form
    # the PDF may be framed by the app's pages only; every other answer by nobody
    pdf = b.get("/me_licence_application/3/print")
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    page = b.get("/me_licence_application/3/print/view")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_the_checked_records_print_in_the_work_area(browser, app):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/print/view?ids=1,3,5")
    assert status == 200 and "共 3 份" in html
    src = _frame_src(html)
    assert src.startswith("/me_licence_application/print?ids=1")
    import io

    assert len(PdfReader(io.BytesIO(_pdf(b.get(src)))).pages) == 3
    # nothing checked: the list says so; too many for one answer: the background job
    assert b.get("/me_licence_application/print/view").headers["Location"].endswith(
        "/me_licence_application/print?ids=")
    app.config["PRINT_INLINE_RECORDS"] = 2
    resp = b.get("/me_licence_application/print/view?ids=1,3,5")
    assert resp.status_code == 302 and "/print?ids=1" in resp.headers["Location"]


def test_a_print_of_another_company_or_an_unknown_print_is_not_found(browser):
    other = browser("enterprise2")
    assert other.get("/me_licence_application/3/print/view").status_code == 404
    assert other.get("/me_licence_application/print/view?ids=3").status_code == 404
    ent = browser("enterprise1")
    assert ent.get("/me_licence_application/3/print/view?print=nothing").status_code == 404
    assert ent.get("/me_licence_application/999999/print/view").status_code == 404
    # a record type without a print has no print view
    assert ent.get("/me_enterprise_filing/1/print/view?print=notices").status_code == 404


def test_a_declarations_notices_print_in_the_work_area(browser):
    b = browser("enterprise1")
    status, html = b.text("/cd_declaration/6/print/view?print=notices")
    assert status == 200, html[:500]
    assert _frame_src(html) == "/cd_declaration/6/print/notices" and "海关通知书" in html
    assert _pdf(b.get("/cd_declaration/6/print/notices"))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_declaration_of_three_goods_lines_prints_on_one_page_in_either_language(
        browser, db, lang):
    """The 报关单 is a one-page form: with three goods lines the English print kept its
    signature row for a second page (longer code names wrapped in narrow boxes)."""
    import io

    from models.customs_declaration import CdDeclaration

    dec = get(db, CdDeclaration, 5)
    assert len(dec.goods) == 3
    b = browser("enterprise1")
    if lang != "zh_CN":
        assert b.get(f"/lang/{lang}").status_code == 302
    resp = b.get(f"/cd_declaration/{dec.id}/print")
    assert resp.status_code == 200
    pdf = PdfReader(io.BytesIO(resp.data))
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert ("Customs endorsement and seal" if lang == "en" else "海关批注及签章") in text
