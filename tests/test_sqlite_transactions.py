"""SQLite (development and most tests): a request that writes begins its transaction
IMMEDIATE, so concurrent writers queue instead of failing; what it reads after its commit (the
page it redirects to, the answer it serialises) begins a plain, reading transaction — it does
not wait for a writer that took the lock meanwhile (a long background job), as it did: a 按天
sync holding the lock kept the 同步 POST that had started it from answering."""

from __future__ import annotations

import sqlite3

import pytest

from app.engine import service

from .helpers import created_id


def test_a_request_reads_after_its_commit_without_waiting_for_a_writer(app, browser, db_url,
                                                                       monkeypatch):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer")
    path = db_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    real = service.run

    def run(session, fn, *, record=None):
        answer = real(session, fn, record=record)  # committed
        other.execute("BEGIN IMMEDIATE")  # a background job takes the write lock now
        return answer

    monkeypatch.setattr(service, "run", run)
    b = browser("enterprise1")
    try:
        pk = created_id(b.post("/cd_declaration_exception/new/do/save", data={
            "kind": "other", "number": "E20260000000000001", "ie_flag": "E",
            "occurred_on": "2026-12-01", "reason": "x"}))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert pk > 0
