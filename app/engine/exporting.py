"""导出 (list → Excel) and 导入 (Excel template → records, all or nothing).

Export writes what the list shows (declared columns, display values: numbers as numbers and
dates as dates, formatted as the screens show them, so that Excel sums and sorts them) for the
actor's scoped, filtered query, and each child table on a sheet of its own whose rows name their record by the
序号 in the first sheet's last column.  It is streamed: openpyxl's write-only workbook writes rows to a
temporary file as they come, records are read a thousand at a time with their child lines, and
the file is sent from disk — memory does not grow with the number of rows.

Import creates records through the same path as the form (workflow "save", policy,
validation): the template's first sheet holds one record per row, each child table's sheet
holds its lines with the 序号 of their record.  Errors are reported by sheet, row and field and,
if any row fails, nothing is imported.  A record type whose features read other files (the
declaration's exchange message, XML) gets those through ``import_file`` too.

Nothing here reads the request: an export or an import runs the same inside a request or in a
background job (session, model, actor, bytes in; a file or a report out).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import os
import tempfile
from dataclasses import dataclass, field

from flask import Response
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, inspect, select
from sqlalchemy.exc import IntegrityError

from . import changes, policy, present
from . import transitions as wf_mod
from .constraints import integrity_message, violation
from .i18n import gettext as _

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
KEY = "_row"  # the column linking a child line to its record's row
CHUNK = 1000


# --- export ----------------------------------------------------------------------------------
def child_tables(model) -> list[tuple[str, type]]:
    """(name, child model) of the child tables exported and imported on sheets of their own
    (tables of one level: a line's own lines have no sheet)."""
    meta = model.meta()
    return [(name, meta.child_model(name)) for name in meta.children
            if not meta.child_model(name).meta().children]


def _sheet_title(label, used: set[str]) -> str:
    title = "".join(c for c in str(label) if c not in "[]:*?/\\")[:31] or "Sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:28]}({n})"
        n += 1
    used.add(title)
    return title


def _header(ws, labels):
    cells = []
    for label in labels:
        c = WriteOnlyCell(ws, value=str(label))
        c.font = Font(bold=True)
        c.fill = HEADER_FILL
        cells.append(c)
    ws.append(cells)


def export_file(session, model, query, columns: list[str], max_rows: int,
                children: bool = True, progress=None) -> str:
    """Write the query's records to a temporary .xlsx file and return its path (the caller
    sends and removes it).  At most ``max_rows`` records; ``progress(done)`` after each
    chunk."""
    wb = Workbook(write_only=True)
    used: set[str] = set()
    head = wb.create_sheet(_sheet_title(model.meta().label, used))
    tables = child_tables(model) if children else []
    keyed = bool(tables)  # a last 序号 column links the child sheets' lines to their record
    for i in range(len(columns) + 1):
        head.column_dimensions[_col(i + 1)].width = 18
    _header(head, [str(present.column_label(model, c)) for c in columns]
            + ([_("序号")] if keyed else []))
    sheets = {}
    for name, cmodel in tables:
        ws = wb.create_sheet(_sheet_title(model.meta().children[name].label, used))
        cols = [f for f in cmodel.meta().fields]
        _header(ws, [_("序号")] + [str(cmodel.meta().fields[f].label) for f in cols])
        sheets[name] = (ws, cmodel, cols, _parent_fk(cmodel))
    writers = [_writer(model, c, head) for c in columns]
    n = 0
    result = session.execute(query.limit(max_rows).execution_options(yield_per=CHUNK))
    for part in result.scalars().partitions(CHUNK):
        keys = {}
        for rec in part:
            n += 1
            keys[rec.id] = n
            head.append([w(session, rec) for w in writers] + ([n] if keyed else []))
        for ws, cmodel, cols, fk in sheets.values():
            stmt = (select(cmodel).where(getattr(cmodel, fk).in_(list(keys)))
                    .order_by(getattr(cmodel, fk), cmodel.id))
            line_writers = [_writer(cmodel, c, ws) for c in cols]
            for line in session.scalars(stmt):
                ws.append([keys[getattr(line, fk)]] + [w(session, line) for w in line_writers])
        if progress is not None:
            progress(n)
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
    os.close(fd)
    wb.save(path)
    return path


EXCEL_DIGITS = 15  # significant digits an Excel number keeps; a longer one is written as text
EXCEL_FIRST_DAY = dt.date(1900, 1, 1)  # Excel has no date before it
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def _writer(model, name: str, ws):
    """``w(session, record) -> cell value`` of one exported column: an integer, an amount or a
    quantity as a number and a date or a time as an Excel date, each with the number format
    that shows it as the screens do (77,000.00, 8,600, 2026-12-07 13:43); anything else — a
    code list's or a choice's label, 是/否, the status, a text — as the list shows it."""
    kind = _kind(model, name)
    cell = present.formatter(model, name)
    if kind is None:
        return cell

    def write(session, record):
        value = getattr(record, name, None)
        if value is None:
            return None
        fmt = _number_format(kind, value)
        if fmt is None:
            return cell(session, record)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        out = WriteOnlyCell(ws, value=value)
        out.number_format = fmt
        return out

    return write


def _kind(model, name: str):
    """How a column is exported: "int", ("decimal", scale), "datetime", "date", or None (as
    the list's text)."""
    meta = model.meta()
    spec = meta.fields.get(name)
    if name == "status" or name not in inspect(model).columns:
        return None
    if spec is not None and (spec.display_fn is not None or spec.codelist or spec.secret
                             or spec.choices is not None):
        return None
    coltype = meta.column_type(name)
    if isinstance(coltype, Boolean):
        return None
    if isinstance(coltype, Integer):
        return "int"
    if isinstance(coltype, Numeric):
        return ("decimal", coltype.scale)
    if isinstance(coltype, DateTime):
        return "datetime"
    if isinstance(coltype, Date):
        return "date"
    return None


def _number_format(kind, value) -> str | None:
    """The number format of one value (None: Excel cannot hold it, write its text)."""
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or \
                len(str(abs(value))) > EXCEL_DIGITS:
            return None
        return "0"
    if kind == "datetime" or kind == "date":
        if not isinstance(value, dt.date):
            return None
        day = value.date() if isinstance(value, dt.datetime) else value
        if day < EXCEL_FIRST_DAY:
            return None
        return DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
    if not isinstance(value, (decimal.Decimal, int, float)) or isinstance(value, bool):
        return None
    value = decimal.Decimal(value) if not isinstance(value, decimal.Decimal) else value
    if not value.is_finite() or len(value.normalize().as_tuple().digits) > EXCEL_DIGITS:
        return None
    scale = kind[1]
    if scale is None or scale > 2:  # a quantity: as many decimals as it has (8,600 · 95.5)
        exponent = value.normalize().as_tuple().exponent
        scale = max(0, -exponent)
    return "#,##0" + ("." + "0" * scale if scale else "")


def _parent_fk(cmodel) -> str:
    rel = inspect(cmodel).relationships[cmodel.__parent__]
    return next(iter(rel.local_columns)).key


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def file_response(path: str, filename_quoted: str) -> Response:
    """Send a file written by ``export_file`` in chunks and remove it afterwards."""
    size = os.path.getsize(path)

    def chunks():
        try:
            with open(path, "rb") as fh:
                while True:
                    block = fh.read(64 * 1024)
                    if not block:
                        break
                    yield block
        finally:
            try:
                os.remove(path)
            except OSError:
                pass

    return Response(chunks(), mimetype=XLSX_MIME, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{filename_quoted}",
        "Content-Length": str(size)})


