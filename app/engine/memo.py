"""Lookups remembered for one database transaction.

A batch of 1,000 records asks the same questions 1,000 times (the importer's name, whether the
company's filing is approved, the catalogue of the year, the currency rate). ``memo`` answers
each once per transaction of the session and forgets everything when the transaction ends, so a
remembered answer is never older than the transaction that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "engine_memo"
_MISSING = object()


def memo(session, key: Hashable, compute: Callable[[], Any]) -> Any:
    if session is None:
        return compute()
    store = session.info.setdefault(_KEY, {})
    value = store.get(key, _MISSING)
    if value is _MISSING:
        value = store[key] = compute()
    return value


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction):
    if transaction.parent is None:
        session.info.pop(_KEY, None)
