"""The one write path for submitted data: HTML forms, REST API, Excel import, batch edits.

``apply()`` takes a nested dict (``{"field": value, "goods": [{"id": 1, "specs": [...]}, ...]}``),
refuses every change the policy forbids (a grey field posted with a different value, a child
table that is locked), coerces and validates formats, and only then sets attributes.  It raises
:class:`ValidationErrors` (field path -> messages) or :class:`policy.Refused`; the caller rolls
the session back, so a refused submission stores nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Text,
    inspect,
)

from . import codelists, policy, validators
from .fields import ChildSpec, FieldSpec, too_large
from .i18n import gettext as _
from .inputs import BadInput, check_text
from .present import same
from .record import session_for

# A Text column without a length of its own holds at most this many characters (备注 …).
TEXT_MAX_LENGTH = 4000
TRUE_VALUES = {"y", "on", "true", "1", "yes", "是"}
FALSE_VALUES = {"n", "off", "false", "0", "no", "否", ""}
IGNORED_KEYS = {"id", "status_label", "created_at", "updated_at", "created_by_id",
                "updated_by_id", "_links", "attachments", "csrf_token"}


class ValidationErrors(Exception):
    """Field path -> list of messages; ``_record`` holds errors of the whole record."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        self.errors = {k: [str(m) for m in v] for k, v in errors.items() if v}
        self.message = message or _("请检查标红的字段")
        super().__init__(self.message)

    def summary(self, labels: dict[str, str] | None = None) -> str:
        parts = []
        for path, msgs in self.errors.items():
            label = (labels or {}).get(path, path)
            parts.append(f"{label}: {'; '.join(msgs)}" if path != "_record" else "; ".join(msgs))
        return "; ".join(parts)


class Stale(policy.Refused):
    status = 409


def coerce(session, spec: FieldSpec, coltype, raw):
    """Turn a submitted value (form string or JSON value) into the column's Python value;
    ValueError with the user's message when it cannot be one."""
    if isinstance(coltype, Boolean):
        return _boolean(raw)
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    for types, convert in _CONVERTERS:
        if isinstance(coltype, types):
            return convert(session, spec, coltype, raw)
    return raw


def _boolean(raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    text = str(raw).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ValueError(_("请选择是或否"))


def _offered(spec: FieldSpec, value) -> None:
    """A value of fixed options must be one of them."""
    if isinstance(spec.choices, list) and str(value) not in {str(c) for c, _l in spec.choices}:
        raise ValueError(_("「%(code)s」不是有效的选项", code=value))


def _integer(session, spec, coltype, raw) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("请输入整数"))
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(_("请输入整数")) from None
    limit = 2**63 - 1 if isinstance(coltype, BigInteger) else 2**31 - 1
    if abs(value) > limit:
        raise ValueError(_("数值过大"))
    _offered(spec, value)
    return value


def _decimal(session, spec, coltype, raw) -> decimal.Decimal:
    try:
        value = decimal.Decimal(str(raw).strip().replace(",", ""))
    except decimal.InvalidOperation:
        raise ValueError(_("请输入数字")) from None
    if not value.is_finite():
        raise ValueError(_("请输入数字"))
    scale = coltype.scale or 0
    if -value.as_tuple().exponent > scale:
        raise ValueError(_("最多 %(n)s 位小数", n=scale))
    if too_large(value, coltype):
        raise ValueError(_("数值过大"))
    return value


def _datetime(session, spec, coltype, raw) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.datetime.fromisoformat(str(raw).strip().replace("T", " "))
    except ValueError:
        raise ValueError(_("日期时间格式应为 YYYY-MM-DD HH:MM")) from None


def _date(session, spec, coltype, raw) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:  # a whole date and time (2026-11-02T00:00:00) names its day; 2026-11-02abc does not
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(_("日期格式应为 YYYY-MM-DD")) from None


def _text(session, spec, coltype, raw) -> str:
    # JSON's true/false, objects, lists and NaN/Infinity are no text: str() made them
    # "True", "{'a': 1}", "inf".
    if isinstance(raw, (bool, dict, list)) or (isinstance(raw, float) and not
                                               decimal.Decimal(raw).is_finite()):
        raise ValueError(_("格式错误"))
    value = str(raw).strip()
    try:
        check_text(value)
    except BadInput as e:
        raise ValueError(str(e)) from None
    length = spec.max_length or getattr(coltype, "length", None) or TEXT_MAX_LENGTH
    if len(value) > length:
        raise ValueError(_("长度不能超过 %(n)s 个字符", n=length))
    if spec.codelist and value not in codelists.items(session, spec.codelist):
        raise ValueError(_("「%(code)s」不是有效的代码，请从下拉列表中选择", code=value))
    _offered(spec, value)
    return value


