"""Load test: simulated users against gunicorn on 127.0.0.1, the product beside stock FAB.

    .venv/bin/python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/bench \
        [--rows 1000000] [--users 50] [--duration 600] [--workers 0] [--threads 0] [--reuse]

Seeds the database with bench/seed.py (skipped with --reuse when it holds the rows), starts the
product under gunicorn (deploy/gunicorn.conf.py) and drives it for --duration seconds with
--users closed-loop users (no think time) running a realistic mix: sign in, list, deep list
pages (cursor), search by number, contains-search, open, save a draft (REST PUT), declare a
draft, print, and API clients listing and paging deep by cursor. Then the same users run the
comparable part of the mix against a plain Flask-AppBuilder application over the same table
(bench/stockfab.py: its ModelView and a stock ModelRestApi), also under gunicorn.

Only 127.0.0.1 is ever contacted. Output: a table on stdout and bench/out/load.md (+ .json):
requests/s, per-operation p50/p95/p99 and errors, and each worker's resident memory at the
start and the end of the run (growth per worker).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402

PASSWORD = "Demo@12345"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NEXT_RE = re.compile(r'href="([^"]*[?&]after=[^"]+)"')
LATE_S = 0.05  # a paced request sent this much after its time counts as late
WINDOW_S = 30  # the timeline's window
CLK = os.sysconf("SC_CLK_TCK")
RES = "/me_licence_application"
API = "/api/v1/me_licence_application"


class Client:
    """One simulated user: a keep-alive HTTP connection to 127.0.0.1 with its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.bearer: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        h = dict(self.headers, **(headers or {}))
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data

    def form(self, path, fields):
        return self.request("POST", path, urllib.parse.urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def json(self, method, path, payload=None):
        return self.request(method, path, json.dumps(payload or {}),
                            {"Content-Type": "application/json", **self.bearer})


def sign_in(port, username, api=True) -> Client:
    c = Client(port)
    if api:
        status, data = c.request("POST", "/api/v1/security/login", json.dumps(
            {"username": username, "password": PASSWORD, "provider": "db"}),
            {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"API login of {username}: {status} {data[:200]}")
        c.bearer = {"Authorization": "Bearer " + json.loads(data)["access_token"]}
    _s, page = c.request("GET", "/login/")
    token = CSRF_RE.search(page.decode()).group(1)
    status, _ = c.form("/login/", {"username": username, "password": PASSWORD,
                                   "csrf_token": token})
    if status != 302:
        raise RuntimeError(f"login of {username}: {status}")
    return c


# --- the mixes --------------------------------------------------------------------------------
def product_mix(pool):
    """(weight, name, fn(client)) — fn returns the HTTP status; 2xx/3xx count as success."""
    def list_page(c):
        status, data = c.request("GET", f"{RES}/")
        m = NEXT_RE.search(data.decode())
        c.next_page = m.group(1).replace("&amp;", "&") if m else None
        return status

    def list_deep(c):
        if not getattr(c, "next_page", None):
            return list_page(c)
        status, data = c.request("GET", c.next_page)
        m = NEXT_RE.search(data.decode())
        c.next_page = m.group(1).replace("&amp;", "&") if m else None
        return status

    def search_no(c):
        return c.request("GET", f"{RES}/?_searched=1&application_no={random.choice(pool['nos'])}")[0]

    def search_word(c):
        word = urllib.parse.quote(random.choice(("机床", "加工中心", "监护仪", "齿轮")))
        return c.request("GET", f"{RES}/?_searched=1&goods_names={word}")[0]

    def open_record(c):
        return c.request("GET", f"{RES}/{random.choice(pool['ids'])}")[0]

    def save_draft(c):
        pk = random.choice(pool["drafts"])
        status, data = c.json("GET", f"{API}/{pk}")
        if status != 200:
            return status
        version = json.loads(data)["result"]["version"]
        status, _ = c.json("PUT", f"{API}/{pk}", {"remark": f"load {time.time():.0f}",
                                                  "version": version})
        return 200 if status == 409 else status  # another user saved it first: answered right

    def declare(c):
        if not pool["to_declare"]:
            return save_draft(c)
        pk = pool["to_declare"].pop()
        status, _ = c.json("POST", f"{API}/{pk}/action/declare", {})
        return 200 if status in (409, 422) else status  # refused with a reason: answered right

    def print_one(c):
        return c.request("GET", f"{RES}/{random.choice(pool['ids'])}/print")[0]

    def api_list(c):
        status, data = c.json("GET", f"{API}/")
        c.api_next = json.loads(data).get("next") if status == 200 else None
        return status

    def api_deep(c):
        if not getattr(c, "api_next", None):
            return api_list(c)
        status, data = c.json("GET", f"{API}/?after={urllib.parse.quote(c.api_next)}")
        c.api_next = json.loads(data).get("next") if status == 200 else None
        return status

    return [(22, "list", list_page), (6, "list deep", list_deep), (8, "search no", search_no),
            (5, "search word", search_word), (20, "open", open_record), (5, "save draft", save_draft),
            (2, "declare", declare), (3, "print", print_one), (17, "api list", api_list),
            (12, "api deep", api_deep)]


def stock_mix(pool):
    from bench import stockfab

    def list_page(c):
        return c.request("GET", stockfab.LIST_URL)[0]

    def list_deep(c):
        return c.request("GET", f"{stockfab.LIST_URL}?{stockfab.PAGE_ARG}={random.randint(1, 40000)}")[0]

    def search_no(c):
        no = random.choice(pool["nos"])
        return c.request("GET", f"{stockfab.LIST_URL}?_flt_{stockfab.FLT_EQUAL}_application_no={no}")[0]

    def search_word(c):
        word = urllib.parse.quote(random.choice(("机床", "加工中心", "监护仪", "齿轮")))
        return c.request("GET", f"{stockfab.LIST_URL}?_flt_{stockfab.FLT_CONTAINS}_goods_names={word}")[0]

    def open_record(c):
        return c.request("GET", stockfab.SHOW_URL.format(pk=random.choice(pool["ids"])))[0]

    def api_list(c):
        return c.json("GET", "/api/v1/licencefabapi/?q=(page:0,page_size:20)")[0]

    def api_deep(c):
        return c.json("GET", f"/api/v1/licencefabapi/?q=(page:{random.randint(1, 40000)},page_size:20)")[0]

    return [(22, "list", list_page), (6, "list deep", list_deep), (8, "search no", search_no),
            (5, "search word", search_word), (20, "open", open_record), (17, "api list", api_list),
            (12, "api deep", api_deep)]


# --- running ----------------------------------------------------------------------------------
def start_server(target: str, url: str, port: int, workers: int,
                 threads: int = 0) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, HOST="127.0.0.1", PORT=str(port),
               WEB_CONCURRENCY=str(workers), LOG_LEVEL="WARNING", APP_ENV="development",
               PYTHONPATH=ROOT)
    if threads:
        env["GUNICORN_THREADS"] = str(threads)
    app = "app.wsgi:application" if target == "product" else "bench.load_app:stock_application()"
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"),
                             "--config", "deploy/gunicorn.conf.py", app], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(120):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/login/")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{target} did not start on {port}")


