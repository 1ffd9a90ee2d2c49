"""Build the benchmark database: the real schema + demo, then N licence applications in bulk.

    from bench.seed import build
    build("sqlite:////…/bench/out/bench.db", rows=1_000_000)

Steps
1. ``create_app`` + ``setup_database(app, demo=True)``: Alembic migrations, roles, code lists, the
   demo users and their handful of records — exactly what ``bin/start`` does.
2. N ``me_licence_application`` rows for the two demo companies (≈90 % 陕西秦川精密机械, ≈10 %
   西安长安医疗), each with 1–3 ``me_licence_goods`` taken from demo/me_catalogue.csv and 1–2
   ``me_licence_goods_spec`` per goods.  Computed columns are filled the way the engine's guard
   would compute them (spec amount = qty × price, goods sums, totals, 折美元 at the demo rate,
   goods_names joined with "、", importer_name from the organisation, remaining_qty …).
   Inserts are SQLAlchemy Core ``executemany`` with explicit ids, in chunks, inside one
   transaction per chunk; on SQLite journal_mode=OFF / synchronous=OFF during the load.
3. The n-gram contains index (``text_gram``) for every new row, using the engine's own
   ``textindex.grams`` — inserted gram by gram in record order (so the primary-key b-tree is
   appended, not shuffled), which is what ``textindex.rebuild`` produces, only faster.
4. ``doc_sequence`` counters moved past the numbers used, so 申请单编号 / 许可证号 issued by the
   app later do not collide; VACUUM (PostgreSQL) and ANALYZE; back to WAL.

A marker row in the ``bench_meta`` table records the row count: ``--reuse`` trusts it.
"""

from __future__ import annotations

import array
import csv
import datetime as dt
import decimal
import os
import random
import sys
import time
from collections import defaultdict

from sqlalchemy import create_engine, event, insert, select, text, update

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

D = decimal.Decimal
ZERO = D(0)
CHUNK = 20_000


def _q(value, places="0.01"):
    return value.quantize(D(places), rounding=decimal.ROUND_HALF_UP)


def log(msg: str) -> None:
    print(f"[seed {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- helpers ----------------------------------------------------------------------------------
def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def seeded_rows(url: str) -> int | None:
    """Rows recorded by a completed seed, or None."""
    if is_sqlite(url) and not os.path.exists(sqlite_path(url)):
        return None
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text("SELECT rows FROM bench_meta WHERE id = 1")).scalar()
    except Exception:  # noqa: BLE001 - no table: not seeded (or seeding was interrupted)
        return None
    finally:
        eng.dispose()


def settle(conn) -> str:
    """What a live server's maintenance would have done to the freshly loaded tables: ANALYZE,
    and on PostgreSQL VACUUM first — without it the visibility map is empty and every
    index-only scan (a list page, its bounded count) visits the table rows too, which made a
    load test right after seeding run at half the throughput.  Returns what it ran."""
    if conn.engine.dialect.name == "postgresql":
        conn.commit()  # VACUUM runs outside a transaction: on a connection of its own
        with conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("VACUUM (ANALYZE)"))
        return "VACUUM (ANALYZE)"
    conn.execute(text("ANALYZE"))
    conn.commit()
    return "ANALYZE"


