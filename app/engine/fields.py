"""Field declarations: what a column or a child table *is*, said where it is declared.

A model column is declared with :func:`field` instead of a bare ``mapped_column``; a child table
with :func:`children`.  Both keep a spec object in SQLAlchemy's ``info`` dictionary, which is what
the engine reads to build forms, lists, the API, print and the editability policy.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric
from sqlalchemy.orm import mapped_column, relationship

_counter = itertools.count()


@dataclass
class Picker:
    """A field filled by picking a row of another record type (e.g. 商品编码 from 商品列表).

    ``fills`` copies columns of the picked row into sibling fields of the form.  The catalogue
    suggests; it does not restrict: a code it lacks can be typed (Enter on "没有匹配的代码"
    keeps it), and the field's validators and the record's checks decide what is accepted.
    """

    resource: str
    key: str
    label: str
    min_chars: int = 1
    fills: dict[str, str] = dc_field(default_factory=dict)
    # callable(model, record) -> SQL criterion narrowing the catalogue (e.g. the year)
    where: Callable | None = None


@dataclass
class Related:
    """Records of another type that point at this one, listed read-only on its detail form."""

    resource: str
    fk: str
    label: Any
    columns: list[str]


@dataclass
class FieldSpec:
    """Everything the engine knows about one user-visible column."""

    label: Any
    section: str | None = None
    # True, or a callable(record) -> bool for conditionally required fields.
    required: bool | Callable[[Any], bool] = False
    # Filled by the system (numbers, dates stamped by transitions, values taken from the
    # organisation): always grey for every user.
    system: bool = False
    # callable(record) -> value; recomputed on every save, always grey.
    compute: Callable[[Any], Any] | None = None
    codelist: str | None = None
    # Fixed options, or callable(record) -> options that depend on the record.
    choices: list[tuple[str, Any]] | Callable | None = None
    # For record-dependent options: callable(session, value) -> why a value is not offered.
    refusal: Callable[[Any, Any], Any] | None = None
    widget: str | None = None  # text | textarea | date | checkbox | radio | select | password
    validators: tuple[Callable[[Any], None], ...] = ()
    # Initial value of a new record: a constant or callable(actor) -> value.
    initial: Any = None
    copy: bool = True
    track: bool = True
    autofocus: bool = False
    # False: kept for lists, search and the API, not shown on the detail form.
    in_form: bool = True
    help: Any = None
    placeholder: Any = None
    # Editability overrides; by default a field is editable by the roles the model's
    # ``Meta.editable`` names for the record's state.
    edit_states: Iterable[str] | None = None
    edit_roles: Iterable[str] | None = None
    # Shown (and required) only when another field has one of some values:
    # ("goods_kind", ("project",)) — evaluated on the server and mirrored in the browser.
    show_when: tuple[str, tuple] | None = None
    # How the value is shown when that depends on more than the value (e.g. a disposal that
    # ends at a date): callable(record) -> text.
    display_fn: Callable[[Any], Any] | None = None
    # Secret values (passwords) are write-only: never serialised, printed or logged; a blank
    # submission keeps the stored value.
    secret: bool = False
    # Transform applied to a submitted value before it is stored (e.g. hashing a password).
    store: Callable[[Any], Any] | None = None
    # Pick the value from a catalogue (fuzzy search from ``min_chars`` characters).
    picker: Picker | None = None
    # Characters a text holds at most (default: the column's length, or 4,000 for Text).
    max_length: int | None = None
    # A date that must not lie before another date field of the record (完成日期 after
    # 发生日期, 到期日期 after 开始日期): that field's name.
    not_before: str | None = None
    # The value opens another record: (attribute holding that record's id, its resource) —
    # a 报关单号 resolved to the company's own declaration.  Shown as a link where the id is set.
    link: tuple[str, str] | None = None
    # A date entered (or changed) must not lie before today (a validity, a deadline) / after
    # today (a date of manufacture, of signature).
    not_past: bool = False
    not_future: bool = False
    # Chosen when the record is made — its new form may be opened with the value in the
    # address (/new?kind=E_DEC, a menu entry per kind) — and fixed once it is saved.
    preset: bool = False
    # A computed value looked up from another organisation's data by the value of this field
    # (进口商名称 by 进口商编码): the live preview shows it only where policy.may_reveal allows.
    reveals: str | None = None
    order: int = dc_field(default_factory=lambda: next(_counter))
    name: str = ""

    @property
    def readonly(self) -> bool:
        return self.system or self.compute is not None

    def is_required(self, record) -> bool:
        if callable(self.required):
            return bool(self.required(record))
        return bool(self.required)

    def is_visible(self, record) -> bool:
        if self.show_when is None:
            return True
        other, values = self.show_when
        return str(getattr(record, other, None)) in {str(v) for v in values}

    def options(self, record=None) -> list[tuple[str, Any]]:
        if self.choices is None:
            return []
        if callable(self.choices):
            return list(self.choices(record))
        return list(self.choices)


@dataclass
class ChildSpec:
    """A child table (goods lines, departments, contracts ...)."""

    label: Any
    section: str | None = None
    # Editable only once the parent has been saved (暂存) at least once.
    requires_saved: bool = False
    # A new line is added by Enter in the last field of the last line.
    add_on_enter: bool = True
    min_rows: int = 0
    copy: bool = True
    edit_states: Iterable[str] | None = None
    edit_roles: Iterable[str] | None = None
    show_when: tuple[str, tuple] | None = None
    order: int = dc_field(default_factory=lambda: next(_counter))
    name: str = ""

    def is_visible(self, record) -> bool:
        if self.show_when is None:
            return True
        other, values = self.show_when
        return str(getattr(record, other, None)) in {str(v) for v in values}


def field(
    type_,
    label,
    *,
    nullable: bool = True,
    default=None,
    index: bool = False,
    unique: bool = False,
    foreign_key=None,
    **spec,
):
    """Declare a column together with its engine spec."""
    args = [type_]
    if foreign_key is not None:
        args.append(foreign_key)
    widget = spec.pop("widget", None)
    if widget is None:
        widget = _default_widget(type_)
    fs = FieldSpec(label=label, widget=widget, **spec)
    return mapped_column(
        *args,
        nullable=nullable,
        default=default,
        index=index,
        unique=unique,
        info={"spec": fs},
    )


def _default_widget(type_) -> str:
    t = type_ if isinstance(type_, type) else type(type_)
    if issubclass(t, Boolean):
        return "checkbox"
    if issubclass(t, DateTime):
        return "datetime"
    if issubclass(t, Date):
        return "date"
    if issubclass(t, (Numeric, Integer)):
        return "number"
    return "text"


def children(target: str, label, *, back_populates: str, order_by=None, **spec):
    """Declare a one-to-many child table owned by this record (deleted with it)."""
    cs = ChildSpec(label=label, **spec)
    return relationship(
        target,
        back_populates=back_populates,
        cascade="all, delete-orphan",
        order_by=order_by,
        info={"spec": cs},
        lazy="select",
    )


@dataclass
class Section:
    name: str
    label: Any
    # Shown collapsed / as its own tab in the form; purely visual.
    collapsed: bool = False


@dataclass
class AttachmentSlot:
    """A typed attachment slot of a record type."""

    name: str
    label: Any
    max_bytes: int = 1024 * 1024
    # Accepted kinds as detected from the content: pdf, jpg, png, gif, doc, xls, docx, xlsx, zip
    kinds: tuple[str, ...] = ("pdf", "jpg", "png", "doc", "docx", "xls", "xlsx")
    # Per-kind ceilings, e.g. {"pdf": 300 * 1024}
    kind_max_bytes: dict[str, int] = dc_field(default_factory=dict)
    requires_saved: bool = True
    many: bool = True
    required: bool = False
    # States / roles in which files may be added or removed; default: like the fields.
    edit_states: Iterable[str] | None = None
    edit_roles: Iterable[str] | None = None


@dataclass
class Search:
    """One search field of a list screen."""

    field: str
    mode: str = "auto"  # contains | exact | prefix | range | in | auto
    label: Any = None
    # contains-search backed by the n-gram text index (fast on millions of rows)
    indexed: bool = False


def search_mode(s: Search, spec, coltype) -> str:
    """How a search field matches: its declared mode, else by the column — dates by range,
    status, code lists, choices and numbers exactly, text by contains."""
    if s.mode != "auto":
        return s.mode
    if s.field == "status":
        return "exact"
    if isinstance(coltype, (Date, DateTime)):
        return "range"
    if spec is not None and (spec.codelist or spec.choices):
        return "exact"
    if isinstance(coltype, (Integer, Numeric)):
        return "exact"
    return "contains"


def needs_search_index(s: Search, spec, coltype) -> bool:
    """A search the database answers through an index of its own: numbers and dates looked up
    exactly or by range. A status, code or choice has few values: its rows are read in the
    list's order and filtered, which a page of 20 finds early."""
    few_values = s.field == "status" or (spec is not None and bool(spec.codelist or spec.choices))
    return not few_values and search_mode(s, spec, coltype) in ("exact", "range", "prefix", "in")


