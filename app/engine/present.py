"""How values look: list cells, grey fields, prints, exports and the REST API's JSON.

One formatting function per channel, all from the declaration: code lists show "code name",
choices their label, money two decimals, booleans 是/否; secret fields never leave the server.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import gettext as _
from sqlalchemy import inspect

from . import codelists
from .fields import FieldSpec


def fmt_decimal(value: decimal.Decimal, scale: int | None = None) -> str:
    if scale is not None:
        value = value.quantize(decimal.Decimal(1).scaleb(-scale))
        return f"{value:,.{scale}f}"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def display(session, spec: FieldSpec | None, value, record=None, coltype=None) -> str:
    """The text a user sees for a stored value."""
    if spec is not None and spec.display_fn is not None and record is not None:
        return str(spec.display_fn(record) or "")
    if value is None or value == "":
        return ""
    if spec is not None:
        if spec.secret:
            return "******"
        if spec.codelist:
            return codelists.display(session, spec.codelist, value)
        if spec.choices is not None:
            for code, label in spec.options(record):
                if str(code) == str(value):
                    return str(label)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, decimal.Decimal):
        scale = getattr(coltype, "scale", None)
        if scale is not None and scale <= 2:
            return fmt_decimal(value, scale)
        return fmt_decimal(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def cell(session, record, name: str) -> str:
    meta = record.meta()
    if name == "status":
        spec = meta.fields.get("status")
        if spec is not None and spec.display_fn is not None:
            return str(spec.display_fn(record) or "")
        return record.status_label
    spec = meta.fields.get(name)
    coltype = meta.column_type(name) if hasattr(type(record), name) else None
    return display(session, spec, getattr(record, name, None), record, coltype)


def column_label(model, name: str):
    if name == "id":
        return "ID"
    if name == "updated_at":
        return _("最近操作时间")
    if name == "created_at":
        return _("创建时间")
    spec = model.meta().fields.get(name)
    return spec.label if spec else name


def input_value(value) -> str:
    """The value as it goes into an <input>."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "y" if value else ""
    if isinstance(value, decimal.Decimal):
        return fmt_decimal(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def json_value(value):
    if isinstance(value, decimal.Decimal):
        return fmt_decimal(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def to_json(record, *, children: bool = True) -> dict:
    """A record as the REST API shows it: fields, child lines nested, status and its label."""
    meta = record.meta()
    out = {"id": record.id}
    for name, spec in meta.fields.items():
        if spec.secret:
            continue
        out[name] = json_value(getattr(record, name))
    if meta.__class__.__name__ == "RecordMeta":
        if meta.workflow is not None:
            out["status"] = record.status
            out["status_label"] = record.status_label
        out["version"] = record.version
        out["updated_at"] = json_value(record.updated_at)
    if children:
        for cname in meta.children:
            out[cname] = [to_json(c) for c in getattr(record, cname)]
    return out


def child_rows_loaded(record, name) -> bool:
    return name not in inspect(record).unloaded
