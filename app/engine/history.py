"""History of every record: the flow (transitions) and the field changes (old → new).

查看流程状态 reads the flow entries, 查看审批意见 the ones carrying an opinion; both, plus the field
changes, are served by GET /api/v1/<resource>/<pk>/history.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    inspect,
    select,
)
from sqlalchemy.orm import mapped_column

from . import present
from .i18n import gettext
from .policy import SYSTEM_NAME
from .present import same
from .record import ChildRecord, Record, now, root_and_spec


class FlowEntry(Model):
    __tablename__ = "flow_entry"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    transition = mapped_column(String(40), nullable=False)
    from_state = mapped_column(String(40))
    to_state = mapped_column(String(40))
    actor_id = mapped_column(Integer)
    actor_name = mapped_column(String(128), nullable=False)
    role = mapped_column(String(40), nullable=False, default="")
    org_name = mapped_column(String(200))
    at = mapped_column(DateTime, nullable=False, default=now)
    opinion = mapped_column(Text)
    # What the step asked for besides an opinion (退回原因, 协调结果 …): input name -> value.
    inputs = mapped_column(JSON)

    __table_args__ = (Index("ix_flow_entry_record", "entity", "record_id", "id"),)

    @property
    def opinion_text(self) -> str:
        """The typed opinion, or the step's inputs as "label：value" with each input's label
        and each chosen option (处理中, not processing) in the reader's language (older
        entries, which stored them as text, with the input's label in the reader's language
        too; any other text as it was written)."""
        typed, items = self._opinion()
        if typed:
            return self.opinion
        return _joined(items)

    @property
    def opinion_items(self) -> list[tuple[str, str]]:
        """What the step recorded as (label, text), each under its own label once, in the
        reader's language: a typed opinion under the step's label for it (审核意见, 退回意见 …;
        意见 when it has none); what the step asked for under each input's label (退回原因,
        协调结果 …), a chosen option by its label.  An older entry that stored what the step
        asked for as text starting with the input's label (退回原因：…, in the language of
        whoever wrote it) is shown under that label, not under 意见 as well."""
        return self._opinion()[1]

    @property
    def opinion_line(self) -> str:
        """The opinion as one line of the timeline: "审核意见：…", "退回原因：…" — each label
        once (the text an input recorded already carries its label)."""
        return _joined(self.opinion_items)

    def _opinion(self) -> tuple[bool, list[tuple[str, str]]]:
        """(typed by a person, opinion_items) — worked out once per entry and language."""
        from .i18n import translations

        key = (self.opinion, str(self.inputs), id(translations()))
        cached = self.__dict__.get("_shown_opinion")
        if cached is not None and cached[0] == key:
            return cached[1]
        t = self._transition()
        inputs = list(t.inputs) if t is not None else []
        if self.opinion:
            found = _written_with_label(self.opinion, inputs)
            typed = found is None
            items = [found or (
                str(t.opinion_label) if t is not None and t.opinion_label else gettext("意见"),
                self.opinion)]
        else:
            by_name = {inp.name: inp for inp in inputs}
            typed = False
            items = [(str(by_name[name].label), str(by_name[name].label_of(value)))
                     if name in by_name else (name, str(value))
                     for name, value in (self.inputs or {}).items()]
        self.__dict__["_shown_opinion"] = (key, (typed, items))
        return typed, items

    def _transition(self):
        from .record import REGISTRY
        from .workflow import find_transition

        model = REGISTRY.get(self.entity)
        return find_transition(model, self.transition) if model is not None else None


def _joined(items) -> str:
    return gettext("；").join(gettext("%(label)s：%(value)s", label=label, value=value)
                             for label, value in items)


# How "%(label)s：%(value)s" separates a label from its value, in the product's languages.
_LABEL_SEPARATORS = ("：", ": ", ":")


def _written_with_label(text: str, inputs) -> tuple[str, str] | None:
    """(the input's label in the reader's language, the rest) when an older entry's text
    starts with the label of one of the step's inputs, in any of the product's languages."""
    from flask import current_app, has_app_context
    from flask_babel import force_locale

    candidates = [inp for inp in inputs if inp.widget != "file" and not inp.secret]
    if not candidates:
        return None
    locales = list(current_app.config.get("LANGUAGES") or ()) if has_app_context() else []
    for inp in candidates:
        written = set()
        for locale in locales:
            with force_locale(locale):
                written.add(str(inp.label))
        written.add(str(inp.label))
        for label in written:
            for sep in _LABEL_SEPARATORS:
                if text.startswith(label + sep) and len(text) > len(label) + len(sep):
                    return str(inp.label), text[len(label) + len(sep):].strip()
    return None


class FieldChange(Model):
    __tablename__ = "field_change"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    field = mapped_column(String(120), nullable=False)
    label = mapped_column(String(200), nullable=False)
    old_value = mapped_column(Text)
    new_value = mapped_column(Text)
    actor_id = mapped_column(Integer)
    actor_name = mapped_column(String(128), nullable=False, default="")
    at = mapped_column(DateTime, nullable=False, default=now)

    __table_args__ = (Index("ix_field_change_record", "entity", "record_id", "id"),)


def add_flow_entry(session, record: Record, transition: str, from_state, to_state, actor,
                   opinion: str | None = None, role: str | None = None,
                   inputs: dict | None = None) -> FlowEntry:
    entry = FlowEntry(
        entity=record.meta().resource,
        record_id=record.id,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id if actor else None,
        actor_name=actor.display_name if actor else SYSTEM_NAME,
        role=role or (actor.role if actor else ""),
        org_name=actor.org_name if actor else None,
        at=now(),
        opinion=(opinion or None),
        inputs=inputs or None,
    )
    session.add(entry)
    return entry


def flow_of(session, record: Record) -> list[FlowEntry]:
    return list(
        session.scalars(
            select(FlowEntry)
            .where(FlowEntry.entity == record.meta().resource, FlowEntry.record_id == record.id)
            .order_by(FlowEntry.id)
        )
    )


def changes_of(session, record: Record) -> list[FieldChange]:
    return list(
        session.scalars(
            select(FieldChange)
            .where(FieldChange.entity == record.meta().resource,
                   FieldChange.record_id == record.id)
            .order_by(FieldChange.id)
        )
    )


def display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def record_field_changes(session, actor) -> None:
    """Called from the flush guard: one FieldChange per tracked field that changed (stored in
    the product's default language, values as plain text — 220000, 2026-12-07 13:43:26; the
    labels are re-translated and the values formatted as the screens show them on display:
    ``change_label``, ``change_values``)."""
    from flask_babel import force_locale

    rows = _field_changes(session)
    if not rows:
        return
    with force_locale(default_locale()):
        for entity, rid, fname, label, old, new in rows:
            session.add(FieldChange(
                entity=entity, record_id=rid, field=fname, label=str(label)[:200],
                old_value=display(old), new_value=display(new),
                actor_id=actor.user_id if actor else None,
                actor_name=actor.display_name if actor else SYSTEM_NAME, at=now(),
            ))


_locales: dict = {}


def default_locale():
    """The product's default locale as a parsed Locale (parsing one costs ~0.4 ms)."""
    from babel import Locale
    from flask import current_app, has_app_context

    code = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context() \
        else "zh_CN"
    loc = _locales.get(code)
    if loc is None:
        loc = _locales[code] = Locale.parse(code)
    return loc


