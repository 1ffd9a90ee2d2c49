"""The left 功能栏 of the workspace: the systems of the single window, their menu groups and the
entries a user may open, as a tree (systems → groups → functions).

It is read off Flask-AppBuilder's menu, which :mod:`registration` fills from the record types'
declarations (:mod:`menus`), so there is no hand-kept list: a group's category name
``menu:<system>:<group>`` names its system.  Categories that belong to no system (the
administrators' 安全 menu of Flask-AppBuilder) form one more section at the end.  Each entry
carries the pinyin initials of its label (and of its group's), so the menu's filter finds
机电产品进口申请 by typing ``jdcp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

from .i18n import lazy_gettext as _l
from .menus import SYSTEMS


@lru_cache(maxsize=4096)
def initials(text: str) -> str:
    """``机电产品进口申请`` → ``jdcpjksq``; characters that are not Chinese stay as they are
    (lower-cased), so ``HS编码`` → ``hsbm``."""
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda s: s)).lower()


@dataclass
class Leaf:
    label: str
    url: str
    icon: str | None = None

    @property
    def search(self) -> str:
        return initials(self.label)


@dataclass
class Branch:
    key: str
    label: str
    icon: str | None
    leaves: list[Leaf] = field(default_factory=list)
    url: str | None = None  # a function of its own at the group's level (no leaves)

    @property
    def search(self) -> str:
        return initials(self.label)


@dataclass
class Section:
    key: str
    label: Any
    icon: str
    branches: list[Branch] = field(default_factory=list)


OTHER = "admin"


def tree(menu_items, visible, translate) -> list[Section]:
    """The sections of the menu ``menu_items`` (Flask-AppBuilder's ``menu.get_list()``) that
    ``visible(item)`` admits, in the systems' order; ``translate`` gives an item's label in the
    user's language."""
    sections: dict[str, Section] = {}
    for item in menu_items:
        if not visible(item) or not item.childs:
            continue
        leaves = [Leaf(translate(child.label), child.get_url(), child.icon)
                  for child in item.childs
                  if child and child.name != "-" and visible(child)]
        if not leaves:
            continue
        parts = item.name.split(":")
        system = SYSTEMS.get(parts[1]) if len(parts) == 3 and parts[0] == "menu" else None
        key = system.key if system else OTHER
        if key not in sections:
            sections[key] = (Section(system.key, system.label, system.icon) if system
                             else Section(OTHER, _l("系统管理"), "fa-cog"))
        sections[key].branches.append(Branch(item.name, translate(item.label), item.icon,
                                             leaves))
    order = {key: (s.order, key) for key, s in SYSTEMS.items()}
    return sorted(sections.values(), key=lambda s: order.get(s.key, (10**6, s.key)))


CONSOLE = "console"


def console_section(menu_items, index_view) -> Section | None:
    """The administrators' console's own menu (Flask-Admin's ``admin.menu()``: categories of
    views, and views of their own) as the first section of the 功能栏 on the console's pages,
    so its functions are where every other function is and its top bar stays one line.  Only
    what the user may open; the console's 首页 is its title in the top bar."""
    def shown(item):
        return item.is_visible() and item.is_accessible()

    branches = []
    for item in menu_items:
        if not shown(item):
            continue
        label = str(item.name)
        if item.is_category():
            leaves = [Leaf(str(c.name), c.get_url()) for c in item.get_children() if shown(c)]
            if leaves:
                branches.append(Branch(f"{CONSOLE}:{label}", label, "fa-folder", leaves))
        elif getattr(item, "_view", None) is not index_view:
            branches.append(Branch(f"{CONSOLE}:{label}", label, "fa-table", url=item.get_url()))
    return Section(CONSOLE, _l("管理控制台"), "fa-wrench", branches) if branches else None