def _drop_database(url: str) -> None:
    if is_sqlite(url):
        path = sqlite_path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    # PostgreSQL: drop every table of the schema; a database the server lacks is created first
    # (through the server's maintenance database), so a fresh machine needs no manual step.
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                        {"n": target.database}):
            c.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def _catalogue() -> list[dict]:
    with open(os.path.join(ROOT, "demo", "me_catalogue.csv"), encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- value generators ------------------------------------------------------------------------
COUNTRIES_A = ["JPN", "DEU", "USA", "CHE", "ITA", "KOR", "GBR", "FRA", "SWE", "NLD"]
COUNTRIES_B = ["DEU", "USA", "JPN", "NLD", "GBR", "FRA", "CHE"]
CURRENCY_OF = {"JPN": "JPY", "DEU": "EUR", "USA": "USD", "CHE": "CHF", "ITA": "EUR",
               "KOR": "KRW", "GBR": "GBP", "FRA": "EUR", "SWE": "SEK", "NLD": "EUR"}
# A unit price in USD is drawn, then converted to the currency (rounded like a price list).
PORTS = ["9000", "9001", "9002"]
AGENTS = {
    "A": [("王建国", "13809181234"), ("赵磊", "13709185566"), ("刘洋", "13991875522"),
          ("孙丽", "18691203344")],
    "B": [("李敏", "13991234567"), ("周涛", "13572019876")],
}
MODEL_PREFIX = ["CK", "VMC", "HMC", "GMC", "FLC", "PSG", "EDM", "SE", "MX", "TX", "HD", "LX",
                "PRO", "ULTRA", "NX", "ZX"]


class Generator:
    """Deterministic rows; ids assigned by the caller."""

    def __init__(self, conn, rows: int, seed: int = 20261125):
        self.rnd = random.Random(seed)
        self.rows = rows
        cat = _catalogue()
        self.cat_a = [r for r in cat if r["hs_code"][:2] in ("84", "85")] or cat
        self.cat_b = [r for r in cat if r["hs_code"][:2] == "90"] or cat
        orgs = {r.customs_code: r for r in conn.execute(text(
            "SELECT id, name, customs_code, province FROM organisation "
            "WHERE customs_code IS NOT NULL"))}
        users = {r.username: r.id for r in conn.execute(text(
            "SELECT id, username FROM ab_user"))}
        self.org = {"A": orgs["6101930123"], "B": orgs["6101960457"]}
        self.user = {"A": users["enterprise1"], "B": users["enterprise2"],
                     "commerce": users["commerce1"]}
        self.rates = {}
        for r in conn.execute(text("SELECT currency, usd_rate FROM currency_rate "
                                   "ORDER BY valid_from")):
            self.rates[r.currency] = D(str(r.usd_rate))
        filings = {r.company_id: r for r in conn.execute(text(
            "SELECT company_id, company_name, province, me_office FROM me_enterprise_filing"))}
        self.consignee, self.region_of, self.office = {}, {}, {}
        for k, org in self.org.items():
            f = filings.get(org.id)
            self.consignee[k] = (f.company_name if f is not None and f.company_name else org.name)
            self.region_of[k] = (f.province if f is not None and f.province else org.province)
            self.office[k] = (f.me_office if f is not None and f.me_office else "00")
        self.now = dt.datetime.now().replace(microsecond=0)
        self.start = dt.datetime(self.now.year - 1, 1, 2, 8, 0, 0)
        self.span = (self.now - dt.timedelta(days=1) - self.start).total_seconds()
        # The newest rows are the "recent" window holding drafts and pending applications.
        self.recent_from = rows - min(rows, max(int(rows * 0.08), 5000))

    # ---------------------------------------------------------------------------------------
    def status_for(self, i: int) -> str:
        r = self.rnd.random()
        if i >= self.recent_from:
            return ("draft" if r < 0.30 else "under_review" if r < 0.60 else
                    "returned" if r < 0.70 else "approved")
        return "approved" if r < 0.85 else "returned" if r < 0.93 else "under_review"

    def created_at(self, i: int) -> dt.datetime:
        base = self.start + dt.timedelta(seconds=self.span * i / max(1, self.rows))
        return base.replace(microsecond=0)

    def goods_lines(self, company: str):
        rnd = self.rnd
        n = rnd.choices((1, 2, 3), (50, 35, 15))[0]
        cat = self.cat_a if company == "A" else self.cat_b
        picks = rnd.sample(cat, n)
        return picks


def generate(gen: Generator, i: int, app_id: int, goods_id: int, spec_id: int, seqs: dict):
    """One application with its goods and specs (dicts for Core insert)."""
    rnd = gen.rnd
    company = "A" if rnd.random() < 0.9 else "B"
    org = gen.org[company]
    created = gen.created_at(i)
    status = gen.status_for(i)
    country = rnd.choice(COUNTRIES_A if company == "A" else COUNTRIES_B)
    currency = CURRENCY_OF[country] if rnd.random() < 0.7 else "USD"
    rate = gen.rates.get(currency, D(1)) if currency != "USD" else D(1)
    agent, mobile = rnd.choice(AGENTS[company])

    goods_rows, spec_rows = [], []
    names: list[str] = []
    total_qty, total_amount = ZERO, ZERO
    for product in gen.goods_lines(company):
        g_qty, g_amount = ZERO, ZERO
        gid = goods_id + len(goods_rows)
        for _k in range(rnd.choices((1, 2), (60, 40))[0]):
            qty = D(rnd.choice((1, 1, 1, 2, 2, 3, 4, 5, 6, 10)))
            usd = D(rnd.randrange(2_000, 600_000, 50))
            price = _q(usd / rate, "1") if rate != 1 else usd
            if price <= 0:
                price = D(1)
            amount = _q(qty * price)
            spec_rows.append({
                "id": spec_id + len(spec_rows), "goods_id": gid,
                "model": f"{rnd.choice(MODEL_PREFIX)}{rnd.randrange(100, 9999)}"
                         f"{rnd.choice(['', '-A', '-B', '×1000', '-II', '-6kW'])}",
                "qty": qty, "unit_price": price, "amount": amount,
                "cleared_qty": ZERO if status == "approved" else None,
                "created_at": created, "updated_at": created,
            })
            g_qty += qty
            g_amount += amount
        g_amount = _q(g_amount)
        goods_rows.append({
            "id": gid, "application_id": app_id, "hs_code": product["hs_code"],
            "name": product["name"], "goods_state": "N" if rnd.random() < 0.93 else "U",
            "unit": product["unit"], "qty": g_qty, "amount": g_amount,
            "created_at": created, "updated_at": created,
        })
        if product["name"] not in names:
            names.append(product["name"])
        total_qty += g_qty
        total_amount += g_amount
    total_amount = _q(total_amount)
    total_usd = _q(total_amount * rate)
    goods_names = "、".join(names)[:500] or None

    year = created.year if status != "draft" else gen.now.year
    app_year = created.year
    seqs["app", app_year] = seqs.get(("app", app_year), 0) + 1
    row = {
        "id": app_id, "company_id": org.id,
        "application_no": f"JD{app_year:04d}{seqs['app', app_year]:010d}",
        "licence_no": None, "status": status,
        "agent_mobile": mobile, "agent_name": agent,
        "importer_code": org.customs_code, "importer_name": org.name,
        "consignee_name": gen.consignee[company], "region": gen.region_of[company],
        "year": year, "trade_country": country, "origin_country": country,
        "fx_source": "01", "goods_use": rnd.choice(("01", "01", "01", "02")),
        "trade_mode": "0110", "customs_port": rnd.choice(PORTS),
        "batch_mode": "1" if rnd.random() < 0.7 else "0",
        "remark": rnd.choice((None, None, None, "生产线扩能改造", "设备更新", "科研用")),
        "goods_kind": "single", "project_type": None, "project_industry": None,
        "currency": currency, "total_qty": total_qty, "total_amount": total_amount,
        "total_usd": total_usd, "goods_names": goods_names,
        "declared_at": None, "approved_at": None, "valid_until": None,
        "customs_status": None, "customs_sent_at": None, "cleared_qty": None,
        "remaining_qty": None, "clearance_count": None,
        "version": 3, "created_by_id": gen.user[company], "updated_by_id": gen.user[company],
        "created_at": created, "updated_at": created,
    }
    if rnd.random() < 0.1:
        row["goods_kind"] = "project"
        row["project_type"] = rnd.choice(("01", "02", "03", "04"))
        row["project_industry"] = "05" if company == "B" else rnd.choice(("01", "02", "06"))
    if status != "draft":
        declared = created + dt.timedelta(hours=rnd.randrange(1, 72))
        row["declared_at"] = declared
        row["updated_at"] = declared
        row["version"] = 4
    if status in ("approved", "returned"):
        decided = row["declared_at"] + dt.timedelta(hours=rnd.randrange(2, 120))
        if decided > gen.now:
            decided = gen.now
        row["updated_at"] = decided
        row["updated_by_id"] = gen.user["commerce"]
        row["version"] = 5
        if status == "approved":
            yy = decided.year % 100
            key = ("lic", yy, gen.office[company])
            seqs[key] = seqs.get(key, 0) + 1
            row["licence_no"] = f"{yy:02d}-{gen.office[company]}-{seqs[key]:06d}"
            row["approved_at"] = decided
            until = _add_months(decided.date(), 6)
            row["valid_until"] = min(until, dt.date(decided.year, 12, 31))
            row["customs_status"] = "received" if decided < gen.now - dt.timedelta(days=2) \
                else "sent"
            row["customs_sent_at"] = decided
            row["cleared_qty"] = ZERO
            row["remaining_qty"] = total_qty
            row["clearance_count"] = 0
            row["version"] = 6
    return row, goods_rows, spec_rows


def _add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    last = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31,
            31, 30, 31, 30, 31][m - 1]
    return dt.date(y, m, min(d.day, last))


