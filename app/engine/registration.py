"""Registers every record type with Flask-AppBuilder: its screens, its REST API and the menu
entries it declares (menus.py).  Access to each is answered by the policy from the declaration
(``SecurityManager.engine_access``), not by rows of FAB's permission tables."""

from __future__ import annotations

from . import menus
from .api import api_for
from .i18n import lazy_gettext as _l
from .policy import ADMIN
from .record import REGISTRY
from .views import view_for


def register(appbuilder) -> None:
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
        for feature in meta.features:  # screens and endpoints a feature brings (features.py)
            for extra in feature.views(model):
                appbuilder.add_view_no_menu(extra)
                sm.engine_access[extra.__name__] = meta.roles
            for extra in feature.apis(model) if meta.api else ():
                appbuilder.add_api(extra)
                sm.engine_access[extra.__name__] = meta.roles
    for group in menus.tree(REGISTRY.values()):
        for entry in group.entries:
            appbuilder.add_link(name=entry.name, href=entry.url, label=entry.label,
                                category=group.name, category_label=group.group.label,
                                category_icon=group.group.icon)
            sm.engine_access[entry.name] = entry.roles
        sm.engine_access[group.name] = group.roles
    appbuilder.add_link(name="menu:admin-console", href="/admin/", label=_l("管理控制台"),
                        icon="fa-tools", category="Security", category_label="Security")
    sm.engine_access["menu:admin-console"] = frozenset({ADMIN})
