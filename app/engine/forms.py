"""Detail forms, built per request from the declaration and the policy.

``build()`` turns (record, actor, posted values, errors) into a small view-model — sections of
fields and child tables, each field yellow (editable for THIS user in THIS state), grey
(read-only) or hidden, with red * when required and its inline errors.  A grey field is rendered
as text, never as an input: it cannot be posted by the page, and if it is posted anyway
changes.apply() refuses it.

``parse()`` turns the posted form (``goods-0-specs-1-model`` …) back into the nested dict every
write path takes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy import Boolean, String

from . import policy, present
from .changes import blank_row
from .fields import ChildSpec, FieldSpec
from .guard import recompute
from .i18n import gettext as _


@dataclass
class FieldView:
    name: str
    path: str
    label: Any
    value: str
    display: str
    editable: bool
    required: bool
    widget: str
    errors: list[str] = field(default_factory=list)
    options: list = field(default_factory=list)
    codelist: str | None = None
    picker: dict | None = None
    help: Any = None
    placeholder: Any = None
    autofocus: bool = False
    visible: bool = True
    show_when: str | None = None
    computed: bool = False
    # The linked record's page (FieldSpec.link), shown read-only as a link.
    href: str | None = None
    # A reviewer's mark on this field (review_marks.py): "red" = marked wrong.
    mark: str | None = None
    # A short code's length (商品编号 10, 计量单位 3): its box in a grid of lines is at least
    # that wide, and a code list's name beside the code never covers it.
    chars: int | None = None

    @property
    def state_class(self) -> str:
        return ("is-edit" if self.editable else "is-ro") + (
            f" review-{self.mark}" if self.mark else "")


@dataclass
class RowView:
    id: int | None
    index: str
    cells: list[FieldView]
    tables: list[TableView]
    errors: list[str] = field(default_factory=list)


@dataclass
class TableView:
    name: str
    path: str
    label: Any
    columns: list[tuple[Any, bool, str]]  # (label, required, field name)
    rows: list[RowView]
    editable: bool
    add_on_enter: bool
    template: RowView | None
    hint: str | None = None
    errors: list[str] = field(default_factory=list)
    nested: bool = False


@dataclass
class SectionView:
    name: str | None
    label: Any
    fields: list[FieldView]
    tables: list[TableView]


@dataclass
class FormView:
    sections: list[SectionView]
    editable: bool
    errors: dict[str, list[str]]
    unplaced: list[str] = field(default_factory=list)


def _value_source(obj, posted: dict | None, name: str):
    if posted is not None and name in posted:
        return posted[name], True
    return getattr(obj, name, None) if obj is not None else None, False


MAX_CODE_CHARS = 18  # 统一社会信用代码


def field_view(session, obj, spec: FieldSpec, path: str, editable: bool, posted, errors,
               coltype, record_for_rules, resource: str | None = None) -> FieldView:
    raw, from_post = _value_source(obj, posted, spec.name)
    value = raw if from_post else present.input_value(raw)
    if isinstance(coltype, Boolean) and from_post:
        value = "y" if str(raw).lower() in ("y", "on", "true", "1") else ""
    if spec.secret:
        value = ""
    display = present.display(session, spec, raw, record_for_rules, coltype) if not from_post \
        else str(raw or "")
    picker = None
    if spec.picker is not None and resource is not None:
        picker = {
            "url": url_for(f"{resource}_view.pick", field=path_field(path)),
            "min": spec.picker.min_chars,
            "fills": spec.picker.fills,
        }
    show_when = None
    if spec.show_when is not None:
        show_when = json.dumps({"field": spec.show_when[0],
                                "values": [str(v) for v in spec.show_when[1]]})
    return FieldView(
        name=spec.name, path=path, label=spec.label, value=value, display=display,
        editable=editable, required=spec.is_required(record_for_rules) or (
            bool(spec.required) and spec.show_when is not None),
        widget=spec.widget or "text", errors=errors.get(path, []),
        options=[(str(c), str(lbl)) for c, lbl in spec.options(obj)] if spec.choices else [],
        codelist=spec.codelist, picker=picker, help=spec.help, placeholder=spec.placeholder,
        autofocus=spec.autofocus and editable, visible=spec.is_visible(record_for_rules),
        show_when=show_when, computed=spec.compute is not None,
        href=None if from_post else present.link_href(obj, spec),
        chars=coltype.length if isinstance(coltype, String) and coltype.length
        and coltype.length <= MAX_CODE_CHARS else None,
    )


def path_field(path: str) -> str:
    """goods-0-hs_code -> goods.hs_code (the declaration path of a child field)."""
    parts = path.split("-")
    return ".".join(p for p in parts if not p.isdigit() and p != "__index__")


def _table(session, root, parent, cspec: ChildSpec, path: str, actor, posted_rows, errors,
           resource, nested=False) -> TableView:
    cmodel = parent.meta().child_model(cspec.name) if hasattr(parent, "meta") else None
    cmeta = cmodel.meta()
    editable = policy.child_editable(actor, root, cspec)
    hint = None
    if cspec.requires_saved and root.id is None:
        hint = _("请先暂存，再录入「%(table)s」", table=cspec.label)
    columns = [(s.label, s.is_required(root) and not s.readonly, s.name)
               for s in cmeta.fields.values()]
    rows: list[RowView] = []
    if not isinstance(posted_rows, list):
        posted_rows = None  # a value where the table is (refused by changes.apply): show stored
    if posted_rows is not None:
        items = [(None, r) for r in posted_rows]
    else:
        items = [(c, None) for c in getattr(parent, cspec.name)] if parent is not None else []
    by_id = {c.id: c for c in getattr(parent, cspec.name)} if parent is not None else {}
    for i, (obj, prow) in enumerate(items):
        if obj is None and prow is not None and prow.get("id"):
            try:
                obj = by_id.get(int(prow["id"]))
            except (TypeError, ValueError):
                obj = None
        rows.append(_row(session, root, obj, cmodel, cspec, f"{path}-{i}", str(i), actor,
                         prow, errors, editable, resource, parent))
    template = None
    if editable:
        template = _row(session, root, None, cmodel, cspec, f"{path}-__index__", "__index__",
                        actor, {}, {}, editable, resource, parent)
    return TableView(
        name=cspec.name, path=path, label=cspec.label, columns=columns, rows=rows,
        editable=editable, add_on_enter=cspec.add_on_enter, template=template, hint=hint,
        errors=errors.get(path, []), nested=nested,
    )


def _row(session, root, obj, cmodel, cspec, path, index, actor, prow, errors, editable,
         resource, parent=None) -> RowView:
    cmeta = cmodel.meta()
    cells = []
    if obj is None:
        # A line not saved yet: options that depend on the parent are computed through it.
        blank = cmodel()
        blank.__dict__["_engine_parent"] = parent
    else:
        blank = obj
    for spec in cmeta.fields.values():
        e = editable and not spec.readonly
        if obj is None and prow is not None and spec.name not in prow and spec.initial is not None:
            value = spec.initial(actor, session) if callable(spec.initial) else spec.initial
            prow = {**prow, spec.name: present.input_value(value)}
        cells.append(field_view(session, blank, spec, f"{path}-{spec.name}", e,
                                prow if prow is not None else None, errors,
                                cmeta.column_type(spec.name), obj if obj is not None else root,
                                resource))
    tables = []
    for sub in cmeta.children.values():
        sub_rows = prow.get(sub.name) if prow is not None else None
        tables.append(_table(session, root, obj if obj is not None else cmodel(), sub,
                             f"{path}-{sub.name}", actor, sub_rows, errors, resource,
                             nested=True))
    return RowView(id=obj.id if obj is not None else (
        int(prow["id"]) if prow and str(prow.get("id") or "").isdigit() else None),
        index=index, cells=cells, tables=tables, errors=errors.get(path, []))


def build(session, record, actor, *, posted: dict | None = None,
          errors: dict | None = None, marks: dict | None = None) -> FormView:
    """``marks``: form path -> a reviewer's mark, shown on the field (the red ones of a
    returned declaration)."""
    errors = errors or {}
    meta = record.meta()
    resource = meta.resource
    sections: dict[str | None, SectionView] = {}
    order = [s.name for s in meta.sections]
    for s in meta.sections:
        sections[s.name] = SectionView(s.name, s.label, [], [])
    any_editable = False
    for spec in meta.fields.values():
        if (spec.name == "status" and meta.workflow is not None) or not spec.in_form:
            # The state is shown in the form header, not as a field.
            continue
        editable = policy.field_editable(actor, record, spec)
        any_editable |= editable
        fv = field_view(session, record, spec, spec.name, editable, posted, errors,
                        meta.column_type(spec.name), record, resource)
        sec = sections.get(spec.section)
        if sec is None:
            sec = sections.setdefault(spec.section, SectionView(spec.section, "", [], []))
            order.append(spec.section)
        sec.fields.append(fv)
    for cspec in meta.children.values():
        posted_rows = posted.get(cspec.name) if posted is not None else None
        tv = _table(session, record, record, cspec, cspec.name, actor, posted_rows, errors,
                    resource)
        any_editable |= tv.editable
        sec = sections.get(cspec.section)
        if sec is None:
            sec = sections.setdefault(cspec.section, SectionView(cspec.section, cspec.label,
                                                                 [], []))
            order.append(cspec.section)
        sec.tables.append(tv)
    if marks:
        _apply_marks(sections.values(), marks)
    seen = []
    for name in order:
        if name not in seen:
            seen.append(name)
    ordered = [sections[n] for n in seen
               if sections[n].tables or any(f.editable or f.display for f in sections[n].fields)]
    known = set()
    for sec in ordered:
        for f in sec.fields:
            known.add(f.path)
    unplaced = [("; ".join(v) if k == "_record" else f"{_label_of(meta, k)}: {'; '.join(v)}")
                for k, v in errors.items() if k not in known and "-" not in k]
    return FormView(sections=ordered, editable=any_editable, errors=errors, unplaced=unplaced)


def _label_of(meta, name: str) -> str:
    spec = meta.fields.get(name) or meta.children.get(name)
    return str(spec.label) if spec is not None else name


def _apply_marks(sections, marks: dict) -> None:
    for sec in sections:
        for f in sec.fields:
            f.mark = marks.get(f.path)
        for t in sec.tables:
            _mark_table(t, marks)


def _mark_table(t: TableView, marks: dict) -> None:
    for r in t.rows:
        for c in r.cells:
            c.mark = marks.get(c.path)
        for sub in r.tables:
            _mark_table(sub, marks)


# --- computed fields while typing ------------------------------------------------------------
def computed_values(session, record, posted: dict | None = None,
                    reveal=None) -> dict[str, str]:
    """Form path -> text of every computed (grey) field of ``record`` and its lines, after
    ``changes.apply`` put the typed values on it.  Lines are matched to the rows of the posted
    form (path indexes are the form's, not the collection's: deleted and untouched new rows
    are not in the collection).  ``reveal(obj, spec, key_path)``: whether a value looked up from
    another organisation's data (``FieldSpec.reveals``) may be shown; blank where not."""
    recompute(record)
    out: dict[str, str] = {}
    _computed_of(session, record, "", posted, out, reveal)
    return out


