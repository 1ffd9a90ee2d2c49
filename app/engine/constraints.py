"""Unique constraints of a record type, said to the user in its words.

A record type states "one per X" where SQLAlchemy states it — ``field(..., unique=True)`` or a
``UniqueConstraint`` in ``__table_args__`` — and the database holds it under concurrency.  This
module gives the two answers users see:

- before writing, :func:`unique_errors` names the field whose value (or combination of values)
  another record already has, as a field error of the form (the common, non-racing case);
- when two requests race past that check, the database refuses the second write and
  :func:`integrity_message` turns the constraint it names into the same words.
"""

from __future__ import annotations

import re

from sqlalchemy import UniqueConstraint, inspect, select

from .i18n import gettext as _
from .present import display


def unique_sets(model) -> list[tuple[str, tuple[str, ...]]]:
    """(constraint name, field names) of every unique constraint over declared fields."""
    meta = model.meta()
    cached = meta.__dict__.get("_unique_sets")
    if cached is not None:
        return cached
    table = inspect(model).local_table
    columns = {c.key: attr.key for attr in inspect(model).column_attrs for c in attr.columns}
    sets: list[tuple[str, tuple[str, ...]]] = []
    for col in table.columns:
        if col.unique and col.key in columns and columns[col.key] in meta.fields:
            sets.append((f"{table.name}_{col.key}_key", (columns[col.key],)))
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint):
            names = tuple(columns.get(c.key) for c in cons.columns)
            if names and all(n in meta.fields for n in names):
                sets.append((cons.name or "", names))
    for index in table.indexes:
        if index.unique and not index.dialect_options["postgresql"].get("where"):
            names = tuple(columns.get(c.key) for c in index.columns)
            if names and all(n in meta.fields for n in names):
                sets.append((index.name or "", names))
    meta._unique_sets = sets
    return sets


def _message(record, names: tuple[str, ...], values: dict | None = None) -> str:
    meta = record.meta()
    values = values if values is not None else {n: getattr(record, n) for n in names}
    shown = [display(None, meta.fields[n], values[n], record) for n in names]
    if len(names) == 1:
        if not shown[0]:  # the value is not known here (a number given in the failed write)
            return _("「%(field)s」已存在", field=meta.fields[names[0]].label)
        return _("「%(field)s」%(value)s 已存在", field=meta.fields[names[0]].label,
                 value=shown[0])
    labels = _("、").join(_("「%(field)s」", field=meta.fields[n].label) for n in names)
    return _("%(fields)s为 %(values)s 的%(type)s已存在", fields=labels,
             values=_("、").join(shown), type=meta.label)


def unique_errors(session, record) -> dict[str, list[str]]:
    """Unique fields (and combinations) whose values another record already has, with the
    message on the last field of each."""
    model = type(record)
    errors: dict[str, list[str]] = {}
    ins = inspect(record)
    fresh = ins.transient or ins.pending
    checked = set()
    for _name, names in unique_sets(model):
        # a unique=True column is listed as a column and as its table's constraint: once
        if names in checked:
            continue
        checked.add(names)
        if len(names) == 1 and model.meta().fields[names[0]].readonly:
            continue  # numbers the system gives are unique by construction
        if not fresh and not any(ins.attrs[n].history.has_changes() for n in names):
            continue  # unchanged since loaded: unique then
        values = [getattr(record, n) for n in names]
        if any(v in (None, "") for v in values):
            continue
        q = select(model.id).where(*(getattr(model, n) == v for n, v in
                                     zip(names, values, strict=True)))
        if record.id is not None:
            q = q.where(model.id != record.id)
        with session.no_autoflush:
            if session.scalar(q.limit(1)) is not None:
                errors.setdefault(names[-1], []).append(_message(record, names))
    return errors


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")


def _violated(e, model) -> tuple[str, ...] | None:
    """The field names of the unique constraint a failed write violated, if known."""
    orig = getattr(e, "orig", None)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None) if diag is not None else None
    sets = unique_sets(model)
    if name:
        for cname, names in sets:
            if cname == name:
                return names
    m = _SQLITE_UNIQUE.search(str(orig or e))
    if m:
        cols = tuple(part.strip().split(".")[-1] for part in m.group(1).split(","))
        for _cname, names in sets:
            if tuple(names) == cols:
                return names
    return None


def violation(e, record) -> tuple | None:
    """What a refused write violated, read without SQL (the failed transaction reads nothing
    more): (record, field names, their values), or None when it is not known."""
    if record is None or not hasattr(record, "meta"):
        return None
    names = _violated(e, type(record))
    if not names:
        return None
    return record, names, {n: record.__dict__.get(n) for n in names}


def integrity_message(found) -> tuple[str, dict[str, list[str]]]:
    """(message, field errors) for what :func:`violation` found (after the rollback)."""
    if found is not None:
        record, names, values = found
        msg = _message(record, names, values)
        return msg, {names[-1]: [msg]}
    return _("数据与已有记录冲突，请刷新后重试"), {}
