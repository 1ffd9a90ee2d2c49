"""PostgreSQL: a pooled connection is tested before use only after it sat idle
(app/pool_ping.py) — a request does not pay a round trip for a connection that answered a moment
ago, and a connection the server ended while it waited is still replaced unseen."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import pool_ping


@pytest.fixture
def make_engine(scratch_pg):
    made = []

    def make(idle):
        eng = create_engine(scratch_pg.replace("postgresql://", "postgresql+psycopg://", 1),
                            pool_size=1, max_overflow=0)
        pool_ping.install(eng, idle)
        pings = []
        real = eng.dialect.do_ping

        def counted(dbapi_connection):
            pings.append(1)
            return real(dbapi_connection)

        eng.dialect.do_ping = counted
        made.append(eng)
        return eng, pings

    yield make
    for eng in made:
        eng.dispose()


def _pid(eng) -> int:
    with eng.connect() as c:
        return c.execute(text("SELECT pg_backend_pid()")).scalar()


def _end_backend(url: str, pid: int) -> None:
    """The server ends a backend, as a restart or an idle timeout ends it."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as a:
        a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(100):  # the backend is gone once the server no longer lists it
            if not a.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"),
                             {"p": pid}).first():
                break
            time.sleep(0.05)
    admin.dispose()


def test_a_connection_that_answered_a_moment_ago_is_used_without_a_test(make_engine):
    eng, pings = make_engine(idle=30)
    pids = {_pid(eng) for _ in range(5)}
    assert len(pids) == 1  # the same pooled connection each time
    assert pings == []


def test_a_connection_that_waited_is_tested_and_one_the_server_ended_is_replaced(
        make_engine, scratch_pg):
    eng, pings = make_engine(idle=0.2)
    first = _pid(eng)
    _end_backend(scratch_pg, first)
    time.sleep(0.3)
    second = _pid(eng)  # no error: the dead connection was found and replaced
    assert second != first
    assert pings == [1]
    time.sleep(0.3)
    assert _pid(eng) == second and pings == [1, 1]  # tested again after waiting, and kept


def test_a_connection_ended_within_the_idle_time_fails_once_then_the_pool_serves_on(
        make_engine, scratch_pg):
    """The case the idle time leaves: the server ends a connection that answered under a second
    ago. The request that meets it fails, the pool drops it, the next request is served."""
    eng, pings = make_engine(idle=30)
    first = _pid(eng)
    _end_backend(scratch_pg, first)
    with pytest.raises(OperationalError):
        _pid(eng)
    assert _pid(eng) != first
    assert pings == []