def change_label(model, change) -> str:
    """The label of a changed field in the reader's language: a field of the record, a child
    table (主要部门情况, 规格型号 of a goods line: tables at any depth) or a line's field
    (商品信息[数控卧式车床].数量, the line named as it was when written).  What the declaration
    no longer holds keeps the label it was written with."""
    table, _dot, name = change.field.rpartition(".")
    if not table:
        spec = model.meta().fields.get(name)
        if spec is not None:
            return str(spec.label)
        found = _tables(model).get(name)
        return str(found[0].label) if found is not None else change.label
    found = _tables(model).get(table.rpartition(".")[2])
    spec = found[1].meta().fields.get(name) if found is not None else None
    row = _row_of(change.label, found[0], spec) if spec is not None else None
    if row is None:
        return change.label
    return str(_ChildLabel(found[0].label, row, spec.label))


def _tables(model) -> dict:
    """Every child table of a record type, a line's own lines included: name -> (ChildSpec,
    line model), nearer tables first (a line's field change is written as ``table.field``
    whatever the table's depth)."""
    meta = model.meta()
    tables = meta.__dict__.get("_history_tables")
    if tables is None:
        tables, todo = {}, [meta]
        while todo:
            m = todo.pop(0)
            for cname, cspec in m.children.items():
                if cname not in tables:
                    cmodel = m.child_model(cname)
                    tables[cname] = (cspec, cmodel)
                    todo.append(cmodel.meta())
        meta._history_tables = tables
    return tables


def _row_of(label: str, cspec, spec) -> str | None:
    """The line's name in a stored line label ``table[line].field`` (None: not one)."""
    from flask_babel import force_locale

    with force_locale(default_locale()):
        head, tail = f"{cspec.label}[", f"].{spec.label}"
    if label.startswith(head) and label.endswith(tail) and len(label) >= len(head) + len(tail):
        return label[len(head):len(label) - len(tail)]
    start, end = label.find("["), label.rfind("].")
    return label[start + 1:end] if 0 <= start < end else None