def to_xlsx(session, model, query, columns: list[str], max_rows: int) -> bytes:
    """The export as bytes (small exports, tests)."""
    path = export_file(session, model, query, columns, max_rows)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.remove(path)


# --- template --------------------------------------------------------------------------------
def import_fields(model) -> list:
    """The fields a template offers: what a creator may type on a new record."""
    return [s for s in model.meta().fields.values()
            if not s.readonly and not s.secret and s.name != "status"]


def _template_sheet(ws, specs, keyed: bool):
    labels = ([_("序号") + " *"] if keyed else []) + [
        f"{s.label}{' *' if s.required is True else ''}" for s in specs]
    ws.append(labels)
    ws.append(([KEY] if keyed else []) + [s.name for s in specs])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    ws.row_dimensions[2].hidden = True
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = 18


def template_xlsx(model) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = str(model.meta().label)[:31]
    tables = child_tables(model)
    _template_sheet(ws, import_fields(model), keyed=bool(tables))
    used = {ws.title}
    for name, cmodel in tables:
        cws = wb.create_sheet(_sheet_title(model.meta().children[name].label, used))
        _template_sheet(cws, import_fields(cmodel), keyed=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- import ----------------------------------------------------------------------------------
@dataclass
class ImportProblem:
    row: int
    errors: list[str]
    sheet: str = ""


@dataclass
class ImportReport:
    created: int = 0
    rows: list[ImportProblem] = field(default_factory=list)
    records: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rows

    def add(self, row: int, errors: list[str], sheet: str = "") -> None:
        self.rows.append(ImportProblem(row, [str(e) for e in errors], str(sheet)))


def import_file(session, model, filename: str, data: bytes, actor,
                progress=None) -> ImportReport:
    """导入 of one uploaded file: the Excel template, or a file a feature of the record type
    reads (the declaration's XML message).  Nothing is committed here; with errors the caller
    rolls back."""
    for feature in model.meta().features:
        reads = getattr(feature, "reads_file", None)
        if reads is not None and reads(filename, data):
            return feature.import_data(session, model, data, actor)
    return import_xlsx(session, model, data, actor, progress)


def _cell_value(coltype, value):
    """A cell's value as the form would post it: Excel holds every number as a float (8600.0
    is 8600 and 95.49999999999999 is 95.5, to the 15 digits Excel keeps, whether typed or
    exported) and every date as a date and time (a date column takes its day)."""
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() else f"{value:.{EXCEL_DIGITS}g}"
    if isinstance(value, dt.datetime) and isinstance(coltype, Date) and \
            not isinstance(coltype, DateTime):
        return value.date()
    return value


def _cell_values(model, row: dict) -> dict:
    """``row`` (field name -> cell value) with each value read for its column
    (``_cell_value``)."""
    meta = model.meta()
    columns = inspect(model).columns
    return {n: _cell_value(meta.column_type(n) if n in columns else None, v)
            for n, v in row.items()}


def _read_sheet(ws) -> tuple[list[str], list[tuple[int, tuple]]]:
    rows = ws.iter_rows(values_only=True)
    next(rows, None)  # the labels
    names_row = next(rows, None) or ()
    names = [str(c).strip() if c is not None else "" for c in names_row]
    body = []
    for i, values in enumerate(rows, start=3):
        if values and not all(v in (None, "") for v in values):
            body.append((i, values))
    return names, body


def import_xlsx(session, model, data: bytes, actor, progress=None) -> ImportReport:
    report = ImportReport()
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same error for the user
        report.add(0, [_("无法读取文件，请使用下载的 Excel 模板")])
        return report
    sheets = wb.worksheets
    names, body = _read_sheet(sheets[0])
    if not names:
        report.add(0, [_("文件为空，请使用下载的 Excel 模板")])
        return report
    known = {s.name: s for s in import_fields(model)}
    unknown = [n for n in names if n and n != KEY and n not in known]
    if unknown:
        report.add(2, [_("模板列不正确：%(cols)s", cols=_("、").join(unknown))], sheets[0].title)
        return report
    # child sheets: in the template's order, one per child table
    tables = child_tables(model)
    lines: dict[str, dict] = {}  # table -> key -> [(excel row, payload)]
    for (tname, cmodel), ws in zip(tables, sheets[1:], strict=False):
        cnames, cbody = _read_sheet(ws)
        cknown = {s.name for s in import_fields(cmodel)}
        bad = [n for n in cnames if n and n != KEY and n not in cknown]
        if bad or (cbody and KEY not in cnames):
            report.add(2, [_("模板列不正确：%(cols)s", cols=_("、").join(bad or [KEY]))],
                       ws.title)
            return report
        by_key = lines.setdefault(tname, {})
        for excel_row, values in cbody:
            row = {n: v for n, v in zip(cnames, values, strict=False) if n}
            key = _key(row.pop(KEY, None))
            row = _cell_values(cmodel, row)
            by_key.setdefault(key, []).append((excel_row, row, ws.title))
    heads = []
    for excel_row, values in body:
        row = {n: v for n, v in zip(names, values, strict=False) if n}
        key = _key(row.pop(KEY, None)) if KEY in names else None
        heads.append((excel_row, key, _cell_values(model, row)))
    seen_keys = {k for _r, k, _v in heads}
    for by_key in lines.values():
        for key, items in by_key.items():
            if key not in seen_keys:
                for excel_row, _row, title in items:
                    report.add(excel_row, [_("序号 %(key)s 在第一个工作表中不存在",
                                             key=key or "")], title)
    head_title = sheets[0].title
    for n, (excel_row, key, payload) in enumerate(heads, 1):
        if progress is not None:
            progress(n - 1, len(heads))
        where = {}
        for tname, _cmodel in tables:
            items = lines.get(tname, {}).get(key, []) if key is not None else []
            payload[tname] = [dict(r) for _e, r, _t in items]
            where[tname] = [(e, t) for e, _r, t in items]
        create(session, model, actor, payload, report, (head_title, excel_row), where)
    return report


def _key(value):
    if value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def create(session, model, actor, payload: dict, report: ImportReport, at: tuple[str, int],
           lines_at: dict | None = None, system_values: dict | None = None):
    """Create one record from ``payload`` as ``actor`` would by 暂存 (in a savepoint); errors go
    to ``report`` with the sheet and row of the record (``at``) or of its line (``lines_at``:
    table -> [(row, sheet)] in payload order).  ``system_values`` are written as the system
    (numbers a message carries)."""
    sheet, excel_row = at
    labels = _field_labels(model)
    sp = session.begin_nested()
    rec = None
    try:
        rec = wf_mod.new_record(session, model, actor)
        if system_values:
            from .guard import system

            with system():
                for k, v in system_values.items():
                    setattr(rec, k, v)
        wf_mod.fire(session, rec, "save", actor, data=payload)
        sp.commit()
        report.created += 1
        report.records.append(rec)
        return rec
    except changes.ValidationErrors as e:
        sp.rollback()
        for path, msgs in e.errors.items():
            table, index, fname = _split(path)
            spots = (lines_at or {}).get(table) if table else None
            if spots and index is not None and index < len(spots):
                line_row, line_sheet = spots[index]
                label = labels.get(f"{table}.{fname}", fname)
                report.add(line_row, [f"{label}: {m}" for m in msgs], line_sheet)
            else:
                label = labels.get(path if table is None else f"{table}.{fname}", path)
                if table is not None and index is not None:
                    label = _("%(label)s（第%(n)s行）", label=label, n=index + 1)
                report.add(excel_row, [f"{label}: {m}" if path != "_record" else m
                                       for m in msgs], sheet)
    except policy.Refused as e:
        sp.rollback()
        report.add(excel_row, [str(e.message)], sheet)
    except IntegrityError as e:
        found = violation(e, rec)
        sp.rollback()
        message, _errors = integrity_message(found)
        report.add(excel_row, [message], sheet)
    return None


def _split(path: str):
    """goods-3-code_ts -> ("goods", 3, "code_ts"); bill_no -> (None, None, "bill_no")."""
    parts = path.split("-")
    if len(parts) >= 3 and parts[1].isdigit():
        return parts[0], int(parts[1]), "-".join(parts[2:])
    if len(parts) == 1:
        return None, None, path
    return parts[0], None, path


def _field_labels(model) -> dict[str, str]:
    meta = model.meta()
    out = {name: str(spec.label) for name, spec in meta.fields.items()}
    for cname in meta.children:
        out[cname] = str(meta.children[cname].label)
        for fname, fspec in meta.child_model(cname).meta().fields.items():
            out[f"{cname}.{fname}"] = str(fspec.label)
    return out
