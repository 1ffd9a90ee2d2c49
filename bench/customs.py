"""Declaration benchmark (智慧云报关): the engine's generated screens over 1,000,000 报关单 with
3,000,000 goods lines, beside a stock Flask-AppBuilder ModelView over the same table in the same
run; 导入 of a 10,000-line workbook, 列表导出 of 100,000 rows (peak memory at 10k / 50k / 100k
rows, each export in a fresh process), the DecMessage of one declaration.

    .venv/bin/python bench/customs.py                   # seed 1,000,000 (≈ 15–25 min), measure
    .venv/bin/python bench/customs.py --reuse           # measure again on the seeded database
    .venv/bin/python bench/customs.py --rows 20000      # a quick run
    .venv/bin/python bench/customs.py --database-url postgresql://user@host/db

Results: bench/out/customs-results.md (and .json); SQL of each timed request in
bench/out/sql/customs_<key>.txt.  Targets as for the licence system (bench/README.md): list and
search ≤ 1/5 of stock FAB, flat in page depth, ≤ 6 SQL per list request.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.run import (  # noqa: E402
    DEPTH,
    PAGE,
    Bench,
    Browser,
    M,
    SqlRecorder,
    _fmt_ms,
    git_state,
    in_turns,
    log,
    write_sql_report,
)
from bench.run import Timed as T  # noqa: E402

VIEW_NAME = "DeclarationFabView"
LIST_URL = "/declarationfabview/list/"
SHOW_URL = "/declarationfabview/show/{pk}"
PAGE_ARG = f"page_{VIEW_NAME}"
FLT_CONTAINS, FLT_EQUAL = 2, 3
IMPORT_HEADS, IMPORT_LINES = 1_000, 10


def make_view_class():
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from models.customs_declaration import CdDeclaration

    class DeclarationFabView(ModelView):
        datamodel = SQLAInterface(CdDeclaration)
        list_columns = list(CdDeclaration.meta().list_columns)
        search_columns = ["seq_no", "pre_entry_no", "entry_id", "bill_no", "goods_names",
                          "status", "updated_at"]
        base_order = ("id", "desc")
        page_size = 20

    return DeclarationFabView


def register(app) -> None:
    from app.cli import sync_security

    with app.app_context():
        app.appbuilder.add_view_no_menu(make_view_class())
        sync_security(app.appbuilder)


def fixtures(session, word: str) -> dict:
    from sqlalchemy import func, select

    from models.base import Organisation
    from models.customs_declaration import CdDeclaration as D

    org = session.scalar(select(Organisation.id).where(Organisation.customs_code == "6101930123"))
    fx: dict = {"org": org}

    def nth(where, n, desc=True):
        q = select(D.id, D.seq_no).where(*where)
        return session.execute(q.order_by(D.id.desc() if desc else D.id.asc())
                               .offset(n).limit(1)).first()

    mine = [D.company_id == org]
    fx["total_all"] = session.scalar(select(func.count()).select_from(D))
    fx["total_ent"] = session.scalar(select(func.count()).select_from(D).where(*mine))
    fx["all_first_no"], fx["ent_first_no"] = nth([], 0).seq_no, nth(mine, 0).seq_no
    for who, where, total in (("all", [], fx["total_all"]), ("ent", mine, fx["total_ent"])):
        pageno = min(DEPTH, max(1, (total - 1) // PAGE + 1))
        fx[f"{who}_deep_page"] = pageno
        fx[f"{who}_deep_after"] = nth(where, (pageno - 1) * PAGE - 1).id
        fx[f"{who}_deep_first_no"] = nth(where, (pageno - 1) * PAGE).seq_no
    mid = nth(mine + [D.status == "closed"], fx["total_ent"] // 2)
    fx["search_no"], fx["open_id"] = mid.seq_no, mid.id
    like = D.goods_names.like(f"%{word}%")
    fx["all_word_first_no"] = nth([like], 0).seq_no
    fx["ent_word_first_no"] = nth(mine + [like], 0).seq_no
    fx["max_id"] = session.scalar(select(func.max(D.id)))
    return fx


# --- 导入 of a 10,000-line workbook ---------------------------------------------------------------
def import_workbook(template: bytes) -> bytes:
    from openpyxl import load_workbook

    from demo.customs_declaration import export_data

    wb = load_workbook(io.BytesIO(template))
    head_ws, goods_ws = wb.worksheets[0], wb.worksheets[1]
    names = [c.value for c in head_ws[2]]
    gnames = [c.value for c in goods_ws[2]]
    base = export_data()
    line = dict(base["goods"][1])  # 机床零件: one legal unit
    for k in range(1, IMPORT_HEADS + 1):
        head = {key: v for key, v in base.items() if not isinstance(v, list)}
        head.update(_row=k, bill_no=f"XAHB9{k:09d}", contr_no=f"IMP-{k:06d}")
        head_ws.append([head.get(n) for n in names])
        for _g in range(IMPORT_LINES):
            goods_ws.append([{**line, "_row": k}.get(n) for n in gnames])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def measure_import(app, ent: Browser, recorder: SqlRecorder, fx: dict) -> M:
    from sqlalchemy import delete, func, select, text

    from app import db
    from models.customs_declaration import CdDeclaration, CdGoods

    data = import_workbook(ent.client.get("/cd_declaration/import/template").data)
    with app.app_context():
        before = db.session.scalar(select(func.max(CdDeclaration.id)))
        marks = {t: db.session.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar()
                 for t in ("flow_entry", "field_change")}
        db.session.remove()
    m = M("import_10000_lines")
    recorder.start()
    c, t = time.process_time(), time.perf_counter()
    resp = ent.client.post("/cd_declaration/import", data={
        "file": (io.BytesIO(data), "declarations.xlsx"), "csrf_token": ent.token},
        content_type="multipart/form-data")
    ms, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
    stmts = recorder.stop()
    html = resp.get_data(as_text=True)
    if f"导入成功：{IMPORT_HEADS} 条" not in html:
        raise RuntimeError("import failed: " + html[-3000:])
    m.times_ms, m.cpu_ms, m.sql = [ms], [cpu], stmts
    with app.app_context():
        s = db.session
        new = list(s.scalars(select(CdDeclaration.id).where(CdDeclaration.id > before)))
        lines = s.scalar(select(func.count()).select_from(CdGoods).where(
            CdGoods.declaration_id.in_(new)))
        m.extra.update(declarations=len(new), lines=lines, bytes=len(data))
        # put the database back for --reuse
        s.execute(delete(CdGoods).where(CdGoods.declaration_id.in_(new)))
        s.execute(delete(CdDeclaration).where(CdDeclaration.id.in_(new)))
        for t_, mark in marks.items():
            s.execute(text(f"DELETE FROM {t_} WHERE id > :m"), {"m": mark})
        s.execute(text("DELETE FROM text_gram WHERE entity = 'cd_declaration' "
                       "AND record_id > :m"), {"m": before})
        s.commit()
        s.remove()
    log(f"import: {len(new)} declarations, {lines} lines in {ms / 1000:.1f} s "
        f"({len(stmts):,} SQL)")
    return m


# --- 列表导出: peak memory of a fresh process per size -------------------------------------------
def peak_rss_mb() -> int:
    """The process's resident-memory high-water mark (VmHWM).  Not ru_maxrss: Linux carries a
    parent's maximum across fork and exec into the child's ru_maxrss."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def export_probe(url: str, rows: int) -> dict:
    """(In a fresh process) 列表导出 of ``rows`` declarations of enterprise1 through HTTP; the
    response is read chunk by chunk, as a browser downloads it.  Above EXPORT_INLINE_ROWS
    (10,000) a user's export runs as a background job through the same workbook writer; the
    probe lifts that threshold to time the writer within the request, EXPORT_MAX_ROWS cutting
    the export at ``rows``."""
    import logging

    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "EXPORT_MAX_ROWS": rows,
                      "EXPORT_INLINE_ROWS": 10**9})
    b = Browser(app, "enterprise1")
    b.client.get("/cd_declaration/export?_ids=1")  # everything imported and warmed up once
    base = peak_rss_mb()
    t = time.perf_counter()
    resp = b.client.get("/cd_declaration/export?_searched=1", buffered=False)
    size = 0
    for chunk in resp.response:
        size += len(chunk)
    resp.close()
    ms = (time.perf_counter() - t) * 1000
    if resp.status_code != 200 or not size:
        raise SystemExit(f"export of {rows:,} rows answered {resp.status_code}, {size} bytes")
    return {"rows": rows, "ms": round(ms), "bytes": size, "rss_before_mb": base,
            "peak_rss_mb": peak_rss_mb(), "status": resp.status_code}


