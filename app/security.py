"""Security manager: FAB's database authentication, with three changes.

1. Access to the engine's generated views, APIs and menu items is answered by the policy from
   the model declarations (``engine_access``), not by rows of FAB's permission tables — the
   declaration is the single source of truth, and an administrator cannot grant an enterprise
   a view of every company by ticking a box.
2. FAB's own views (users, roles …) keep FAB's permission tables, but the permissions of a set
   of roles are loaded once and kept (until a role or permission changes, or 60 s pass) instead
   of one query per menu item and button on every request.
3. FAB's user groups are not used by the product: a user's roles are its roles.
4. The signed-in user (with roles and organisation) is loaded once and kept per process; each
   request reads one number, ``security_stamp.version``, which every change to a user, an
   organisation, a role or a permission moves in the same transaction.  A cached user or set
   of permissions is used only while its version is the current one, so a deactivated user or
   a changed role takes effect on the next request in every worker.
5. Signing out ends the session for good: every user row carries a ``session_epoch`` that
   moves when the user signs out or its password changes (whoever changes it, however).  The
   session cookie and every JWT carry the epoch they were issued under and authenticate only
   while it is the user's current one — checked against the cached user, without SQL.
6. Sign-ins are throttled per account and per address (app.throttle), and every password set
   through Flask-AppBuilder meets the password policy (app.passwords).
"""

from __future__ import annotations

import threading
import time

from flask import g, has_request_context
from flask import session as cookie_session
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, Role, ViewMenu
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from app import passwords, throttle
from app.auth_views import (
    SESSION_EPOCH_KEY,
    AuthDBView,
    ResetMyPasswordView,
    ResetPasswordView,
    SecurityApi,
)
from app.engine import policy
from app.engine.i18n import lazy_gettext as _l
from models.base import AppUser as User
from models.base import Organisation, SecurityStamp

_PERMS_TTL = 60.0  # only where no stamp was read (requests without a signed-in user)
_USERS_MAX = 10_000
_STAMP_QUERY = select(SecurityStamp.version).where(SecurityStamp.id == 1)
_perm_lock = threading.Lock()
_perm_version = [0]

_WATCHED = (Role, PermissionView, Permission, ViewMenu, User, Organisation)
# Written at every login by FAB; they change nothing a cached user is trusted for.
_LOGIN_STATS = frozenset({"last_login", "login_count", "fail_login_count", "changed_on"})


def permissions_version() -> tuple:
    """The version cached users, permissions and menus are valid for."""
    stamp = g.get("security_stamp") if has_request_context() else None
    return ("db", stamp) if stamp is not None else ("local", _perm_version[0])


def _security_relevant(obj) -> bool:
    if not isinstance(obj, _WATCHED):
        return False
    if not isinstance(obj, User):
        return True
    state = inspect(obj)
    if state.pending or state.deleted or state.was_deleted:
        return True
    return any(attr.key not in _LOGIN_STATS and attr.history.has_changes()
               for attr in state.attrs)


_stamped_engines: set[str] = set()


def _has_stamp(connection) -> bool:
    """False only before the migrations have run (FAB's own set-up of an empty database)."""
    url = str(connection.engine.url)
    if url not in _stamped_engines:
        if not inspect(connection).has_table(SecurityStamp.__tablename__):
            return False
        _stamped_engines.add(url)
    return True


@event.listens_for(User.password, "set")
def _new_password_new_epoch(user, value, old, initiator):
    """A new password ends every session and token of the user, whichever way it was set."""
    if value != old:
        user.session_epoch = (user.session_epoch or 0) + 1


@event.listens_for(Session, "after_flush")
def _security_changed(session, flush_context):
    if any(_security_relevant(o) for o in (*session.new, *session.dirty, *session.deleted)):
        _perm_version[0] += 1
        connection = session.connection()
        if _has_stamp(connection):
            connection.execute(
                update(SecurityStamp.__table__).where(SecurityStamp.id == 1)
                .values(version=SecurityStamp.version + 1))


# Menu labels Flask-AppBuilder's own Chinese catalogue lacks, as ours writes them.
FAB_LABELS = {"List Groups": _l("用户组列表")}


