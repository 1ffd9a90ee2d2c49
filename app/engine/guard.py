"""The flush guard: the last line of the policy, under every write path.

Forms and the API already refuse forbidden changes before anything is written (changes.py).  This
module makes the same rules hold for *any* code that writes through the session — batch actions,
import, admin console, a future integration: before each flush it

1. recomputes computed fields of every record touched (they are always consistent),
2. refuses any change a non-system actor may not make (policy.field_editable & co.),
3. stamps bookkeeping columns, and
4. records the field changes (old → new) in the history.

Engine code that legitimately writes grey fields (numbers, transition effects, computed values)
runs inside :func:`system`; attribute writes made there are *granted* and pass the guard.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session

from . import policy
from .history import record_field_changes
from .i18n import gettext as _
from .record import BOOKKEEPING, ChildRecord, Record, now, root_and_spec

_system: ContextVar[bool] = ContextVar("engine_system", default=False)
_GRANTED = "_engine_granted"
_DELETE_OK = "_engine_delete_ok"


class PolicyViolation(policy.Refused):
    """A change reached the flush that the policy forbids; nothing is written."""


@contextlib.contextmanager
def system():
    """Run engine-internal writes (effects, numbers, computed values) as the system."""
    token = _system.set(True)
    try:
        yield
    finally:
        _system.reset(token)


def in_system() -> bool:
    return _system.get()


def allow_delete(obj) -> None:
    obj.__dict__[_DELETE_OK] = True


def _granted(obj) -> set[str]:
    return obj.__dict__.get(_GRANTED, set())


def _on_set(target, value, oldvalue, initiator):
    if _system.get():
        target.__dict__.setdefault(_GRANTED, set()).add(initiator.key)
    else:
        # A user write after a system write is a user write again: the guard checks it.
        target.__dict__.get(_GRANTED, set()).discard(initiator.key)


def _on_collection(target, value, initiator):
    if _system.get():
        target.__dict__.setdefault(_GRANTED, set()).add(initiator.key)


@event.listens_for(Mapper, "mapper_configured")
def _instrument(mapper, cls):
    if not issubclass(cls, (Record, ChildRecord)):
        return
    for attr in mapper.column_attrs:
        event.listen(getattr(cls, attr.key), "set", _on_set)
    for rel in mapper.relationships:
        ia = getattr(cls, rel.key)
        if rel.uselist:
            event.listen(ia, "append", _on_collection)
            event.listen(ia, "remove", _on_collection)
        else:
            event.listen(ia, "set", _on_set)


# --- helpers -----------------------------------------------------------------------------
def _changed_keys(obj) -> list[str]:
    ins = inspect(obj)
    keys = []
    for attr in ins.mapper.column_attrs:
        h = ins.attrs[attr.key].history
        if h.added or (ins.pending and h.unchanged and h.unchanged[0] is not None):
            if ins.pending or h.has_changes():
                keys.append(attr.key)
    return keys


def _label(meta, key):
    spec = meta.fields.get(key)
    return str(spec.label) if spec else key


# --- the listener --------------------------------------------------------------------------
def _check(session, actor):
    bookkeeping = BOOKKEEPING
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Record):
            meta = obj.meta()
            if obj.id is None and inspect(obj).pending and not policy.can_create(actor, type(obj)):
                raise PolicyViolation(_("您的角色无权新增「%(type)s」", type=meta.label))
            granted = _granted(obj)
            wf = meta.workflow
            proposing = wf is not None and obj.id is not None and \
                policy.state_of(obj) in wf.proposal_states
            for key in _changed_keys(obj):
                if key in bookkeeping or key in granted:
                    continue
                if proposing:
                    raise PolicyViolation(_("请通过「变更修改」提交变更，审核通过后生效"))
                if meta.owner and key == meta.owner:
                    raise PolicyViolation(_("「所属单位」由系统填写，不能修改"))
                spec = meta.fields.get(key)
                if spec is None or not policy.field_editable(actor, obj, spec):
                    raise PolicyViolation(
                        _("「%(field)s」在当前状态下不可修改", field=_label(meta, key))
                    )
        elif isinstance(obj, ChildRecord):
            root, cspec = root_and_spec(session, obj)
            if root is None or cspec is None:
                continue
            if not _root_granted(root, cspec) and not policy.child_editable(actor, root, cspec):
                raise PolicyViolation(
                    _("「%(table)s」在当前状态下不可修改", table=cspec.label)
                )
            cmeta = obj.meta()
            granted = _granted(obj)
            for key in _changed_keys(obj):
                spec = cmeta.fields.get(key)
                if spec is not None and spec.readonly and key not in granted:
                    raise PolicyViolation(
                        _("「%(field)s」由系统计算，不能修改", field=spec.label)
                    )
    for obj in session.deleted:
        if isinstance(obj, Record):
            if not obj.__dict__.get(_DELETE_OK):
                raise PolicyViolation(_("只能通过「删除」操作删除记录"))
        elif isinstance(obj, ChildRecord):
            root, cspec = root_and_spec(session, obj)
            if root is None or cspec is None or root.__dict__.get(_DELETE_OK):
                continue
            if not _root_granted(root, cspec) and not policy.child_editable(actor, root, cspec):
                raise PolicyViolation(
                    _("「%(table)s」在当前状态下不可修改", table=cspec.label)
                )


def _root_granted(root, cspec) -> bool:
    return cspec.name in _granted(root)


def _touched_roots(session) -> list[Record]:
    roots: list[Record] = []
    seen: set[int] = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        root = None
        if isinstance(obj, Record):
            if obj in session.deleted:
                continue
            root = obj
        elif isinstance(obj, ChildRecord):
            root = root_and_spec(session, obj)[0]
        if root is not None and id(root) not in seen and root not in session.deleted:
            seen.add(id(root))
            roots.append(root)
    return roots


def recompute(record) -> None:
    """The computed fields of a record and its lines, as a flush would set them."""
    with system():
        _recompute(record)


def _recompute(record) -> None:
    """Recompute computed fields bottom-up (child lines first, then the record)."""
    meta = record.meta()
    for cname in meta.children:
        for child in getattr(record, cname):
            _recompute(child)
    for spec in meta.fields.values():
        if spec.compute is not None:
            value = spec.compute(record)
            if getattr(record, spec.name) != value:
                setattr(record, spec.name, value)


def _stamp(session, actor, roots):
    for obj in session.new:
        if isinstance(obj, Record) and actor is not None:
            obj.created_by_id = obj.created_by_id or actor.user_id
            obj.updated_by_id = actor.user_id
    for root in roots:
        ins = inspect(root)
        if ins.persistent:
            # A change of a child line is a change of the record: bump its version too.
            root.updated_at = now()
            if actor is not None:
                root.updated_by_id = actor.user_id


_installed = False


def install() -> None:
    """Attach the guard to every ORM session (idempotent; called by the app factory)."""
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "before_flush")
    def before_flush(session, flush_context, instances):
        actor = policy.current_actor()
        session.info["_engine_flushing"] = (
            list(session.new) + list(session.dirty) + list(session.deleted)
        )
        roots = _touched_roots(session)
        with session.no_autoflush:
            if actor is not None and not actor.system and not in_system():
                _check(session, actor)
            with system():
                for root in roots:
                    _recompute(root)
                _stamp(session, actor, roots)
            record_field_changes(session, actor)

    @event.listens_for(Session, "after_flush_postexec")
    def after_flush(session, flush_context):
        for obj in session.info.pop("_engine_flushing", ()):
            obj.__dict__.pop(_GRANTED, None)
