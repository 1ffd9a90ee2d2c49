"""Prints never break a number or an English word in two, with ordinary values.

test_print_layout fills every field at its widest, where a box must break even a number to keep
it inside.  Here every record type that declares a print gets ORDINARY values, as the demo and
the users have them — an amount of eight digits (12,345,678.25: 19,600,000.00 JPY on a licence
is common), short English words, code lists by their English names — printed in both languages
through HTTP (批量打印), and the PDF's words (pdfplumber) are checked:

* a number is printed whole on one line: no word is a piece of it (``12,345,678.`` above
  ``25``);
* in English, every word is a word of the English catalogue, of a code list's English names or
  of the test's own values: ``Cur`` + ``rency`` or ``Guanzhon`` + ``g`` is a word broken in a
  narrow box;
* in English a number is not glued to the word after it (``8,600kilogram``).
"""

from __future__ import annotations

import re
from functools import cache

import pdfplumber
import pytest
from babel.messages.pofile import read_po

from app.engine import present
from app.engine.record import REGISTRY

from .test_print_layout import (
    PLAIN_NUMBER,
    PLAIN_WORDS,
    _printed_types,
    build_rows,
    print_pdf,
    viewer,
)

TOKEN = re.compile(r"[A-Za-z]+")
GLUED = re.compile(r"\d[a-z]")


def _numbers(resource) -> set[str]:
    """The texts the ordinary numbers of a record type print as (12,345,678.25, 12345678 …)."""
    from sqlalchemy import Integer, Numeric

    from .test_print_layout import _number

    texts = set()
    models_ = [REGISTRY[resource]]
    while models_:
        model = models_.pop()
        for name in model.meta().fields:
            coltype = model.__table__.c[name].type
            if isinstance(coltype, (Numeric, Integer)):
                value = _number(coltype, "plain")
                texts.add(present.display(None, None, value, coltype=coltype))
        models_.extend(model.meta().child_model(c) for c in model.meta().children)
    texts.add(present.fmt_decimal(PLAIN_NUMBER, 2))
    return {t for t in texts if len(t) >= 4}


@cache
def _english_words() -> frozenset[str]:
    words = {w.lower() for w in PLAIN_WORDS}
    with open("i18n/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        for message in read_po(fh, locale="en"):
            for text in message.string if isinstance(message.string, tuple) else [
                    message.string]:
                words.update(t.lower() for t in TOKEN.findall(text or ""))
    return frozenset(words)


def _codelist_words(app) -> set[str]:
    from app import db
    from app.engine.codelists import CodeItem

    with app.app_context():
        names = db.session.scalars(db.select(CodeItem.name_en)).all()
        db.session.remove()
    return {t.lower() for n in names if n for t in TOKEN.findall(n)}


def _words(data: bytes) -> list[tuple[int, str]]:
    with pdfplumber.open(__import__("io").BytesIO(data)) as pdf:
        return [(no, w["text"]) for no, page in enumerate(pdf.pages, 1)
                for w in page.extract_words(x_tolerance=1.5)]


def _report(found: dict[str, set[int]]) -> str:
    return "\n".join(f"{what} (page {', '.join(map(str, sorted(pages)))})"
                     for what, pages in sorted(found.items()))


def _broken_numbers(words, numbers) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for no, w in words:
        for n in numbers:
            if w not in numbers and len(w) >= 3 and (n.startswith(w) or n.endswith(w)):
                found.setdefault(f"{w!r} is a piece of {n!r}", set()).add(no)
    return found


@pytest.mark.parametrize("resource", _printed_types())
def test_ordinary_numbers_print_whole(app, browser, resource):
    ids = build_rows(app, resource, "plain")
    numbers = _numbers(resource)
    for lang in ("zh_CN", "en"):
        words = _words(print_pdf(browser, resource, ids, viewer(app, resource, ids), lang))
        broken = _broken_numbers(words, numbers)
        assert not broken, f"{resource} ({lang}): a number broken in two:\n" + _report(broken)


@pytest.mark.parametrize("resource", _printed_types())
def test_english_print_breaks_no_word(app, browser, resource):
    ids = build_rows(app, resource, "plain")
    known = _english_words() | _codelist_words(app)
    words = _words(print_pdf(browser, resource, ids, viewer(app, resource, ids), "en"))
    unknown: dict[str, set[int]] = {}
    glued: dict[str, set[int]] = {}
    for no, w in words:
        for t in TOKEN.findall(w):
            if len(t) > 1 and not t.isupper() and t.lower() not in known:
                unknown.setdefault(f"{t!r} in {w!r}", set()).add(no)
        if GLUED.search(w):
            glued.setdefault(repr(w), set()).add(no)
    assert not unknown, f"{resource}: words broken (or untranslated):\n" + _report(unknown)
    assert not glued, f"{resource}: a number glued to the word after it:\n" + _report(glued)


@pytest.mark.parametrize("rights, word", [(True, "Yes"), (False, "No")])
def test_trading_rights_print_as_yes_or_no_in_english(app, browser, rights, word):
    """进出口经营权 有/无 is Yes/No in English (无 alone is "none" elsewhere)."""
    from app import db
    from models.me_licence import MeEnterpriseFiling as EnterpriseFiling

    with app.app_context():
        filing = db.session.scalars(db.select(EnterpriseFiling).order_by(
            EnterpriseFiling.id)).first()
        filing.has_trading_rights = rights
        pk = filing.id
        db.session.commit()
        db.session.remove()
    words = [w for _no, w in _words(print_pdf(
        browser, "me_enterprise_filing", [pk], viewer(app, "me_enterprise_filing", [pk]), "en"))]
    label = ["Import", "and", "export"]  # "rights" wraps onto the box's next line
    after = [words[i + 3] for i in range(len(words) - 3) if words[i:i + 3] == label]
    assert after == [word]