def _computed_of(session, obj, prefix: str, posted: dict | None, out: dict, reveal) -> None:
    meta = obj.meta()
    for spec in meta.fields.values():
        if spec.compute is not None:
            if spec.reveals and reveal is not None \
                    and not reveal(obj, spec, f"{prefix}{spec.reveals}"):
                out[f"{prefix}{spec.name}"] = ""
                continue
            out[f"{prefix}{spec.name}"] = present.display(
                session, spec, getattr(obj, spec.name, None), obj, meta.column_type(spec.name))
    for cspec in meta.children.values():
        children = list(getattr(obj, cspec.name))
        rows = posted.get(cspec.name) if posted is not None else None
        for i, child, row in _rows_of(children, rows, meta.child_model(cspec.name).meta()):
            index = row.get("_index", i) if row is not None else i
            _computed_of(session, child, f"{prefix}{cspec.name}-{index}-", row, out, reveal)


def _rows_of(children, rows, cmeta):
    """(form index, line, posted row) for each line."""
    if not isinstance(rows, list):
        for i, child in enumerate(children):
            yield i, child, None
        return
    by_id = {c.id: c for c in children if c.id is not None}
    new = iter([c for c in children if c.id is None])
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or str(row.get("_delete", "")).lower() in (
                "y", "on", "1", "true"):
            continue
        cid = str(row.get("id") or "")
        if cid:
            child = by_id.get(int(cid)) if cid.isdigit() else None
        elif blank_row(row, cmeta):
            continue
        else:
            child = next(new, None)
        if child is not None:
            yield i, child, row


