"""数据同步 benchmark: 10,000 DecMessage files in the exchange inbox, synced by one 报关单同步
(按天, a background job: in-process here) through HTTP as enterprise1 — files per second, from
确定 to the job's end — then the same 10,000 files again: the second run must create and change
nothing.

    .venv/bin/python bench/sync.py [--files 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from app import create_app
    from app.cli import setup_database
    from models.customs_declaration import CdDeclaration
    from tests.conftest import Api, Browser
    from tests.helpers import wait_job

    work = tempfile.mkdtemp(prefix="sync-bench-")
    url = args.database_url or f"sqlite:///{work}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "WTF_CSRF_ENABLED": True, "SERVER_NAME": "localhost",
                      "EXCHANGE_DIR": os.path.join(work, "exchange")})
    setup_database(app, demo=True)
    inbox = os.path.join(work, "exchange", "inbox")
    os.makedirs(inbox, exist_ok=True)
    xml = Api(app, "enterprise1").get("/api/v1/cd_declaration/5/message").get_data(as_text=True)
    xml = re.sub(r"<SignDate>\d+</SignDate>", "<SignDate>2026120310000000</SignDate>", xml)
    bodies = []
    for i in range(args.files):
        no = f"{i:010d}"
        body = re.sub(r"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>E20269{no:0>12}</SeqNo>", xml)
        body = re.sub(r"<PreEntryId>[^<]*</PreEntryId>", f"<PreEntryId>61012026{no}</PreEntryId>",
                      body)
        body = re.sub(r"<EntryId>[^<]*</EntryId>", f"<EntryId>90012026{no}</EntryId>", body)
        bodies.append(body.encode("utf-8"))

    def fill():
        for i, body in enumerate(bodies):
            with open(os.path.join(inbox, f"DecMessage-{i:06d}.xml"), "wb") as f:
                f.write(body)

    def count():
        with app.app_context():
            from app import db

            return db.session.scalar(select(func.count()).select_from(CdDeclaration))

    b = Browser(app, "enterprise1")
    results = []
    for label in ("first run", "second run (same files)"):
        fill()
        before = count()
        t0 = time.perf_counter()
        resp = b.post("/cd_dec_sync/new/do/run", data={
            "mode": "day", "ent_category": "D", "op_from": "2026-12-01", "op_to": "2026-12-05"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        # 按天 is a background job: followed as its page does, to its end
        status = wait_job(b, b.get(resp.headers["Location"]).get_data(as_text=True),
                          timeout=24 * 3600)
        took = time.perf_counter() - t0
        assert status["status"] == "done", status
        results.append((label, took, args.files / took, count() - before))
    print("| run | files | seconds | files/s | declarations created |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, took, rate, created in results:
        print(f"| {label} | {args.files:,} | {took:.1f} | {rate:.0f} | {created:,} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
