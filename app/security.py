"""Security manager: FAB's database authentication, with three changes.

1. Access to the engine's generated views, APIs and menu items is answered by the policy from
   the model declarations (``engine_access``), not by rows of FAB's permission tables — the
   declaration is the single source of truth, and an administrator cannot grant an enterprise
   a view of every company by ticking a box.
2. FAB's own views (users, roles …) keep FAB's permission tables, but the permissions of a set
   of roles are loaded once and kept (until a role or permission changes, or 60 s pass) instead
   of one query per menu item and button on every request.
3. FAB's user groups are not used by the product: a user's roles are its roles.
"""

from __future__ import annotations

import threading
import time

from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, Role, ViewMenu
from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.engine import policy
from models.base import AppUser as User

_PERMS_TTL = 60.0
_perm_lock = threading.Lock()
_perm_version = [0]


def permissions_version() -> int:
    return _perm_version[0]


@event.listens_for(Session, "after_flush")
def _security_changed(session, flush_context):
    watched = (Role, PermissionView, Permission, ViewMenu)
    if any(isinstance(o, watched) for o in list(session.new) + list(session.dirty)
           + list(session.deleted)):
        _perm_version[0] += 1


class SecurityManager(FabSecurityManager):
    user_model = User

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # view or menu name -> roles allowed (filled when the engine registers its views)
        self.engine_access: dict[str, frozenset[str]] = {}
        # role ids -> (loaded at, permissions version, permissions)
        self._perm_cache: dict[tuple, tuple[float, int, frozenset]] = {}

    # -- users ------------------------------------------------------------------------------
    def get_user_by_id(self, pk):
        return self.session.scalar(
            select(User).where(User.id == pk).options(
                selectinload(User.roles), joinedload(User.organisation))
        )

    # -- access -----------------------------------------------------------------------------
    def get_user_roles(self, user):
        if not user.is_authenticated:
            return [self.get_public_role()]
        return list(user.roles)

    def _user_permissions(self, user) -> frozenset[tuple[str, str]]:
        key = tuple(sorted(r.id for r in self.get_user_roles(user)
                           if r.name not in self.builtin_roles))
        now = time.monotonic()
        hit = self._perm_cache.get(key)
        if hit is not None and hit[1] == _perm_version[0] and now - hit[0] < _PERMS_TTL:
            return hit[2]
        perms: frozenset[tuple[str, str]] = frozenset()
        if key:
            rows = self.session.scalars(
                select(PermissionView)
                .join(PermissionView.role)
                .where(Role.id.in_(key))
                .options(joinedload(PermissionView.permission),
                         joinedload(PermissionView.view_menu))
            ).unique()
            perms = frozenset((pv.permission.name, pv.view_menu.name) for pv in rows)
        with _perm_lock:
            self._perm_cache[key] = (now, _perm_version[0], perms)
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
