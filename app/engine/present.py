"""How values look: list cells, grey fields, prints, exports and the REST API's JSON.

One formatting function per channel, all from the declaration: code lists show "code name",
choices their label, money two decimals, booleans 是/否; secret fields never leave the server.
"""

from __future__ import annotations

import datetime as dt
import decimal
import html

from flask import url_for
from markupsafe import Markup
from sqlalchemy import Integer, Numeric, inspect

from . import codelists
from .fields import WIDE_CONTEXT, FieldSpec
from .i18n import gettext as _


# The styles a declaration names (a state's badge, a button: Bootstrap's contextual names, with
# "default" the plain one) as the classes of the product pages' Bootstrap 5.
def badge_class(style: str) -> str:
    """A state's badge: 暂存 grey, 待审核 blue, 退回 red …"""
    return f"badge text-bg-{'secondary' if style in ('default', '', None) else style}"


def button_class(style: str) -> str:
    """A declared button (a transition, a screen's button)."""
    return "btn btn-outline-secondary" if style in ("default", "", None) else f"btn btn-{style}"


def same(a, b) -> bool:
    """Equal as stored values (2 and Decimal("2.000") are the same number)."""
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        try:
            return decimal.Decimal(str(a)) == decimal.Decimal(str(b))
        except (decimal.InvalidOperation, TypeError):
            return False
    return a == b


def fmt_decimal(value: decimal.Decimal, scale: int | None = None, *,
                grouped: bool = False) -> str:
    """Amounts (``scale`` ≤ 2) to their declared decimals with thousands separators; other
    numbers as written (12800, 95.5), grouped (12,800) where ``grouped``."""
    if scale is not None:
        value = value.quantize(decimal.Decimal(1).scaleb(-scale), context=WIDE_CONTEXT)
        return f"{value:,.{scale}f}"
    text = format(value, ",f" if grouped else "f")
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
        return fmt_decimal(value, grouped=True)  # quantities: 1,234.5 (as many decimals as typed)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def link_href(record, spec: FieldSpec | None) -> str | None:
    """Where a field declared with ``link`` leads (the linked record's detail), if anywhere."""
    if spec is None or spec.link is None or record is None:
        return None
    rid = getattr(record, spec.link[0], None)
    if rid is None:
        return None
    return url_for(f"{spec.link[1]}_view.list") + str(rid)


def who(name: str | None) -> str:
    """A stored actor or publisher name as the user reads it: 系统 in the user's language."""
    from .policy import SYSTEM_NAME

    return _("系统") if name == SYSTEM_NAME else name or ""


def record_type_label(resource: str | None) -> str:
    """A record type's name (享惠受阻协调申请) for its resource name (coo_coordination)."""
    from .record import REGISTRY

    model = REGISTRY.get(resource or "")
    return str(model.meta().label) if model is not None else resource or ""


def cell(session, record, name: str) -> str:
    """The text of one column of a record, as lists, exports and the API show it."""
    return formatter(type(record), name)(session, record)


def short(session, record, name: str) -> str:
    """A code-list value by its name alone (台, Set) for a narrow box of a print; any other
    value as ``cell`` shows it."""
    spec = type(record).meta().fields.get(name)
    if spec is not None and spec.codelist and spec.display_fn is None:
        value = getattr(record, name, None)
        return codelists.name_of(session, spec.codelist, value) or display(session, spec, value)
    return cell(session, record, name)


def is_number(model, name: str) -> bool:
    """A column shown as a number (set flush right in lists and prints)."""
    spec = model.meta().fields.get(name)
    if spec is not None and (spec.codelist or spec.choices is not None or spec.display_fn):
        return False
    return name in inspect(model).columns and isinstance(model.meta().column_type(name),
                                                         (Integer, Numeric))


def formatter(model, name: str):
    """``f(session, record) -> str`` for one column: what ``display`` gives, with the
    per-column decisions (field spec, column type) taken once per model and column."""
    cache = model.meta().__dict__.setdefault("_formatters", {})
    f = cache.get(name)
    if f is None:
        f = cache[name] = _make_formatter(model, name)
    return f