def _target(model, path: str):
    """(field spec, column type) of ``field`` or ``table.field`` (a line's field, of a table at
    any depth); (None, None) for a table (its lines added or removed) or a field no longer
    declared."""
    table, _dot, name = path.rpartition(".")
    if table:
        found = _tables(model).get(table.rpartition(".")[2])
        if found is None:
            return None, None
        meta = found[1].meta()
    else:
        meta = model.meta()
    spec = meta.fields.get(name)
    if spec is None:
        return None, None
    try:
        return spec, meta.column_type(name)
    except KeyError:
        return spec, None


def change_values(session, model, change) -> tuple[str, str]:
    """(old, new) of a field change as the reader sees them, as the screens show the field: a
    code list's or a choice's label in the reader's language (never the stored code), amounts
    with their decimals and thousands separators (220,000.00), times to the minute, 是/否 in
    the reader's language.  A value that does not read as its column's type (a table's
    "+ line", an older text) is shown as stored."""
    spec, coltype = _target(model, change.field)
    if spec is None or callable(spec.choices):  # record-dependent options: kept as the label
        return change.old_value or "", change.new_value or ""
    return tuple(_shown(session, spec, coltype, v) for v in (change.old_value, change.new_value))


_BOOLEANS = {"是": True, "否": False}  # as ``display`` writes them, in the default language


def _shown(session, spec, coltype, text) -> str:
    if text in (None, ""):
        return ""
    if spec.codelist or spec.choices is not None or spec.secret:
        return present.display(session, spec, text)
    value = None
    try:
        if isinstance(coltype, Boolean):
            value = _BOOLEANS.get(text)
        elif isinstance(coltype, Numeric):
            value = decimal.Decimal(text)
        elif isinstance(coltype, DateTime):
            value = dt.datetime.fromisoformat(text)
        elif isinstance(coltype, Date):
            value = dt.date.fromisoformat(text)
    except (ValueError, decimal.InvalidOperation):
        value = None
    if value is None:
        return text
    return present.display(session, spec, value, coltype=coltype)


def _field_changes(session) -> list[tuple]:
    """(entity, record id, field, label, old, new) of every tracked change about to flush;
    labels stay lazy and values raw until they are written."""
    rows = []
    for obj in list(session.dirty) + list(session.new) + list(session.deleted):
        if isinstance(obj, Record):
            if obj.id is None or obj in session.deleted:
                continue
            meta = obj.meta()
            ins = inspect(obj)
            for name, spec in meta.fields.items():
                if not spec.track or spec.secret:
                    continue
                h = ins.attrs[name].history
                if not h.has_changes():
                    continue
                old = h.deleted[0] if h.deleted else None
                new = h.added[0] if h.added else None
                if same(old, new):
                    continue
                old, new = _labelled(spec, obj, old), _labelled(spec, obj, new)
                rows.append((meta.resource, obj.id, name, spec.label, old, new))
        elif isinstance(obj, ChildRecord):
            root, cspec = root_and_spec(session, obj)
            if root is None or cspec is None or root.id is None or root in session.deleted:
                continue
            rmeta = root.meta()
            ins = inspect(obj)
            title = _child_title(obj)
            if ins.pending:
                rows.append((rmeta.resource, root.id, cspec.name, cspec.label, None,
                             f"+ {title}"))
            elif obj in session.deleted:
                rows.append((rmeta.resource, root.id, cspec.name, cspec.label, f"- {title}",
                             None))
            else:
                for name, spec in obj.meta().fields.items():
                    if not spec.track or spec.readonly:
                        continue
                    h = ins.attrs[name].history
                    if not h.has_changes():
                        continue
                    old = h.deleted[0] if h.deleted else None
                    new = h.added[0] if h.added else None
                    if same(old, new):
                        continue
                    rows.append((rmeta.resource, root.id, f"{cspec.name}.{name}",
                                 _ChildLabel(cspec.label, title, spec.label), old, new))
    return rows


def _labelled(spec, record, value):
    """A value of record-dependent options (an institution chosen from those that may be
    entrusted) is kept as its label: the options of another day may no longer hold it."""
    if value in (None, "") or not callable(spec.choices):
        return value
    for code, label in spec.options(record):
        if str(code) == str(value):
            return str(label)
    return value


class _ChildLabel:
    """商品信息[数控卧式车床].数量 — rendered in the locale of the moment it is written."""

    def __init__(self, table, row, field):
        self.table, self.row, self.field = table, row, field

    def __str__(self):
        return f"{self.table}[{self.row}].{self.field}"


def _child_title(obj) -> str:
    for name, spec in obj.meta().fields.items():
        if spec.readonly:
            continue
        value = getattr(obj, name)
        if value not in (None, ""):
            return display(value)
    return f"#{obj.id}" if obj.id else ""
