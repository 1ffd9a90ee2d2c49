"""Registers the engine's generated views, APIs and menu entries with Flask-AppBuilder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.engine.api import api_for
from app.engine.i18n import lazy_gettext as _l
from app.engine.policy import ADMIN
from app.engine.record import REGISTRY
from app.engine.views import view_for


@dataclass
class Entry:
    resource: str
    target: str  # list | new | screen:<name>
    label: Any
    roles: tuple[str, ...] | None = None  # narrower than what the record type allows


@dataclass
class MenuGroup:
    label: Any
    icon: str
    entries: list[Entry] = field(default_factory=list)


def entry_roles(entry: Entry) -> frozenset[str]:
    model = REGISTRY[entry.resource]
    meta = model.meta()
    if entry.target == "new":
        roles = meta.create_roles
    elif entry.target.startswith("screen:"):
        name = entry.target.split(":", 1)[1]
        screen = next(s for s in meta.screens if s.name == name)
        roles = screen.allowed_roles if screen.allowed_roles is not None else meta.roles
    else:
        roles = meta.roles
    if entry.roles is not None:
        roles = roles & frozenset(entry.roles)
    return frozenset(roles)


def entry_url(entry: Entry) -> str:
    base = f"/{entry.resource}"
    if entry.target == "new":
        return f"{base}/new"
    if entry.target.startswith("screen:"):
        return f"{base}/screen/{entry.target.split(':', 1)[1]}/"
    return f"{base}/"


def register_all(appbuilder, menus: list[MenuGroup]) -> None:
    sm = appbuilder.sm
    for model in REGISTRY.values():
        meta = model.meta()
        view = view_for(model)
        appbuilder.add_view_no_menu(view)
        sm.engine_access[view.__name__] = meta.roles
        if meta.api:
            api = api_for(model)
            appbuilder.add_api(api)
            sm.engine_access[api.__name__] = meta.roles
    for group in menus:
        category = f"menu:{group.label}"
        allowed: set[str] = set()
        for entry in group.entries:
            roles = entry_roles(entry)
            name = f"menu:{entry.resource}:{entry.target}"
            appbuilder.add_link(name=name, href=entry_url(entry), label=entry.label,
                                category=category, category_label=group.label,
                                category_icon=group.icon)
            sm.engine_access[name] = roles
            allowed |= roles
        sm.engine_access[category] = frozenset(allowed)
    appbuilder.add_link(name="menu:admin-console", href="/admin/", label=_l("管理控制台"),
                        icon="fa-tools", category="Security", category_label="Security")
    sm.engine_access["menu:admin-console"] = frozenset({ADMIN})
