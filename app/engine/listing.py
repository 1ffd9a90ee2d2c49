"""How records are listed and searched: one query builder for screens, API, export, print.

- Scope first: every query starts from ``policy.scope`` — a row outside it is never read.
- Search fields as declared (contains / exact / prefix / date range / status / code list).
- Keyset paging ("seek method"): a page is ``WHERE (sort, id) < (last seen) ORDER BY sort, id
  LIMIT n+1`` — no OFFSET, no COUNT(*), the same cost on page 1 and page 50,000.  The cursor of
  the next / previous page travels in the URL; 末页 reverses the order.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Numeric,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from . import policy
from .fields import Search
from .i18n import gettext as _
from .textindex import TextGram, grams


@dataclass
class Page:
    rows: list
    has_next: bool
    has_prev: bool
    next_cursor: str | None
    prev_cursor: str | None
    number: int | None
    size: int


@dataclass
class Query:
    """A parsed list request."""

    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "id"
    desc: bool = True
    after: str | None = None
    before: str | None = None
    last: bool = False
    page: int | None = 1
    size: int = 20


def search_mode(model, s: Search) -> str:
    if s.mode != "auto":
        return s.mode
    if s.field == "status":
        return "exact"
    spec = model.meta().fields.get(s.field)
    coltype = model.meta().column_type(s.field)
    if isinstance(coltype, (Date, DateTime)):
        return "range"
    if spec is not None and (spec.codelist or spec.choices):
        return "exact"
    if isinstance(coltype, (Integer, Numeric)):
        return "exact"
    return "contains"


def parse_value(model, name: str, raw: str):
    coltype = model.meta().column_type(name)
    raw = raw.strip()
    if isinstance(coltype, DateTime) or isinstance(coltype, Date):
        return dt.date.fromisoformat(raw[:10])
    if isinstance(coltype, Integer):
        return int(raw)
    if isinstance(coltype, Numeric):
        return decimal.Decimal(raw)
    return raw


def criteria(model, searches: list[Search], filters: dict) -> tuple[list, list, list[str]]:
    """SQL criteria for the filled search fields; (criteria, n-gram joins, errors)."""
    crits, joins, errors = [], [], []
    for s in searches:
        mode = search_mode(model, s)
        col = getattr(model, s.field)
        try:
            if mode == "range":
                lo, hi = filters.get(f"{s.field}__from"), filters.get(f"{s.field}__to")
                if lo:
                    crits.append(col >= parse_value(model, s.field, lo))
                if hi:
                    value = parse_value(model, s.field, hi)
                    if isinstance(model.meta().column_type(s.field), DateTime):
                        crits.append(col < value + dt.timedelta(days=1))
                    else:
                        crits.append(col <= value)
                continue
            raw = filters.get(s.field)
            if raw in (None, ""):
                continue
            raw = str(raw).strip()
            if mode == "exact":
                crits.append(col == parse_value(model, s.field, raw))
            elif mode == "prefix":
                crits.append(and_(col >= raw, col < raw + "\uffff"))
            elif mode == "contains":
                like = "%" + raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                gs = grams(raw) if s.indexed else []
                if gs:
                    joins.append((s.field, gs))
                crits.append(col.ilike(like, escape="\\"))
        except (ValueError, decimal.InvalidOperation):
            errors.append(_("「%(field)s」的查询条件格式错误", field=_search_label(model, s)))
    return crits, joins, errors


GRAM_SAMPLE = 5000


def _rarest_first(session, entity: str, fname: str, gs: list[str]) -> tuple[list[str], bool]:
    """The bigrams of a query ordered by how many records hold them (counted up to a cap, in
    one statement), and whether every one of them occurs at all.  The rarest drives the
    search; a bigram nobody wrote means no record can match, which is answered at once
    (PostgreSQL would otherwise trust its estimate for the LIKE and scan the whole table)."""
    if len(gs) < 2 or session is None:
        return gs, True
    parts = []
    for i, g in enumerate(gs):
        sample = (select(TextGram.record_id)
                  .where(TextGram.entity == entity, TextGram.field == fname, TextGram.gram == g)
                  .limit(GRAM_SAMPLE).subquery())
        parts.append(select(literal(i).label("i"), func.count().label("n")).select_from(sample))
    counts = dict(session.execute(union_all(*parts)).all())
    ordered = [g for _n, _i, g in sorted((counts.get(i, 0), i, g) for i, g in enumerate(gs))]
    return ordered, all(counts.get(i, 0) for i in range(len(gs)))


def _gram_join(session, q, model, joins):
    """Join the n-gram index on the rarest bigram; EXISTS for the others. Returns (q, id col)."""
    entity = model.meta().resource
    idc = model.id
    for n, (fname, gs) in enumerate(joins):
        gs, possible = _rarest_first(session, entity, fname, gs)
        if not possible:
            q = q.where(false())
        first, rest = gs[0], gs[1:]
        if n == 0:
            g0 = aliased(TextGram)
            q = q.join(g0, and_(g0.record_id == model.id, g0.entity == entity,
                                g0.field == fname, g0.gram == first))
            idc = g0.record_id
        else:
            rest = gs
        for g in rest:
            t = aliased(TextGram)
            q = q.where(exists().where(t.entity == entity, t.field == fname, t.gram == g,
                                       t.record_id == model.id))
    return q, idc


def _search_label(model, s: Search):
    if s.label:
        return s.label
    spec = model.meta().fields.get(s.field)
    return spec.label if spec else s.field


def base_select(model, actor, *, where=None, rules=None):
    q = select(model).where(policy.scope(model, actor, rules))
    if where is not None:
        q = q.where(where(model))
    return q


def encode_cursor(values: list) -> str:
    def conv(v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, decimal.Decimal):
            return str(v)
        return v

    raw = json.dumps([conv(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(model, sort: str, cursor: str):
    try:
        pad = "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(cursor + pad).decode())
        pk = int(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValueError("bad cursor") from None
    if value is not None and sort != "id":
        coltype = model.meta().column_type(sort) if sort in model.meta().fields else None
        if isinstance(coltype, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif isinstance(coltype, Date):
            value = dt.date.fromisoformat(value)
        elif isinstance(coltype, Numeric):
            value = decimal.Decimal(value)
    return value, pk


def _seek(col, idc, value, pk, forward_desc: bool):
    """Rows strictly after (value, pk) in ORDER BY col [DESC NULLS LAST | ASC NULLS FIRST], id."""
    if col is idc:
        return idc < pk if forward_desc else idc > pk
    if forward_desc:
        if value is None:
            return and_(col.is_(None), idc < pk)
        return or_(col < value, and_(col == value, idc < pk), col.is_(None))
    if value is None:
        return or_(and_(col.is_(None), idc > pk), col.isnot(None))
    return or_(col > value, and_(col == value, idc > pk))


def _order(col, idc, desc: bool):
    if col is idc:
        return [idc.desc() if desc else idc.asc()]
    if desc:
        return [col.desc().nulls_last(), idc.desc()]
    return [col.asc().nulls_first(), idc.asc()]


def page(session, model, actor, query: Query, searches: list[Search], *, where=None,
         options=(), rules=None) -> tuple[Page, list[str]]:
    crits, joins, errors = criteria(model, searches, query.filters)
    q = base_select(model, actor, where=where, rules=rules).where(*crits)
    q, idc = _gram_join(session, q, model, joins)
    sort = query.sort if query.sort in model.meta().fields or query.sort == "id" else "id"
    col = idc if sort == "id" else getattr(model, sort)
    backwards = bool(query.before) or (query.last and not query.after)
    desc = query.desc if not backwards else not query.desc
    cursor = query.before if query.before else query.after
    if cursor:
        try:
            value, pk = decode_cursor(model, sort, cursor)
        except ValueError:
            errors.append(_("分页参数无效，已回到第一页"))
            value = pk = None
            backwards = False
            desc = query.desc
        if pk is not None:
            q = q.where(_seek(col, idc, value, pk, desc))
    q = q.order_by(*_order(col, idc, desc)).limit(query.size + 1)
    if options:
        q = q.options(*options)
    rows = list(session.scalars(q))
    more = len(rows) > query.size
    rows = rows[:query.size]
    if backwards:
        rows.reverse()

    def key(r):
        return [getattr(r, sort) if sort != "id" else r.id, r.id]

    if backwards:
        has_prev = more
        has_next = bool(query.before) or False
        if query.last and not query.before:
            has_next = False
    else:
        has_next = more
        has_prev = bool(query.after)
    number = query.page
    if query.last and not query.after and not query.before:
        number = None
    return Page(
        rows=rows,
        has_next=has_next,
        has_prev=has_prev,
        next_cursor=encode_cursor(key(rows[-1])) if rows and has_next else None,
        prev_cursor=encode_cursor(key(rows[0])) if rows and has_prev else None,
        number=number,
        size=query.size,
    ), errors


def select_all(model, actor, searches, filters, *, where=None, sort="id", desc=True,
               session=None, rules=None):
    """The full filtered selection (export, API list): scope applied."""
    crits, joins, errors = criteria(model, searches, filters)
    q = base_select(model, actor, where=where, rules=rules).where(*crits)
    q, _idc = _gram_join(session, q, model, joins)
    col = getattr(model, sort) if sort in model.meta().fields else model.id
    q = q.order_by(*_order(col, model.id, desc))
    return q, errors


def count(session, q) -> int:
    return session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
