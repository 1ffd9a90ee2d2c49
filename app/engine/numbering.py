"""Document numbers (申请单编号, 许可证号, 业务编号 ...): generated, unique under concurrency.

One counter row per (sequence name, period).  A number is taken with a single
``UPDATE … SET value = value + 1 … RETURNING value``: the row lock it takes serialises concurrent
takers on PostgreSQL, SQLite serialises writers anyway, and the unique constraint on the numbered
column remains as a backstop.  A number taken inside a transaction that rolls back is not
consumed.  A number already in the table (written by a 数据同步 with the number another system
gave) is passed over: the record gets the next free one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask_appbuilder import Model
from sqlalchemy import Integer, String, UniqueConstraint, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import mapped_column


class DocSequence(Model):
    __tablename__ = "doc_sequence"

    id = mapped_column(Integer, primary_key=True)
    name = mapped_column(String(60), nullable=False)
    period = mapped_column(String(20), nullable=False, default="")
    value = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (UniqueConstraint("name", "period", name="uq_doc_sequence"),)


@dataclass
class Numbering:
    """Declares how a record type's number is made.

    ``pattern`` is a str.format pattern over: seq, yyyy, yy, mm, dd and whatever ``parts``
    returns for the record (e.g. a customs district or an office code).  ``period`` is a pattern
    too: the counter restarts for every distinct period value.
    """

    field: str
    pattern: str
    period: str = "{yyyy}"
    sequence: str = ""
    parts: Callable | None = None
    # When the number is given: "create" (first 暂存) or the name of a transition.
    on: str = "create"

    def make(self, session, record, sequence_name: str, when: dt.date | None = None) -> str:
        """Take the next number (call as the system, inside the record's transaction)."""
        when = when or dt.date.today()
        values = {
            "yyyy": f"{when.year:04d}",
            "yy": f"{when.year % 100:02d}",
            "mm": f"{when.month:02d}",
            "dd": f"{when.day:02d}",
        }
        if self.parts is not None:
            values.update(self.parts(record))
        period = self.period.format(**values)
        model = type(record)
        column = getattr(model, self.field)
        for _ in range(_MAX_TAKEN):
            seq = next_value(session, self.sequence or sequence_name, period)
            number = self.pattern.format(seq=seq, **values)
            taken = select(model.id).where(column == number)
            if record.id is not None:
                taken = taken.where(model.id != record.id)
            with session.no_autoflush:
                if session.scalar(taken.limit(1)) is None:
                    return number
        raise RuntimeError(f"{_MAX_TAKEN} numbers in a row after {number} are taken")


_MAX_TAKEN = 1000  # numbers in a row already taken before giving up (a counter far behind)


def next_value(session, name: str, period: str = "") -> int:
    stmt = (
        update(DocSequence)
        .where(DocSequence.name == name, DocSequence.period == period)
        .values(value=DocSequence.value + 1)
        .returning(DocSequence.value)
    )
    value = session.execute(stmt).scalar()
    if value is not None:
        return value
    # First number of this period: create the counter row; a concurrent creator wins the
    # unique constraint and we simply take the next value after it.
    try:
        with session.begin_nested():
            session.execute(insert(DocSequence).values(name=name, period=period, value=0))
    except IntegrityError:
        pass
    value = session.execute(stmt).scalar()
    if value is None:  # pragma: no cover - would mean the row vanished
        raise RuntimeError(f"sequence {name}/{period} unavailable")
    return value


def current_value(session, name: str, period: str = "") -> int:
    return session.scalar(
        select(DocSequence.value).where(DocSequence.name == name, DocSequence.period == period)
    ) or 0
