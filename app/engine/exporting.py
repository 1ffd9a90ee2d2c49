"""导出 (list → Excel) and 导入 (Excel template → records, all or nothing).

Export writes what the list shows (declared columns, display values) for the actor's scoped,
filtered query.  Import creates records through the same path as the form (workflow "save",
policy, validation); errors are reported row by row and, if any row fails, nothing is imported.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy.exc import IntegrityError

from . import changes, policy, present
from . import transitions as wf_mod
from .constraints import integrity_message, violation
from .i18n import gettext as _

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def to_xlsx(session, model, query, columns: list[str], max_rows: int) -> bytes:
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = str(model.meta().label)[:31]
    ws.append([str(present.column_label(model, c)) for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for i, rec in enumerate(session.scalars(query.limit(max_rows)).yield_per(1000)):
        ws.append([present.cell(session, rec, c) for c in columns])
        if i >= max_rows:
            break
    for col in ws.columns:
        width = max((len(str(c.value or "")) for c in col), default=8)
        ws.column_dimensions[col[0].column_letter].width = min(50, max(10, width * 1.6))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def import_fields(model) -> list:
    """The fields a template offers: what a creator may type on a new record."""
    return [s for s in model.meta().fields.values()
            if not s.readonly and not s.secret and s.name != "status"]


def template_xlsx(model) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = str(model.meta().label)[:31]
    specs = import_fields(model)
    ws.append([f"{s.label}{' *' if s.required is True else ''}" for s in specs])
    ws.append([s.name for s in specs])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    ws.row_dimensions[2].hidden = True
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = 18
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class ImportReport:
    created: int = 0
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rows


def import_xlsx(session, model, data: bytes, actor) -> ImportReport:
    report = ImportReport()
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same error for the user
        report.rows.append((0, [_("无法读取文件，请使用下载的 Excel 模板")]))
        return report
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    if len(rows) < 2:
        report.rows.append((0, [_("文件为空，请使用下载的 Excel 模板")]))
        return report
    names = [str(c).strip() if c is not None else "" for c in rows[1]]
    known = {s.name: s for s in import_fields(model)}
    unknown = [n for n in names if n and n not in known]
    if unknown:
        report.rows.append((2, [_("模板列不正确：%(cols)s", cols=_("、").join(unknown))]))
        return report
    labels = {s.name: str(s.label) for s in known.values()}
    for excel_row, values in enumerate(rows[2:], start=3):
        if all(v in (None, "") for v in values):
            continue
        payload = {n: v for n, v in zip(names, values, strict=False) if n}
        sp = session.begin_nested()
        try:
            rec = wf_mod.new_record(session, model, actor)
            wf_mod.fire(session, rec, "save", actor, data=payload)
            sp.commit()
            report.created += 1
        except changes.ValidationErrors as e:
            sp.rollback()
            report.rows.append((excel_row, [f"{labels.get(k, k)}: {'; '.join(v)}"
                                            for k, v in e.errors.items()]))
        except policy.Refused as e:
            sp.rollback()
            report.rows.append((excel_row, [str(e.message)]))
        except IntegrityError as e:
            found = violation(e, rec)
            sp.rollback()
            message, _errors = integrity_message(found)
            report.rows.append((excel_row, [message]))
    return report
