"""Every list and search of every record type is served by an index.

Two checks, both generated from the declarations (a new record type is covered without a test
of its own):
- every exact / range search field and every list order of every screen has an index whose
  first column it is (contains-searches use the n-gram text index when declared `indexed`);
- on PostgreSQL, every SQL statement that the list screens and the REST list send — default
  page, each search filled in, a second page — is EXPLAINed with sequential scans priced out
  (`enable_seqscan = off`, so the planner takes one only when no index can serve the query) and
  no plan may scan a record table sequentially: those are the tables with millions of rows.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, inspect

from app.engine import listing
from app.engine.fields import needs_search_index
from app.engine.record import record_types

from .conftest import PG_URL, Api, Browser


def product_types():
    """The product's record types (tests declare others of their own on the way)."""
    import models  # noqa: F401 - every record type of the product registered

    return [m for m in record_types() if m.__module__.startswith(("models.", "app."))]


def screens_of(model):
    """(url, searches, order_by) of the record type's list and of each of its screens."""
    meta = model.meta()
    yield f"/{meta.resource}/", meta.search, meta.order_by
    for screen in meta.screens:
        yield (f"/{meta.resource}/screen/{screen.name}/", screen.search or meta.search,
               getattr(screen, "order_by", None) or meta.order_by)


def indexed_first_columns(table) -> set[str]:
    cols = {c.name for c in table.columns if c.primary_key or c.index or c.unique}
    for index in table.indexes:
        if len(index.columns):
            cols.add(list(index.columns)[0].name)
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if columns and constraint.__class__.__name__ in ("UniqueConstraint",
                                                          "PrimaryKeyConstraint"):
            cols.add(columns[0].name)
    return cols


def test_every_exact_and_range_search_and_every_order_has_an_index():
    missing = []
    for model in product_types():
        table = model.__table__
        indexed = indexed_first_columns(table)
        for url, searches, order_by in screens_of(model):
            for s in searches:
                if s.field in table.c.keys() and s.field not in indexed and needs_search_index(
                        s, model.meta().fields.get(s.field), table.c[s.field].type):
                    missing.append(f"{url}: search {s.field}")
            order = order_by.lstrip("-")
            if order != "id" and f"ix_{table.name}_list_order" not in {
                    i.name for i in table.indexes}:
                missing.append(f"{url}: order {order} (an index on ({order}, id))")
    assert not missing, "no index for:\n" + "\n".join(sorted(set(missing)))


def sample_filters(model, searches) -> list[dict]:
    """One filled search per search field, with a value of the column's type."""
    out = []
    for s in searches:
        mode = listing.search_mode(model, s)
        if mode == "range":
            out.append({f"{s.field}__from": (dt.date.today() - dt.timedelta(days=30)).isoformat()})
            continue
        spec = model.meta().fields.get(s.field)
        coltype = model.meta().column_type(s.field)
        value = "测试值"
        if s.field == "status":
            value = next(iter(model.meta().workflow.states)) if model.meta().workflow else "x"
        elif spec is not None and spec.choices and not callable(spec.choices):
            value = spec.choices[0][0]
        elif coltype is not None and coltype.python_type in (int, float):
            value = "7"
        out.append({s.field: value})
    return out


SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@pytest.mark.postgres
def test_list_and_search_sql_never_scans_a_record_table_on_postgresql(app):
    if not PG_URL:
        pytest.skip("EXPLAIN needs PostgreSQL: set TEST_DATABASE_URL")
    from app import db

    big = set()
    for model in product_types():
        todo = [model]
        while todo:
            m = todo.pop()
            big.add(m.__table__.name)
            todo += [m.meta().child_model(c) for c in m.meta().children]
    statements: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    users = {}
    scans = []
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for model in product_types():
            for url, searches, _order in screens_of(model):
                for username in ("admin", "customs1", "commerce1", "enterprise1",
                                 "institution1", "reviewer1"):
                    b = users.get(username) or users.setdefault(username, Browser(app, username))
                    statements.clear()
                    if b.get(url).status_code != 200:
                        continue
                    first = list(statements)
                    for filters in sample_filters(model, searches):
                        b.get(url, query_string={"_searched": "1", **filters})
                    if url.count("/") == 2:  # the record type's own list: the API's as well
                        Api(app, username).get(f"/api/v1/{model.meta().resource}/")
                    scans += explain_all(engine, first + statements, big, url, username)
                    break  # one role that opens the screen is enough: the SQL is the same shape
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert not scans, "sequential scans of record tables:\n" + "\n".join(sorted(set(scans)))


def unbounded_seq_scans(plan: list[str]) -> list[str]:
    """Tables a plan reads sequentially to the end: a Seq Scan whose parent node is not a Limit
    (a Limit straight above the scan stops it after its rows, as the pager's bounded count —
    at most 10,001 rows — does)."""
    out = []
    for i, line in enumerate(plan):
        m = SEQ_SCAN.search(line)
        if not m:
            continue
        depth = len(line) - len(line.lstrip(" -")) if "->" in line else 0
        parent = next((p for p in reversed(plan[:i]) if ("->" in p and len(p) - len(
            p.lstrip(" -")) < depth) or "->" not in p and not p.startswith(" ")), "")
        if "Limit" not in parent.split("(")[0]:
            out.append(m.group(1))
    return out


def explain_all(engine, statements, big, url, username) -> list[str]:
    found = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            cur.execute("EXPLAIN " + statement, parameters)
            plan = [row[0] for row in cur.fetchall()]
            for table in unbounded_seq_scans(plan):
                if table in big:
                    found.append(f"{url} ({username}): {table}\n    {statement[statement.find('FROM'):][:400]}")
        cur.execute("RESET enable_seqscan")
        raw.rollback()
    finally:
        raw.close()
    return found


def test_the_inspector_agrees_with_the_declared_indexes(app):
    """The migrations made the indexes the declarations ask for (checked on the database)."""
    from app import db

    with app.app_context():
        insp = inspect(db.engine)
        missing = []
        for model in product_types():
            table = model.__table__
            indexes = insp.get_indexes(table.name)
            in_db = {ix["column_names"][0] for ix in indexes if ix["column_names"][0]}
            in_db |= {uc["column_names"][0] for uc in insp.get_unique_constraints(table.name)}
            in_db |= set(insp.get_pk_constraint(table.name)["constrained_columns"])
            for col in indexed_first_columns(table) - in_db:
                missing.append(f"{table.name}.{col}")
            names = {ix["name"] for ix in indexes}
            missing += [i.name for i in table.indexes if i.name not in names]
    assert not missing, "declared but not in the database: " + ", ".join(missing)


def test_a_seq_scan_counts_unless_a_limit_stops_it():
    assert unbounded_seq_scans(["Limit  (cost=1)", "  ->  Sort  (cost=1)", "        Sort Key: x",
                                "        ->  Seq Scan on t  (cost=1)"]) == ["t"]
    assert unbounded_seq_scans(["Seq Scan on t  (cost=1)", "  Filter: x"]) == ["t"]
    assert unbounded_seq_scans(["Aggregate  (cost=1)", "  ->  Limit  (cost=1)",
                                "        ->  Seq Scan on t  (cost=1)"]) == []
