"""The administrators' console (Flask-Admin) generated from the declarations.

Every record type gets a view — its list columns, its search fields as search and filters, a
detail view of every field, export to Excel, values shown as their labels — and every code list
gets one.  Reference records without a workflow that administrators may create are edited here
too, through the same write path as the screens (service.py: policy, validation, flush guard);
documents with a workflow are read here and changed in their own screens.  Secrets are never
listed, shown, searched, sorted, filtered or exported.  Only 管理员 enters; every form carries
its CSRF token, and a refused inline edit answers 400, not 500.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.model import typefmt
from markupsafe import Markup, escape
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from wtforms import ValidationError

from . import codelists, policy, present, service
from .codelists import CodeItem
from .fields import Search
from .i18n import lazy_gettext as _l
from .listing import search_mode
from .record import REGISTRY, session_for


def _pk_python_type(model):
    try:
        return sa_inspect(model).primary_key[0].type.python_type
    except (NotImplementedError, IndexError, AttributeError):
        return str


def _typed_ids(handler, pk_type):
    @functools.wraps(handler)
    def with_typed_ids(ids):
        typed = []
        for i in ids:
            try:
                typed.append(pk_type(i))
            except (TypeError, ValueError):
                continue
        return handler(typed)

    return with_typed_ids


def _column_type(model, name: str):
    try:
        columns = sa_inspect(model).columns
    except NoInspectionAvailable:
        return None
    return columns[name].type if name in columns else None


def _as_on_screens(view, value, name):
    """A time, a date, a number or a yes/no as the product's screens show it (2026-12-07 14:08,
    amounts to their two decimals, a rate as written: 1, not 1.00000000; 是 / 否).  A number
    edited in the list is also the editor's value: it is written without thousands
    separators."""
    if isinstance(value, decimal.Decimal) and name in (view.column_editable_list or ()):
        return present.fmt_decimal(value)
    return present.display(None, None, value, coltype=_column_type(view.model, name))


def _type_formatters(base: dict, *, yes_no: bool = True) -> dict:
    # datetime before date: the first type a value is an instance of formats it
    return {**base, **({bool: _as_on_screens} if yes_no else {}), dt.datetime: _as_on_screens,
            dt.date: _as_on_screens, decimal.Decimal: _as_on_screens}


class Secured:
    """What every console view shares: administrators only, CSRF, refusals as messages, and
    times, dates and numbers in the product's formats (lists, details and exports)."""

    form_base_class = SecureForm
    can_export = True
    export_types = ["xlsx", "csv"]
    page_size = 50
    column_type_formatters = _type_formatters(typefmt.BASE_FORMATTERS, yes_no=False)  # ✓ / −
    column_type_formatters_detail = _type_formatters(typefmt.DETAIL_FORMATTERS)
    column_type_formatters_export = _type_formatters(typefmt.EXPORT_FORMATTERS)

    def is_accessible(self):
        return policy.may_administer(policy.current_actor())

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("AuthDBView.login", next=request.url))

    def handle_view_exception(self, exc):
        # A refused value is the user's to correct: show the reason, not a generic failure.
        if isinstance(exc, (ValidationError, ValueError, policy.Refused)):
            flash(str(getattr(exc, "message", exc)), "error")
            return True
        return super().handle_view_exception(exc)

    def init_actions(self):
        """Every batch action (删除 included) gets the rows' ids as the primary key's type: the
        form posts text, and PostgreSQL refuses ``integer = character varying`` (a 500 on
        every batch action of the console there).  A row id that is not one is left out."""
        super().init_actions()
        pk_type = _pk_python_type(self.model)
        for name, (handler, text, desc) in list(self._actions_data.items()):
            self._actions_data[name] = (_typed_ids(handler, pk_type), text, desc)

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        """Inline edit (x-editable): a refused edit — no CSRF token, a wrong value, a record
        gone — is the request's fault, answered 4xx with the reason."""
        answer = super().ajax_update()
        if isinstance(answer, tuple) and answer[1] >= 500:
            return answer[0], 404 if "not exist" in str(answer[0]) else 400
        return answer


def _editable(model) -> bool:
    """Reference records administrators maintain (no workflow, 管理员 may create them)."""
    meta = model.meta()
    return meta.workflow is None and policy.ADMIN in meta.create_roles


def _shown(meta, names):
    return [n for n in names if not (n in meta.fields and meta.fields[n].secret)]


def _formatter(model, name):
    fmt = present.formatter(model, name)

    def shown(view, context, record, _name):
        return fmt(session_for(record), record)

    return shown


