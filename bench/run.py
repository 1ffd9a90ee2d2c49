"""List / search / batch / print benchmark: the engine against a stock Flask-AppBuilder ModelView.

    .venv/bin/python bench/run.py                    # seed 1,000,000 rows (minutes), then measure
    .venv/bin/python bench/run.py --reuse            # keep the seeded database of a former run
    .venv/bin/python bench/run.py --rows 20000       # a quick run
    .venv/bin/python bench/run.py --database-url postgresql://user@host/db --reuse

Everything goes through the Flask test client of one app (both screens, same database, same
process), signed in through the /login/ form with its CSRF token.  Each operation is warmed up
once and then timed ``--repeat`` times; the median is reported.  The SQL statements of each timed
request are recorded (``before_cursor_execute`` / ``after_cursor_execute`` on the engine) and
written, with their durations and on SQLite the EXPLAIN QUERY PLAN of the slow ones, to
bench/out/sql/<operation>.txt.  The result table goes to stdout and bench/out/results.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PASSWORD = "Demo@12345"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGE = 20
DEPTH = 50_000  # the page the requirement names
LOAD_AT_START = None


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- SQL recording -----------------------------------------------------------------------------
@dataclass
class Stmt:
    sql: str
    params: object
    ms: float = 0.0


class SqlRecorder:
    """Every statement the engine's connection pool executes while ``on``."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine = engine
        self.on = False
        self.stmts: list[Stmt] = []
        self._t: list[float] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            if self.on:
                self.stmts.append(Stmt(statement, parameters))
                self._t.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            if self.on and self._t:
                self.stmts[-1].ms = (time.perf_counter() - self._t.pop()) * 1000

    def start(self):
        self.stmts = []
        self._t = []
        self.on = True

    def stop(self) -> list[Stmt]:
        self.on = False
        return self.stmts


