"""Security manager: FAB's database authentication, with two changes.

1. Access to the engine's generated views, APIs and menu items is answered by the policy from
   the model declarations (``engine_access``), not by rows of FAB's permission tables — the
   declaration is the single source of truth, and an administrator cannot grant an enterprise
   a view of every company by ticking a box.
2. FAB's own views (users, roles …) keep FAB's permission tables, but the user's permissions are
   loaded once per request instead of one query per menu item and button.
"""

from __future__ import annotations

from flask import g
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import PermissionView, Role
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.engine import policy
from models.base import AppUser as User


class SecurityManager(FabSecurityManager):
    user_model = User

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # view or menu name -> roles allowed (filled when the engine registers its views)
        self.engine_access: dict[str, frozenset[str]] = {}

    # -- users ------------------------------------------------------------------------------
    def get_user_by_id(self, pk):
        return self.session.scalar(
            select(User).where(User.id == pk).options(
                selectinload(User.roles), joinedload(User.organisation))
        )

    # -- access -----------------------------------------------------------------------------
    def _user_permissions(self, user) -> set[tuple[str, str]]:
        cache = g.get("_perm_cache")
        if cache is not None and cache[0] == user.id:
            return cache[1]
        role_ids = [r.id for r in self.get_user_roles(user)
                    if r.name not in self.builtin_roles]
        perms: set[tuple[str, str]] = set()
        if role_ids:
            rows = self.session.scalars(
                select(PermissionView)
                .join(PermissionView.role)
                .where(Role.id.in_(role_ids))
                .options(joinedload(PermissionView.permission),
                         joinedload(PermissionView.view_menu))
            ).unique()
            perms = {(pv.permission.name, pv.view_menu.name) for pv in rows}
        g._perm_cache = (user.id, perms)
        return perms

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        roles = self.get_user_roles(user)
        if any(r.name in self.builtin_roles
               and self._has_access_builtin_roles(r, permission_name, view_name)
               for r in roles):
            return True
        return (permission_name, view_name) in self._user_permissions(user)

    def has_access(self, permission_name: str, view_name: str) -> bool:
        allowed = self.engine_access.get(view_name)
        if allowed is not None:
            actor = policy.current_actor()
            return actor is not None and bool(actor.roles & allowed)
        return super().has_access(permission_name, view_name)

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        result = set()
        engine_names = [n for n in view_menus_name if n in self.engine_access]
        others = [n for n in view_menus_name if n not in self.engine_access]
        if engine_names:
            actor = policy.current_actor()
            if actor is not None:
                result.update(n for n in engine_names if actor.roles & self.engine_access[n])
        if others:
            if user is None:
                result.update(super()._get_user_permission_view_menus(
                    user, permission_name, others))
            else:
                perms = self._user_permissions(user)
                result.update(n for n in others if (permission_name, n) in perms)
        return result