# --- parsing the posted form -----------------------------------------------------------------
CONTROL_KEYS = {"csrf_token", "__tables", "_next", "opinion", "ids"}
MAX_ROW_INDEX = 9999


class MalformedForm(ValueError):
    """A posted form no page of the product sends (keys that do not nest, bad row indexes)."""


def _key_parts(key: str) -> list[str]:
    """``goods-0-specs-1-model`` -> ["goods", "0", "specs", "1", "model"]: names at even
    positions, row indexes at odd ones."""
    parts = key.split("-")
    for i, p in enumerate(parts):
        if i % 2 == 0:
            if not p or p.isdigit():
                raise MalformedForm(key)
        elif not p.isdigit() or int(p) > MAX_ROW_INDEX:
            raise MalformedForm(key)
    return parts


def parse(form) -> dict:
    """Flat form keys -> nested dict; child tables become lists in index order.  A key that
    does not fit (a row index that is not a number, a value where a table is, a table where a
    value is) raises MalformedForm: the caller answers 400."""
    root: dict = {}
    tables = form.getlist("__tables") if hasattr(form, "getlist") else []
    for t in tables:
        parts = _key_parts(t + "-0-x")[:-2]
        _ensure_list(root, parts)
    for key in form.keys():
        if key in CONTROL_KEYS or key.startswith("input-"):
            continue
        values = form.getlist(key) if hasattr(form, "getlist") else [form[key]]
        value = values[-1] if values else ""
        if key == "version" or key.startswith("_"):
            root[key] = value
            continue
        parts = _key_parts(key)
        if len(parts) == 1:
            if isinstance(root.get(key), dict):
                raise MalformedForm(key)
            root[key] = value
            continue
        _put(root, parts, value)
    return _finalise(root)


def _ensure_list(node: dict, parts: list[str]):
    # parts: name, idx, name, idx, ..., name
    for p in parts:
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise MalformedForm("-".join(parts))
        node = child


def _put(node: dict, parts: list[str], value):
    for p in parts[:-1]:
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise MalformedForm("-".join(parts))
        node = child
    if isinstance(node.get(parts[-1]), dict):
        raise MalformedForm("-".join(parts))
    node[parts[-1]] = value


def _finalise(node):
    """Dicts keyed by row indexes become lists of rows; each row keeps the index its inputs
    carry on the page as ``_index`` (rows deleted on the page leave gaps)."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if isinstance(v, dict) and v and all(str(x).isdigit() for x in v):
            if any(not isinstance(row, dict) for row in v.values()):
                raise MalformedForm(k)
            out[k] = [{**_finalise(v[i]), "_index": i} for i in sorted(v, key=int)]
        elif isinstance(v, dict) and not v:
            out[k] = []
        else:
            out[k] = _finalise(v)
    return out


def inputs_from(form, transition) -> dict:
    return {inp.name: form.get(f"input-{inp.name}") for inp in transition.inputs}