class SecurityManager(FabSecurityManager):
    user_model = User
    authdbview = AuthDBView
    resetmypasswordview = ResetMyPasswordView

    def register_views(self):
        super().register_views()
        for name, label in FAB_LABELS.items():
            item = self.appbuilder.menu.find(name)
            if item is not None:
                item.label = label
    resetpasswordview = ResetPasswordView
    security_api = SecurityApi

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # view or menu name -> roles allowed (filled when the engine registers its views)
        self.engine_access: dict[str, frozenset[str]] = {}
        # role ids -> (loaded at, permissions version, permissions)
        self._perm_cache: dict[tuple, tuple[float, tuple, frozenset]] = {}
        # user id -> (security stamp it was loaded under, the user detached with roles and org)
        self._users: dict[int, tuple[int, User]] = {}

    # -- users ------------------------------------------------------------------------------
    def get_user_by_id(self, pk):
        try:
            pk = int(pk)  # FAB passes ?pk=… as text; PostgreSQL compares no integer with it
        except (TypeError, ValueError):
            return None
        return self.session.scalar(
            select(User).where(User.id == pk).options(
                selectinload(User.roles), joinedload(User.organisation))
        )

    def load_user(self, pk):
        """Flask-Login's loader of the session cookie's user."""
        user = self._cached_user(int(pk))
        if user is not None and user.is_active and \
                cookie_session.get(SESSION_EPOCH_KEY) == user.session_epoch:
            return user
        return None

    def load_user_jwt(self, _jwt_header, jwt_data):
        """Flask-JWT-Extended's loader: the token's epoch must be the user's current one."""
        user = self._cached_user(int(jwt_data["sub"]))
        if user is not None and user.is_active and \
                jwt_data.get("epoch") == user.session_epoch:
            g.user = user
            return user
        return None

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.additional_claims_loader
        def _epoch_claim(identity):
            user = self._cached_user(int(identity))
            return {"epoch": user.session_epoch} if user is not None else {}

        _answer_token_problems(jwt_manager)
        return jwt_manager

    def create_login_manager(self, app):
        from flask_login import user_logged_in

        lm = super().create_login_manager(app)

        @user_logged_in.connect_via(getattr(app, "_get_current_object", lambda: app)())
        def _remember_epoch(sender, user, **extra):
            cookie_session[SESSION_EPOCH_KEY] = user.session_epoch

        return lm

    def on_user_logout(self, user) -> None:
        """Signing out moves the epoch: a copy of the cookie kept from before is worthless."""
        user.session_epoch = (user.session_epoch or 0) + 1
        self.session.commit()

    # -- sign-in and passwords ----------------------------------------------------------------
    def auth_user_db(self, username, password):
        if not username:
            return super().auth_user_db(username, password)
        user = self.find_user(username=username) or self.find_user(email=username)
        counters = throttle.counters(self.session)
        rules = throttle.rules(throttle.account_key(user.id if user is not None else None,
                                                    username), throttle.client_address())
        counters.enter(rules)  # raises LoginRefused
        signed_in = None
        try:
            signed_in = super().auth_user_db(username, password)
        finally:
            counters.leave(rules, success=signed_in is not None)
        return signed_in

    def reset_password(self, userid, password):
        user = self.get_user_by_id(userid)
        if user is not None:
            passwords.check(password, user.username)
        super().reset_password(userid, password)

    def add_user(self, username, first_name, last_name, email, role, password="",
                 hashed_password="", **kwargs):
        if password and not hashed_password:
            passwords.check(password, username)
        return super().add_user(username, first_name, last_name, email, role,
                                password=password, hashed_password=hashed_password, **kwargs)

    def _cached_user(self, pk: int):
        session = self.session
        # Core, not the ORM: one value, asked on every request
        stamp = session.connection().scalar(_STAMP_QUERY)
        if has_request_context():
            g.security_stamp = stamp
        hit = self._users.get(pk)
        if hit is not None and stamp is not None and hit[0] == stamp:
            # A copy in this request's session, made without SQL: it lazy-loads like any
            # other instance and never shares state with another request.
            return session.merge(hit[1], load=False)
        user = self.get_user_by_id(pk)
        if user is None or stamp is None:
            return user
        for obj in (user, *user.roles, user.organisation):
            if obj is not None and obj in session:
                session.expunge(obj)
        if len(self._users) >= _USERS_MAX:
            self._users.clear()
        self._users[pk] = (stamp, user)
        return session.merge(user, load=False)

    # -- access -----------------------------------------------------------------------------
    def get_user_roles(self, user):
        if not user.is_authenticated:
            return [self.get_public_role()]
        return list(user.roles)

    def _user_permissions(self, user) -> frozenset[tuple[str, str]]:
        key = tuple(sorted(r.id for r in self.get_user_roles(user)
                           if r.name not in self.builtin_roles))
        return self._permissions(key, Role.id.in_(key) if key else None)

    def is_item_public(self, permission_name, view_name) -> bool:
        """FAB asks this before it checks the token of every REST request: answered from the
        Public role's permissions, kept like any role's (FAB queried the role each time)."""
        return (permission_name, view_name) in self._permissions(
            ("public",), Role.name == self.auth_role_public)

    def _permissions(self, key: tuple, criterion) -> frozenset[tuple[str, str]]:
        """The (permission, view) pairs of the roles ``criterion`` selects, kept under ``key``
        while the security stamp stays (or, where no stamp was read, for 60 s)."""
        now = time.monotonic()
        version = permissions_version()
        hit = self._perm_cache.get(key)
        if hit is not None and hit[1] == version and (
                version[0] == "db" or now - hit[0] < _PERMS_TTL):
            return hit[2]
        perms: frozenset[tuple[str, str]] = frozenset()
        if criterion is not None:
            rows = self.session.scalars(
                select(PermissionView)
                .join(PermissionView.role)
                .where(criterion)
                .options(joinedload(PermissionView.permission),
                         joinedload(PermissionView.view_menu))
            ).unique()
            perms = frozenset((pv.permission.name, pv.view_menu.name) for pv in rows)
        with _perm_lock:
            self._perm_cache[key] = (now, version, perms)
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
            return policy.has_any(actor, allowed)
        return super().has_access(permission_name, view_name)

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        result = set()
        engine_names = [n for n in view_menus_name if n in self.engine_access]
        others = [n for n in view_menus_name if n not in self.engine_access]
        if engine_names:
            actor = policy.current_actor()
            if actor is not None:
                result.update(n for n in engine_names
                              if policy.has_any(actor, self.engine_access[n]))
        if others:
            if user is None:
                result.update(super()._get_user_permission_view_menus(
                    user, permission_name, others))
            else:
                perms = self._user_permissions(user)
                result.update(n for n in others if (permission_name, n) in perms)
        return result


def _answer_token_problems(jwt_manager) -> None:
    """A missing, broken, expired or withdrawn token is a 401 with ``message`` in the caller's
    language, as every other refusal of the API (Flask-JWT-Extended's own answers are
    ``{"msg": …}`` in English, and 422 for a token it cannot decode)."""
    from .engine.api import _error
    from .engine.i18n import gettext as _

    def missing(_reason=None):
        return _error(401, _("请先登录：请求未携带访问令牌（Authorization: Bearer …）"))

    def invalid(_reason=None):
        return _error(401, _("访问令牌无效，请重新登录获取"))

    def expired(_header=None, _data=None):
        return _error(401, _("访问令牌已过期，请重新登录"))

    def withdrawn(_header=None, _data=None):
        return _error(401, _("访问令牌已失效（已退出、改过密码或账号已停用），请重新登录"))

    jwt_manager.unauthorized_loader(missing)
    jwt_manager.invalid_token_loader(invalid)
    jwt_manager.expired_token_loader(expired)
    jwt_manager.revoked_token_loader(withdrawn)
    jwt_manager.user_lookup_error_loader(withdrawn)
    jwt_manager.token_verification_failed_loader(withdrawn)
    jwt_manager.needs_fresh_token_loader(withdrawn)
