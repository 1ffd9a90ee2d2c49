"""A record is made once per form: a replayed submission (a double click on 暂存 of a new form
or on 复制, a POST the browser or a client sends again after a timeout) answers with the record
the first one made instead of making a second.

Each form of a record's page carries a random key (``_once``), REST clients send an
``Idempotency-Key`` header.  The key is stored with the record it made, in the same transaction
and under a primary key: two submissions at the same moment cannot both make one — the second waits for the
first's commit, fails on the key and then finds the first's record.  Keys belong to the user
who sent them (another user's equal key is another key).  A replay comes within minutes: the
worker forgets keys older than ``SUBMISSION_KEY_HOURS`` (24).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, delete
from sqlalchemy.orm import mapped_column

from .record import now

_KEY = re.compile(r"[A-Za-z0-9_\-]{8,64}")


class SubmissionKey(Model):
    __tablename__ = "submission_key"

    key = mapped_column(String(80), primary_key=True)  # "<user id>:<the client's key>"
    resource = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    created_at = mapped_column(DateTime, nullable=False, default=now)


def new_key() -> str:
    return secrets.token_urlsafe(18)


def valid(key) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def _stored(actor, key: str) -> str:
    return f"{actor.user_id if actor is not None else '-'}:{key}"


def made(session, actor, key: str):
    """The record an earlier submission of ``key`` made, if it is still there to see."""
    from . import policy
    from .record import REGISTRY

    row = session.get(SubmissionKey, _stored(actor, key))
    model = REGISTRY.get(row.resource) if row is not None else None
    if model is None:
        return None
    try:
        return policy.get_scoped(session, model, row.record_id, actor)
    except policy.Refused:
        return None  # deleted since, or no longer in the user's scope: made anew


def remember(session, actor, record, key: str) -> None:
    session.add(SubmissionKey(key=_stored(actor, key), resource=record.meta().resource,
                              record_id=record.id, created_at=now()))
    session.flush()  # a concurrent submission of the same key fails here, not at commit


def forget_old(session, hours: float) -> int:
    """Delete the keys older than ``hours``; how many."""
    cutoff = now() - dt.timedelta(hours=hours)
    count = session.execute(delete(SubmissionKey).where(SubmissionKey.created_at < cutoff)).rowcount
    session.commit()
    return count or 0