def _parents() -> dict[int, int]:
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    out[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def server_pids(master: int) -> set[int]:
    """The gunicorn workers (children of the master) and their own children (the processes
    that render a batch print, app/engine/printing.py)."""
    parents = _parents()
    workers = {p for p, pp in parents.items() if pp == master}
    return workers | {p for p, pp in parents.items() if pp in workers}


def worker_rss(master: int) -> dict[int, int]:
    """Resident memory (kB) of each process of the server (``server_pids``)."""
    out = {}
    for pid in server_pids(master):
        try:
            with open(f"/proc/{pid}/status") as f:
                out[pid] = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            continue
    return out


def cpu_ticks(master: int | None) -> dict[str, int]:
    """Processor time used so far (clock ticks, user + system) by the server's workers, by
    PostgreSQL's processes on this machine, by this load client and by the whole machine."""
    out = {"server": 0, "postgres": 0, "client": 0}
    me = os.getpid()
    server = server_pids(master) if master else set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue
        fields = rest.split()
        ticks = int(fields[11]) + int(fields[12])
        if int(pid) == me:
            out["client"] += ticks
        elif int(pid) in server:
            out["server"] += ticks
        elif head.endswith("(postgres"):
            out["postgres"] += ticks
    with open("/proc/stat") as f:
        cpu = f.readline().split()[1:]
    out["machine"] = sum(int(x) for x in cpu) - int(cpu[3]) - int(cpu[4])  # less idle, iowait
    out["steal"] = int(cpu[7]) if len(cpu) > 7 else 0  # taken by the hypervisor for others
    return out


def timeline(samples, cpu, interval) -> list[dict]:
    """Per window of the run: requests/s, p95 of list and open, the share sent late, and the
    processor time of each party in cores (1.0 = one core busy the whole window)."""
    rows = []
    for k in range(int(max((s[0] for s in samples), default=0) // interval) + 1):
        win = [s for s in samples if k * interval <= s[0] < (k + 1) * interval]
        if not win:
            continue
        lo = [s[2] for s in win if s[1] in ("list", "open")]
        row = {"t": k * interval, "rps": len(win) / interval,
               "p95 list+open": statistics.quantiles(lo, n=20)[18] if len(lo) > 1 else None,
               "late": sum(s[3] for s in win) / len(win)}
        if k + 1 < len(cpu):
            a, b = cpu[k], cpu[k + 1]
            row.update({n: (b[n] - a[n]) / CLK / interval for n in a})
            # everything else busy on the machine: other services, the kernel's interrupts, and
            # processes that ended within the window (PostgreSQL's parallel query workers)
            row["others"] = max(0.0, row["machine"] - row["steal"] - row["server"]
                                - row["postgres"] - row["client"])
        rows.append(row)
    return rows


def drive(port, mix, users, duration, logins, rate=None, master=None) -> dict:
    """Closed loop: each user sends its next request when the last one is answered.  With
    ``rate`` each user follows a fixed schedule of rate/users requests per second: a request
    whose time has come while the user still waited for the last answer goes out as soon as
    that answer arrives (k6's constant-arrival-rate, per user; locust's constant_throughput
    would skip the missed times instead), so the offered load stays fixed and the latencies
    show the queue.  ``late``: the share of requests sent more than LATE_S after their time —
    above a few per cent the server was behind the offered load for part of the run."""
    names = [n for _w, n, _f in mix]
    weights = [w for w, _n, _f in mix]
    times: dict[str, list[float]] = {n: [] for n in names}
    errors: dict[str, int] = {n: 0 for n in names}
    late = [0]
    samples: list[tuple[float, str, float, bool]] = []  # (sent at, operation, ms, late)
    lock = threading.Lock()
    clients = [sign_in(port, logins[i % len(logins)], api=True) for i in range(users)]
    begin = time.monotonic()
    stop = begin + duration
    cpu: list[dict[str, int]] = []
    done = threading.Event()

    def sample_cpu():
        while True:
            cpu.append(cpu_ticks(master))
            if done.wait(WINDOW_S):
                return

    def user(c):
        rnd = random.Random(id(c))
        interval = users / rate if rate else 0.0
        due = time.monotonic() + rnd.random() * interval
        while time.monotonic() < stop:
            behind = False
            if interval:
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                elif -pause > LATE_S:
                    behind = True
                    with lock:
                        late[0] += 1
                due += interval
            i = rnd.choices(range(len(mix)), weights)[0]
            sent = time.monotonic() - begin
            t0 = time.perf_counter()
            try:
                status = mix[i][2](c)
            except Exception:  # noqa: BLE001 - a broken answer is an error of the run
                status = 599
            dt_ms = (time.perf_counter() - t0) * 1000
            with lock:
                times[names[i]].append(dt_ms)
                samples.append((sent, names[i], dt_ms, behind))
                if status >= 400:
                    errors[names[i]] += 1

    threads = [threading.Thread(target=user, args=(c,), daemon=True) for c in clients]
    sampler = threading.Thread(target=sample_cpu, daemon=True)
    t0 = time.monotonic()
    sampler.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    done.set()
    sampler.join()
    cpu.append(cpu_ticks(master))
    ops = {}
    for n in names:
        xs = sorted(times[n])
        if not xs:
            continue
        q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
        ops[n] = {"count": len(xs), "rps": len(xs) / elapsed, "errors": errors[n],
                  "p50": q[49], "p95": q[94], "p99": q[98]}
    total = sum(len(v) for v in times.values())
    return {"elapsed_s": elapsed, "requests": total, "rps": total / elapsed,
            "errors": sum(errors.values()), "ops": ops,
            "late": late[0] / total if rate and total else None,
            "timeline": timeline(samples, cpu, WINDOW_S) if duration >= 2 * WINDOW_S else []}


def load_pool(url: str) -> dict:
    from sqlalchemy import create_engine, text

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)
                        if url.startswith("postgresql://") else url)
    with eng.connect() as c:
        org = c.scalar(text("SELECT company_id FROM me_licence_application "
                            "GROUP BY company_id ORDER BY count(*) DESC LIMIT 1"))
        rows = c.execute(text("SELECT id, application_no, status FROM me_licence_application "
                              "WHERE company_id = :o ORDER BY id DESC LIMIT 20000"), {"o": org})
        rows = list(rows)
    eng.dispose()
    drafts = [r.id for r in rows if r.status == "draft"]
    return {"ids": [r.id for r in rows], "nos": [r.application_no for r in rows],
            "drafts": drafts[:200], "to_declare": drafts[200:]}


def report(results: dict, rss: dict, args) -> str:
    pace = f"paced to {args.rate:.0f} requests/s" if args.rate else "no think time"
    lines = [f"Load test: {args.users} users ({pace}), {args.duration} s, gunicorn "
             f"{args.workers or 'default'} workers × {args.threads or 'default'} threads, "
             f"{results['rows']:,} applications, "
             f"{results['database']}", ""]
    for target in ("product", "stock"):
        r = results.get(target)
        if not r:
            continue
        behind = (f"; {r['late']:.0%} of the requests sent over {LATE_S * 1000:.0f} ms after "
                  f"their time" if r.get("late") is not None else "")
        lines += [f"## {target}: {r['rps']:.0f} requests/s, {r['errors']} errors "
                  f"(alone: list {r['focus list']:.0f}/s, REST list {r['focus api list']:.0f}/s)"
                  f"{behind}",
                  "",
                  "| operation | requests | req/s | errors | p50 ms | p95 ms | p99 ms |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for n, o in r["ops"].items():
            lines.append(f"| {n} | {o['count']} | {o['rps']:.1f} | {o['errors']} | "
                         f"{o['p50']:.0f} | {o['p95']:.0f} | {o['p99']:.0f} |")
        start, end = rss[target]
        growth = [f"{(end.get(p, 0) - start.get(p, 0)) / 1024:+.0f} MB"
                  for p in sorted(start.keys() | end.keys())]
        lines += ["", "memory of the workers (and of their child processes) at start: "
                  f"{', '.join(f'{start[p] / 1024:.0f} MB' for p in sorted(start))}; "
                  f"growth over the run: {', '.join(growth)}", ""]
        if r.get("timeline"):
            lines += [f"Timeline ({WINDOW_S} s windows; processor time in cores busy — others: "
                      "the rest of the machine: other services, the kernel, processes that "
                      "ended within the window such as PostgreSQL's parallel workers; server "
                      "ms/request: the processor time of the workers and their child processes "
                      "per answer — at a steady mix it rises when the processor slows, not when "
                      "requests queue):", "",
                      "| from s | req/s | p95 list+open ms | late | server | PostgreSQL | "
                      "load client | others | machine | steal | server ms/request |",
                      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                      "| ---: |"]
            for w in r["timeline"]:
                p95 = "" if w["p95 list+open"] is None else f"{w['p95 list+open']:.0f}"
                cores = " | ".join(f"{w[k]:.2f}" if k in w else ""
                                   for k in ("server", "postgres", "client", "others", "machine",
                                             "steal"))
                cost = f"{w['server'] * 1000 / w['rps']:.1f}" if "server" in w and w["rps"] \
                    else ""
                lines.append(f"| {w['t']:.0f} | {w['rps']:.0f} | {p95} | {w['late']:.0%} | "
                             f"{cores} | {cost} |")
            lines.append("")
    p, s = results.get("product"), results.get("stock")
    if p and s:
        def p95(r, op):
            return r["ops"][op]["p95"]
        lines += ["## ratios", "",
                  f"- REST list / screen list throughput, each alone (product): "
                  f"{p['focus api list'] / p['focus list']:.2f}",
                  f"- product / stock FAB throughput alone: list "
                  f"{p['focus list'] / s['focus list']:.1f}×, REST list "
                  f"{p['focus api list'] / s['focus api list']:.1f}×",
                  f"- p95 in the mix, stock FAB / product: list "
                  f"{p95(s, 'list') / p95(p, 'list'):.1f}×, deep list pages "
                  f"{p95(s, 'list deep') / p95(p, 'list deep'):.1f}×, REST deep pages "
                  f"{p95(s, 'api deep') / p95(p, 'api deep'):.1f}×"]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/bench")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--stock-duration", type=int, default=120,
                    help="seconds of the mix against stock FAB (its figures settle quickly)")
    ap.add_argument("--focus", type=int, default=60,
                    help="seconds of list-only and REST-list-only phases (their throughputs)")
    ap.add_argument("--rate", type=float, default=None,
                    help="offered requests/s of the mix (paced users); default: as fast as answered")
    ap.add_argument("--workers", type=int, default=0, help="WEB_CONCURRENCY (0: the default)")
    ap.add_argument("--threads", type=int, default=0, help="GUNICORN_THREADS (0: the default)")
    ap.add_argument("--port", type=int, default=18700)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--no-stock", action="store_true")
    args = ap.parse_args(argv)
    url = args.database_url
    if not url.startswith(("postgresql://", "sqlite:///")):
        raise SystemExit("a postgresql:// or sqlite:/// URL")
    if not (args.reuse and (seed.seeded_rows(url) or 0) >= args.rows):
        seed.build(url, args.rows)
    pool = load_pool(url)
    results = {"rows": seed.seeded_rows(url) or args.rows, "database": url.split("@")[-1]}
    rss = {}
    targets = [("product", product_mix(pool), ["enterprise1"])]
    if not args.no_stock:
        targets.append(("stock", stock_mix(pool), ["admin"]))
    for target, mix, logins in targets:
        proc = start_server(target, url, args.port, args.workers, args.threads)
        try:
            master = proc.pid
            drive(args.port, mix, args.users, 10, logins)  # warm-up: every worker has served
            start = worker_rss(master)
            duration = args.duration if target == "product" else args.stock_duration
            results[target] = drive(args.port, mix, args.users, duration, logins,
                                    rate=args.rate if target == "product" else None,
                                    master=master)
            rss[target] = (start, worker_rss(master))
            for op in ("list", "api list"):  # one operation alone: its throughput
                only = [m for m in mix if m[1] == op]
                results[target]["focus " + op] = drive(args.port, only, args.users, args.focus,
                                                       logins)["rps"]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        seed.log(f"{target}: {results[target]['rps']:.0f} requests/s")
    text = report(results, rss, args)
    out = os.path.join(ROOT, "bench", "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "load.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "load.json"), "w", encoding="utf-8") as f:
        json.dump({"results": results, "rss": {k: [list(a.values()), list(b.values())]
                                               for k, (a, b) in rss.items()}}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
