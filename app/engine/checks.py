"""Declarations checked when the application starts, the way Django's system checks do.

A misspelt Meta key, a list column or search field that is no field, a section, state, role,
code list or print template that does not exist would otherwise be accepted silently and fail
later in a user's hands.  :func:`problems` reports each with the record type, the name and the
closest name that does exist; :func:`verify` refuses to start the application while any is left.
"""

from __future__ import annotations

import difflib
import os

from sqlalchemy import inspect

from . import codelists, menus
from .fields import Search
from .policy import ROLES
from .record import REGISTRY, ChildMeta, RecordMeta
from .workflow import ANY, STATE_KINDS, transitions_of

BOOKKEEPING_COLUMNS = ("id", "created_at", "updated_at", "version")
SEARCH_MODES = {"auto", "contains", "exact", "prefix", "range", "in"}


class DeclarationError(Exception):
    """The application refuses to start: these declarations are wrong."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Record declarations are wrong:\n" + "\n".join(
            f"  - {p}" for p in problems))


def _hint(name, candidates) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Report:
    def __init__(self, model):
        self.where = model.__name__
        self.items: list[str] = []

    def unknown(self, what: str, name, candidates) -> None:
        self.items.append(f"{self.where}: unknown {what} {name!r}{_hint(name, candidates)}")

    def check(self, what: str, names, candidates) -> None:
        for n in names:
            if n not in candidates:
                self.unknown(what, n, candidates)


def problems(models=None, *, reports_dir: str | None = None) -> list[str]:
    models = list(REGISTRY.values()) if models is None else list(models)
    out: list[str] = []
    resources = {m.meta().resource for m in REGISTRY.values()} | {
        m.meta().resource for m in models}
    for model in models:
        out += _record(model, resources, reports_dir)
    return out


def verify(models=None, *, reports_dir: str | None = None) -> None:
    found = problems(models, reports_dir=reports_dir)
    if found:
        raise DeclarationError(found)


def _record(model, resources, reports_dir) -> list[str]:
    r = _Report(model)
    raw = model.__dict__.get("Meta")
    for key in (k for k in vars(raw) if not k.startswith("_")):
        if key not in RecordMeta.KEYS:
            r.unknown("Meta key", key, RecordMeta.KEYS)
    meta = model.meta()
    fields = set(meta.fields)
    columns = fields | set(BOOKKEEPING_COLUMNS)
    mapped = {a.key for a in inspect(model).column_attrs}
    wf = meta.workflow
    states = set(wf.states) if wf is not None else set()

    if meta.owner and meta.owner not in mapped:
        r.unknown("owner column", meta.owner, mapped)
    r.check("role in scope", meta.scope, ROLES)
    r.check("role in edit_scope (a role that sees the rows)", meta.edit_scope, meta.scope)
    r.check("role in create_roles", meta.create_roles, ROLES)
    for state, roles in meta.editable.items():
        if wf is None or state not in states:
            r.unknown("state in editable", state, states)
        r.check("role in editable", roles, ROLES)
    r.check("list column", meta.list_columns, columns)
    _searches(r, meta.search, columns)
    order = meta.order_by.lstrip("-")
    if order not in columns:
        r.unknown("order_by field", order, columns)
    if meta.title_field and meta.title_field not in fields:
        r.unknown("title_field", meta.title_field, fields)
    for numbering in meta.numbering:
        if numbering.field not in fields:
            r.unknown("numbering field", numbering.field, fields)
    sections = {s.name for s in meta.sections}
    if sections:
        for spec in list(meta.fields.values()) + list(meta.children.values()):
            if spec.section is not None and spec.section not in sections:
                r.unknown(f"section of {spec.name}", spec.section, sections)
    _fields(r, meta, fields, states, resources)
    for cname in meta.children:
        _child(r, meta.child_model(cname), states, resources)
    if wf is not None:
        _workflow(r, model, wf, fields)
    for screen in meta.screens:
        r.check(f"column of screen {screen.name}", screen.columns, columns)
        _searches(r, screen.search, columns, f" of screen {screen.name}")
        if screen.roles:
            r.check(f"role of screen {screen.name}", screen.roles, ROLES)
        if screen.scope:
            r.check(f"role in scope of screen {screen.name}", screen.scope, ROLES)
    for rel in meta.related:
        if rel.resource not in resources:
            r.unknown("related resource", rel.resource, resources)
        else:
            target = REGISTRY[rel.resource]
            r.check(f"column of related {rel.resource}", rel.columns,
                    set(target.meta().fields) | set(BOOKKEEPING_COLUMNS))
    slots = [s.name for s in meta.attachments]
    if len(slots) != len(set(slots)):
        r.items.append(f"{r.where}: attachment slot names repeat: {slots}")
    for slot in meta.attachments:
        if slot.edit_states is not None:
            r.check(f"state of attachment slot {slot.name}", slot.edit_states, states)
        if slot.edit_roles is not None:
            r.check(f"role of attachment slot {slot.name}", slot.edit_roles, ROLES)
    if meta.print is not None and reports_dir:
        if not os.path.exists(os.path.join(reports_dir, meta.print.template)):
            r.unknown("print template", meta.print.template,
                      sorted(os.listdir(reports_dir)))
    for item in meta.menu:
        if not isinstance(item, menus.MenuItem):
            r.items.append(f"{r.where}: Meta.menu holds {item!r}, not SYSTEM.menu(...)")
        elif item.system.group(item.group) is None:
            r.unknown(f"menu group of system {item.system.key}", item.group,
                      [g.key for g in item.system.groups])
        elif item.roles:
            r.check("role of menu entry", item.roles, ROLES)
    return r.items


def _searches(r, searches, fields, suffix="") -> None:
    for s in searches:
        name = s.field if isinstance(s, Search) else s
        if name not in fields:
            r.unknown(f"search field{suffix}", name, fields)
        if isinstance(s, Search) and s.mode not in SEARCH_MODES:
            r.unknown(f"search mode of {name}{suffix}", s.mode, SEARCH_MODES)


def _fields(r, meta, fields, states, resources) -> None:
    for spec in meta.fields.values():
        if spec.codelist and spec.codelist not in codelists.LISTS:
            r.unknown(f"code list of {spec.name}", spec.codelist, codelists.LISTS)
        if spec.not_before and spec.not_before not in fields:
            r.unknown(f"not_before field of {spec.name}", spec.not_before, fields)
        if spec.link is not None:
            if spec.link[1] not in resources:
                r.unknown(f"link resource of {spec.name}", spec.link[1], resources)
            if not hasattr(meta.model, spec.link[0]):
                r.unknown(f"link id of {spec.name}", spec.link[0], fields)
        if spec.reveals and spec.reveals not in fields:
            r.unknown(f"reveals field of {spec.name}", spec.reveals, fields)
        if spec.show_when is not None and spec.show_when[0] not in fields:
            r.unknown(f"show_when field of {spec.name}", spec.show_when[0], fields)
        if spec.edit_states is not None:
            r.check(f"state of {spec.name}", spec.edit_states, states)
        if spec.edit_roles is not None:
            r.check(f"role of {spec.name}", spec.edit_roles, ROLES)
        if spec.picker is not None:
            if spec.picker.resource not in resources:
                r.unknown(f"picker resource of {spec.name}", spec.picker.resource, resources)
            elif spec.picker.resource in REGISTRY:
                target = set(REGISTRY[spec.picker.resource].meta().fields)
                r.check(f"picker column of {spec.name}",
                        [spec.picker.key, spec.picker.label, *spec.picker.fills.values()],
                        target)
                r.check(f"picker fill of {spec.name}", spec.picker.fills, fields)


def _child(r, cmodel, states, resources) -> None:
    cmeta = cmodel.meta()
    raw = cmodel.__dict__.get("Meta")
    if raw is not None:
        for key in (k for k in vars(raw) if not k.startswith("_")):
            if key not in ChildMeta.KEYS:
                r.unknown(f"Meta key of {cmodel.__name__}", key, ChildMeta.KEYS)
    _fields(r, cmeta, set(cmeta.fields), states, resources)
    for cname in cmeta.children:
        _child(r, cmeta.child_model(cname), states, resources)


def _workflow(r, model, wf, fields) -> None:
    states = set(wf.states)
    names = [t.name for t in wf.transitions]
    for name in {n for n in names if names.count(n) > 1}:
        r.items.append(f"{r.where}: transition {name!r} is declared twice")
    for t in transitions_of(model):
        if t.kind in STATE_KINDS and t.target not in states:
            r.unknown(f"target state of transition {t.name}", t.target, states)
        if t.sources != ANY:
            r.check(f"source state of transition {t.name}", t.sources, states)
        r.check(f"role of transition {t.name}", t.roles, ROLES)
        if isinstance(t.check_required, list):
            r.check(f"required field of transition {t.name}", t.check_required, fields)
        if isinstance(t.todo, list):
            r.check(f"todo state of transition {t.name}", t.todo, states)
        for inp in t.inputs:
            if inp.target and inp.target not in fields:
                r.unknown(f"target field of input {inp.name}", inp.target, fields)
            if inp.slot and model.meta().slot(inp.slot) is None:
                r.unknown(f"attachment slot of input {inp.name}", inp.slot,
                          [s.name for s in model.meta().attachments])
