"""An n-gram index for contains-search (商品名称 包含 "机床") that stays fast on millions of rows.

A LIKE '%…%' is a full scan; PostgreSQL's pg_trgm and SQLite's FTS5 trigram tokenizer cannot
serve the two-character Chinese queries users type most.  So each declared ``Search(...,
indexed=True)`` field keeps its distinct character bigrams in ``text_gram``
(entity, field, gram, record_id) — one portable table for SQLite and PostgreSQL.  A query of n
characters needs records holding all its bigrams; the planner walks the primary key of the first
bigram in record order and the exact LIKE confirms the match.  Rows are maintained after every
flush that changes an indexed value.
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Integer, String, delete, event, insert, inspect
from sqlalchemy.orm import Session, mapped_column

from .record import Record


class TextGram(Model):
    __tablename__ = "text_gram"

    entity = mapped_column(String(60), primary_key=True)
    field = mapped_column(String(60), primary_key=True)
    gram = mapped_column(String(8), primary_key=True)
    record_id = mapped_column(Integer, primary_key=True)


def grams(text: str | None) -> list[str]:
    """Distinct bigrams of a text, lower-cased; whitespace never starts or ends one."""
    if not text:
        return []
    t = str(text).lower()
    seen: dict[str, None] = {}
    for i in range(len(t) - 1):
        g = t[i:i + 2]
        if g[0].isspace() or g[1].isspace():
            continue
        seen[g] = None
    return list(seen)


def indexed_fields(model) -> list[str]:
    meta = model.meta()
    fields = [s.field for s in meta.search if s.indexed]
    for screen in meta.screens:
        fields += [s.field for s in screen.search if s.indexed and s.field not in fields]
    return fields


def rows_for(entity: str, field: str, record_id: int, text) -> list[dict]:
    return [{"entity": entity, "field": field, "gram": g, "record_id": record_id}
            for g in grams(text)]


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "after_flush")
    def _maintain(session, flush_context):
        work: list[tuple] = []
        for obj in list(session.new) + list(session.dirty):
            if not isinstance(obj, Record):
                continue
            fields = indexed_fields(type(obj))
            if not fields:
                continue
            ins = inspect(obj)
            for f in fields:
                hist = ins.attrs[f].history
                if obj in session.new or hist.has_changes():
                    work.append((obj.meta().resource, f, obj.id, getattr(obj, f)))
        deleted = [(obj.meta().resource, obj.id) for obj in session.deleted
                   if isinstance(obj, Record) and indexed_fields(type(obj))]
        if not work and not deleted:
            return
        conn = session.connection()
        for entity, rid in deleted:
            conn.execute(delete(TextGram).where(TextGram.entity == entity,
                                                TextGram.record_id == rid))
        for entity, f, rid, text in work:
            conn.execute(delete(TextGram).where(TextGram.entity == entity, TextGram.field == f,
                                                TextGram.record_id == rid))
            rows = rows_for(entity, f, rid, text)
            if rows:
                conn.execute(insert(TextGram), rows)


def rebuild(session, model) -> int:
    """Rebuild the index of one record type (after a bulk load)."""
    entity = model.meta().resource
    fields = indexed_fields(model)
    session.execute(delete(TextGram).where(TextGram.entity == entity))
    n = 0
    cols = [model.id] + [getattr(model, f) for f in fields]
    batch: list[dict] = []
    for row in session.execute(session.query(*cols).statement).yield_per(5000):
        for f, text in zip(fields, row[1:], strict=True):
            batch.extend(rows_for(entity, f, row[0], text))
        if len(batch) > 20000:
            session.execute(insert(TextGram), batch)
            n += len(batch)
            batch = []
    if batch:
        session.execute(insert(TextGram), batch)
        n += len(batch)
    return n
