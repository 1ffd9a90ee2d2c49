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
