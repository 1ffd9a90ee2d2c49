"""Print views: a declared Jinja template in reports/ rendered to PDF by xhtml2pdf.

Chinese text is set in WenQuanYi Zen Hei (Debian fonts-wqy-zenhei), registered with reportlab
and embedded in the PDF.  Without that font the PDF still prints, with reportlab's built-in CID
font STSong-Light (not embedded: the reader supplies the glyphs) and a logged warning.

xhtml2pdf renders one document at a time per process, so a large 批量打印 is split into chunks
rendered by worker processes and merged into one PDF.
"""

from __future__ import annotations

import io
import logging
import os
import re
from concurrent.futures import ProcessPoolExecutor

from flask import current_app, render_template

from .attachments import list_for
from .record import now

log = logging.getLogger(__name__)

FONT_NAME = "wqy"
FALLBACK_FONT = "STSong-Light"
_font: str | None = None
_pool: ProcessPoolExecutor | None = None
PARALLEL_FROM = 24  # records; below this one process is faster than starting workers
CHUNK = 25


def register_font(paths: list[str]) -> str:
    """Register the CJK font once per process; returns the family name to use in CSS."""
    global _font
    if _font is not None:
        return _font
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for path in paths:
        if os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
                from reportlab.lib.fonts import addMapping

                for bold in (0, 1):
                    for italic in (0, 1):
                        addMapping(FONT_NAME, bold, italic, FONT_NAME)
                _font = _known_to_xhtml2pdf(FONT_NAME)
                return _font
            except Exception as e:  # noqa: BLE001 - a broken font file must not stop printing
                log.warning("could not load font %s: %s", path, e)
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    log.warning("CJK font not found in %s: printing with the non-embedded %s", paths,
                FALLBACK_FONT)
    _font = _known_to_xhtml2pdf(FALLBACK_FONT)
    return _font


def _known_to_xhtml2pdf(name: str) -> str:
    """xhtml2pdf resolves CSS font-family names through its own table, not reportlab's."""
    from xhtml2pdf import default

    default.DEFAULT_FONT[name.lower()] = name
    return name


def font_name() -> str:
    return register_font(current_app.config.get("PRINT_FONT_PATHS", []))


_user_agent_css: dict[str, str] = {}


def user_agent_css() -> str:
    """<REPORTS_DIR>/_user_agent.css: xhtml2pdf's default stylesheet cut to the elements the
    print templates use, instead of the whole one parsed again for every document."""
    path = os.path.join(current_app.config["REPORTS_DIR"], "_user_agent.css")
    css = _user_agent_css.get(path)
    if css is None:
        with open(path, encoding="utf-8") as fh:
            css = _user_agent_css[path] = fh.read()
    return css


def html_to_pdf(html: str, default_css: str | None = None) -> bytes:
    from xhtml2pdf import pisa

    buf = io.BytesIO()
    status = pisa.CreatePDF(html, dest=buf, encoding="utf-8", default_css=default_css)
    if status.err:
        raise RuntimeError(f"PDF rendering failed ({status.err} errors)")
    return buf.getvalue()


def _worker_init(paths):
    register_font(paths)


def _pool_for(paths) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        import multiprocessing

        workers = max(1, min(4, os.cpu_count() or 1))
        _pool = ProcessPoolExecutor(max_workers=workers,
                                    mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_worker_init, initargs=(paths,))
    return _pool


def merge(pdfs: list[bytes]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for data in pdfs:
        writer.append(io.BytesIO(data))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# Whitespace between table tags (the templates' indentation) renders as nothing, but xhtml2pdf
# walks every such text node; dropping them leaves the PDF pixel-identical and ~3 % faster.
_TABLE_GAPS = re.compile(r"(</?(?:tr|td|th|table)\b[^>]*>)\s+(?=</?(?:tr|td|th|table)\b)")


def render_html(template: str, records: list, **context) -> str:
    """The HTML of a print.  Templates get, besides the caller's context (``present``,
    ``session`` …): ``records``, ``font``, ``printed_at`` and ``files(record, slot=None)``, the
    names of a record's attachments (随附单据, 检验结果 …)."""
    session = context.get("session")

    def files(record, slot=None) -> list[str]:
        return [a.filename for a in list_for(session, record, slot)] if session else []

    html = render_template(f"reports/{template}", records=records, font=font_name(),
                           printed_at=now().strftime("%Y-%m-%d %H:%M"), files=files,
                           **context)
    return _TABLE_GAPS.sub(r"\1", html)


def render(template: str, records: list, **context) -> bytes:
    """One PDF of one or many records (批量打印 = one document)."""
    font_name()
    css = user_agent_css()
    if len(records) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return html_to_pdf(render_html(template, records, **context), css)
    chunks = [records[i:i + CHUNK] for i in range(0, len(records), CHUNK)]
    htmls = [render_html(template, chunk, **context) for chunk in chunks]
    pool = _pool_for(current_app.config.get("PRINT_FONT_PATHS", []))
    return merge(list(pool.map(html_to_pdf, htmls, [css] * len(htmls))))
