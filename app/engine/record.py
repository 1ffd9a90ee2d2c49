"""The base classes of every declared record type, and the registry the engine walks.

A record type is a SQLAlchemy model deriving from :class:`Record` (a document with its own list,
form, workflow, API resource ...) or :class:`ChildRecord` (a line of a child table).  Its inner
``class Meta`` is turned into a :class:`RecordMeta` the first time the engine needs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Index, Integer, event, inspect
from sqlalchemy.orm import declared_attr, mapped_column

from .fields import (
    AttachmentSlot,
    ChildSpec,
    FieldSpec,
    Print,
    Screen,
    Search,
    Section,
    needs_search_index,
)
from .i18n import gettext

REGISTRY: dict[str, type[Record]] = {}


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


BOOKKEEPING = frozenset(
    {"id", "version", "created_at", "updated_at", "created_by_id", "updated_by_id"})


class _Bookkeeping:
    """Columns every record carries; written by the engine, never by users."""

    BOOKKEEPING = BOOKKEEPING

    id = mapped_column(Integer, primary_key=True)

    @declared_attr
    def created_at(cls):
        return mapped_column(DateTime, default=now, nullable=False)

    @declared_attr
    def updated_at(cls):
        return mapped_column(DateTime, default=now, onupdate=now, nullable=False)


class Record(_Bookkeeping, Model):
    """A document: one row per record, own screens, workflow and API resource."""

    __abstract__ = True

    version = mapped_column(Integer, nullable=False, default=1)

    @declared_attr
    def created_by_id(cls):
        return mapped_column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def updated_by_id(cls):
        return mapped_column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def __mapper_args__(cls):
        # Optimistic locking: an UPDATE whose version no longer matches is refused.
        return {"version_id_col": cls.version}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.__dict__.get("__abstract__"):
            return
        meta = cls.__dict__.get("Meta")
        if meta is None:
            raise TypeError(f"{cls.__name__} declares no Meta")
        resource = getattr(meta, "resource", None) or cls.__tablename__
        REGISTRY[resource] = cls

    # -- engine helpers --------------------------------------------------------------
    @classmethod
    def meta(cls) -> RecordMeta:
        m = cls.__dict__.get("_record_meta")
        if m is None:
            m = RecordMeta(cls)
            cls._record_meta = m
        return m

    def caption(self) -> str:
        """How the record is named in messages and headings (its number, name …), in the
        reader's language.  Most uses put the record type's name before it (核注清单 Q2026…,
        "%(title)s 已删除" with the type's name and this), so it does not repeat that name: a
        saved record whose number is not given yet reads （未编号） — not its database id,
        which means nothing to a user.  A record not saved yet has no caption; a record type
        that declares no title field at all is still named by its id."""
        meta = self.meta()
        if not meta.title_field:
            return f"#{self.id}" if self.id else ""
        value = getattr(self, meta.title_field, None)
        if value:
            return str(value)
        return gettext("（未编号）") if self.id else ""

    @property
    def status_label(self) -> str:
        wf = self.meta().workflow
        if wf is None:
            return ""
        return str(wf.state_label(getattr(self, "status", None)))


@event.listens_for(Record, "instrument_class", propagate=True)
def _list_indexes(mapper, cls) -> None:
    """The indexes a record type's lists need, from its declaration: its order and the numbers
    and dates its searches look up (see listing and fields.needs_search_index)."""
    table, meta = cls.__table__, cls.__dict__.get("Meta")
    _order_index(table, getattr(meta, "order_by", "-id").lstrip("-"))
    searches = list(getattr(meta, "search", []))
    for screen in getattr(meta, "screens", []):
        searches += screen.search
    indexed = {c.name for c in table.c if c.primary_key or c.index or c.unique}
    indexed |= {list(i.columns)[0].name for i in table.indexes if len(i.columns)}
    for s in searches:
        column = table.c.get(s.field) if isinstance(s, Search) else None
        if column is None or column.name in indexed:
            continue
        if needs_search_index(s, column.info.get("spec"), column.type):
            Index(f"ix_{table.name}_{column.name}_search", column)
            indexed.add(column.name)


def _order_index(table, order: str) -> None:
    """A list sorted by another column than id pages by (column, id), NULLs first (see
    listing._order): one index in that order serves both directions on PostgreSQL. (SQLite
    sorts NULLs first anyway; its migrations create the index as (column, id).)"""
    if order != "id" and order in table.c:
        Index(f"ix_{table.name}_list_order", table.c[order].asc().nulls_first(), table.c.id.asc())


class ChildRecord(_Bookkeeping, Model):
    """A line of a child table; belongs to a parent through ``__parent__``."""

    __abstract__ = True
    __parent__: str = ""

    def parent(self):
        """The parent record; for a line being added, the record it is being added to."""
        p = getattr(self, self.__parent__)
        return p if p is not None else self.__dict__.get("_engine_parent")

    def root(self):
        node = self
        while isinstance(node, ChildRecord):
            node = node.parent()
            if node is None:
                return None
        return node

    @classmethod
    def meta(cls) -> ChildMeta:
        m = cls.__dict__.get("_record_meta")
        if m is None:
            m = ChildMeta(cls)
            cls._record_meta = m
        return m


class _MetaBase:
    model: type

    def _collect(self):
        mapper = inspect(self.model)
        fields: list[FieldSpec] = []
        for col_attr in mapper.column_attrs:
            col = col_attr.columns[0]
            spec = col.info.get("spec")
            if spec is not None:
                spec.name = col_attr.key
                fields.append(spec)
        kids: list[ChildSpec] = []
        for rel in mapper.relationships:
            spec = rel.info.get("spec")
            if spec is not None:
                spec.name = rel.key
                kids.append(spec)
        fields.sort(key=lambda s: s.order)
        kids.sort(key=lambda s: s.order)
        self.fields: dict[str, FieldSpec] = {f.name: f for f in fields}
        self.children: dict[str, ChildSpec] = {c.name: c for c in kids}

    def child_model(self, name: str):
        return inspect(self.model).relationships[name].mapper.class_

    @property
    def has_computed(self) -> bool:
        """A computed field on the record or one of its lines: its form recomputes them while
        the user types."""
        return any(s.compute is not None for s in self.fields.values()) or any(
            self.child_model(c).meta().has_computed for c in self.children)

    def column_type(self, name: str):
        types = self.__dict__.setdefault("_column_types", {})
        if name not in types:
            types[name] = inspect(self.model).columns[name].type
        return types[name]


class ChildMeta(_MetaBase):
    KEYS = frozenset({"label"})

    def __init__(self, model):
        self.model = model
        self._collect()
        meta = model.__dict__.get("Meta")
        self.label = getattr(meta, "label", model.__name__)
        self.parent_attr = model.__parent__


class RecordMeta(_MetaBase):
    """The resolved declaration of a record type (the inner ``class Meta`` plus the fields)."""

    # Every key a ``class Meta`` may hold (checks.py reports any other).
    KEYS = frozenset({
        "label", "list_label", "resource", "menu", "owner", "scope", "edit_scope", "create_roles",
        "editable",
        "sections", "list_columns", "search", "order_by", "title_field", "numbering", "print",
        "attachments", "workflow", "screens", "singleton_per_owner", "on_create", "clean",
        "list_default", "importable", "api", "related", "status_button_label",
        "create_refusal", "export_label", "list_buttons", "features", "attachment_hint",
    })

    def __init__(self, model: type[Record]):
        self.model = model
        self._collect()
        m = model.__dict__["Meta"]
        self.label = getattr(m, "label", model.__name__)
        self.list_label = getattr(m, "list_label", self.label)
        self.resource: str = getattr(m, "resource", None) or model.__tablename__
        menu = getattr(m, "menu", None) or []
        self.menu = list(menu) if isinstance(menu, (list, tuple)) else [menu]  # menus.MenuItem
        self.owner: str | None = getattr(m, "owner", None)
        self.scope: dict[str, Any] = getattr(m, "scope", {})
        # {role: Rule}: of the rows a role sees, those it may change (default: all it sees)
        self.edit_scope: dict[str, Any] = getattr(m, "edit_scope", {})
        self.create_roles: frozenset[str] = frozenset(getattr(m, "create_roles", ()))
        self.editable: dict[str, frozenset[str]] = {
            state: frozenset(roles) for state, roles in getattr(m, "editable", {}).items()
        }
        self.sections: list[Section] = list(getattr(m, "sections", []))
        self.list_columns: list[str] = list(getattr(m, "list_columns", []))
        self.search: list[Search] = [
            s if isinstance(s, Search) else Search(s) for s in getattr(m, "search", [])
        ]
        self.order_by: str = getattr(m, "order_by", "id")
        self.title_field: str | None = getattr(m, "title_field", None)
        numbering = getattr(m, "numbering", None) or []
        self.numbering = numbering if isinstance(numbering, list) else [numbering]
        self.print: Print | None = getattr(m, "print", None)
        self.attachments: list[AttachmentSlot] = list(getattr(m, "attachments", []))
        # The line above the attachment slots (the manual's 提示 on sizes).
        self.attachment_hint = getattr(m, "attachment_hint", None)
        self.workflow = getattr(m, "workflow", None)
        self.screens: list[Screen] = list(getattr(m, "screens", []))
        self.singleton_per_owner: bool = getattr(m, "singleton_per_owner", False)
        self.on_create: Callable | None = getattr(m, "on_create", None)
        self.clean: Callable | None = getattr(m, "clean", None)
        # callable(session, actor) -> why this actor may not start a new one now, or None
        self.create_refusal: Callable | None = getattr(m, "create_refusal", None)
        self.list_default: Callable | None = getattr(m, "list_default", None)
        self.importable: bool = getattr(m, "importable", False)
        self.api: bool = getattr(m, "api", True)
        self.related = list(getattr(m, "related", []))
        self.status_button_label = getattr(m, "status_button_label", None)
        # 列表导出 …, buttons of the list that open a page (fields.ListButton), and features
        # that bring screens and endpoints of their own (visual review, exchange messages).
        self.export_label = getattr(m, "export_label", None)
        self.list_buttons = list(getattr(m, "list_buttons", []))
        self.features = list(getattr(m, "features", []))
        if self.workflow is not None:
            self.workflow.bind(model)

    @property
    def initial_state(self) -> str | None:
        return self.workflow.initial if self.workflow else None

    def section_label(self, name: str | None):
        for s in self.sections:
            if s.name == name:
                return s.label
        return ""

    def slot(self, name: str) -> AttachmentSlot | None:
        for s in self.attachments:
            if s.name == name:
                return s
        return None

    @property
    def roles(self) -> frozenset[str]:
        """Every role that may see this record type at all."""
        return frozenset(self.scope.keys())


def parent_of(session, child: ChildRecord):
    """The direct parent of a child row, also for rows already detached from it."""
    ins = inspect(child)
    parent_attr = child.__parent__
    parent = getattr(child, parent_attr, None)
    if parent is not None:
        return parent
    hist = ins.attrs[parent_attr].history
    if hist.deleted and hist.deleted[0] is not None:
        return hist.deleted[0]
    rel = inspect(type(child)).relationships[parent_attr]
    fk_col = next(iter(rel.local_columns))
    fk = ins.attrs[fk_col.key].history
    fk_value = (fk.deleted or fk.unchanged or fk.added or [None])[0]
    if fk_value is None:
        return None
    return session.get(rel.mapper.class_, fk_value)


def root_and_spec(session, child: ChildRecord):
    """(root record, ChildSpec of the table holding ``child``)."""
    parent = parent_of(session, child)
    if parent is None:
        return None, None
    rel = inspect(type(child)).relationships[child.__parent__]
    holder = rel.back_populates
    spec = parent.meta().children.get(holder)
    root = parent if isinstance(parent, Record) else root_and_spec(session, parent)[0]
    return root, spec


def session_for(record=None):
    """The session a record lives in, or the request's session (for a record not saved yet)."""
    from sqlalchemy.orm import object_session

    session = object_session(record) if record is not None else None
    if session is None:
        from flask import current_app

        session = current_app.appbuilder.session
    return session


def record_types() -> list[type[Record]]:
    return list(REGISTRY.values())


def model_for(resource: str) -> type[Record] | None:
    return REGISTRY.get(resource)
