"""THE policy: who may see which rows, change which fields, fire which transitions.

Every channel asks here — generated screens, the REST API, batch actions, print, attachment
download, export, import and the admin console — and the flush guard (guard.py) asks again for
every row a user-mode flush writes.  Nothing else in the code base decides these questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import false, or_, true

from .fields import ChildSpec, FieldSpec
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .record import ChildRecord, Record, session_for
from .workflow import SAVE, transitions_of

# Role names (FAB role names; their labels are translated for display).
ENTERPRISE = "企业"
# Held together with 企业 by a company's reviewers (审单): the same company's rows, and the
# review steps a record type gives them (智慧云报关 报关单审核).
ENTERPRISE_REVIEWER = "企业审单"
INSTITUTION = "检验机构"
CUSTOMS = "海关"
COMMERCE = "商务"
ADMIN = "管理员"
ROLES = (ENTERPRISE, ENTERPRISE_REVIEWER, INSTITUTION, CUSTOMS, COMMERCE, ADMIN)
ROLE_LABELS = {
    ENTERPRISE: _l("企业"),
    ENTERPRISE_REVIEWER: _l("企业审单"),
    INSTITUTION: _l("检验机构"),
    CUSTOMS: _l("海关"),
    COMMERCE: _l("商务"),
    ADMIN: _l("管理员"),
}


class Refused(Exception):
    """An action the policy forbids; the message is shown to the user as is."""

    status = 403

    def __init__(self, message, status: int | None = None):
        super().__init__(str(message))
        self.message = message
        if status is not None:
            self.status = status


class NotFound(Refused):
    status = 404


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf the engine acts."""

    user_id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    org_id: int | None = None
    org_kind: str | None = None
    org_name: str | None = None
    customs_codes: tuple[str, ...] = ()
    system: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role(self) -> str:
        """The role an entry in the history is signed with."""
        for r in ROLES:
            if r in self.roles:
                return r
        return next(iter(self.roles), "")


# The name stored for what the system did by itself (history, notices); shown translated
# (present.who).
SYSTEM_NAME = "系统"
SYSTEM = Actor(None, "system", SYSTEM_NAME, frozenset({ADMIN}), system=True)


def actor_for_user(user) -> Actor | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    org = getattr(user, "organisation", None)
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=(f"{user.first_name or ''} {user.last_name or ''}".strip()
                      or user.username),
        roles=frozenset(r.name for r in user.roles),
        org_id=getattr(user, "organisation_id", None),
        org_kind=getattr(org, "kind", None) if org is not None else None,
        org_name=getattr(org, "name", None) if org is not None else None,
        customs_codes=tuple(getattr(org, "customs_codes", ()) or ()) if org is not None else (),
    )


def current_actor() -> Actor | None:
    """The actor of this request (session or JWT user), cached for the request."""
    if not has_request_context():
        return None
    if "actor" in g:
        return g.actor
    actor = actor_for_user(g.get("user"))
    if actor is not None:
        g.actor = actor
    return actor


# --- scope rules ----------------------------------------------------------------------
class Rule:
    """A row filter for one role, composable with & and |.  Its criterion is a function of the
    record type and the actor alone: lists keep the statement they built for an actor and
    reuse it (listing.page) — a rule about today writes ``func.current_date()``, which the
    database evaluates, not ``date.today()``."""

    def criterion(self, model, actor: Actor):  # pragma: no cover - interface
        raise NotImplementedError

    def matches(self, record, actor: Actor) -> bool:
        """Whether one stored record is among the rule's rows (asked of the database)."""
        from sqlalchemy import exists, select

        model = type(record)
        return bool(session_for(record).scalar(select(exists().where(
            model.id == record.id, self.criterion(model, actor)))))

    def __and__(self, other):
        return _Combined(self, other, "and")

    def __or__(self, other):
        return _Combined(self, other, "or")


class _All(Rule):
    def criterion(self, model, actor):
        return true()

    def matches(self, record, actor):
        return True


ALL = _All()


class Own(Rule):
    """Rows whose ``column`` is the actor's organisation."""

    def __init__(self, column: str):
        self.column = column

    def criterion(self, model, actor):
        if actor.org_id is None:
            return false()
        return getattr(model, self.column) == actor.org_id

    def matches(self, record, actor):
        return actor.org_id is not None and getattr(record, self.column) == actor.org_id


