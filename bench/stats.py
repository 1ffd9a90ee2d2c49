"""异常统计 benchmark: the statistics screen over 1,000,000 报关单异常 beside a stock
Flask-AppBuilder chart view (``GroupByChartView``) over the same table, in the same run.

    .venv/bin/python bench/stats.py [--rows 1000000] [--reuse] [--repeat 5]

The product's screen draws four charts (by 异常类型, by month of the last 12, by 责任岗位, by
海关是否处罚: four GROUP BY statements in the actor's scope); the stock view is given the same
groupings (its ``definitions``: 异常类型, 责任岗位, 海关是否处罚 counted) and answers one of them per
request, which it computes by loading every row into Python.  Both sides are signed in as admin
(every company's rows).  The stock view's time is one chart; the product's is all four.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
KINDS = ["returned", "deletion", "inspection", "mismatch", "overdue", "rejected", "other"]
POSTS = ["报关员", "制单员", "审单员", "物流专员", "关务主管", None]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def seed(url: str, rows: int) -> None:
    """A new database with the demo, plus ``rows`` exceptions spread over companies, kinds,
    posts and the last 18 months."""
    from sqlalchemy import func, insert, select

    from app import create_app, db
    from app.cli import setup_database
    from models.base import Organisation
    from models.customs_exception import CdDeclarationException as E

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    setup_database(app, demo=True)
    with app.app_context():
        companies = db.session.scalars(select(Organisation.id).where(
            Organisation.kind == "company")).all()
        have = db.session.scalar(select(func.count()).select_from(E))
        rnd = random.Random(7)
        today, now = dt.date.today(), dt.datetime.now()
        batch = []
        for i in range(have, rows):
            batch.append({
                "company_id": companies[i % len(companies)], "number": f"9001{i:014d}",
                "ie_flag": "IE"[i % 2], "kind": rnd.choice(KINDS),
                "occurred_on": today - dt.timedelta(days=rnd.randrange(540)),
                "duty_post": rnd.choice(POSTS), "penalised": "YN"[rnd.random() < 0.8],
                "client_name": f"委托企业{i % 97:02d}", "status": "pending", "version": 1,
                "created_at": now, "updated_at": now})
            if len(batch) == 50_000:
                db.session.execute(insert(E), batch)
                db.session.commit()
                batch = []
                log(f"seeded {i + 1:,}")
        if batch:
            db.session.execute(insert(E), batch)
            db.session.commit()
        db.session.remove()


def stock_view_class():
    from flask_appbuilder.charts.views import GroupByChartView
    from flask_appbuilder.models.group import aggregate_count
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from models.customs_exception import CdDeclarationException

    class ExceptionFabChartView(GroupByChartView):
        datamodel = SQLAInterface(CdDeclarationException)
        chart_title = "异常统计"
        definitions = [
            {"group": "kind", "series": [(aggregate_count, "kind")]},
            {"group": "duty_post", "series": [(aggregate_count, "duty_post")]},
            {"group": "penalised", "series": [(aggregate_count, "penalised")]},
        ]

    return ExceptionFabChartView


def timed(client, url: str, repeat: int, expect: str) -> list[float]:
    times = []
    for _i in range(repeat + 1):  # the first one warms up
        t0 = time.perf_counter()
        resp = client.get(url)
        ms = (time.perf_counter() - t0) * 1000
        body = resp.get_data(as_text=True)
        if resp.status_code != 200 or expect not in body:
            raise SystemExit(f"{url}: {resp.status_code} {body[:300]}")
        times.append(ms)
    return times[1:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"stats-{args.rows}.db")
    url = "sqlite:///" + path
    if not (args.reuse and os.path.exists(path)):
        if os.path.exists(path):
            os.remove(path)
        seed(url, args.rows)

    import logging

    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    from app import create_app
    from app.cli import sync_security
    from bench import stockfab
    from bench.run import Browser

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True})
    with app.app_context():  # the stock view's permissions, granted to 管理员
        app.appbuilder.add_view_no_menu(stock_view_class())
        sync_security(app.appbuilder)
    stock_app, _db = stockfab.stock_app(url, stock_view_class)
    admin = Browser(app, "admin")
    stock_admin = Browser(stock_app, "admin", product=False)
    load = os.getloadavg()
    engine = timed(admin.client, "/cd_declaration_exception/stats/", args.repeat, "按异常类型")
    fab = {i: timed(stock_admin.client, f"/exceptionfabchartview/chart/{i}", args.repeat,
                    "google.visualization") for i in range(3)}
    e = statistics.median(engine)
    lines = [f"rows {args.rows:,}, SQLite, load average at start {load[0]:.2f}",
             f"product 异常统计 (4 charts): median {e:.0f} ms  ({', '.join(f'{t:.0f}' for t in engine)})"]
    for i, times in fab.items():
        f = statistics.median(times)
        lines.append(f"stock GroupByChartView, chart {i} (one chart): median {f:.0f} ms "
                     f"— the product answers in {e / f:.2f} of it ({f / e:.1f}×)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