# DateTime before Date: a DateTime column is not a Date, but keep the order explicit.
_CONVERTERS = (
    (Integer, _integer),
    (Numeric, _decimal),
    (DateTime, _datetime),
    (Date, _date),
    ((String, Text), _text),
)


def _choice_errors(spec: FieldSpec, obj, value, current) -> list[str]:
    """Options that depend on the record (e.g. only institutions that may be entrusted today)
    are checked against it: a value the form would never have offered is refused."""
    if not callable(spec.choices) or value in (None, "") or same(value, current):
        return []
    if str(value) in {str(code) for code, _label in spec.options(obj)}:
        return []
    if spec.refusal is not None:
        reason = spec.refusal(session_for(obj), value)
        if reason:
            return [str(reason)]
    return [_("「%(code)s」不是有效的选项", code=value)]


def _date_errors(spec: FieldSpec, value) -> list[str]:
    """A date entered or changed: of this era (``validators.in_era``), and ahead of today (a
    validity) or behind it (a manufacture) where the field says so."""
    if not isinstance(value, dt.date):
        return []
    checks = [validators.in_era] + ([validators.not_past] if spec.not_past else []) + (
        [validators.not_future] if spec.not_future else [])
    for check in checks:
        try:
            check(value)
        except ValueError as e:
            return [str(e)]
    return []


def order_errors(record, prefix: str = "") -> dict[str, list[str]]:
    """Dates of a record (and of its lines) that lie before the date they must follow."""
    errors: dict[str, list[str]] = {}
    meta = record.meta()
    for name, spec in meta.fields.items():
        if not spec.not_before:
            continue
        value, other = getattr(record, name), getattr(record, spec.not_before)
        if value is not None and other is not None and value < other:
            errors[f"{prefix}{name}"] = [_("不能早于「%(other)s」（%(date)s）",
                                           other=meta.fields[spec.not_before].label,
                                           date=present_date(other))]
    for cname in meta.children:
        for i, child in enumerate(getattr(record, cname)):
            errors.update(order_errors(child, f"{prefix}{cname}-{i}-"))
    return errors


def present_date(value) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def validate_value(spec: FieldSpec, value) -> list[str]:
    msgs = []
    for check in spec.validators:
        try:
            check(value)
        except ValueError as e:
            msgs.append(str(e))
    return msgs


def check_version(record, submitted) -> None:
    if submitted in (None, ""):
        return
    # A whole number as JSON or digits as text: 27.9 or true is no version (int() took them
    # for 27 and 1).
    if isinstance(submitted, str) and submitted.strip().isascii() and submitted.strip().isdigit():
        submitted = int(submitted)
    if type(submitted) is not int:
        raise policy.Refused(_("版本号无效：应为记录的版本号（整数）"), status=400)
    if record.id is not None and submitted != record.version:
        raise Stale(_("该记录已被他人修改（当前版本 %(v)s），请刷新后重试", v=record.version))


class VersionRequired(policy.Refused):
    status = 428


def require_version(record, data: dict) -> None:
    """A save of an existing record names the version it was made from: without it, a later
    save would silently overwrite a change it never saw."""
    writes = any(k not in IGNORED_KEYS and k != "version" and not k.startswith("_")
                 for k in data)
    if record.id is not None and writes and data.get("version") in (None, ""):
        raise VersionRequired(_("请提供记录的版本号（version），以免覆盖他人的修改"))