@dataclass
class Print:
    template: str
    title: Any
    # Which fields the print shows is up to the template; this is the file name prefix.
    filename: str = ""
    # The list's print button (default 批量打印), e.g. 打印报关单.
    button: Any = None


@dataclass
class ListButton:
    """A button of a list screen that opens a page: for the checked record (``select="one"``:
    ``url`` is appended to the record's address, e.g. "/visual_review"), or without a selection
    (``select="none"``: ``url`` is an address, or ``menu`` a list of (label, address) entries
    of a drop-down, e.g. 状态筛选)."""

    label: Any
    url: str = ""
    select: str = "one"  # one | none
    menu: list[tuple[Any, str]] | None = None
    roles: Iterable[str] | None = None
    style: str = "default"


@dataclass
class Screen:
    """An additional list screen over the same records (海关状态查询, 报关余量查询 ...)."""

    name: str
    label: Any
    columns: list[str]
    search: list[Search] = dc_field(default_factory=list)
    where: Callable | None = None  # callable(model) -> SQL criterion, of the model alone (lists keep the statement)
    roles: Iterable[str] | None = None
    menu: Any = None  # category label
    detail: bool = True  # rows open the record's detail
    # A public query over the records: its own scope rules (role -> Rule) instead of the record
    # type's; such a screen shows only its columns and does not open records (detail=False).
    scope: dict | None = None
    # Batch buttons of the screen: transition name -> the button's label here (None: the
    # transition's own), e.g. {"declare": _l("发送")}.
    transitions: dict[str, Any] = dc_field(default_factory=dict)
    buttons: list[ListButton] = dc_field(default_factory=list)
    # The search the screen opens with: callable() -> filters (e.g. the last 7 days).
    list_default: Callable | None = None
    print_label: Any = None

    @property
    def allowed_roles(self) -> frozenset | None:
        if self.scope is not None:
            return frozenset(self.scope)
        return frozenset(self.roles) if self.roles else None


def numeric(precision=18, scale=4):
    return Numeric(precision, scale, asdecimal=True)


# Wide enough for the product of two of the widest numbers a column holds (18 digits each):
# the default context's 28 digits made quantize() raise on qty × unit price of such numbers.
WIDE_CONTEXT = decimal.Context(prec=60)


def quantize(value: decimal.Decimal, places: str = "0.01") -> decimal.Decimal:
    """An amount rounded half up to ``places`` (0.01: cents), whatever its size; whether it
    fits its column is the save's question (changes.computed_errors)."""
    return value.quantize(decimal.Decimal(places), rounding=decimal.ROUND_HALF_UP,
                          context=WIDE_CONTEXT)


def too_large(value, coltype) -> bool:
    """Whether a number has more integer digits than its Numeric column holds."""
    if not isinstance(value, decimal.Decimal) or not isinstance(coltype, Numeric):
        return False
    precision, scale = coltype.precision or 18, coltype.scale or 0
    return abs(value) >= decimal.Decimal(10) ** (precision - scale)