class RecordAdmin(Secured, ModelView):
    """The console view of one record type (made by :func:`record_admin`)."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    record_model = None

    def _write(self, data: dict, pk=None):
        actor = policy.current_actor()
        session = session_for()
        answer = service.fire(session, self.record_model, actor, "save", pk=pk, data=data,
                              require_version=pk is not None)
        if not answer.ok:
            details = "; ".join(f"{self.column_labels.get(k, k)}: {'; '.join(v)}"
                                for k, v in answer.errors.items())
            flash(f"{answer.message} {details}".strip(), "error")
            return None
        return answer.record

    def _form_data(self, form) -> dict:
        return {name: form[name].data for name in self.form_columns or () if name in form}

    def create_model(self, form):
        record = self._write(self._form_data(form))
        if record is not None:
            self.after_model_change(form, record, True)
        return record or False

    def update_model(self, form, model):
        data = self._form_data(form)
        data["version"] = model.version
        return self._write(data, pk=model.id) is not None

    def delete_model(self, model):
        flash(str(_l("记录只能在其业务界面中按流程删除")), "error")
        return False


def record_admin(model, db) -> RecordAdmin:
    meta = model.meta()
    fields = meta.fields
    columns = _shown(meta, meta.list_columns)
    searches = [s if isinstance(s, Search) else Search(s) for s in meta.search]
    text = [s.field for s in searches if s.field in fields and not fields[s.field].secret
            and search_mode(model, s) in ("contains", "exact", "prefix")
            and fields[s.field].codelist is None and fields[s.field].choices is None
            and fields[s.field].display_fn is None
            and meta.column_type(s.field).python_type is str]
    filters = [s.field for s in searches if s.field in fields and not fields[s.field].secret]
    details = ["id", *_shown(meta, [n for n, s in fields.items()]), "created_at", "updated_at"]
    labels = {n: s.label for n, s in fields.items()}
    labels.update({"id": "ID", "created_at": _l("创建时间"), "updated_at": _l("最近操作时间")})
    formatters = {n: _formatter(model, n) for n in set(columns) | set(details)
                  if n in fields}
    title = meta.title_field or (columns[0] if columns else "id")
    base = formatters.get(title) or (lambda v, c, r, n: str(r.id))
    formatters[title] = lambda v, c, r, n, base=base: Markup(
        f'<a href="/{meta.resource}/{r.id}">{escape(base(v, c, r, n) or r.id)}</a>')
    editable = _editable(model)
    form = [n for n, s in fields.items() if not s.readonly and not s.secret] if editable \
        else None
    attrs = {
        "record_model": model,
        "column_list": columns,
        "column_labels": labels,
        "column_searchable_list": text,
        "column_filters": filters,
        "column_sortable_list": [c for c in columns if c in fields or c in (
            "created_at", "updated_at")],
        "column_details_list": details,
        "column_export_list": columns,
        "column_formatters": formatters,
        "column_formatters_export": {n: f for n, f in formatters.items() if n != title} | (
            {title: _formatter(model, title)} if title in fields else {}),
        "column_default_sort": ("id", True),
        "can_create": editable,
        "can_edit": editable,
        "form_columns": form,
        "column_editable_list": [],
    }
    view_cls = type(f"{model.__name__}Admin", (RecordAdmin,), attrs)
    category = meta.menu[0].system.label if meta.menu else _l("记录")
    return view_cls(model, db, name=meta.list_label, endpoint=f"rec_{meta.resource}",
                    category=category)


class CodeListAdmin(Secured, ModelView):
    """One code list: its items, searchable, editable, exported."""

    list_name = ""
    column_list = ["code", "name", "name_en", "extra", "active", "sort"]
    column_searchable_list = ["code", "name", "name_en"]
    column_filters = ["active"]
    column_editable_list = ["name", "name_en", "active", "sort"]
    form_columns = ["code", "name", "name_en", "extra", "active", "sort"]
    column_default_sort = "sort"
    column_labels = {"code": _l("代码"), "name": _l("名称"), "name_en": _l("英文名称"),
                     "extra": _l("附加"), "active": _l("有效"), "sort": _l("排序")}

    def get_query(self):
        return super().get_query().filter(CodeItem.list_name == self.list_name)

    def get_count_query(self):
        return super().get_count_query().filter(CodeItem.list_name == self.list_name)

    def get_one(self, id):
        item = super().get_one(id)
        return item if item is not None and item.list_name == self.list_name else None

    def on_model_change(self, form, model, is_created):
        model.list_name = self.list_name

    def after_model_change(self, form, model, is_created):
        codelists.invalidate(self.list_name)

    def after_model_delete(self, model):
        codelists.invalidate(self.list_name)


def add_generated_views(admin, db) -> None:
    """A console view for every record type and every code list."""
    for model in REGISTRY.values():
        admin.add_view(record_admin(model, db))
    for name, spec in codelists.LISTS.items():
        view_cls = type(f"CodeList_{name}", (CodeListAdmin,), {"list_name": name})
        admin.add_view(view_cls(CodeItem, db, name=spec["label"], endpoint=f"codelist_{name}",
                                category=_l("代码表")))