# --- the build ----------------------------------------------------------------------------
def build(url: str, rows: int, *, seed: int = 20261125) -> dict:
    """Create the database at ``url`` from scratch and load ``rows`` applications."""
    t0 = time.perf_counter()
    log(f"dropping and creating {url}")
    _drop_database(url)

    from app import create_app
    from app.cli import setup_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    setup_database(app, demo=True)
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()
    log(f"schema + roles + code lists + demo ready ({time.perf_counter() - t0:.1f}s)")

    from app.engine.numbering import DocSequence
    from app.engine.textindex import TextGram, grams
    from models.me_licence import LicenceApplication, LicenceGoods, LicenceGoodsSpec

    apps_t = LicenceApplication.__table__
    goods_t = LicenceGoods.__table__
    spec_t = LicenceGoodsSpec.__table__
    gram_t = TextGram.__table__
    seq_t = DocSequence.__table__
    entity = LicenceApplication.meta().resource

    engine = create_engine(url)
    sqlite = is_sqlite(url)
    if sqlite:
        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn, _rec):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-1000000")  # ~1 GB page cache
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.close()

    stats = {"applications": 0, "goods": 0, "specs": 0, "grams": 0}
    with engine.connect() as conn:
        gen = Generator(conn, rows, seed)
        next_app = (conn.execute(text("SELECT max(id) FROM me_licence_application")).scalar()
                    or 0) + 1
        next_goods = (conn.execute(text("SELECT max(id) FROM me_licence_goods")).scalar()
                      or 0) + 1
        next_spec = (conn.execute(text("SELECT max(id) FROM me_licence_goods_spec")).scalar()
                     or 0) + 1
        first_app = next_app
        # Continue the demo's counters so numbers stay unique.
        seqs: dict = {}
        for r in conn.execute(select(seq_t.c.name, seq_t.c.period, seq_t.c.value)):
            if r.name == "me_licence_application.application_no":
                seqs["app", int(r.period)] = r.value
            elif r.name == "me_licence_application.licence_no":
                yy, office = r.period.split("-")
                seqs["lic", int(yy), office] = r.value
        conn.commit()

        by_gram: dict[str, array.array] = defaultdict(lambda: array.array("i"))
        t1 = time.perf_counter()
        i = 0
        while i < rows:
            apps, goods, specs = [], [], []
            for _ in range(min(CHUNK, rows - i)):
                row, g_rows, s_rows = generate(gen, i, next_app, next_goods, next_spec, seqs)
                apps.append(row)
                goods.extend(g_rows)
                specs.extend(s_rows)
                for g in grams(row["goods_names"]):
                    by_gram[g].append(next_app)
                next_app += 1
                next_goods += len(g_rows)
                next_spec += len(s_rows)
                i += 1
            conn.execute(insert(apps_t), apps)
            conn.execute(insert(goods_t), goods)
            conn.execute(insert(spec_t), specs)
            conn.commit()
            stats["applications"] += len(apps)
            stats["goods"] += len(goods)
            stats["specs"] += len(specs)
            if i % 100_000 == 0 or i == rows:
                rate = i / (time.perf_counter() - t1)
                log(f"{i:,} applications ({stats['goods']:,} goods, {stats['specs']:,} specs), "
                    f"{rate:,.0f}/s")

        # The contains index, gram by gram in record order.
        t2 = time.perf_counter()
        gram_sql = insert(gram_t)
        batch: list[dict] = []
        for g in sorted(by_gram):
            for rid in by_gram[g]:
                batch.append({"entity": entity, "field": "goods_names", "gram": g,
                              "record_id": rid})
            if len(batch) >= 200_000:
                conn.execute(gram_sql, batch)
                stats["grams"] += len(batch)
                batch = []
        if batch:
            conn.execute(gram_sql, batch)
            stats["grams"] += len(batch)
        conn.commit()
        by_gram.clear()
        log(f"text_gram: {stats['grams']:,} rows ({time.perf_counter() - t2:.1f}s)")

        # Number counters past every number used.
        for key, value in seqs.items():
            if key[0] == "app":
                name, period = "me_licence_application.application_no", f"{key[1]:04d}"
            else:
                name, period = "me_licence_application.licence_no", f"{key[1]:02d}-{key[2]}"
            done = conn.execute(update(seq_t).where(seq_t.c.name == name,
                                                    seq_t.c.period == period)
                                .values(value=value)).rowcount
            if not done:
                conn.execute(insert(seq_t).values(name=name, period=period, value=value))
        conn.commit()

        if not sqlite:  # explicit ids bypassed the serial sequences
            for t in ("me_licence_application", "me_licence_goods", "me_licence_goods_spec"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                  f"(SELECT max(id) FROM {t}))"))
            conn.commit()
        t3 = time.perf_counter()
        done = settle(conn)
        log(f"{done} ({time.perf_counter() - t3:.1f}s)")

        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_meta (id INTEGER PRIMARY KEY, "
                          "rows INTEGER NOT NULL, first_id INTEGER NOT NULL, "
                          "seeded_at VARCHAR(30) NOT NULL)"))
        conn.execute(text("DELETE FROM bench_meta"))
        conn.execute(text("INSERT INTO bench_meta (id, rows, first_id, seeded_at) "
                          "VALUES (1, :r, :f, :at)"),
                     {"r": rows, "f": first_app, "at": dt.datetime.now().isoformat()})
        conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    log(f"done: {stats}")
    return stats


if __name__ == "__main__":  # pragma: no cover - python bench/seed.py URL ROWS
    build(sys.argv[1], int(sys.argv[2]))
