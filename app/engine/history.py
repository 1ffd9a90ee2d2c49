"""History of every record: the flow (transitions) and the field changes (old → new).

查看流程状态 reads the flow entries, 查看审批意见 the ones carrying an opinion; both, plus the field
changes, are served by GET /api/v1/<resource>/<pk>/history.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_appbuilder import Model
from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, inspect, select
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
        entries keep the text they were written with)."""
        if self.opinion or not self.inputs:
            return self.opinion or ""
        from .record import REGISTRY
        from .workflow import find_transition

        model = REGISTRY.get(self.entity)
        t = find_transition(model, self.transition) if model is not None else None
        inputs = {inp.name: inp for inp in (t.inputs if t is not None else ())}
        return gettext("；").join(
            gettext("%(label)s：%(value)s", label=inputs[name].label if name in inputs else name,
                    value=inputs[name].label_of(value) if name in inputs else value)
            for name, value in self.inputs.items())


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
    the product's default language; labels of top-level fields are re-translated on display)."""
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
    """The label of a changed field in the reader's language."""
    spec = model.meta().fields.get(change.field)
    return str(spec.label) if spec is not None else change.label


def _spec_of(model, path: str):
    """The field spec of ``field`` or ``table.field`` (a line's field)."""
    meta = model.meta()
    parts = path.split(".")
    for part in parts[:-1]:
        if part not in meta.children:
            return None
        meta = meta.child_model(part).meta()
    return meta.fields.get(parts[-1])


def change_values(session, model, change) -> tuple[str, str]:
    """(old, new) of a field change as the reader sees them: a code list's or a choice's
    label in the reader's language, never the stored code."""
    spec = _spec_of(model, change.field)
    if spec is None or not (spec.codelist or isinstance(spec.choices, list)):
        return change.old_value or "", change.new_value or ""
    return tuple(present.display(session, spec, v) if v not in (None, "") else ""
                 for v in (change.old_value, change.new_value))


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