def _make_formatter(model, name: str):
    meta = model.meta()
    spec = meta.fields.get(name)
    if name == "status" and (spec is None or spec.display_fn is None):
        return lambda session, r: r.status_label
    if spec is not None and spec.display_fn is not None:
        fn = spec.display_fn
        return lambda session, r: str(fn(r) or "")
    coltype = meta.column_type(name) if name in inspect(model).columns else None
    plain = spec is None or not (spec.secret or spec.codelist or spec.choices is not None)
    if plain:
        spec = None

    def text(session, r):
        value = getattr(r, name, None)
        if plain and type(value) is str:
            return value
        return display(session, spec, value, r, coltype)

    return text


def shows_number(meta, name: str) -> bool:
    """A number column of a list (flush right): an integer or decimal shown as itself, not a
    reference or a code shown by its label (检验机构, 处置类型)."""
    spec = meta.fields.get(name)
    if spec is None or spec.display_fn is not None or spec.choices is not None or \
            spec.codelist or name == "status":
        return False
    return isinstance(meta.column_type(name), (Integer, Numeric))


LONG_CELL = 16  # characters a list cell shows whole; longer ones get an ellipsis and a tooltip


def list_rows(session, model, records, columns, *, first_no: int | None, link_base: str | None,
              numeric: set[str]) -> Markup:
    """The <tr> rows of a generated list, built in one Python pass (per-cell template logic
    is most of a list page's rendering time).  ``link_base``: rows open the record (check box,
    first column links to ``link_base + id``); ``first_no``: the 序号 of the first row, or None
    where it is not known (末页)."""
    wf = model.meta().workflow
    formatters = [formatter(model, c) for c in columns]
    specs = model.meta().fields
    linked = {c: specs[c] for c in columns if c in specs and specs[c].link is not None}
    out = []
    for n, r in enumerate(records):
        rid = r.id
        parts = [f'<tr data-id="{rid}" class="{"js-row" if link_base else ""}">']
        if link_base:
            parts.append(f'<td class="col-check"><input type="checkbox" name="ids" value="{rid}">'
                         "</td>")
        parts.append(f'<td class="col-no">{(first_no + n) if first_no is not None else n + 1}'
                     "</td>")
        for i, (c, fmt) in enumerate(zip(columns, formatters, strict=True)):
            text = fmt(session, r)
            value = html.escape(text)
            # a long text (合同号, 卖方, 品名) is cut with … and read whole in its tooltip
            title = f' title="{value}"' if len(text) > LONG_CELL else ""
            href = link_href(r, linked[c]) if c in linked else None
            if i == 0 and link_base:
                other = (f' <a class="linked-record" href="{html.escape(href)}">'
                         '<i class="fa fa-external-link"></i></a>') if href else ""
                parts.append(f'<td class="txt key"{title}><a class="record-link" '
                             f'href="{html.escape(link_base)}{rid}">{value or f"#{rid}"}</a>'
                             f'{other}</td>')
            elif href:
                parts.append(f'<td class="txt"{title}><a class="linked-record" '
                             f'href="{html.escape(href)}">{value}</a></td>')
            elif c == "status":
                style = wf.state_style(r.status) if wf else "default"
                parts.append(f'<td class="txt"><span class="{badge_class(style)}">{value}</span>'
                             "</td>")
            elif c in numeric:
                parts.append(f'<td class="num">{value}</td>')
            else:
                parts.append(f'<td class="txt"{title}>{value}</td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return Markup("\n".join(out))


def preset_title(model, presets: dict) -> str:
    """A list filtered by one preset choice (报关单类型 = 出口报关单) is titled by it."""
    if len(presets) != 1:
        return ""
    (name, value), = presets.items()
    spec = model.meta().fields.get(name)
    for code, label in (spec.options() if spec is not None and spec.choices else []):
        if str(code) == str(value):
            return str(label)
    return ""


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
