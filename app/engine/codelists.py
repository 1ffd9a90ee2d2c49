"""Code lists (关区, 国别, 币制, 监管方式 ...): one table, many lists, shared by every system.

Fields declare ``codelist="currency"``; the engine validates values against the list, renders
type-ahead selects (digits, letters or Chinese narrow the list; arrows + Enter pick) and shows
"code name" in lists and prints.  Lists are loaded from CSV files under data/codelists/ whose
origin is recorded in data/codelists/SOURCES.md.
"""

from __future__ import annotations

import csv
import os
import time

from flask import g, has_request_context
from flask_appbuilder import Model
from flask_babel import get_locale
from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import mapped_column


class CodeItem(Model):
    __tablename__ = "code_item"

    id = mapped_column(Integer, primary_key=True)
    list_name = mapped_column(String(40), nullable=False)
    code = mapped_column(String(40), nullable=False)
    name = mapped_column(String(200), nullable=False)
    name_en = mapped_column(String(200))
    # Free-form extra column some lists carry (e.g. the ISO code of a legacy currency code).
    extra = mapped_column(String(200))
    active = mapped_column(Boolean, nullable=False, default=True)
    sort = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        UniqueConstraint("list_name", "code", name="uq_code_item"),
        Index("ix_code_item_list", "list_name", "sort"),
    )

    def __repr__(self):
        return f"{self.code} {self.name}"


# Lists known to the product: name -> (label, csv file, code column, name column, en column)
LISTS: dict[str, dict] = {}


def register(name: str, label, filename: str | list[str] | None = None, *, code="code",
             zh="name_zh",
             en: str | None = "name_en", extra: str | None = None) -> None:
    LISTS[name] = {"label": label, "file": filename, "code": code, "zh": zh, "en": en,
                   "extra": extra}


_cache: dict[str, tuple[float, dict[str, CodeItem]]] = {}
_TTL = 30.0


def invalidate(name: str | None = None) -> None:
    if name is None:
        _cache.clear()
    else:
        _cache.pop(name, None)


def items(session, name: str) -> dict[str, dict]:
    """code -> {"code", "name", "name_en", "extra"} of the active items of a list (cached)."""
    hit = _cache.get(name)
    if hit and time.monotonic() - hit[0] < _TTL:
        return hit[1]
    rows = session.execute(
        select(CodeItem.code, CodeItem.name, CodeItem.name_en, CodeItem.extra)
        .where(CodeItem.list_name == name, CodeItem.active.is_(True))
        .order_by(CodeItem.sort, CodeItem.code)
    ).all()
    data = {r.code: {"code": r.code, "name": r.name, "name_en": r.name_en, "extra": r.extra}
            for r in rows}
    _cache[name] = (time.monotonic(), data)
    return data


def english() -> bool:
    """True while the request is in English: values that have an English form (code-list
    names, organisations' English names) show it."""
    if not has_request_context():
        return False
    loc = g.get("_cl_locale")
    if loc is None:
        loc = str(get_locale() or "zh_CN")
        g._cl_locale = loc
    return loc.startswith("en")


_english = english


def name_of(session, name: str, code) -> str:
    if code in (None, ""):
        return ""
    item = items(session, name).get(str(code))
    if item is None:
        return ""
    if english() and item.get("name_en"):
        return item["name_en"]
    return item["name"]


def display(session, name: str, code) -> str:
    if code in (None, ""):
        return ""
    label = name_of(session, name, code)
    return f"{code} {label}".strip() if label else str(code)


def search(session, name: str, q: str, limit: int = 20) -> list[dict]:
    """Type-ahead: codes starting with q first, then names / English names containing q."""
    q = (q or "").strip().lower()
    data = list(items(session, name).values())
    if not q:
        return data[:limit]
    first, second = [], []
    for it in data:
        code = it["code"].lower()
        if code.startswith(q):
            first.append(it)
        elif q in it["name"].lower() or q in (it.get("name_en") or "").lower():
            second.append(it)
        if len(first) >= limit:
            break
    return (first + second)[:limit]


def load_csv(session, name: str, path: str, start: int = 0) -> int:
    """(Re)load one list from its CSV file; existing codes are updated, none are deleted."""
    spec = LISTS[name]
    existing = {
        c.code: c for c in session.scalars(select(CodeItem).where(CodeItem.list_name == name))
    }
    n = 0
    with open(path, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=start):
            code = (row.get(spec["code"]) or "").strip()
            if not code:
                continue
            zh = (row.get(spec["zh"]) or "").strip()
            en = (row.get(spec["en"]) or "").strip() if spec["en"] else None
            extra = (row.get(spec["extra"]) or "").strip() if spec["extra"] else None
            item = existing.get(code)
            if item is None:
                item = CodeItem(list_name=name, code=code)
                session.add(item)
                existing[code] = item
            item.name, item.name_en, item.extra, item.sort, item.active = zh, en, extra, i, True
            n += 1
    invalidate(name)
    return n


def load_all(session, folder: str) -> dict[str, int]:
    counts = {}
    for name, spec in LISTS.items():
        files = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
        total = 0
        for f in files:
            if f and os.path.exists(os.path.join(folder, f)):
                total += load_csv(session, name, os.path.join(folder, f), start=total)
        counts[name] = total
    return counts
