"""PostgreSQL: a transaction that only read ends with COMMIT (psycopg then keeps its prepared
statements); one that wrote, or failed, still ends with ROLLBACK and keeps nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from app import read_only_commit


@pytest.fixture
def engine(scratch_pg):
    eng = create_engine(scratch_pg.replace("postgresql://", "postgresql+psycopg://", 1),
                        pool_size=1, max_overflow=0)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE box (id int PRIMARY KEY, n int NOT NULL)"))
        c.execute(text("INSERT INTO box VALUES (1, 10)"))
    yield eng
    eng.dispose()


def _read_six_times(eng):
    """Six reads of one statement, then the transaction is left as a request leaves it."""
    with eng.connect() as c:
        for _ in range(6):
            assert c.execute(text("SELECT n FROM box WHERE id = :i"), {"i": 1}).scalar() == 10
        # closing the connection rolls its transaction back (Session.close does the same)


def _prepared(eng) -> int:
    with eng.connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()


def test_a_transaction_that_only_read_keeps_its_prepared_statements(engine):
    _read_six_times(engine)
    assert _prepared(engine) == 0  # without it: psycopg forgot them at the ROLLBACK
    read_only_commit.install(engine)
    _read_six_times(engine)
    assert _prepared(engine) >= 1


def test_a_transaction_that_wrote_is_still_rolled_back(engine):
    read_only_commit.install(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT n FROM box WHERE id = 1")).scalar() == 10
        c.execute(text("UPDATE box SET n = 11 WHERE id = 1"))
        c.execute(text("SELECT n FROM box WHERE id = 1"))
        c.rollback()
        c.execute(text("WITH w AS (UPDATE box SET n = 12 WHERE id = 1 RETURNING n) "
                       "SELECT n FROM w"))
    with engine.connect() as c:
        assert c.execute(text("SELECT n FROM box WHERE id = 1")).scalar() == 10


def test_a_failed_read_is_rolled_back_and_the_connection_serves_on(engine):
    read_only_commit.install(engine)
    with engine.connect() as c:
        with pytest.raises(ProgrammingError):
            c.execute(text("SELECT nothing FROM box"))
        c.rollback()
        assert c.execute(text("SELECT n FROM box WHERE id = 1")).scalar() == 10


def _read_then_lose_the_connection(engine, url):
    """A connection that has read, then ended by the server (as a restart ends it)."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    c = engine.connect()
    pid = c.execute(text("SELECT pg_backend_pid()")).scalar()
    with admin.connect() as a:
        a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    admin.dispose()
    return c


def _serves_on(engine):
    with engine.connect() as c:
        assert c.execute(text("SELECT n FROM box WHERE id = 1")).scalar() == 10


def test_a_connection_lost_during_a_read_is_handled_as_without_it(engine, scratch_pg):
    """The server ended the connection: the rollback raises SQLAlchemy's own error, the pool
    drops the connection, and the next request gets a working one."""
    read_only_commit.install(engine)
    c = _read_then_lose_the_connection(engine, scratch_pg)
    with pytest.raises(OperationalError):
        c.rollback()
    c.close()
    _serves_on(engine)


def test_a_read_that_met_a_lost_connection_is_rolled_back_as_without_it(engine, scratch_pg):
    read_only_commit.install(engine)
    c = _read_then_lose_the_connection(engine, scratch_pg)
    with pytest.raises(OperationalError):
        c.execute(text("SELECT n FROM box WHERE id = 1"))
    assert c.invalidated
    c.rollback()
    c.close()
    _serves_on(engine)
