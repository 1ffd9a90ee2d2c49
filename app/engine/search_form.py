"""The search fields above a generated list (and its statistics), built in one Python pass.

A search field's cell — its label, its kind (date range, select, code-list input, text) and its
options — depends on the record type's declaration and the language only; what a request adds
is the values typed or chosen.  Each field's fixed part is prepared once per language (a
declared choice list that is computed, ``choices=callable``, is asked again on every request),
and a request fills in its values.  Rendered by the template, the 15 search fields of a
declaration list cost an eighth of an exact search's request in per-field template calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from flask_babel import get_locale
from markupsafe import Markup

from . import present
from .fields import Search, search_mode
from .i18n import gettext as _


@dataclass(frozen=True)
class _Cell:
    """One search field, everything but its value."""

    name: str
    kind: str  # range | status | choices | codelist | text
    head: str  # the opening <div> and the <label>
    options: tuple[tuple[str, str], ...] = ()  # (value, escaped label), fixed choices only
    placeholder: str = ""
    codelist: str = ""


_cells: dict[tuple, tuple[tuple, tuple[_Cell, ...]]] = {}
_MAX = 512


def _prepare(model, searches) -> tuple[_Cell, ...]:
    meta = model.meta()
    cells = []
    for s in searches:
        mode = search_mode(s, meta.fields.get(s.field), meta.column_type(s.field))
        spec = meta.fields.get(s.field)
        label = escape(str(s.label or present.column_label(model, s.field)))
        head = (f'<div class="col-sm-{6 if mode == "range" else 3} mb-2">'
                f'<label class="form-label">{label}</label>')
        name = escape(s.field)
        if mode == "range":
            cells.append(_Cell(name, "range", head))
        elif s.field == "status" and meta.workflow:
            cells.append(_Cell(name, "status", head, tuple(
                (escape(str(code)), escape(str(st.label)))
                for code, st in meta.workflow.states.items())))
        elif spec is not None and spec.choices:
            fixed = () if callable(spec.choices) else tuple(
                (escape(str(code)), escape(str(label))) for code, label in spec.options())
            cells.append(_Cell(name, "choices", head, fixed))
        elif spec is not None and spec.codelist:
            cells.append(_Cell(name, "codelist", head, codelist=escape(spec.codelist)))
        else:
            hint = _("包含") if mode == "contains" else _("开头为") if mode == "prefix" else ""
            cells.append(_Cell(name, "text", head, placeholder=escape(hint)))
    return tuple(cells)


def cells(model, searches: list[Search]) -> tuple[_Cell, ...]:
    key = (model, tuple(id(s) for s in searches), str(get_locale()))
    hit = _cells.get(key)
    if hit is None:
        hit = (tuple(searches), _prepare(model, searches))  # the searches pinned: ids stay theirs
        if len(_cells) >= _MAX:
            _cells.clear()
        _cells[key] = hit
    return hit[1]


def _value(filters: dict, name: str) -> str:
    value = filters.get(name)
    return "" if value is None else escape(str(value))


def _select(name: str, options, chosen: str) -> str:
    everything = _("全部")
    parts = [f'<select class="form-select" name="{name}"><option value="">{everything}</option>']
    for value, label in options:
        mark = " selected" if value == chosen else ""
        parts.append(f'<option value="{value}"{mark}>{label}</option>')
    parts.append("</select>")
    return "".join(parts)


def fields_html(model, searches: list[Search], filters: dict) -> Markup:
    """The cells of the search form, each with the value ``filters`` holds for it."""
    out = []
    to = _("至")
    for c in cells(model, searches):
        out.append(c.head)
        if c.kind == "range":
            lo, hi = _value(filters, c.name + "__from"), _value(filters, c.name + "__to")
            out.append(
                f'<div class="input-group"><input type="date" class="form-control" '
                f'name="{c.name}__from" value="{lo}"><span class="input-group-text">{to}</span>'
                f'<input type="date" class="form-control" name="{c.name}__to" '
                f'value="{hi}"></div>')
        elif c.kind in ("status", "choices"):
            options = c.options
            if c.kind == "choices" and not options:
                spec = model.meta().fields[c.name]
                options = [(escape(str(code)), escape(str(label)))
                           for code, label in spec.options()]
            out.append(_select(c.name, options, _value(filters, c.name) or "\0"))
        elif c.kind == "codelist":
            out.append(f'<input class="form-control" name="{c.name}" '
                       f'value="{_value(filters, c.name)}" '
                       f'data-codelist="{c.codelist}" autocomplete="off">')
        else:
            out.append(f'<input class="form-control" name="{c.name}" '
                       f'value="{_value(filters, c.name)}" '
                       f'placeholder="{c.placeholder}">')
        out.append("</div>")
    return Markup("\n".join(out))