# --- a signed-in client ----------------------------------------------------------------------
class Browser:
    """A test client signed in through /login/; ``product=False`` for the plain FAB app (no
    home page of the product to check, no CSRF token needed afterwards)."""

    def __init__(self, app, username, product=True):
        self.username = username
        self.client = app.test_client()
        page = self.client.get("/login/")
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        resp = self.client.post("/login/", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": token})
        if resp.status_code != 302:
            raise SystemExit(f"login of {username} failed ({resp.status_code})")
        self.token = None
        if not product:
            return
        home = self.client.get("/")
        if home.status_code != 200 or "公告消息" not in home.get_data(as_text=True):
            raise SystemExit(f"{username} is not signed in")
        html = self.client.get("/notice/").get_data(as_text=True)
        m = CSRF_RE.search(html)
        if not m:
            raise SystemExit("no CSRF token on /notice/")
        self.token = m.group(1)


# --- measurements ------------------------------------------------------------------------------
@dataclass
class M:
    """One timed operation."""

    name: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    sql: list[Stmt] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else float("nan")

    @property
    def nsql(self) -> int:
        return len(self.sql)


class Bench:
    def __init__(self, app, recorder: SqlRecorder, repeat: int):
        self.app = app
        self.rec = recorder
        self.repeat = repeat
        self.results: dict[str, M] = {}

    def get(self, key: str, browser: Browser, path: str, *, expect=None, repeat=None,
            check_status=200, warm=1) -> M:
        """Time GET ``path``; ``expect`` (str or callable(html)) guards against false passes."""
        return in_turns([Timed(self, key, browser, path, expect=expect, repeat=repeat,
                               check_status=check_status)], warm=warm)[0]

    def once(self, key: str, browser: Browser, path: str, expect, check_status: int,
             first: bool) -> tuple[float, float, list, bytes]:
        self.rec.start()
        c = time.process_time()
        t = time.perf_counter()
        resp = browser.client.get(path)
        body = resp.get_data()
        ms = (time.perf_counter() - t) * 1000
        cpu = (time.process_time() - c) * 1000
        stmts = self.rec.stop()
        if resp.status_code != check_status:
            raise RuntimeError(f"{key}: GET {path} -> {resp.status_code}\n"
                               f"{body[:2000].decode(errors='replace')}")
        if expect is not None and first:
            text = body.decode("utf-8", errors="replace")
            ok = expect(text) if callable(expect) else expect in text
            if not ok:
                dump = os.path.join(OUT, f"failed_{key}.html")
                with open(dump, "w", encoding="utf-8") as fh:
                    fh.write(text)
                raise RuntimeError(f"{key}: GET {path}: expected content missing "
                                   f"(page saved to {dump})")
        return ms, cpu, stmts, body


@dataclass
class Timed:
    """One GET to time: in ``bench``'s results under ``key``."""

    bench: Bench
    key: str
    browser: Browser
    path: str
    expect: Any = None
    repeat: int | None = None
    check_status: int = 200


def in_turns(ops: list[Timed], warm: int = 1) -> list[M]:
    """Time GETs taking turns — a, b, c, a, b, c … — until each has had its repeats: a slow
    spell of a shared machine then falls on every side of a comparison alike, where timing
    one side after the other charges it to one of them.  Each timed request follows an untimed
    one of its own: taking turns, a request would otherwise find the processor's caches full
    of the other application (the product and the plain FAB app share this process), which a
    server running one application never sees: the product's exact search measured 3.0 ms
    right after a request of the plain FAB app, 2.4–2.5 ms right after one of its own."""
    out = [M(op.key) for op in ops]
    rounds = [warm + (op.repeat or op.bench.repeat) for op in ops]
    for i in range(max(rounds)):
        for op, m, n in zip(ops, out, rounds, strict=True):
            if i >= n:
                continue
            if i >= warm:
                op.bench.once(op.key, op.browser, op.path, None, op.check_status, first=False)
            ms, cpu, stmts, body = op.bench.once(op.key, op.browser, op.path, op.expect,
                                                 op.check_status, first=i == 0)
            if i >= warm:
                m.times_ms.append(ms)
                m.cpu_ms.append(cpu)
                m.sql = stmts
                m.extra["body"] = body
    for op, m in zip(ops, out, strict=True):
        op.bench.results[op.key] = m
        log(f"{op.key:42} median {m.median:9.1f} ms (cpu {m.cpu_median:7.1f})  ({m.nsql} SQL)  "
            f"[{', '.join(f'{t:.0f}' for t in m.times_ms)}]")
    return out


def explain(conn, stmt: Stmt, sqlite: bool) -> str:
    try:
        params = stmt.params
        if isinstance(params, list):
            params = params[0] if params else ()
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        rows = conn.exec_driver_sql(prefix + stmt.sql, params).all()
        return "\n".join(f"    {r[-1]}" for r in rows)
    except Exception as e:  # noqa: BLE001 - diagnostics only
        conn.rollback()
        return f"    (no plan: {e})"


def write_sql_report(app, results: dict[str, M], sqlite: bool) -> None:
    from app import db

    os.makedirs(os.path.join(OUT, "sql"), exist_ok=True)
    with app.app_context():
        with db.engine.connect() as conn:
            for key, m in results.items():
                if not m.sql:
                    continue
                lines = [f"# {key}: {m.nsql} statements, request median {m.median:.1f} ms "
                         f"(cpu {m.cpu_median:.1f} ms), SQL total "
                         f"{sum(s.ms for s in m.sql):.1f} ms (last timed request)", ""]
                if m.nsql > 20:
                    kinds: dict[str, list[float]] = {}
                    for s in m.sql:
                        k = re.sub(r"sa_savepoint_\d+", "sa_savepoint_N", " ".join(s.sql.split()))
                        kinds.setdefault(k[:110], []).append(s.ms)
                    lines.append("statement kinds (count, total ms):")
                    for k, v in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
                        lines.append(f"  {len(v):6}  {sum(v):9.1f} ms  {k}")
                    lines.append("")
                for n, s in enumerate(m.sql, 1):
                    sql = " ".join(s.sql.split())
                    params = s.params if not isinstance(s.params, list) or len(s.params) < 4 \
                        else f"[{len(s.params)} parameter sets]"
                    ptxt = str(params)
                    if len(ptxt) > 300:
                        ptxt = ptxt[:300] + "…"
                    lines.append(f"{n:3}. {s.ms:8.2f} ms  {sql[:1500]}")
                    lines.append(f"     params: {ptxt}")
                    if s.ms >= 1 and sql.upper().startswith("SELECT"):
                        lines.append("     plan:")
                        lines.append(explain(conn, s, sqlite))
                with open(os.path.join(OUT, "sql", f"{key}.txt"), "w", encoding="utf-8") as fh:
                    fh.write("\n".join(lines) + "\n")


# --- the run ------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000,
                    help="licence applications to seed (default 1,000,000)")
    ap.add_argument("--database-url", default=None,
                    help="SQLAlchemy URL (default: SQLite file bench/out/bench-<rows>.db)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the database of a former run if it holds --rows rows")
    ap.add_argument("--repeat", type=int, default=7, help="timed repetitions per operation")
    ap.add_argument("--batch-repeat", type=int, default=3,
                    help="repetitions of the 1,000-record batch 申报 (each on fresh drafts)")
    ap.add_argument("--print-repeat", type=int, default=3, help="repetitions of the prints")
    ap.add_argument("--word", default="机床", help="contains-search word on 商品名称")
    ap.add_argument("--no-whatif", action="store_true",
                    help="skip the what-if print run with the CJK font made known to xhtml2pdf")
    args = ap.parse_args(argv)

    os.makedirs(OUT, exist_ok=True)
    url = args.database_url or "sqlite:///" + os.path.join(OUT, f"bench-{args.rows}.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    sqlite = url.startswith("sqlite")

    from bench import seed

    have = seed.seeded_rows(url)
    if args.reuse and have == args.rows:
        log(f"reusing {url} ({have:,} seeded rows)")
        seed_stats = None
    else:
        if args.reuse:
            log(f"--reuse: {url} holds {have} seeded rows, not {args.rows:,}: seeding")
        seed_stats = seed.build(url, args.rows)

    import logging

    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    from app import create_app, db

    # The batch print of 100 is timed as one PDF answered in the request: the product sends more
    # than PRINT_INLINE_RECORDS (50) to a background job, which renders the same PDF.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True,
                      "PRINT_INLINE_RECORDS": 100})
    if seed_stats is None:
        # A reused database gets the migrations added since it was seeded.
        from flask_migrate import upgrade

        with app.app_context():
            upgrade(directory=os.path.join(HERE, os.pardir, "migrations"))
    from bench import stockfab

    stockfab.register(app)

    with app.app_context():
        recorder = SqlRecorder(db.engine)
        fx = fixtures(db.session, args.word)
        db.session.remove()
    log("fixtures: " + json.dumps({k: v for k, v in fx.items() if k not in (
        "drafts", "print_ids")}, ensure_ascii=False, default=str))

    stock_app, stock_db = stockfab.stock_app(url)
    with stock_app.app_context():
        stock_recorder = SqlRecorder(stock_db.engine)

    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()
    ent = Browser(app, "enterprise1")
    admin = Browser(app, "admin")
    stock_admin = Browser(stock_app, "admin", product=False)
    b = Bench(app, recorder, args.repeat)
    bs = Bench(stock_app, stock_recorder, args.repeat)
    bs.results = b.results  # one table of results

    L = "/me_licence_application/"
    S = stockfab.LIST_URL
    P = stockfab.PAGE_ARG

    def has(text):
        return lambda html: text in html

    # -- lists ----------------------------------------------------------------------------
    b.get("engine_list_p1_enterprise1", ent, L, expect=has(fx["ent_first_no"]))
    b.get("engine_list_p1_admin", admin, L, expect=has(fx["all_first_no"]))
    b.get("stock_list_p1", admin, f"{S}?{P}=0", expect=has(fx["all_first_no"]))
    bs.get("fabapp_list_p1", stock_admin, f"{S}?{P}=0", expect=has(fx["all_first_no"]))
    from app.engine.listing import encode_cursor

    cur = encode_cursor([fx["all_deep_after"], fx["all_deep_after"]])
    b.get("engine_list_deep_admin", admin, f"{L}?_after={cur}&_page={fx['all_deep_page']}",
          expect=has(fx["all_deep_first_no"]))
    cur = encode_cursor([fx["ent_deep_after"], fx["ent_deep_after"]])
    b.get("engine_list_deep_enterprise1", ent,
          f"{L}?_after={cur}&_page={fx['ent_deep_page']}", expect=has(fx["ent_deep_first_no"]))
    b.get("engine_list_last_admin", admin, f"{L}?_last=1", expect=has(fx["all_last_no"]))
    b.get("engine_list_last_enterprise1", ent, f"{L}?_last=1", expect=has(fx["ent_last_no"]))
    b.get("stock_list_deep", admin, f"{S}?{P}={fx['all_deep_page'] - 1}",
          expect=has(fx["all_deep_first_no"]), repeat=max(3, args.repeat // 2))
    bs.get("fabapp_list_deep", stock_admin, f"{S}?{P}={fx['all_deep_page'] - 1}",
           expect=has(fx["all_deep_first_no"]), repeat=max(3, args.repeat // 2))

    # -- search by 申请单编号 ---------------------------------------------------------------------
    no = fx["search_no"]
    b.get("engine_search_no_enterprise1", ent, f"{L}?application_no={no}&_searched=1",
          expect=has(no))
    b.get("engine_search_no_admin", admin, f"{L}?application_no={no}&_searched=1",
          expect=has(no))
    b.get("stock_search_no", admin, f"{S}?_flt_{stockfab.FLT_EQUAL}_application_no={no}",
          expect=has(no), repeat=max(3, args.repeat // 2))
    bs.get("fabapp_search_no", stock_admin,
           f"{S}?_flt_{stockfab.FLT_EQUAL}_application_no={no}", expect=has(no),
           repeat=max(3, args.repeat // 2))

    # -- contains-search on 商品名称 -------------------------------------------------------------
    w = args.word
    b.get("engine_contains_enterprise1", ent, f"{L}?goods_names={w}&_searched=1",
          expect=has(fx["ent_word_first_no"]))
    b.get("engine_contains_admin", admin, f"{L}?goods_names={w}&_searched=1",
          expect=has(fx["all_word_first_no"]))
    b.get("stock_contains", admin, f"{S}?_flt_{stockfab.FLT_CONTAINS}_goods_names={w}",
          expect=has(fx["all_word_first_no"]), repeat=max(3, args.repeat // 2))
    bs.get("fabapp_contains", stock_admin,
           f"{S}?_flt_{stockfab.FLT_CONTAINS}_goods_names={w}",
           expect=has(fx["all_word_first_no"]), repeat=max(3, args.repeat // 2))
    # Informational: a query that matches nothing (first bigram frequent, the rest absent).
    miss = w + "人"
    b.get("engine_contains_nomatch_admin", admin, f"{L}?goods_names={miss}&_searched=1",
          repeat=max(3, args.repeat // 2))
    b.get("stock_contains_nomatch", admin,
          f"{S}?_flt_{stockfab.FLT_CONTAINS}_goods_names={miss}", repeat=max(3, args.repeat // 2))

    # -- open one record ------------------------------------------------------------------------
    pk = fx["open_id"]
    b.get("engine_open_enterprise1", ent, f"{L}{pk}", expect=has(fx["open_no"]))
    b.get("engine_open_admin", admin, f"{L}{pk}", expect=has(fx["open_no"]))
    b.get("stock_open", admin, stockfab.SHOW_URL.format(pk=pk), expect=has(fx["open_no"]))
    bs.get("fabapp_open", stock_admin, stockfab.SHOW_URL.format(pk=pk),
           expect=has(fx["open_no"]))

    # -- print --------------------------------------------------------------------------------
    from pypdf import PdfReader

    def pages(m: M) -> int:
        return len(PdfReader(io.BytesIO(m.extra["body"])).pages)

    from bench import whatif

    def print_pair(suffix: str) -> None:
        m = b.get(f"engine_print_one{suffix}", ent, f"{L}{fx['print_ids'][0]}/print",
                  repeat=args.print_repeat)
        m.extra["pages"] = pages(m)
        m.extra["fonts"] = whatif.pdf_fonts(m.extra["body"])
        ids = ",".join(str(i) for i in fx["print_ids"][:100])
        t = time.perf_counter()
        cold = ent.client.get(f"{L}print?ids={ids}")  # starts the worker pool
        cold_ms = (time.perf_counter() - t) * 1000
        assert cold.status_code == 200
        m = b.get(f"engine_print_100{suffix}", ent, f"{L}print?ids={ids}",
                  repeat=args.print_repeat, warm=0)
        m.extra["pages"] = pages(m)
        m.extra["cold_ms"] = cold_ms
        m.extra["fonts"] = whatif.pdf_fonts(m.extra["body"])
        with open(os.path.join(OUT, f"print_100{suffix}.pdf"), "wb") as fh:
            fh.write(m.extra["body"])

    print_pair("")
    log(f"print fonts as-is: {b.results['engine_print_one'].extra['fonts']}")
    if not args.no_whatif and not b.results["engine_print_one"].extra["fonts"]["cjk_embedded"]:
        # What if xhtml2pdf knew the registered CJK font (see bench/whatif.py)?
        from app.engine import printing

        if printing._pool is not None:
            printing._pool.shutdown()
            printing._pool = None
        printing._worker_init = whatif.fixed_font_init
        whatif.map_font_for_xhtml2pdf(printing.register_font(app.config["PRINT_FONT_PATHS"]))
        print_pair("_cjk_font")
        log(f"print fonts what-if: {b.results['engine_print_one_cjk_font'].extra['fonts']}")

    # -- batch 申报 of 1,000 ----------------------------------------------------------------------
    batch = M("engine_batch_declare_1000")
    drafts = fx["drafts"]
    for r in range(args.batch_repeat):
        chosen = drafts[r * 1000:(r + 1) * 1000]
        if len(chosen) < 1000:
            log(f"only {len(chosen)} drafts left for batch run {r + 1}")
            if not chosen:
                break
        marks = _marks(app)
        recorder.start()
        c = time.process_time()
        t = time.perf_counter()
        resp = ent.client.post(f"{L}batch/declare", data={
            "ids": [str(i) for i in chosen], "csrf_token": ent.token,
            "_next": L + "?_searched=1&status=under_review"})
        ms = (time.perf_counter() - t) * 1000
        cpu = (time.process_time() - c) * 1000
        stmts = recorder.stop()
        if resp.status_code != 302:
            raise RuntimeError(f"batch declare -> {resp.status_code}: "
                               f"{resp.get_data(as_text=True)[:2000]}")
        ok, failed_msg = _declared(app, chosen, ent)
        batch.times_ms.append(ms)
        batch.cpu_ms.append(cpu)
        batch.sql = stmts
        batch.extra.setdefault("ok", []).append(ok)
        batch.extra.setdefault("n", []).append(len(chosen))
        if failed_msg:
            batch.extra["message"] = failed_msg
        log(f"batch 申报 run {r + 1}: {len(chosen)} ids, {ok} declared in {ms / 1000:.2f} s "
            f"({len(stmts)} SQL)")
        _restore(app, chosen, marks)
    b.results[batch.name] = batch

    # -- report ----------------------------------------------------------------------------------
    write_sql_report(app, b.results, sqlite)
    info = environment(app, url, args, seed_stats, fx)
    md = report(b.results, info, args, fx)
    with open(os.path.join(OUT, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(md)
    with open(os.path.join(OUT, "results.json"), "w", encoding="utf-8") as fh:
        json.dump({k: {"median_ms": v.median, "times_ms": v.times_ms, "cpu_ms": v.cpu_ms,
                       "sql": v.nsql,
                       **{x: y for x, y in v.extra.items() if x != "body"}}
                   for k, v in b.results.items()} | {"_info": info}, fh, ensure_ascii=False,
                  indent=1, default=str)
    print()
    print(md)
    from app.engine import printing

    if printing._pool is not None:
        printing._pool.shutdown()
    return 0


# --- fixtures: which rows to ask for -------------------------------------------------------
def fixtures(session, word: str) -> dict:
    from sqlalchemy import func, select

    from models.base import Organisation
    from models.me_licence import LicenceApplication as A

    org = session.scalar(select(Organisation.id).where(Organisation.customs_code == "6101930123"))
    fx: dict = {"org": org}

    def nth(where, n, desc=True):
        q = select(A.id, A.application_no).where(*where)
        q = q.order_by(A.id.desc() if desc else A.id.asc()).offset(n).limit(1)
        return session.execute(q).first()

    mine = [A.company_id == org]
    total_all = session.scalar(select(func.count()).select_from(A))
    total_ent = session.scalar(select(func.count()).select_from(A).where(*mine))
    fx["total_all"], fx["total_ent"] = total_all, total_ent
    fx["all_first_no"] = nth([], 0).application_no
    fx["ent_first_no"] = nth(mine, 0).application_no
    fx["all_last_no"] = nth([], 0, desc=False).application_no
    fx["ent_last_no"] = nth(mine, 0, desc=False).application_no
    # Page N starts after the row at position (N-1)*20 in the default id-desc order.
    for who, where, total in (("all", [], total_all), ("ent", mine, total_ent)):
        pageno = min(DEPTH, max(1, (total - 1) // PAGE + 1))
        fx[f"{who}_deep_page"] = pageno
        after = nth(where, (pageno - 1) * PAGE - 1)
        first = nth(where, (pageno - 1) * PAGE)
        fx[f"{who}_deep_after"] = after.id
        fx[f"{who}_deep_first_no"] = first.application_no
    # A record of enterprise1 in the middle of the table for the exact search / open / print.
    mid = nth(mine + [A.status == "approved"], total_ent // 2)
    fx["search_no"] = mid.application_no
    fx["open_id"], fx["open_no"] = mid.id, mid.application_no
    like = A.goods_names.like(f"%{word}%")
    fx["all_word_first_no"] = nth([like], 0).application_no
    fx["ent_word_first_no"] = nth(mine + [like], 0).application_no
    fx["print_ids"] = list(session.scalars(
        select(A.id).where(*mine, A.status == "approved").order_by(A.id.desc()).limit(100)))
    fx["drafts"] = list(session.scalars(
        select(A.id).where(*mine, A.status == "draft").order_by(A.id.desc()).limit(10_000)))
    fx["drafts_available"] = len(fx["drafts"])
    return fx


def _marks(app) -> dict:
    from sqlalchemy import text

    from app import db

    with app.app_context():
        with db.engine.connect() as c:
            return {t: c.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar()
                    for t in ("flow_entry", "field_change", "outbox_message")}


def _declared(app, ids, browser) -> tuple[int, str | None]:
    from sqlalchemy import func, select

    from app import db
    from models.me_licence import LicenceApplication as A

    with app.app_context():
        ok = db.session.scalar(select(func.count()).select_from(A).where(
            A.id.in_(ids), A.status == "under_review"))
        db.session.remove()
    msg = None
    if ok != len(ids):
        html = browser.client.get("/me_licence_application/?_searched=1&status=draft") \
            .get_data(as_text=True)
        m = re.search(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
        msg = re.sub(r"<[^>]+>", " ", m.group(1)).strip()[:500] if m else None
    return ok, msg


def _restore(app, ids, marks) -> None:
    """Put the declared drafts back so the next run (``--reuse``) finds them again."""
    from sqlalchemy import bindparam, text

    from app import db

    with app.app_context():
        with db.engine.begin() as c:
            c.execute(text("UPDATE me_licence_application SET status = 'draft', "
                           "declared_at = NULL WHERE id IN :ids")
                      .bindparams(bindparam("ids", expanding=True)), {"ids": list(ids)})
            for t, mark in marks.items():
                c.execute(text(f"DELETE FROM {t} WHERE id > :m"), {"m": mark})


# --- report -------------------------------------------------------------------------------------
def environment(app, url, args, seed_stats, fx) -> dict:
    import flask_appbuilder
    import sqlalchemy

    info = {
        "rows": args.rows, "database": url.split("@")[-1],
        "applications_total": fx["total_all"], "applications_enterprise1": fx["total_ent"],
        "python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__,
        "flask_appbuilder": flask_appbuilder.__version__, "cpus": os.cpu_count(),
        "machine": platform.machine(), "repeat": args.repeat,
        "loadavg_at_start": LOAD_AT_START, "loadavg_at_end": os.getloadavg(),
    }
    info["git"] = git_state()
    if url.startswith("sqlite"):
        import sqlite3

        info["sqlite"] = sqlite3.sqlite_version
        path = url.split("sqlite:///", 1)[1]
        info["db_size_mb"] = round(os.path.getsize(path) / 1e6)
    if seed_stats:
        info["seed"] = seed_stats
    return info


def git_state() -> dict:
    """HEAD and the files modified in the working tree (read-only git calls)."""
    import subprocess

    def git(*a):
        try:
            return subprocess.run(["git", "--no-optional-locks", "-C", ROOT, *a],
                                  capture_output=True, text=True, timeout=20).stdout.rstrip()
        except Exception:  # noqa: BLE001
            return ""

    return {"head": git("rev-parse", "--short", "HEAD"),
            "modified": [ln[3:] for ln in git("status", "--porcelain").splitlines()
                         if not ln[3:].startswith("bench/")]}


def _fmt_ms(v: float) -> str:
    if v != v:  # nan
        return "—"
    return f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"


def report(r: dict[str, M], info: dict, args, fx: dict) -> str:
    rows: list[tuple[str, str, str, str, str, str]] = []

    def faster(e, base):
        return _fmt_ms(base.median) + (f" ({base.median / e.median:.1f}× faster)"
                                       if e.median > 0 else "")

    def ratio_row(label, ek, sk):
        e, s = r.get(ek), r.get(sk)
        a = r.get(sk.replace("stock_", "fabapp_"))
        if e is None or s is None:
            return

        def verdict(base):
            return "yes" if e.median <= base.median / 5 else "**NO**"

        rows.append((label, _fmt_ms(e.median), faster(e, s), faster(e, a) if a else "—",
                     "≤ 1/5 of stock", f"{verdict(s)} · {verdict(a)}" if a else verdict(s)))

    ratio_row("List page 1 — enterprise1 (engine) / admin (stock)", "engine_list_p1_enterprise1",
              "stock_list_p1")
    ratio_row("List page 1 — admin, all rows", "engine_list_p1_admin", "stock_list_p1")
    ratio_row(f"List page {fx['all_deep_page']:,} — admin (engine `_after` cursor, stock "
              f"`page_…={fx['all_deep_page'] - 1}`)", "engine_list_deep_admin", "stock_list_deep")
    for who, p1, deep, pg in (
            ("admin", "engine_list_p1_admin", "engine_list_deep_admin", fx["all_deep_page"]),
            ("enterprise1", "engine_list_p1_enterprise1", "engine_list_deep_enterprise1",
             fx["ent_deep_page"])):
        a, d = r[p1], r[deep]
        flat = d.median <= 1.5 * a.median
        cols = []
        for prefix in ("stock", "fabapp"):
            if f"{prefix}_list_deep" in r and f"{prefix}_list_p1" in r:
                sd, s1 = r[f"{prefix}_list_deep"].median, r[f"{prefix}_list_p1"].median
                cols.append(f"{_fmt_ms(sd)} / {_fmt_ms(s1)} = {sd / s1:.2f}×")
            else:
                cols.append("—")
        rows.append((f"Flat in page depth — {who}: page {pg:,} / page 1",
                     f"{_fmt_ms(d.median)} / {_fmt_ms(a.median)} = {d.median / a.median:.2f}×",
                     *cols, "≤ 1.5×", "yes" if flat else "**NO**"))
    ratio_row("末页 (`_last=1`) — admin", "engine_list_last_admin", "stock_list_deep")
    ratio_row("末页 (`_last=1`) — enterprise1", "engine_list_last_enterprise1", "stock_list_deep")
    ratio_row("Search 申请单编号 — enterprise1", "engine_search_no_enterprise1", "stock_search_no")
    ratio_row("Search 申请单编号 — admin", "engine_search_no_admin", "stock_search_no")
    ratio_row(f"Contains 商品名称 “{args.word}” — enterprise1", "engine_contains_enterprise1",
              "stock_contains")
    ratio_row(f"Contains 商品名称 “{args.word}” — admin", "engine_contains_admin",
              "stock_contains")
    ratio_row(f"Contains 商品名称 “{args.word}人” (no match) — admin",
              "engine_contains_nomatch_admin", "stock_contains_nomatch")
    for label, ek in (("Open one record — enterprise1 (engine) / admin (stock)",
                       "engine_open_enterprise1"),
                      ("Open one record — admin", "engine_open_admin")):
        e, s, a = r[ek], r["stock_open"], r.get("fabapp_open")
        rows.append((label, _fmt_ms(e.median), _fmt_ms(s.median),
                     _fmt_ms(a.median) if a else "—", "— (no target; reported)", "n/a"))

    bt = r.get("engine_batch_declare_1000")
    if bt is not None and bt.times_ms:
        oks = bt.extra.get("ok", [])
        ns = bt.extra.get("n", [])
        sec = bt.median / 1000
        all_ok = all(o == n == 1000 for o, n in zip(oks, ns, strict=False))
        rows.append(("Batch 申报 of 1,000 drafts — enterprise1",
                     f"{sec:.2f} s (cpu {bt.cpu_median / 1000:.2f} s), {min(oks)}/{max(ns)} "
                     f"declared, {bt.nsql:,} SQL",
                     "— (no workflow in stock FAB)", "—", "≤ 3 s, all declared",
                     "yes" if sec <= 3 and all_ok else "**NO**"))
    for key, label in (("engine_print_one", "Print one"),
                       ("engine_print_100", "Batch print 100"),
                       ("engine_print_one_cjk_font", "Print one, what-if CJK font used"),
                       ("engine_print_100_cjk_font", "Batch print 100, what-if CJK font used")):
        m = r.get(key)
        if m is None:
            continue
        per = m.median / max(1, m.extra.get("pages", 1))
        cold = (f"; first request, incl. starting the print workers: "
                f"{m.extra['cold_ms'] / 1000:.1f} s") if "cold_ms" in m.extra else ""
        fonts = m.extra.get("fonts", {})
        glyphs = "" if fonts.get("cjk_embedded") else \
            "; **Chinese text not printed: no CJK font in the PDF** (" + \
            ", ".join(fonts.get("fonts", [])) + ")"
        cpu = f", cpu {m.cpu_median:.0f} ms" if key.startswith("engine_print_one") else ""
        ok = per <= 100 and fonts.get("cjk_embedded")
        rows.append((f"{label} — ms per page",
                     f"{per:.0f} ms/page ({_fmt_ms(m.median)} for {m.extra.get('pages')} pages"
                     f"{cpu}{cold}){glyphs}", "— (no print in stock FAB)", "—",
                     "≤ 100 ms/page (readable)", "yes" if ok else "**NO**"))
    for key, label in (("engine_list_p1_enterprise1", "enterprise1 page 1"),
                       ("engine_list_p1_admin", "admin page 1"),
                       ("engine_list_deep_admin", "admin deep page"),
                       ("engine_search_no_enterprise1", "enterprise1 申请单编号 search"),
                       ("engine_contains_admin", "admin contains search")):
        m = r[key]
        stock_key = {"engine_list_deep_admin": "stock_list_deep",
                     "engine_search_no_enterprise1": "stock_search_no",
                     "engine_contains_admin": "stock_contains"}.get(key, "stock_list_p1")
        app_m = r.get(stock_key.replace("stock_", "fabapp_"))
        rows.append((f"SQL statements per list request — {label}", str(m.nsql),
                     str(r[stock_key].nsql), str(app_m.nsql) if app_m else "—", "≤ 6",
                     "yes" if m.nsql <= 6 else "**NO**"))

    out = ["# Benchmark: engine vs stock Flask-AppBuilder ModelView", "",
           f"{info['applications_total']:,} licence applications "
           f"({info['applications_enterprise1']:,} of enterprise1's company) on "
           f"{info['database']}; medians of {args.repeat} warm requests through the Flask "
           f"test client (deep/search/contains on stock FAB: "
           f"{max(3, args.repeat // 2)}), same process, same database.", "",
           "Two baselines: the stock `ModelView` registered inside this product's app (it "
           "inherits the product's security manager, caches and layout), and the same stock "
           "`ModelView` in a plain Flask-AppBuilder app (`bench/stockfab.py: stock_app`: FAB's "
           "own security manager, layout and configuration) over the same database. "
           "\"met?\" is judged against each: in this app · in the plain FAB app.", "",
           "| operation | engine | stock view in this app | stock FAB app | target | met? |",
           "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {' | '.join(row)} |" for row in rows]
    out += ["", "## All measurements", "",
            "| key | median (wall) | min | max | median CPU of this process | SQL | runs |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, m in r.items():
        if m.times_ms:
            out.append(f"| {k} | {m.median:.1f} ms | {min(m.times_ms):.1f} ms | "
                       f"{max(m.times_ms):.1f} ms | {m.cpu_median:.1f} ms | {m.nsql} | "
                       f"{len(m.times_ms)} |")
    out += ["", "## Environment", "", "```", json.dumps(info, ensure_ascii=False, indent=1,
                                                         default=str), "```", "",
            "SQL statements of each timed request, with durations and query plans: "
            "bench/out/sql/<key>.txt", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