def run_probe(url: str, rows: int) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--database-url", url,
                          "--export-probe", str(rows)], capture_output=True, text=True,
                         cwd=ROOT, timeout=3600)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not line:
        raise RuntimeError(f"export probe {rows}: {out.stderr[-3000:]}")
    result = json.loads(line[-1])
    log(f"export {rows:,}: {result['ms'] / 1000:.1f} s, {result['bytes'] / 1e6:.1f} MB, "
        f"peak RSS {result['peak_rss_mb']} MB (before the export {result['rss_before_mb']} MB)")
    return result


# --- the run ------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--word", default="车床", help="contains-search word on 商品名称")
    ap.add_argument("--export-sizes", default="10000,50000,100000")
    ap.add_argument("--export-probe", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--only-exports", action="store_true",
                    help="measure the exports only (on the seeded database), as a table")
    args = ap.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    url = args.database_url or "sqlite:///" + os.path.join(OUT, f"customs-{args.rows}.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if args.export_probe:
        print(json.dumps(export_probe(url, args.export_probe)))
        return 0
    if args.only_exports:
        exports = [run_probe(url, int(n)) for n in args.export_sizes.split(",") if n]
        path = os.path.join(OUT, "customs-exports.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"exports": exports, "git": git_state(), "loadavg": os.getloadavg()}, fh,
                      indent=1)
        print(json.dumps(exports, indent=1))
        return 0
    sqlite = url.startswith("sqlite")

    from bench import customs_seed

    have = customs_seed.seeded_rows(url)
    seed_stats = None
    if args.reuse and have == args.rows:
        log(f"reusing {url} ({have:,} seeded declarations)")
    else:
        seed_stats = customs_seed.build(url, args.rows)

    import logging

    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    from app import create_app, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True})
    register(app)
    with app.app_context():
        recorder = SqlRecorder(db.engine)
        fx = fixtures(db.session, args.word)
        db.session.remove()
    log("fixtures: " + json.dumps(fx, ensure_ascii=False, default=str))
    from bench import stockfab

    stock_app, stock_db = stockfab.stock_app(url, make_view_class)
    with stock_app.app_context():
        stock_recorder = SqlRecorder(stock_db.engine)

    load_start = os.getloadavg()
    ent, admin = Browser(app, "enterprise1"), Browser(app, "admin")
    reviewer = Browser(app, "reviewer1")
    stock_admin = Browser(stock_app, "admin", product=False)
    b = Bench(app, recorder, args.repeat)
    bs = Bench(stock_app, stock_recorder, args.repeat)
    bs.results = b.results
    L, S, P = "/cd_declaration/", LIST_URL, PAGE_ARG
    slow = max(3, args.repeat // 2)

    def has(text):
        return lambda html: text in html

    from app.engine.listing import encode_cursor

    # each comparison's sides take turns (bench.run.in_turns)
    in_turns([T(b, "engine_list_p1_enterprise1", ent, L, expect=has(fx["ent_first_no"])),
              T(b, "engine_list_p1_admin", admin, L, expect=has(fx["all_first_no"])),
              T(b, "stock_list_p1", admin, f"{S}?{P}=0", expect=has(fx["all_first_no"])),
              T(bs, "fabapp_list_p1", stock_admin, f"{S}?{P}=0",
                expect=has(fx["all_first_no"]))])
    cur_all = encode_cursor([fx["all_deep_after"], fx["all_deep_after"]])
    cur_ent = encode_cursor([fx["ent_deep_after"], fx["ent_deep_after"]])
    in_turns([T(b, "engine_list_deep_admin", admin,
                f"{L}?_after={cur_all}&_page={fx['all_deep_page']}",
                expect=has(fx["all_deep_first_no"])),
              T(b, "engine_list_deep_enterprise1", ent,
                f"{L}?_after={cur_ent}&_page={fx['ent_deep_page']}",
                expect=has(fx["ent_deep_first_no"])),
              T(b, "stock_list_deep", admin, f"{S}?{P}={fx['all_deep_page'] - 1}",
                expect=has(fx["all_deep_first_no"]), repeat=slow),
              T(bs, "fabapp_list_deep", stock_admin, f"{S}?{P}={fx['all_deep_page'] - 1}",
                expect=has(fx["all_deep_first_no"]), repeat=slow)])
    no = fx["search_no"]
    in_turns([T(b, "engine_search_no_enterprise1", ent, f"{L}?seq_no={no}&_searched=1",
                expect=has(no)),
              T(b, "engine_search_no_admin", admin, f"{L}?seq_no={no}&_searched=1",
                expect=has(no)),
              T(b, "stock_search_no", admin, f"{S}?_flt_{FLT_EQUAL}_seq_no={no}",
                expect=has(no)),
              T(bs, "fabapp_search_no", stock_admin, f"{S}?_flt_{FLT_EQUAL}_seq_no={no}",
                expect=has(no))])
    w = args.word
    in_turns([T(b, "engine_contains_enterprise1", ent, f"{L}?goods_names={w}&_searched=1",
                expect=has(fx["ent_word_first_no"])),
              T(b, "engine_contains_admin", admin, f"{L}?goods_names={w}&_searched=1",
                expect=has(fx["all_word_first_no"])),
              T(b, "stock_contains", admin, f"{S}?_flt_{FLT_CONTAINS}_goods_names={w}",
                expect=has(fx["all_word_first_no"]), repeat=slow),
              T(bs, "fabapp_contains", stock_admin, f"{S}?_flt_{FLT_CONTAINS}_goods_names={w}",
                expect=has(fx["all_word_first_no"]), repeat=slow)])
    in_turns([T(b, "engine_contains_nomatch_admin", admin, f"{L}?goods_names={w}人&_searched=1",
                repeat=slow),
              T(b, "stock_contains_nomatch", admin,
                f"{S}?_flt_{FLT_CONTAINS}_goods_names={w}人", repeat=slow)])
    pk = fx["open_id"]
    in_turns([T(b, "engine_open_enterprise1", ent, f"{L}{pk}", expect=has(fx["search_no"])),
              T(b, "stock_open", admin, SHOW_URL.format(pk=pk), expect=has(fx["search_no"]))])
    b.get("engine_review_list_reviewer1", reviewer, f"{L}screen/review/?_searched=1",
          expect=has("报关单审核"))
    m = b.get("engine_message_one", ent, f"{L}{pk}/message", expect=has("<DecMessage"))
    m.extra["bytes"] = len(m.extra["body"])
    b.get("engine_print_one", ent, f"{L}{pk}/print", repeat=3)

    imp = measure_import(app, ent, recorder, fx)
    b.results[imp.name] = imp
    exports = [run_probe(url, int(n)) for n in args.export_sizes.split(",") if n]

    write_sql_report(app, {f"customs_{k}": v for k, v in b.results.items()}, sqlite)
    info = {"rows": args.rows, "database": url.split("@")[-1], "total": fx["total_all"],
            "enterprise1": fx["total_ent"], "cpus": os.cpu_count(),
            "loadavg_at_start": load_start, "loadavg_at_end": os.getloadavg(),
            "git": git_state(), "repeat": args.repeat}
    if sqlite:
        info["db_size_mb"] = round(os.path.getsize(url.split("sqlite:///", 1)[1]) / 1e6)
    if seed_stats:
        info["seed"] = seed_stats
    md = report(b.results, exports, info, fx, args)
    with open(os.path.join(OUT, "customs-results.md"), "w", encoding="utf-8") as fh:
        fh.write(md)
    with open(os.path.join(OUT, "customs-results.json"), "w", encoding="utf-8") as fh:
        json.dump({k: {"median_ms": v.median, "times_ms": v.times_ms, "cpu_ms": v.cpu_ms,
                       "sql": v.nsql, **{x: y for x, y in v.extra.items() if x != "body"}}
                   for k, v in b.results.items()} | {"_exports": exports, "_info": info},
                  fh, ensure_ascii=False, indent=1, default=str)
    print()
    print(md)
    return 0


def report(r: dict, exports: list, info: dict, fx: dict, args) -> str:
    rows = []

    def ratio(label, ek, sk):
        e, s, a = r[ek], r[sk], r.get(sk.replace("stock_", "fabapp_"))

        def verdict(base):
            return "yes" if e.median <= base.median / 5 else "**NO**"

        rows.append((label, _fmt_ms(e.median),
                     f"{_fmt_ms(s.median)} ({s.median / e.median:.1f}×)",
                     f"{_fmt_ms(a.median)} ({a.median / e.median:.1f}×)" if a else "—",
                     "≤ 1/5 of stock", f"{verdict(s)} · {verdict(a)}" if a else verdict(s)))

    ratio("List page 1 — enterprise1 (engine) / admin (stock)", "engine_list_p1_enterprise1",
          "stock_list_p1")
    ratio("List page 1 — admin, all rows", "engine_list_p1_admin", "stock_list_p1")
    ratio(f"List page {fx['all_deep_page']:,} — admin", "engine_list_deep_admin",
          "stock_list_deep")
    for who, p1, deep in (("admin", "engine_list_p1_admin", "engine_list_deep_admin"),
                          ("enterprise1", "engine_list_p1_enterprise1",
                           "engine_list_deep_enterprise1")):
        a, d = r[p1], r[deep]
        rows.append((f"Flat in page depth — {who}: deep page / page 1",
                     f"{d.median / a.median:.2f}×",
                     f"{r['stock_list_deep'].median / r['stock_list_p1'].median:.2f}×",
                     f"{r['fabapp_list_deep'].median / r['fabapp_list_p1'].median:.2f}×",
                     "≤ 1.5×", "yes" if d.median <= 1.5 * a.median else "**NO**"))
    ratio("Search 统一编号 — enterprise1", "engine_search_no_enterprise1", "stock_search_no")
    ratio("Search 统一编号 — admin", "engine_search_no_admin", "stock_search_no")
    ratio(f"Contains 商品名称 “{args.word}” — enterprise1", "engine_contains_enterprise1",
          "stock_contains")
    ratio(f"Contains 商品名称 “{args.word}” — admin", "engine_contains_admin", "stock_contains")
    ratio(f"Contains “{args.word}人” (no match) — admin", "engine_contains_nomatch_admin",
          "stock_contains_nomatch")
    for key, label in (("engine_list_p1_enterprise1", "enterprise1 page 1"),
                       ("engine_list_p1_admin", "admin page 1"),
                       ("engine_list_deep_admin", "admin deep page"),
                       ("engine_search_no_enterprise1", "enterprise1 统一编号 search"),
                       ("engine_contains_admin", "admin contains search")):
        stock_key = {"engine_list_deep_admin": "stock_list_deep",
                     "engine_search_no_enterprise1": "stock_search_no",
                     "engine_contains_admin": "stock_contains"}.get(key, "stock_list_p1")
        app_m = r.get(stock_key.replace("stock_", "fabapp_"))
        rows.append((f"SQL per list request — {label}", str(r[key].nsql), str(r[stock_key].nsql),
                     str(app_m.nsql) if app_m else "—", "≤ 6",
                     "yes" if r[key].nsql <= 6 else "**NO**"))
    for key, label in (("engine_open_enterprise1", "Open one declaration"),
                       ("engine_review_list_reviewer1", "报关单审核 list, reviewer1"),
                       ("engine_message_one", "DecMessage XML of one declaration"),
                       ("engine_print_one", "Print one 报关单 (PDF)")):
        m = r[key]
        extra = f", {m.extra['bytes']:,} bytes" if "bytes" in m.extra else ""
        rows.append((label, f"{_fmt_ms(m.median)} ({m.nsql} SQL{extra})",
                     _fmt_ms(r["stock_open"].median) if key == "engine_open_enterprise1"
                     else "—", "—", "— (reported)", "n/a"))
    imp = r["import_10000_lines"]
    rows.append((f"导入 of a {imp.extra['lines']:,}-line workbook ({imp.extra['declarations']:,} "
                 "declarations)", f"{imp.median / 1000:.1f} s (cpu {imp.cpu_median / 1000:.1f} s, "
                 f"{imp.nsql:,} SQL)", "— (no import in stock FAB)", "—", "— (reported)", "n/a"))
    for e in exports:
        rows.append((f"列表导出 of {e['rows']:,} declarations (+ goods sheet), fresh process",
                     f"{e['ms'] / 1000:.1f} s, {e['bytes'] / 1e6:.1f} MB; peak RSS "
                     f"{e['peak_rss_mb']} MB (before {e['rss_before_mb']} MB)", "—", "—",
                     "memory flat in rows", "see the peak RSS column"))
    out = ["# Declaration benchmark (智慧云报关): engine vs stock Flask-AppBuilder ModelView", "",
           f"{info['total']:,} declarations ({info['enterprise1']:,} of enterprise1's company) "
           f"on {info['database']}; medians of {args.repeat} warm requests (stock deep page and "
           f"contains: {max(3, args.repeat // 2)}), same process, same database; the sides of "
           "each comparison take turns, request by request.", "",
           "| operation | engine | stock view in this app | stock FAB app | target | met? |",
           "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {' | '.join(row)} |" for row in rows]
    out += ["", "## All measurements", "", "| key | median | min | max | cpu | SQL | runs |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, m in r.items():
        if m.times_ms:
            out.append(f"| {k} | {m.median:.1f} ms | {min(m.times_ms):.1f} ms | "
                       f"{max(m.times_ms):.1f} ms | {m.cpu_median:.1f} ms | {m.nsql} | "
                       f"{len(m.times_ms)} |")
    out += ["", "## Exports", "", "```", json.dumps(exports, indent=1), "```", "",
            "## Environment", "", "```", json.dumps(info, ensure_ascii=False, indent=1,
                                                     default=str), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