class Where(Rule):
    """An arbitrary criterion: callable(model, actor) -> SQL expression, of those two only."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def criterion(self, model, actor):
        return self.fn(model, actor)


class _Combined(Rule):
    def __init__(self, a: Rule, b: Rule, op: str):
        self.a, self.b, self.op = a, b, op

    def criterion(self, model, actor):
        from sqlalchemy import and_

        ca, cb = self.a.criterion(model, actor), self.b.criterion(model, actor)
        return and_(ca, cb) if self.op == "and" else or_(ca, cb)


def scope(model: type[Record], actor: Actor, rules: dict | None = None):
    """SQL criterion selecting the rows of ``model`` this actor may see (``rules``: the scope of
    a public screen, instead of the record type's own)."""
    if actor is None:
        return false()
    if actor.system:
        return true()
    rules = rules if rules is not None else model.meta().scope
    crits = []
    for role in ROLES:
        if role in actor.roles and role in rules:
            rule = rules[role]
            if rule is ALL:
                return true()
            crits.append(rule.criterion(model, actor))
    if not crits:
        return false()
    return crits[0] if len(crits) == 1 else or_(*crits)


def can_access_type(actor: Actor | None, model: type[Record]) -> bool:
    if actor is None:
        return False
    if actor.system:
        return True
    return bool(actor.roles.intersection(model.meta().scope.keys()))


def can_create(actor: Actor | None, model: type[Record]) -> bool:
    return actor is not None and (
        actor.system or bool(actor.roles.intersection(model.meta().create_roles))
    )


MAX_ID = 2**31 - 1  # ids are INTEGER columns


def parse_id(value) -> int | None:
    """A record id from a URL, form or JSON value; None for anything that cannot be one."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):  # int() also reads "٣", "1_0" and " +1"
        return None
    pk = int(text)
    return pk if 0 < pk <= MAX_ID else None


def get_scoped(session, model: type[Record], pk, actor: Actor, *, options=(),
               for_update: bool = False) -> Record:
    """Load one row through the actor's scope; a row outside it does not exist (404).
    ``for_update``: take the row lock and reload it (a write reads what it replaces)."""
    pk = parse_id(pk)
    if pk is None:
        raise NotFound(_l("记录不存在或无权访问"))
    q = session.query(model).filter(model.id == pk, scope(model, actor))
    if options:
        q = q.options(*options)
    if for_update:
        q = q.with_for_update(of=model).populate_existing()
    rec = q.one_or_none()
    if rec is None:
        raise NotFound(_l("记录不存在或无权访问"))
    return rec


def can_see(session, actor: Actor, record: Record) -> bool:
    if record.id is None:
        return True
    model = type(record)
    return (
        session.query(model.id).filter(model.id == record.id, scope(model, actor)).first()
        is not None
    )


# --- editability ------------------------------------------------------------------------
def state_of(record: Record) -> str | None:
    """The state a record is in for editing purposes (its stored state)."""
    wf = record.meta().workflow
    if wf is None:
        return None
    from sqlalchemy import inspect as sa_inspect

    ins = sa_inspect(record)
    if ins.transient or ins.pending:
        return record.status or wf.initial
    hist = ins.attrs.status.history
    if hist.deleted:
        return hist.deleted[0]
    return record.status


def _roles_editing(meta, state) -> frozenset[str]:
    if meta.workflow is None:
        # Plain reference records: edited by whoever may create them.
        return meta.create_roles
    return meta.editable.get(state, frozenset())


def outside_edit_scope(actor: Actor | None, record: Record, roles) -> bool:
    """True when every one of the actor's ``roles`` that ``Meta.edit_scope`` narrows leaves
    this stored record out: such a role reads the record (its ``scope``) but does not change
    it (a notice to everybody is changed by the office that published it)."""
    rules = record.meta().edit_scope
    if not rules or actor is None or actor.system or record.id is None:
        return False
    held = actor.roles.intersection(roles)
    return bool(held) and not any(
        role not in rules or rules[role].matches(record, actor) for role in held)


def record_editable(actor: Actor | None, record: Record) -> bool:
    """May this actor edit anything of the record in its current state?"""
    if actor is None:
        return False
    if actor.system:
        return True
    meta = record.meta()
    if record.id is None and not can_create(actor, type(record)):
        return False
    roles = _roles_editing(meta, state_of(record))
    return bool(actor.roles.intersection(roles)) and not outside_edit_scope(actor, record, roles)


def _may_edit(actor: Actor | None, record: Record, *, edit_states=None, edit_roles=None,
              requires_saved: bool = False) -> bool:
    """The one editability rule: the roles that edit the record in its state (Meta.editable),
    narrowed by a field's, table's or slot's own states and roles."""
    if actor is None:
        return False
    if actor.system:
        return True
    if requires_saved and record.id is None:
        return False
    state = state_of(record)
    if edit_states is not None and state not in set(edit_states):
        return False
    roles = (frozenset(edit_roles) if edit_roles is not None
             else _roles_editing(record.meta(), state))
    if record.id is None and not can_create(actor, type(record)):
        return False
    return bool(actor.roles.intersection(roles)) and not outside_edit_scope(actor, record, roles)


def field_editable(actor: Actor | None, record: Record, spec: FieldSpec) -> bool:
    """Yellow (True) or grey (False) for this actor, record and field."""
    if spec.readonly:
        return bool(actor and actor.system)
    if spec.preset and record.id is not None:
        return bool(actor and actor.system)  # chosen when the record is made, fixed after
    return _may_edit(actor, record, edit_states=spec.edit_states, edit_roles=spec.edit_roles)


def child_editable(actor: Actor | None, record: Record, spec: ChildSpec) -> bool:
    """May rows of this child table be added, changed, removed?"""
    return _may_edit(actor, record, edit_states=spec.edit_states, edit_roles=spec.edit_roles,
                     requires_saved=spec.requires_saved)


def child_field_editable(actor, root: Record, child_spec: ChildSpec, spec: FieldSpec) -> bool:
    if spec.readonly:
        return bool(actor and actor.system)
    return child_editable(actor, root, child_spec)


def slot_editable(actor: Actor | None, record: Record, slot) -> bool:
    """May files be added to or removed from this attachment slot?"""
    return _may_edit(actor, record, edit_states=slot.edit_states, edit_roles=slot.edit_roles,
                     requires_saved=slot.requires_saved)


# --- transitions ------------------------------------------------------------------------
def transition_refusal(actor: Actor | None, record: Record, transition) -> str | None:
    """None when the actor may fire ``transition`` on ``record`` now, else the reason."""
    if actor is None:
        return _("请先登录")
    if not actor.system and not actor.roles.intersection(transition.roles):
        return _("您的角色无权执行「%(action)s」", action=transition.label)
    if outside_edit_scope(actor, record, transition.roles):
        return _("此记录由其他单位维护，您不能执行「%(action)s」", action=transition.label)
    state = state_of(record)
    if not transition.allowed_from(state):
        wf = record.meta().workflow
        if wf is None:
            return _("不能执行「%(action)s」", action=transition.label)
        return _(
            "当前状态「%(state)s」不能执行「%(action)s」",
            state=wf.state_label(state),
            action=transition.label,
        )
    if transition.when is not None and not actor.system:
        reason = transition.when(record, actor)
        if reason:
            return str(reason)
    return None


def allowed_transitions(actor: Actor | None, record: Record) -> list:
    if actor is None:
        return []
    return [t for t in transitions_of(type(record))
            if transition_refusal(actor, record, t) is None]


def may_fire(actor, record, transition) -> bool:
    return transition_refusal(actor, record, transition) is None


def owning_record(obj) -> Record | None:
    if isinstance(obj, Record):
        return obj
    if isinstance(obj, ChildRecord):
        return obj.root()
    return None


# --- what the screens offer (asked by views, API, menus and the home page) --------------------
def has_any(actor: Actor | None, roles) -> bool:
    """Does the actor hold one of ``roles`` (a menu entry's, a view's)?"""
    return actor is not None and (actor.system or bool(actor.roles & frozenset(roles)))


def acting_role(actor: Actor | None, roles) -> str | None:
    """The role an actor acts in for a step given to `roles` (the first in the policy's order):
    审核通过 is signed as 企业审单, not as 企业."""
    if actor is None:
        return None
    return next((r for r in ROLES if r in actor.roles and r in roles), None)


def may_administer(actor: Actor | None) -> bool:
    """The administrators' console, metrics and security views."""
    return actor is not None and (actor.system or ADMIN in actor.roles)


def can_open_screen(actor: Actor | None, model, screen=None) -> bool:
    """May the actor open the record type's list (or one of its screens)?"""
    if actor is None:
        return False
    if screen is not None and screen.allowed_roles is not None:
        return has_any(actor, screen.allowed_roles)
    return can_access_type(actor, model)


def list_actions(actor: Actor | None, model, screen=None) -> list[tuple]:
    """(transition, button label) offered on a list for the checked rows: the steps the
    actor's roles hold (not 暂存), or on a screen the ones it names — whether each row allows
    it is answered per row when fired."""
    if actor is None:
        return []
    if screen is not None:
        out = []
        for name, label in screen.transitions.items():
            t = next((x for x in transitions_of(model) if x.name == name), None)
            if t is not None and has_any(actor, t.roles):
                out.append((t, label or t.label))
        return out
    return [(t, t.label) for t in transitions_of(model)
            if t.kind != SAVE and has_any(actor, t.roles)]


def list_buttons(actor: Actor | None, buttons) -> list:
    """The page-opening buttons of a list (fields.ListButton) this actor is given."""
    return [b for b in buttons if b.roles is None or has_any(actor, b.roles)]


def todo_states(actor: Actor | None, model) -> set[str]:
    """States in which records of this type wait for an action of the actor's roles (待办)."""
    wf = model.meta().workflow
    if actor is None or wf is None or not can_access_type(actor, model):
        return set()
    states: set[str] = set()
    for t in wf.transitions:
        if t.todo and actor.roles & t.roles:
            if isinstance(t.todo, list):
                states.update(t.todo)
            elif t.sources != "*":
                states.update(t.sources)
    return states


def owns_one(actor: Actor | None, model) -> bool:
    """A record type kept once per organisation (企业信息备案) whose own record this actor opens
    directly: the actor's organisation owns records of this type."""
    meta = model.meta()
    if actor is None or not meta.singleton_per_owner or actor.org_id is None:
        return False
    return any(isinstance(meta.scope.get(r), Own) for r in actor.roles)


def owner_of_new(actor: Actor | None):
    """The organisation a new record of this actor belongs to (its ``Meta.owner`` column)."""
    return actor.org_id if actor is not None else None


def own_rows(model, actor: Actor | None, column: str | None = None):
    """SQL criterion: rows of the actor's own organisation — by the record type's
    ``Meta.owner`` column, or by ``column`` (``"id"`` for the organisation table itself)."""
    owner = column or model.meta().owner
    if actor is None or owner is None or actor.org_id is None:
        return false()
    return getattr(model, owner) == actor.org_id


def visible_slots(actor: Actor | None, record, has_files) -> list[tuple]:
    """(slot, editable) of the attachment slots the form shows this actor: those it may fill,
    and those already holding files (``has_files(slot_name)``)."""
    out = []
    for slot in record.meta().attachments:
        editable = slot_editable(actor, record, slot)
        if (slot.edit_roles is None or has_any(actor, slot.edit_roles) or editable
                or has_files(slot.name)):
            out.append((slot, editable))
    return out


def may_reveal(session, actor: Actor | None, model, key: str, value) -> bool:
    """May the live preview show what ``value`` of ``model.<key>`` looks up (进口商名称 of a
    进口商编码)?  A role that sees every row of the type may look anything up; an organisation's
    user only its own codes and the codes its own records already hold — typing codes is no
    directory of other companies."""
    from sqlalchemy import exists, select

    if actor is None or value in (None, ""):
        return False
    if actor.system or any(model.meta().scope.get(r) is ALL for r in actor.roles):
        return True
    if str(value) in actor.customs_codes:
        return True
    column = getattr(model, key, None)
    if column is None:
        return False
    return bool(session.scalar(select(exists().where(column == value, scope(model, actor)))))


def needs_organisation(role_names) -> bool:
    """A user holding any role but 管理员 belongs to an organisation (scope is by organisation)."""
    return bool(set(role_names) - {ADMIN})


def read_only(actor: Actor) -> Actor:
    """The actor as one who may change nothing (checking a body posted where nothing is
    editable: an unchanged body passes, any change is refused)."""
    return Actor(actor.user_id, actor.username, actor.display_name, frozenset(), actor.org_id)


def refusal_status(actor: Actor | None, transition, record: Record | None = None) -> int:
    """409 when the actor's role holds the transition but the record's state refuses it, 403
    when the role never may, nor on this record (``Meta.edit_scope``)."""
    if actor is None or not actor.roles & transition.roles:
        return 403
    if record is not None and outside_edit_scope(actor, record, transition.roles):
        return 403
    return 409


class Addressed(Rule):
    """Rows addressed to everybody, to one of the actor's roles (``role_column``) and/or to
    its organisation (``org_column``); administrators see them all."""

    def __init__(self, role_column: str = "role", org_column: str = "org_id"):
        self.role_column, self.org_column = role_column, org_column

    def criterion(self, model, actor):
        if ADMIN in actor.roles:
            return true()
        role_col, org_col = getattr(model, self.role_column), getattr(model, self.org_column)
        role_ok = or_(role_col.is_(None), role_col.in_(sorted(actor.roles)))
        org_ok = org_col.is_(None)
        if actor.org_id is not None:
            org_ok = or_(org_ok, org_col == actor.org_id)
        return role_ok & org_ok
