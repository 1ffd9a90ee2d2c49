"""PostgreSQL: a pooled connection is tested before use only after it sat idle for a while.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` at every checkout: one round trip more for
every request (a REST list sends three statements; the ping made it four), paid by the worker
and the server alike, to catch connections the server ended while they sat in the pool.

Connections die while idle: a restarted or failed-over server, an idle timeout of the server or
of a firewall, a terminated backend.  A connection checked in a moment ago has just answered;
one that waited longer than ``DB_POOL_PING_IDLE`` seconds (1 by default) is tested as before,
and a dead one is replaced before the request sees it.  A restart takes longer than a second, so
after it every connection has waited long enough to be tested: a restarted server still costs
no failed request once it is back.  The case left: a connection ended by the server within a
second of its last answer, while the process kept serving — the request that meets it fails,
and SQLAlchemy then replaces every connection the pool opened before that failure.

``DB_POOL_PING_IDLE=0`` tests every checkout (SQLAlchemy's own pre-ping); ``DB_POOL_PRE_PING=0``
tests none.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc

_IDLE_SINCE = "backoffice.idle_since"


def install(engine, idle: float) -> None:
    """Test connections idle for more than ``idle`` seconds at checkout (``idle`` > 0)."""
    if idle <= 0 or engine.dialect.name == "sqlite" or event.contains(engine, "checkin", _checkin):
        return
    dialect = engine.dialect

    def checkout(dbapi_connection, record, proxy):
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since <= idle:
            return  # new, or it answered a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as e:
            if dialect.is_disconnect(e, dbapi_connection, None):
                # The pool drops this connection and checks out another (or opens a new one).
                raise exc.DisconnectionError(f"connection lost while idle: {e}") from e
            raise

    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", checkout)


def _checkin(dbapi_connection, record) -> None:
    if dbapi_connection is not None:
        record.info[_IDLE_SINCE] = time.monotonic()
