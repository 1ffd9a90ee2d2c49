"""Diagnostics that are not part of the product: PDF font checks and a "what if" print setup.

``pdf_fonts(data)``   the fonts a PDF uses and whether a CJK font is embedded (pypdf).
``fixed_font_init``   a print-worker initializer that registers the CJK font with reportlab AND
                      tells xhtml2pdf about it (``xhtml2pdf.default.DEFAULT_FONT``), which the
                      engine's printing.py does not do (xhtml2pdf then falls back to Helvetica and
                      every Chinese character prints as a missing glyph).  Used only to measure
                      what correct printing costs; the engine files are not touched.
"""

from __future__ import annotations

import io


def pdf_fonts(data: bytes) -> dict:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    names, embedded = set(), set()
    for page in reader.pages:
        res = page.get("/Resources")
        if res is None:
            continue
        fonts = res.get_object().get("/Font")
        if fonts is None:
            continue
        for ref in fonts.get_object().values():
            f = ref.get_object()
            name = str(f.get("/BaseFont", "?"))
            names.add(name)
            desc = f.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in f:
                desc = f["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            if desc is not None:
                d = desc.get_object()
                if any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    embedded.add(name)
    cjk = {n for n in embedded if "WenQuanYi" in n or "wqy" in n.lower() or "+" in n}
    return {"fonts": sorted(names), "embedded": sorted(embedded), "cjk_embedded": bool(cjk)}


def map_font_for_xhtml2pdf(name: str) -> None:
    from xhtml2pdf.default import DEFAULT_FONT

    DEFAULT_FONT[name.lower()] = name


def fixed_font_init(paths) -> None:
    from app.engine import printing

    name = printing.register_font(paths)
    map_font_for_xhtml2pdf(name)
