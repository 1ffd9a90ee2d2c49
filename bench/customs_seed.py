"""Build the declaration benchmark database: the real schema + demo, then N 报关单 in bulk.

    from bench.customs_seed import build
    build("sqlite:////…/bench/out/customs-1000000.db", rows=1_000_000)

1. ``create_app`` + ``setup_database(app, demo=True)`` — migrations, roles, code lists, the
   demo (the HS table subset and its declarations) — exactly what ``bin/start`` does.
2. N ``cd_declaration`` rows (≈ 90 % 陕西秦川精密机械 = enterprise1's company, ≈ 10 % 西安长安
   医疗), each with 1–5 goods lines (3 on average) drawn from the HS table subset, with the
   values the engine would store: 境内收发货人 and 申报单位 from the company, 总价 = 单价 × 数量,
   legal units and 申报要素 from the HS code, goods_names, the computed 审核状态 / 申报状态,
   numbers (系统编号, 统一编号, 预录入编号 and 海关编号 where the state has them).  Core
   ``executemany`` in chunks, explicit ids; on SQLite journal_mode=OFF during the load.
3. The n-gram contains index of 商品名称 (``text_gram``) with the engine's ``textindex.grams``,
   gram by gram in record order.
4. Number counters past every number used; VACUUM (PostgreSQL) and ANALYZE; a ``bench_customs_meta`` row with N.
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
CHUNK = 20_000
HS_FILE = os.path.join(ROOT, "data", "hs", "hs_subset_商品综合分类表_部分.csv")


def log(msg: str) -> None:
    print(f"[customs-seed {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def seeded_rows(url: str) -> int | None:
    from bench.seed import is_sqlite, sqlite_path

    if is_sqlite(url) and not os.path.exists(sqlite_path(url)):
        return None
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text("SELECT rows FROM bench_customs_meta WHERE id = 1")).scalar()
    except Exception:  # noqa: BLE001 - no table: not seeded
        return None
    finally:
        eng.dispose()


# Short names a company gives its goods (what the contains search is asked for), per HS code.
NAMES = {
    "8458110000": ["数控卧式车床", "数控车床"], "8458910000": ["数控车削中心", "数控车床"],
    "8457101000": ["立式加工中心"], "8457102000": ["卧式加工中心"],
    "8459610000": ["数控铣床"], "8460121000": ["数控平面磨床"],
    "8456110000": ["激光切割机"], "8466939000": ["机床零件", "车床卡盘", "机床导轨"],
    "8483409000": ["齿轮箱", "减速机"], "8482102000": ["深沟球轴承"],
    "8501520000": ["三相异步电动机"], "9031809090": ["三坐标测量机"],
    "9018130000": ["磁共振成像装置"], "0808100000": ["鲜苹果"], "0810500000": ["鲜猕猴桃"],
}
DESTS = [("DEU", "DEDUI"), ("DEU", "DEHAM"), ("NLD", "NLRTM"), ("RUS", "RUMOW"),
         ("KAZ", "KZALA"), ("USA", "USLAX"), ("JPN", "JPTYO"), ("KOR", "KRPUS"),
         ("SGP", "SGSIN"), ("ITA", "ITGOA")]
EXPORT_STATES_NEW = [("draft", 30), ("under_review", 20), ("review_returned", 10),
                     ("review_passed", 10), ("declared", 30)]
EXPORT_STATES_OLD = [("closed", 70), ("released", 15), ("concluded", 5), ("cus_accepted", 4),
                     ("cus_deleted", 3), ("cus_returned", 3)]
REVIEW_STATUS = {"draft": "0", "under_review": "1", "review_returned": "3"}
CUSTOMS_STATES = ("declared", "cus_accepted", "cus_rejected", "cus_returned", "concluded",
                  "inspection", "released", "closed", "cus_deleted")
DECL_STATUS = {s: str(i + 1) for i, s in enumerate(CUSTOMS_STATES)}


def _pick(rnd, weighted):
    total = sum(w for _v, w in weighted)
    x = rnd.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


class Generator:
    def __init__(self, conn, rows: int, seed: int = 20261205):
        self.rnd = random.Random(seed)
        self.rows = rows
        with open(HS_FILE, encoding="utf-8") as fh:
            hs = {r["code_ts"]: r for r in csv.DictReader(fh)}
        self.hs_a = [hs[c] for c in NAMES if c[:2] in ("84", "85") or c[:2] == "08"]
        self.hs_b = [hs[c] for c in NAMES if c[:2] == "90"]
        orgs = {r.customs_code: r for r in conn.execute(text(
            "SELECT id, name, uscc, customs_code FROM organisation "
            "WHERE customs_code IS NOT NULL"))}
        users = {r.username: r for r in conn.execute(text(
            "SELECT id, username, first_name, last_name FROM ab_user"))}
        self.org = {"A": orgs["6101930123"], "B": orgs["6101960457"]}
        self.user = {"A": users["enterprise1"], "B": users["enterprise2"]}
        self.reviewer = users["reviewer1"]
        self.start = dt.datetime(dt.date.today().year - 1, 1, 1)
        self.end = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time(18))
        self.day_seq: dict[str, int] = defaultdict(int)

    def when(self, i: int) -> dt.datetime:
        span = (self.end - self.start).total_seconds()
        return (self.start + dt.timedelta(seconds=span * i / max(1, self.rows - 1))).replace(
            microsecond=0)


def generate(gen: Generator, i: int, pk: int, goods_pk: int):
    rnd = gen.rnd
    who = "A" if rnd.random() < 0.9 else "B"
    org, user = gen.org[who], gen.user[who]
    created = gen.when(i)
    newest = i >= gen.rows * 0.92
    imp = who == "B" or rnd.random() < 0.05
    kind = ("I_DEC" if rnd.random() < 0.9 else "I_BILL") if imp else (
        "E_DEC" if rnd.random() < 0.92 else _pick(rnd, [("E_BILL", 5), ("E_TRN", 2),
                                                        ("E_TRN_BILL", 1)]))
    ie = kind[0]
    status = _pick(rnd, EXPORT_STATES_NEW if newest else EXPORT_STATES_OLD)
    country, port = rnd.choice(DESTS)
    customs = rnd.choice(("9001", "9002", "9000"))
    day = created.strftime("%Y%m%d")
    gen.day_seq[day] += 1
    declared = status in CUSTOMS_STATES
    flag = "0" if ie == "E" else "1"
    pool = gen.hs_b if who == "B" else gen.hs_a
    n_goods = _pick(rnd, [(1, 15), (2, 20), (3, 30), (4, 20), (5, 15)])
    goods, names = [], []
    gross = D(0)
    for n in range(1, n_goods + 1):
        h = rnd.choice(pool)
        name = rnd.choice(NAMES[h["code_ts"]])
        if name not in names:
            names.append(name)
        qty = D(rnd.randint(1, 40))
        price = D(rnd.randint(500, 90000)).quantize(D("0.0001"))
        unit1 = h["unit1"]
        weight = (qty * D(rnd.randint(40, 900))).quantize(D("0.00001"))
        gross += weight
        goods.append({
            "id": goods_pk + n - 1, "declaration_id": pk, "created_at": created,
            "updated_at": created, "g_no": n, "code_ts": h["code_ts"], "g_name": h["g_name"],
            "g_model": f"0|0|{name}|QC{rnd.randint(100, 9999)}",
            "elements": (h["elements"] or "")[:255], "g_qty": qty, "g_unit": unit1,
            "qty1": qty if unit1 != "035" else weight, "unit1": unit1,
            "qty2": weight if h["unit2"] == "035" else None, "unit2": h["unit2"] or None,
            "decl_price": price, "decl_total": (price * qty).quantize(D("0.01")),
            "trade_curr": "USD", "origin_country": "CHN" if ie == "E" else country,
            "destination_country": country if ie == "E" else "CHN", "district_code": "61013",
            "duty_mode": "1",
        })
    names_text = "、".join(names)
    row = {
        "id": pk, "version": 1, "created_at": created, "updated_at": created,
        "created_by_id": user.id, "updated_by_id": user.id, "company_id": org.id,
        "kind": kind, "ie_flag": ie, "sys_no": f"YB{day}{gen.day_seq[day]:06d}",
        "seq_no": f"{ie}{created.year}{pk:013d}",
        "pre_entry_no": f"{customs}{created.year}{flag}{pk:09d}" if declared else None,
        "entry_id": (f"{customs}{created.year}{flag}{pk + 1:09d}"
                     if declared and status != "declared" else None),
        "status": status, "entry_type": "M", "decl_mode": "1", "ent_category": "D",
        "bill_type": "1" if "BILL" in kind else None,
        "trade_code_scc": org.uscc, "trade_code": org.customs_code, "trade_name": org.name,
        "agent_code_scc": org.uscc, "agent_code": org.customs_code, "agent_name": org.name,
        "owner_code_scc": org.uscc, "owner_code": org.customs_code, "owner_name": org.name,
        "overseas_code": "NO", "overseas_name": "MASCHINENHANDEL RUHR GMBH",
        "ie_port": customs, "customs_master": customs, "traf_mode": "3", "traf_name":
            f"@{pk:016d}" if "TRN" in kind else "X8024",
        "bill_no": f"XAHB{pk:010d}", "enty_port_code": "610102", "distinate_port": port,
        "trade_mode": "0110", "cut_mode": "101", "contr_no": f"QC-{pk:08d}",
        "trade_area_code": country, "trade_country": country, "trans_mode": "3",
        "wrap_type": "23", "pack_no": n_goods, "gross_wt": gross,
        "net_wt": (gross * D("0.92")).quantize(D("0.00001")), "mark_no": "N/M",
        "promise_relation": "0", "promise_price": "0", "promise_royalty": "0", "self_pay": "0",
        "south_mode": "0", "goods_names": names_text[:500],
        "review_status": REVIEW_STATUS.get(status, "2"), "decl_status": DECL_STATUS.get(status,
                                                                                        "0"),
        "preparer_name": f"{user.first_name or ''}{user.last_name or ''}" or user.username,
        "submitted_by_id": user.id if status != "draft" else None,
        "submitted_at": created if status != "draft" else None,
        "reviewer_name": "赵审" if status not in ("draft", "under_review") else None,
        "reviewed_at": created if status not in ("draft", "under_review") else None,
        "declared_at": created if declared else None,
        "d_date": created.date() if declared else None,
        "ie_date": created.date() if status == "closed" else None,
    }
    return row, goods


def build(url: str, rows: int, seed: int = 20261205) -> dict:
    from bench.seed import _drop_database, is_sqlite, settle

    t0 = time.perf_counter()
    _drop_database(url)
    from app import create_app
    from app.cli import setup_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    setup_database(app, demo=True)
    with app.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()
    log(f"schema + demo ready ({time.perf_counter() - t0:.1f}s)")

    from app.engine.numbering import DocSequence
    from app.engine.textindex import TextGram, grams
    from models.customs_declaration import CdDeclaration, CdGoods

    dec_t, goods_t, gram_t = CdDeclaration.__table__, CdGoods.__table__, TextGram.__table__
    seq_t = DocSequence.__table__
    engine = create_engine(url)
    sqlite = is_sqlite(url)
    if sqlite:
        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn, _rec):
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000",
                           "temp_store=MEMORY", "foreign_keys=OFF"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

    stats = {"declarations": 0, "goods": 0, "grams": 0}
    with engine.connect() as conn:
        gen = Generator(conn, rows, seed)
        next_dec = (conn.execute(text("SELECT max(id) FROM cd_declaration")).scalar() or 0) + 1
        next_goods = (conn.execute(text("SELECT max(id) FROM cd_declaration_goods")).scalar()
                      or 0) + 1
        first = next_dec
        conn.commit()
        by_gram: dict[str, array.array] = defaultdict(lambda: array.array("i"))
        t1 = time.perf_counter()
        i = 0
        while i < rows:
            decs, goods = [], []
            for _ in range(min(CHUNK, rows - i)):
                row, g_rows = generate(gen, i, next_dec, next_goods)
                decs.append(row)
                goods.extend(g_rows)
                for g in grams(row["goods_names"]):
                    by_gram[g].append(next_dec)
                next_dec += 1
                next_goods += len(g_rows)
                i += 1
            conn.execute(insert(dec_t), decs)
            conn.execute(insert(goods_t), goods)
            conn.commit()
            stats["declarations"] += len(decs)
            stats["goods"] += len(goods)
            if i % 100_000 == 0 or i == rows:
                log(f"{i:,} declarations ({stats['goods']:,} goods), "
                    f"{i / (time.perf_counter() - t1):,.0f}/s")
        t2 = time.perf_counter()
        batch: list[dict] = []
        for g in sorted(by_gram):
            for rid in by_gram[g]:
                batch.append({"entity": "cd_declaration", "field": "goods_names", "gram": g,
                              "record_id": rid})
            if len(batch) >= 200_000:
                conn.execute(insert(gram_t), batch)
                stats["grams"] += len(batch)
                batch = []
        if batch:
            conn.execute(insert(gram_t), batch)
            stats["grams"] += len(batch)
        conn.commit()
        by_gram.clear()
        log(f"text_gram: {stats['grams']:,} rows ({time.perf_counter() - t2:.1f}s)")
        # counters past every number used (统一编号 and 系统编号 of this year and today)
        year = str(dt.date.today().year)
        today = dt.date.today().strftime("%Y%m%d")
        for name, period, value in (("cd_declaration.seq_no", year, next_dec),
                                    ("cd_declaration.sys_no", today, 999_000)):
            done = conn.execute(update(seq_t).where(seq_t.c.name == name,
                                                    seq_t.c.period == period)
                                .values(value=value)).rowcount
            if not done:
                conn.execute(insert(seq_t).values(name=name, period=period, value=value))
        for customs in ("9000", "9001", "9002"):
            for flag in "01":
                name, period = "cd_declaration.pre_entry_no", f"{customs}{year}{flag}"
                done = conn.execute(update(seq_t).where(seq_t.c.name == name,
                                                        seq_t.c.period == period)
                                    .values(value=next_dec + 10)).rowcount
                if not done:
                    conn.execute(insert(seq_t).values(name=name, period=period,
                                                      value=next_dec + 10))
        conn.commit()
        if not sqlite:
            for t in ("cd_declaration", "cd_declaration_goods"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                  f"(SELECT max(id) FROM {t}))"))
            conn.commit()
        t3 = time.perf_counter()
        done = settle(conn)
        log(f"{done} ({time.perf_counter() - t3:.1f}s)")
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_customs_meta (id INTEGER PRIMARY "
                          "KEY, rows INTEGER NOT NULL, first_id INTEGER NOT NULL, "
                          "seeded_at VARCHAR(30) NOT NULL)"))
        conn.execute(text("DELETE FROM bench_customs_meta"))
        conn.execute(text("INSERT INTO bench_customs_meta (id, rows, first_id, seeded_at) "
                          "VALUES (1, :r, :f, :at)"),
                     {"r": rows, "f": first, "at": dt.datetime.now().isoformat()})
        conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        n = conn.execute(select(text("count(*)")).select_from(dec_t)).scalar()
        stats["total_declarations"] = n
    engine.dispose()
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    log(f"done: {stats}")
    return stats


if __name__ == "__main__":  # pragma: no cover - python bench/customs_seed.py URL ROWS
    build(sys.argv[1], int(sys.argv[2]))
