"""Shared test data and small helpers (what a user would type into the forms)."""

from __future__ import annotations

import datetime as dt
import re
import time

from sqlalchemy import event, select

HEAD = {
    "agent_mobile": "13809181234",
    "agent_name": "王建国",
    "importer_code": "6101930123",
    # this year, as the app counts it (本年度 or 下一年度 only): set again before each test by
    # conftest, so that a run going on past 北京时间 New Year types the new one
    "year": str(dt.date.today().year),
    "trade_country": "JPN",
    "origin_country": "JPN",
    "fx_source": "01",
    "goods_use": "02",
    "trade_mode": "0110",
    "customs_port": "9001",
    "batch_mode": "1",
    "goods_kind": "single",
    "currency": "USD",
    "remark": "",
}

GOODS = {
    "__tables": ["goods", "goods-0-specs", "goods-1-specs"],
    "goods-0-hs_code": "8458110000", "goods-0-name": "数控卧式车床", "goods-0-goods_state": "N",
    "goods-0-unit": "001",
    "goods-0-specs-0-model": "CK6150", "goods-0-specs-0-qty": "2",
    "goods-0-specs-0-unit_price": "38500",
    "goods-0-specs-1-model": "CK6163", "goods-0-specs-1-qty": "1",
    "goods-0-specs-1-unit_price": "52800",
    "goods-1-hs_code": "8457101000", "goods-1-name": "立式加工中心", "goods-1-goods_state": "N",
    "goods-1-unit": "001",
    "goods-1-specs-0-model": "VMC850", "goods-1-specs-0-qty": "3",
    "goods-1-specs-0-unit_price": "46000",
}

LOCATION_ID = re.compile(r"/(\d+)$")


def created_id(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    m = LOCATION_ID.search(resp.headers["Location"])
    assert m, resp.headers["Location"]
    return int(m.group(1))


def new_draft(b, **overrides) -> int:
    """enterprise user `b` fills the head of a new application and clicks 暂存."""
    data = dict(HEAD)
    data.update(overrides)
    return created_id(b.post("/me_licence_application/new/do/save", data=data))


def add_goods(b, pk, goods=None):
    data = dict(goods or GOODS)
    resp = b.post(f"/me_licence_application/{pk}/do/save", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return resp


def flashes(b) -> str:
    """The text of the page the last redirect leads to (flash messages included)."""
    return b.get("/").get_data(as_text=True)


def get(db, model, pk):
    db.rollback()
    return db.get(model, pk)


def one(db, stmt):
    db.rollback()
    return db.scalar(stmt)


__all__ = ["GOODS", "HEAD", "add_goods", "created_id", "flashes", "get", "new_draft", "one",
           "select"]


def today_for_a_while(seconds: float = 120) -> dt.date:
    """Today by the app's clock (北京时间: this process's local time once ``app`` is imported),
    with at least ``seconds`` of it left.  A test that types a date relative to today (tomorrow
    is refused, a week ago is the default) and the app that checks it read the clock at two
    moments; a midnight between them made tomorrow the app's today.  Closer to midnight than
    ``seconds``, this waits for the new day instead."""
    import app  # noqa: F401 - the product's time zone (app/clock.py), before the clock is read

    now = dt.datetime.now()
    left = (dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time()) - now)
    if left.total_seconds() < seconds:
        time.sleep(left.total_seconds() + 0.5)
    return dt.date.today()


def wait_job(b, html: str, timeout: float = 60) -> dict:
    """Follow the job whose progress ``html`` shows (its data-status-url) until it ends, as the
    page's progress bar does; answers its last status."""
    import json
    import re
    import time

    url = re.search(r'data-status-url="([^"]+)"', html)
    assert url, "the page shows no job's progress"
    deadline = time.monotonic() + timeout
    while True:
        resp = b.get(url.group(1))
        assert resp.status_code == 200, resp.status_code
        status = json.loads(resp.get_data(as_text=True))
        if status["finished"]:
            return status
        assert time.monotonic() < deadline, f"job still {status['status']} after {timeout}s"
        time.sleep(0.2)


def numbered_messages(xml: str, prefix: str, n: int):
    """``n`` copies of the DecMessage ``xml``, each with numbers of its own (统一编号 ``prefix`` +
    a 10-digit serial, 预录入编号, 海关编号): [(统一编号, bytes)]."""
    import re

    out = []
    for i in range(n):
        seq = f"{prefix}{i:010d}"
        one = re.sub(r"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>{seq}</SeqNo>", xml)
        one = re.sub(r"<PreEntryId>[^<]*</PreEntryId>",
                     f"<PreEntryId>61012026{seq[-10:]}</PreEntryId>", one)
        one = re.sub(r"<EntryId>[^<]*</EntryId>", f"<EntryId>90012026{seq[-10:]}</EntryId>", one)
        out.append((seq, one.encode("utf-8")))
    return out


def sql_statements(app, request):
    """The SQL statements that ``request()`` (a test-client call) sends, and its response.

    Code lists already read stay cached while it runs: their 30-second lifetime would otherwise
    add a reload to whichever call it happens to expire in (a slow CI machine once counted a
    saved-with-errors page one statement higher with one goods line than with four)."""
    from app.engine import codelists

    with app.app_context():
        from app import db

        engine = db.engine
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    lifetime, codelists._TTL = codelists._TTL, float("inf")
    event.listen(engine, "before_cursor_execute", seen)
    try:
        resp = request()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        codelists._TTL = lifetime
    return statements, resp
