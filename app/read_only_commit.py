"""PostgreSQL: a transaction that only read ends with COMMIT, so psycopg keeps its prepared
statements.

psycopg prepares a statement on the server once a connection has run it five times; the server
then skips parsing and planning it.  But psycopg forgets every prepared statement at each
ROLLBACK (a rolled-back DDL may have changed what they name), and every request of the
backoffice ends its transaction when the session closes, with a ROLLBACK: nothing stayed
prepared, and each request planned each of its statements again (a word search's count spent
5 ms of its 45 planning; under the load test PostgreSQL worked 2.4 ms per request, 1.7 with
the plans kept).

A transaction that sent nothing but SELECT statements and is not in error ends the same with
COMMIT as with ROLLBACK: no row was written, its locks and local settings end either way (the
application sets no session settings and calls no function that writes).  Such a transaction
is committed just before SQLAlchemy rolls it back, and the rollback finds nothing left to undo.
Any other statement — INSERT, UPDATE, DELETE, a WITH, a SAVEPOINT, DDL — keeps the ROLLBACK.
"""

from __future__ import annotations

from sqlalchemy import event

_WROTE = "backoffice.not_only_select"


def install(engine) -> None:
    if engine.dialect.driver != "psycopg" or event.contains(engine, "rollback", _rollback):
        return
    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _statement)
    event.listen(engine, "rollback", _rollback)


def _begin(conn) -> None:
    conn.info[_WROTE] = False


def _statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if not conn.info.get(_WROTE) and statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_WROTE] = True


def _rollback(conn) -> None:
    import psycopg
    from psycopg.pq import TransactionStatus

    if conn.invalidated or conn.info.get(_WROTE, True):
        return  # (an invalidated connection has no transaction left to end)
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and dbapi.info.transaction_status == TransactionStatus.INTRANS:
        try:
            dbapi.commit()
        except psycopg.Error:
            # The connection broke (a restarted server): the rollback that follows meets it
            # as SQLAlchemy expects, which invalidates the connection and tells the caller.
            pass