def apply(session, record, data: dict, actor, *, partial: bool = True,
          readonly: bool | str = False) -> None:
    """Apply ``data`` to ``record`` for ``actor``.  ``readonly``: nothing may change now (a
    text: the reason any change is refused).

    A forbidden change raises before anything is set.  Format errors raise ValidationErrors
    after the valid values were set, so a transition can report missing required fields in
    the same answer; every caller rolls the session back on either exception.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    forbidden: list[str] = []
    setters: list[tuple] = []
    if readonly:
        # Nothing may change now (no save transition in this state): any difference is refused.
        actor = policy.read_only(actor)
    with session.no_autoflush:
        if "version" in data:
            check_version(record, data.get("version"))
        _collect(session, record, record, data, actor, "", errors, forbidden, setters,
                 partial=partial)
        if forbidden:
            # In the order the form shows them, each once.
            order = {str(s.label): s.order for s in record.meta().fields.values()}
            names = sorted(dict.fromkeys(forbidden), key=lambda n: order.get(n, 1 << 30))
            if isinstance(readonly, str):
                raise policy.Refused(readonly, status=403)
            raise policy.Refused(
                _("以下字段在当前状态下不可修改：%(fields)s", fields=_("、").join(names)),
                status=403,
            )
        for fn in setters:
            fn()
        if not errors:
            errors.update(computed_errors(record))
        if errors:
            raise ValidationErrors(errors)


def computed_errors(record, prefix: str = "") -> dict[str, list[str]]:
    """Computed amounts (qty × unit price, a sum of lines) that would not fit their column:
    each typed number fits its own, their product need not."""
    from .guard import recompute

    recompute(record)
    errors: dict[str, list[str]] = {}
    _computed_errors(record, prefix, errors)
    return errors


def _computed_errors(obj, prefix, errors) -> None:
    meta = obj.meta()
    for name, spec in meta.fields.items():
        if spec.compute is not None and too_large(getattr(obj, name), obj.__table__.c[name].type):
            errors[f"{prefix}{name}"] = [_("数值过大")]
    for cname in meta.children:
        for i, child in enumerate(getattr(obj, cname)):
            _computed_errors(child, f"{prefix}{cname}-{i}-", errors)


def _collect(session, root, obj, data, actor, prefix, errors, forbidden, setters, *,
             partial=True):
    """Check every posted key of ``obj`` (the record or one of its lines) and queue the
    setters of the valid changes; refusals go to ``forbidden``, format errors to ``errors``."""
    meta = obj.meta()
    holder = None if obj is root else _holder_spec(obj)
    for key, raw in data.items():
        path = f"{prefix}{key}"
        if key in IGNORED_KEYS or key == "version" or key.startswith("_"):
            continue
        spec = meta.fields.get(key)
        if spec is not None:
            if not _shown(obj, spec, data):
                # Hidden by another field's posted value (项目类型 once 单机 is chosen): the
                # form does not show it, so what it still carries neither applies nor errs.
                continue
            _collect_field(session, root, obj, holder, spec, raw, actor, path, errors,
                           forbidden, setters)
        elif key in meta.children:
            if not _shown(obj, meta.children[key], data):
                continue
            _collect_children(session, root, obj, meta.children[key], raw, actor, path,
                              errors, forbidden, setters)
        elif holder is None and _protected(obj, meta, key):
            if _posted_differs(raw, getattr(obj, key, None)):
                forbidden.append(_protected_label(meta, key))
        else:
            errors[path].append(_("未知字段"))


def _shown(obj, spec, data) -> bool:
    """Whether the field shows once ``data`` is applied (its ``show_when`` field's value as
    posted, else as stored)."""
    if spec.show_when is None:
        return True
    other, values = spec.show_when
    value = data[other] if other in data else getattr(obj, other, None)
    return str(value) in {str(v) for v in values}


def _protected(obj, meta, key) -> bool:
    """Columns of the record no user writes: its owner, its state, undeclared columns."""
    return key in (meta.owner, "status") or hasattr(type(obj), key)


def _protected_label(meta, key) -> str:
    if key == meta.owner:
        return _("所属单位")
    if key == "status":
        return _("状态")
    return _("%(key)s（系统字段）", key=key)  # the name the client sent, said to be the system's


def _posted_differs(raw, current) -> bool:
    return raw not in (None, "") and str(raw) != str(current)


def _collect_field(session, root, obj, holder, spec, raw, actor, path, errors, forbidden,
                   setters):
    """One posted field of the record (``holder`` None) or of a line of one of its tables
    (whose editability the table decides as a whole, see _collect_children)."""
    try:
        value = coerce(session, spec, obj.meta().column_type(spec.name), raw)
    except ValueError as e:
        errors[path].append(str(e))
        return
    if holder is None:
        editable = policy.field_editable(actor, root, spec)
    else:
        editable = not spec.readonly
    if spec.secret:
        # Write-only: a blank value keeps what is stored.
        if value in (None, ""):
            return
        if not editable:
            forbidden.append(str(spec.label))
            return
        msgs = validate_value(spec, value)
        if msgs:
            errors[path].extend(msgs)
            return
        stored = spec.store(value) if spec.store else value
        setters.append(lambda o=obj, k=spec.name, v=stored: setattr(o, k, v))
        return
    current = getattr(obj, spec.name)
    if not editable:
        new_line = holder is not None and obj.id is None
        blank = value in (None, "") and (holder is not None or current in (None, ""))
        if not new_line and not blank and not same(value, current):
            forbidden.append(str(spec.label))
        return
    msgs = validate_value(spec, value) + _choice_errors(spec, obj, value, current)
    if not same(value, current):
        msgs += _date_errors(spec, value)
    if msgs:
        errors[path].extend(msgs)
        return
    if obj.id is None or not same(value, current) or (value is None) != (current is None):
        setters.append(lambda o=obj, k=spec.name, v=value: setattr(o, k, v))


def _holder_spec(child) -> ChildSpec | None:
    parent = child.parent()
    rel = inspect(type(child)).relationships[child.__parent__]
    return parent.meta().children.get(rel.back_populates)


def blank_row(row: dict, cmeta=None) -> bool:
    """A new line nobody typed into (defaults such as 商品状态 "新" do not count)."""
    for k, v in row.items():
        if k in ("id",) or k.startswith("_"):
            continue
        if isinstance(v, list):
            sub = cmeta.child_model(k).meta() if cmeta is not None and k in cmeta.children \
                else None
            if any(not blank_row(r, sub) for r in v if isinstance(r, dict)):
                return False
            continue
        if v in (None, "", False):
            continue
        spec = cmeta.fields.get(k) if cmeta is not None else None
        if spec is not None and spec.initial is not None and not callable(spec.initial) \
                and str(v) == str(spec.initial):
            continue
        return False
    return True


def _collect_children(session, root, parent, cspec: ChildSpec, rows, actor, path, errors,
                      forbidden, setters):
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        errors[path].append(_("格式错误"))
        return
    collection = getattr(parent, cspec.name)
    existing = {c.id: c for c in collection}
    cmodel = parent.meta().child_model(cspec.name)
    editable = policy.child_editable(actor, root, cspec)
    kept = []
    changed = False
    for i, row in enumerate(rows):
        rpath = f"{path}-{i}-"
        if not isinstance(row, dict):
            errors[f"{path}-{i}"].append(_("格式错误"))
            continue
        cid = row.get("id")
        if row.get("_delete") in (True, "y", "on", "1", "true"):
            if cid not in (None, ""):
                changed = True
            continue
        if cid in (None, ""):
            if blank_row(row, cmodel.meta()):
                continue
            # Attached to the parent only once everything validated (setters run last).
            child = cmodel()
            child.__dict__["_engine_parent"] = parent  # options may depend on the parent
            for fname, fspec in cmodel.meta().fields.items():
                if fspec.initial is not None and fname not in row:
                    row = {**row, fname: fspec.initial(actor, session) if callable(fspec.initial)
                           else fspec.initial}
            changed = True
        else:
            child = existing.get(policy.parse_id(cid))
            if child is None:
                errors[f"{path}-{i}"].append(_("明细行不存在"))
                continue
        kept.append(child)
        before = len(setters)
        _collect(session, root, child, row, actor, rpath, errors, forbidden, setters)
        if len(setters) != before:
            changed = True
    if set(existing) - {c.id for c in kept if c.id is not None}:
        changed = True
    if not editable:
        if changed:
            forbidden.append(str(cspec.label))
        return
    if changed:
        setters.append(lambda p=parent, n=cspec.name, k=kept: setattr(p, n, list(k)))


def required_errors(record) -> dict[str, list[str]]:
    """Required fields that are empty, for a transition that demands them."""
    errors: dict[str, list[str]] = {}
    _required(record, "", errors)
    for name, cspec in record.meta().children.items():
        if cspec.min_rows and cspec.is_visible(record) and len(getattr(record, name)) < cspec.min_rows:
            errors.setdefault(name, []).append(
                _("「%(table)s」至少需要 %(n)s 行", table=cspec.label, n=cspec.min_rows)
            )
    return errors


def preset_errors(record) -> dict[str, list[str]]:
    """Required preset fields left empty on a record being made: chosen when it is made and
    fixed after (policy.field_editable), they cannot wait for a later transition."""
    if record.id is not None:
        return {}
    return {name: [_("此项为必填项")] for name, spec in record.meta().fields.items()
            if spec.preset and spec.is_visible(record) and spec.is_required(record)
            and getattr(record, name) in (None, "")}


def _required(obj, prefix, errors):
    meta = obj.meta()
    for name, spec in meta.fields.items():
        if spec.readonly or not spec.is_visible(obj) or not spec.is_required(obj):
            continue
        value = getattr(obj, name)
        if value is None or value == "":
            errors.setdefault(f"{prefix}{name}", []).append(_("此项为必填项"))
    for cname, cspec in meta.children.items():
        if not cspec.is_visible(obj):
            continue
        for i, child in enumerate(getattr(obj, cname)):
            _required(child, f"{prefix}{cname}-{i}-", errors)
