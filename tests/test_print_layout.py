"""Prints keep every value inside its box, and are in one language: the user's.

For EVERY record type that declares a print — walked from ``app.engine.record.REGISTRY``, so a
record type added later is covered without touching this file — the test writes one record per
workflow state whose every field holds the widest value its column accepts: Chinese without a
single space (``cjk``) or one unbroken Latin token (``latin``: model numbers, e-mail addresses),
with several lines in every child table (and in theirs), the longest name of every code list,
each choice in turn (the longest first), the largest number, a long file name in every
attachment slot and long names for the organisations the record points to.  It prints them
through HTTP (批量打印, one PDF) as a user who may see them and checks the PDF with pdfplumber:

* every character box lies inside the table cell that contains it, and inside the page frame;
* no run of touching characters crosses a cell border (text that ran over into the next box);
* the Chinese print shows no raw code of a choice or a state (``sent`` must print 已发送海关);
* the English print has no Chinese text at all: its values are Latin, so any Chinese character
  is a label that was not translated.

How a record is built (``build_rows``): from the declarations alone — a field's column type and
length, its code list or choices, ``secret`` fields left empty; a required foreign key that is no
declared field (the owner: company_id, institution_id …) gets a new organisation.  A record type
that needs more (a required reference to another table, a value the print relies on) registers a
hook in ``PRINT_SETUP``: ``PRINT_SETUP["resource"] = fn(session, model, row, variant)``; it is
called for every row (record and child lines, ``model`` tells which) before the row is written
and may change the ``row`` dict.  None is needed today.

To look at the prints: PRINT_LAYOUT_DIR=/some/dir keeps each PDF there
(``pdftoppm -png -r 80 file.pdf page`` makes pictures of its pages).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import os
import re
from collections.abc import Callable

import pdfplumber
import pytest
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Text,
    insert,
    inspect,
    select,
)

import models  # noqa: F401 - every record type registers itself
from app.engine.record import REGISTRY

PRINT_SETUP: dict[str, Callable] = {}

TEXT_CHARS = 300        # Text columns have no limit: this many characters, several lines anywhere
LINES = 3               # lines per child table
SUB_LINES = 2           # lines per child table of a child line
CJK = "机电产品进口申请表装运前检验机构备案处置决定年度工作报告陕西秦川精密机械有限公司"
LATIN = "W"             # the widest Latin letter, repeated: one unbroken token
TOL = 0.6               # pt: a border is 0.6pt wide
PAGE_MARGIN_X = 1.3 / 2.54 * 72  # reports/_base.html: @page margin 1.3cm left and right
ORDER = ["enterprise1", "institution1", "customs1", "commerce1", "enterprise2",
         "institution2", "admin"]  # who prints: the first of these who may see the records


def _printed_types() -> list[str]:
    return sorted(res for res, model in REGISTRY.items()
                  if getattr(model.__dict__.get("Meta"), "print", None) is not None)


# --- widest values -----------------------------------------------------------------------
PLAIN_WORDS = ("Sample", "value", "north", "harbour", "machine", "works", "limited")
PLAIN_NUMBER = decimal.Decimal("12345678.25")  # an amount of eight digits: 19,600,000.00 JPY …


def _text(n: int, variant: str, k: int = 0) -> str:
    """n characters, the last ones telling record k from the others (unique columns)."""
    if variant == "plain":  # ordinary words (codes of a few letters in capitals), ≤ 40 chars
        if n < 8:
            return "ABCDEFGH"[:n - 1] + "ABCDEFGHJK"[k % 10] if n > 1 else "A"
        words, text = [*PLAIN_WORDS[:4], PLAIN_WORDS[4 + k % 3]], PLAIN_WORDS[0]
        for word in words[1:]:
            if len(text) + len(word) + 1 > min(n, 40) - 2:  # whole words, room for the tag
                break
            text = f"{text} {word}"
        return f"{text} {'ABCDEFGHJKLMNPQRSTUVXYZ'[k % 23]}"
    if variant == "cjk":
        body = (CJK * (n // len(CJK) + 1))[:n]
        tag = chr(0x4E00 + 37 * k)
    else:
        body = LATIN * n
        tag = "ABCDEFGHJKLMNPQRSTUVXYZ"[k % 23]
    return body[:-1] + tag if n > 1 else body


def _number(coltype, variant="widest"):
    if variant == "plain":  # a large but ordinary number that fits the column
        if isinstance(coltype, Numeric):
            digits = (coltype.precision or 18) - (coltype.scale or 0)
            value = min(PLAIN_NUMBER, decimal.Decimal(10) ** digits - 1)
            return value.quantize(decimal.Decimal(1).scaleb(-(coltype.scale or 0)))
        return 12345678
    if isinstance(coltype, Numeric):
        digits = (coltype.precision or 18) - (coltype.scale or 0)
        scale = coltype.scale or 0
        return -(decimal.Decimal(10) ** digits - decimal.Decimal(1).scaleb(-scale))
    return -2147483648


def _option(options, k):
    """Record k's choice: the one with the longest label first, then the others in turn (so
    a print's parts shown for one choice only — 限期整改's rectification — are printed too)."""
    ranked = sorted(options, key=lambda o: -len(str(o[1])))
    return ranked[k % len(ranked)][0] if ranked else None


def _widest_code(session, listname, variant):
    from app.engine import codelists

    items = codelists.items(session, listname).values()
    key = "name" if variant == "cjk" else "name_en"  # plain: English names
    return max(items, key=lambda i: len(i["code"]) + len(i[key] or i["name"]))["code"]


def _value(session, spec, coltype, variant, k):
    if spec.secret:
        return None
    if spec.codelist:
        return _widest_code(session, spec.codelist, variant)
    if spec.choices is not None:
        code = _option(spec.options(None), k)
        return int(code) if isinstance(coltype, Integer) and code is not None else code
    if isinstance(coltype, Boolean):
        return True
    if isinstance(coltype, DateTime):
        return dt.datetime(2026, 12, 31, 23, 59)
    if isinstance(coltype, Date):
        return dt.date(2026, 12, 31)
    if isinstance(coltype, (Numeric, Integer)):
        return _number(coltype, variant)
    if isinstance(coltype, String) and coltype.length:
        return _text(coltype.length, variant, k)
    if isinstance(coltype, (Text, String)):
        return _text(TEXT_CHARS, variant, k)
    return None


def _new_org(session, variant, k) -> int:
    from models.base import Organisation

    return session.execute(insert(Organisation).values(
        kind="company", name=_text(200, variant, k),
        name_en=_text(200, "plain" if variant == "plain" else "latin", k),
        address=_text(300, variant, k))).inserted_primary_key[0]


def _widen_orgs(session, variant, ids) -> None:
    """Organisations a record points to (检验机构 …) print by name: the longest name."""
    from sqlalchemy import update

    from models.base import Organisation

    for i in ids:
        session.execute(update(Organisation).where(Organisation.id == i).values(
            name=_text(200, variant, i),
            name_en=_text(200, "plain" if variant == "plain" else "latin", i)))


def _row(session, resource, model, variant, k, extra) -> dict:
    """The values of one new row of ``model``: the widest of every declared field."""
    table = model.__table__
    row = dict(extra)
    for name, spec in model.meta().fields.items():
        if name == "status" or name in row:
            continue
        value = _value(session, spec, table.c[name].type, variant, k)
        if value is not None:
            row[name] = value
    for col in table.columns:
        if col.name in row or col.nullable or col.primary_key or col.default is not None:
            continue
        if any(fk.column.table.name == "organisation" for fk in col.foreign_keys):
            row[col.name] = _new_org(session, variant, k)
        else:
            raise AssertionError(
                f"{model.__name__}.{col.name} is required and no declared field: register a "
                f"PRINT_SETUP hook for {resource!r} in tests/test_print_layout.py")
    hook = PRINT_SETUP.get(resource)
    if hook is not None:
        hook(session, model, row, variant)
    return row


def _insert_children(session, resource, model, pk, variant, depth=0) -> None:
    meta = model.meta()
    for cname in meta.children:
        cmodel = meta.child_model(cname)
        rel = inspect(cmodel).relationships[cmodel.__parent__]
        fk = next(iter(rel.local_columns)).name
        for k in range(LINES if depth == 0 else SUB_LINES):
            row = _row(session, resource, cmodel, variant, k, {fk: pk})
            cid = session.execute(insert(cmodel).values(row)).inserted_primary_key[0]
            _insert_children(session, resource, cmodel, cid, variant, depth + 1)


def _attach(session, model, pk, variant) -> None:
    from app.engine.attachments import Attachment

    for slot in model.meta().attachments:
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        session.execute(insert(Attachment).values(
            entity=model.meta().resource, record_id=pk, slot=slot.name,
            filename=_text(196, variant) + ".pdf", kind="pdf", size=len(data), data=data))


def build_rows(app, resource: str, variant: str) -> list[int]:
    """One record of ``resource`` per workflow state (one without a workflow), every field
    at its widest; returns their ids."""
    from app import db as _db

    model = REGISTRY[resource]
    with app.app_context():
        session = _db.session
        meta = model.meta()
        states = list(meta.workflow.states) if meta.workflow else [None]
        ids = []
        for k, state in enumerate(states):
            extra = {"status": state} if state else {}
            row = _row(session, resource, model, variant, k, extra)
            pk = session.execute(insert(model).values(row)).inserted_primary_key[0]
            _insert_children(session, resource, model, pk, variant)
            _attach(session, model, pk, variant)
            ids.append(pk)
        referenced = set()
        for name in meta.fields:
            col = model.__table__.c[name]
            if any(fk.column.table.name == "organisation" for fk in col.foreign_keys):
                referenced.update(session.scalars(select(col).where(model.id.in_(ids))))
        _widen_orgs(session, variant, referenced - {None})
        session.commit()
        session.remove()
    return ids


def viewer(app, resource: str, ids: list[int]) -> str:
    """The first demo user who may see every one of the records."""
    from app import db as _db
    from app.engine import policy
    from models.base import AppUser

    model = REGISTRY[resource]
    with app.app_context():
        session = _db.session
        try:
            for username in ORDER:
                user = session.scalar(select(AppUser).where(AppUser.username == username))
                actor = policy.actor_for_user(user)
                seen = session.scalars(select(model.id).where(
                    model.id.in_(ids), policy.scope(model, actor))).all()
                if len(seen) == len(ids):
                    return username
        finally:
            session.remove()
    raise AssertionError(f"no demo user may see every {resource} record {ids}")


# --- reading the PDF ----------------------------------------------------------------------
def _cells(page):
    cells = []
    for table in page.find_tables():
        cells.extend(c for c in table.cells if c is not None)
    return cells


def _cell_of(cells, ch):
    cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
    best = None
    for c in cells:
        if c[0] <= cx <= c[2] and c[1] <= cy <= c[3]:
            if best is None or (c[2] - c[0]) * (c[3] - c[1]) < (best[2] - best[0]) * (
                    best[3] - best[1]):
                best = c
    return best


def _inside(ch, box) -> bool:
    return (ch["x0"] >= box[0] - TOL and ch["x1"] <= box[2] + TOL
            and ch["top"] >= box[1] - TOL and ch["bottom"] <= box[3] + TOL)


def _overlaps(ch, box) -> bool:
    return (min(ch["x1"], box[2]) - max(ch["x0"], box[0]) > TOL
            and min(ch["bottom"], box[3]) - max(ch["top"], box[1]) > TOL)


def _say(ch) -> str:
    return f"{ch['text']!r} at x {ch['x0']:.1f}–{ch['x1']:.1f}, y {ch['top']:.1f}"


def layout_problems(data: bytes) -> tuple[list[str], str]:
    """What is drawn outside its box, and the text of the PDF (one line per printed line)."""
    found: dict[tuple, list] = {}  # (page, what, line) -> the characters
    text: list[str] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for no, page in enumerate(pdf.pages, 1):
            cells = _cells(page)
            where = {}
            for ch in page.chars:
                if not ch["text"].strip():
                    continue
                box = where[id(ch)] = _cell_of(cells, ch)
                what = None
                if not (PAGE_MARGIN_X - TOL <= ch["x0"] and ch["x1"] <= page.width
                        - PAGE_MARGIN_X + TOL and 0 <= ch["top"] and ch["bottom"] <=
                        page.height):
                    what = "is outside the page frame"
                elif box is not None and not _inside(ch, box):
                    what = f"leaves its cell {tuple(round(v) for v in box)}"
                elif box is None and any(_overlaps(ch, c) for c in cells):
                    what = "is drawn over a cell"
                if what:
                    found.setdefault((no, what, round(ch["top"])), []).append(ch["text"])
            # A run of touching characters on one line is one text: it stays in one cell.
            lines: dict[float, list] = {}
            for ch in page.chars:
                lines.setdefault(round(ch["bottom"], 1), []).append(ch)
            for _y, line in sorted(lines.items()):
                line.sort(key=lambda c: c["x0"])
                text.append("".join(c["text"] for c in line))
                run = [line[0]]
                for ch in [*line[1:], None]:
                    if ch is not None and ch["x0"] - run[-1]["x1"] < 1.5:
                        run.append(ch)
                        continue
                    if len({where[id(c)] for c in run if id(c) in where}) > 1:
                        found[(no, "runs across a cell border", round(run[0]["top"]))] = [
                            c["text"] for c in run]
                    run = [ch]
    problems = [f"page {no}, y {y}: {''.join(chars)[:50]!r} {what}"
                for (no, what, y), chars in found.items()]
    if len(problems) > 25:
        problems = problems[:25] + [f"… and {len(problems) - 25} more"]
    return problems, "\n".join(text)


def print_pdf(browser, resource, ids, username, lang) -> bytes:
    b = browser(username)
    if lang != "zh_CN":
        assert b.get(f"/lang/{lang}").status_code == 302
    resp = b.get(f"/{resource}/print?ids={','.join(map(str, ids))}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.data.startswith(b"%PDF")
    if os.environ.get("PRINT_LAYOUT_DIR"):  # to look at the prints: pdftoppm -png -r 80 …
        path = os.path.join(os.environ["PRINT_LAYOUT_DIR"], f"{resource}-{lang}.pdf")
        with open(path, "wb") as fh:
            fh.write(resp.data)
    return resp.data


def raw_codes(resource) -> set[str]:
    """Codes of the choices and states of a record type that are words (sent, not_recognised,
    approved …): a print shows their labels, so none of them may appear in its text."""
    model = REGISTRY[resource]
    meta = model.meta()
    codes = set()
    models_ = [model]
    while models_:
        m = models_.pop()
        for spec in m.meta().fields.values():
            if spec.choices is not None and not callable(spec.choices):
                codes.update(str(c) for c, _label in spec.choices)
        models_.extend(m.meta().child_model(c) for c in m.meta().children)
    if meta.workflow is not None:
        codes.update(meta.workflow.states)
    return {c for c in codes if re.fullmatch(r"[a-z][a-z_]{2,}", c)}


CJK_CHAR = re.compile(r"[\u3001-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]")


# --- the tests ------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", _printed_types())
def test_long_chinese_values_stay_in_their_boxes(app, browser, resource):
    ids = build_rows(app, resource, "cjk")
    data = print_pdf(browser, resource, ids, viewer(app, resource, ids), "zh_CN")
    problems, text = layout_problems(data)
    assert not problems, f"{resource}: text outside its box:\n" + "\n".join(problems)
    # The long values are there (a print that dropped them would pass the layout check).
    assert _text(40, "cjk")[:20] in text.replace("\n", "")
    shown = [c for c in raw_codes(resource)
             if re.search(rf"(?<![A-Za-z_]){c}(?![A-Za-z_])", text)]
    assert not shown, f"{resource}: raw codes printed instead of their labels: {shown}"


@pytest.mark.parametrize("resource", _printed_types())
def test_english_print_is_all_english_and_long_tokens_wrap(app, browser, resource):
    ids = build_rows(app, resource, "latin")
    data = print_pdf(browser, resource, ids, viewer(app, resource, ids), "en")
    problems, text = layout_problems(data)
    assert not problems, f"{resource}: text outside its box:\n" + "\n".join(problems)
    assert LATIN * 20 in text.replace("\n", "")
    chinese = sorted({line.strip() for line in text.splitlines() if CJK_CHAR.search(line)})
    assert not chinese, f"{resource}: Chinese on the English print:\n" + "\n".join(chinese)
