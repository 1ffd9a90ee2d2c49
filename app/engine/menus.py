"""Where each generated screen sits in the menus, declared by the record types themselves.

A system of the single window declares itself and its menu groups once, in its models module::

    SYSTEM = System("used_me", _l("进口旧机电产品装运前检验监督管理"), order=20, groups=[
        Group("public", _l("公共查询"), "fa-search"),
        Group("filing", _l("备案管理"), "fa-id-card"),
    ])

and each record type (or screen, or feature with a screen of its own) names its entries: ``Meta.menu = SYSTEM.menu("public",
_l("旧机电业务规则查询"), order=1)`` — the record type's list; ``target="new"`` opens its new
form; a ``Screen(..., menu=SYSTEM.menu(...))`` opens that screen.  Who sees an entry follows from
the record type (its scope, its create roles, the screen's roles), narrowed by ``roles=``.
:func:`tree` gathers every entry of every registered record type, in order.
"""

from __future__ import annotations

import itertools
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count()


@dataclass(frozen=True)
class Group:
    key: str
    label: Any
    icon: str = "fa-folder"


@dataclass(frozen=True, eq=False)
class System:
    key: str
    label: Any
    icon: str = "fa-folder"
    order: int = 100
    groups: tuple[Group, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "groups", tuple(self.groups))
        SYSTEMS[self.key] = self

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)

    def menu(self, group: str, label: Any = None, *, target: str = "list",
             roles: tuple[str, ...] | None = None, order: int | None = None,
             args: dict[str, str] | None = None) -> MenuItem:
        return MenuItem(self, group, label, target, tuple(roles) if roles else None,
                        next(_counter) if order is None else order, args=dict(args or {}))


SYSTEMS: dict[str, System] = {}


@dataclass
class MenuItem:
    system: System
    group: str
    label: Any = None  # default: the list's (or screen's) label
    target: str = "list"  # list | new | screen:<name> | path:<a feature's path>
    roles: tuple[str, ...] | None = None  # narrower than what the record type allows
    order: int = 0
    resource: str = ""  # filled when the record type is registered
    # Query of the address: a list filtered (?kind=E_DEC) and, through the list's 新增, the
    # value a preset field of a new record starts with.
    args: dict[str, str] = field(default_factory=dict)


@dataclass
class Entry:
    """One menu entry, resolved: where it points, what it says, who sees it."""

    resource: str
    target: str
    label: Any
    roles: frozenset[str]
    order: int
    args: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        base = f"/{self.resource}"
        if self.target == "new":
            url = f"{base}/new"
        elif self.target.startswith("screen:"):
            url = f"{base}/screen/{self.target.split(':', 1)[1]}/"
        elif self.target.startswith("path:"):
            url = f"{base}/{self.target.split(':', 1)[1]}/"
        else:
            url = f"{base}/"
        if self.args:
            url += "?" + urllib.parse.urlencode(self.args)
        return url

    @property
    def name(self) -> str:
        extra = "".join(f":{k}={v}" for k, v in sorted(self.args.items()))
        return f"menu:{self.resource}:{self.target}{extra}"


@dataclass
class GroupEntries:
    system: System
    group: Group
    entries: list[Entry] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"menu:{self.system.key}:{self.group.key}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset().union(*(e.roles for e in self.entries))


def items_of(model) -> list[MenuItem]:
    """The menu items a record type declares (its own and its screens')."""
    meta = model.meta()
    items = []
    for item in meta.menu:
        item.resource = meta.resource
        items.append(item)
    for screen in meta.screens:
        if isinstance(screen.menu, MenuItem):
            screen.menu.resource = meta.resource
            screen.menu.target = f"screen:{screen.name}"
            items.append(screen.menu)
    for feature in meta.features:  # a feature's screen (统计分析 …): its label, the type's roles
        item = getattr(feature, "menu", None)
        if isinstance(item, MenuItem):
            item.resource = meta.resource
            item.target = f"path:{feature.path}"
            if item.label is None:
                item.label = feature.label
            items.append(item)
    return items


def entry_roles(model, item: MenuItem) -> frozenset[str]:
    meta = model.meta()
    if item.target == "new":
        roles = meta.create_roles
    elif item.target.startswith("screen:"):
        name = item.target.split(":", 1)[1]
        screen = next(s for s in meta.screens if s.name == name)
        roles = screen.allowed_roles if screen.allowed_roles is not None else meta.roles
    else:
        roles = meta.roles
    if item.roles is not None:
        roles = frozenset(roles) & frozenset(item.roles)
    return frozenset(roles)


def _label(model, item: MenuItem):
    if item.label is not None:
        return item.label
    meta = model.meta()
    if item.target.startswith("screen:"):
        name = item.target.split(":", 1)[1]
        return next(s.label for s in meta.screens if s.name == name)
    if item.target == "new":
        return meta.label
    return meta.list_label


def tree(models) -> list[GroupEntries]:
    """Every group with entries, systems in their order, groups in their system's order,
    entries by their ``order``."""
    groups: dict[tuple[str, str], GroupEntries] = {}
    for model in models:
        for item in items_of(model):
            group = item.system.group(item.group)
            if group is None:
                raise ValueError(f"{model.__name__}: system {item.system.key!r} has no menu "
                                 f"group {item.group!r}")
            ge = groups.setdefault((item.system.key, group.key),
                                   GroupEntries(item.system, group))
            ge.entries.append(Entry(item.resource, item.target, _label(model, item),
                                    entry_roles(model, item), item.order, item.args))
    out = sorted(groups.values(), key=lambda g: (
        g.system.order, g.system.key, [x.key for x in g.system.groups].index(g.group.key)))
    for ge in out:
        ge.entries.sort(key=lambda e: e.order)
    return out
