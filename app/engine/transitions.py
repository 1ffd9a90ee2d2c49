"""Running transitions: the one place a workflow step happens.

``fire()`` is reload-then-act: the caller (service.py) loads the row through the actor's scope
with its row lock; ``fire()`` asks the policy, applies submitted form data (if the transition
saves), checks required fields, locks the other records the transition decides on and checks its
conditions, flushes the user's changes through the guard, then performs the effects as the
system and writes the flow entry.  ``fire_batch()`` asks every record first and writes the
accepted ones together, reporting a result per record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from . import attachments, change_requests, changes, policy
from .constraints import unique_errors
from .guard import allow_delete, system
from .history import add_flow_entry
from .i18n import gettext as _
from .present import display
from .record import Record, now
from .workflow import (
    APPLY_CHANGE,
    COPY,
    DELETE,
    DISCARD_CHANGE,
    PROPOSE,
    SAVE,
    STATE,
    STATE_KINDS,
    Transition,
    find_transition,
)


@dataclass
class Context:
    session: Any
    actor: policy.Actor
    transition: Transition
    opinion: str | None = None
    inputs: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    at: dt.datetime = field(default_factory=now)
    # Effects may leave a message for the user (e.g. the issued licence number).
    messages: list[str] = field(default_factory=list)
    # PROPOSE: the validated changes {field: {"old", "new"}} that await review.
    proposal: dict | None = None
    # A record an effect made (生成报关单 from a 核注清单): the user is taken to it.
    new_record: Any = None


@dataclass
class Outcome:
    record: Record | None
    transition: Transition
    from_state: str | None
    to_state: str | None
    message: str
    new_record: Record | None = None
    deleted: bool = False


def creation_refusal(session, model: type[Record], actor: policy.Actor) -> tuple | None:
    """(status, reason) when this actor may not start a new record of this type now — its
    role, one-per-organisation record types, the record type's own rule (an institution under
    a disposal may not file again) — else None.  The 新增 buttons follow it."""
    if not policy.can_create(actor, model):
        return 403, _("您的角色无权新增「%(type)s」", type=model.meta().label)
    meta = model.meta()
    if meta.singleton_per_owner and meta.owner:
        exists = session.scalar(select(model.id).where(policy.own_rows(model, actor)).limit(1))
        if exists:
            return 409, _("本单位已有「%(type)s」，不能重复新增", type=meta.label)
    if meta.create_refusal is not None:
        reason = meta.create_refusal(session, actor)
        if reason:
            return 409, str(reason)
    return None


def new_record(session, model: type[Record], actor: policy.Actor) -> Record:
    """A fresh, unsaved record with its initial values, owner and initial state."""
    refused = creation_refusal(session, model, actor)
    if refused is not None:
        raise policy.Refused(refused[1], status=refused[0])
    meta = model.meta()
    with system():
        rec = model()
        if meta.owner and actor is not None:
            setattr(rec, meta.owner, policy.owner_of_new(actor))
        if meta.workflow is not None:
            rec.status = meta.workflow.initial
        for name, spec in meta.fields.items():
            if spec.initial is not None:
                value = spec.initial(actor, session) if callable(spec.initial) else spec.initial
                setattr(rec, name, value)
        if meta.on_create is not None:
            meta.on_create(rec, actor, session)
    return rec


def _number(session, record: Record, when: str) -> None:
    for numbering in record.meta().numbering:
        if numbering.on != when or getattr(record, numbering.field):
            continue
        name = numbering.sequence or f"{record.meta().resource}.{numbering.field}"
        setattr(record, numbering.field, numbering.make(session, record, name))


def _check_inputs(session, t: Transition, opinion, inputs, files=None,
                  record=None) -> tuple[str | None, dict]:
    errors: dict[str, list[str]] = {}
    if opinion is not None and not isinstance(opinion, str):  # JSON: {"a": 1}, ["x"], true
        errors["opinion"] = [_("格式错误")]
        opinion = None
    # A step that asks for no opinion records none.
    opinion = (opinion or "").strip() or None if t.opinion else None
    if t.opinion == "required" and not opinion and "opinion" not in errors:
        errors["opinion"] = [_("请填写%(label)s", label=t.opinion_label or _("意见"))]
    if opinion and len(opinion) > 2000:
        errors["opinion"] = [_("长度不能超过 %(n)s 个字符", n=2000)]
    values = {}
    for inp in t.inputs:
        if inp.widget == "file":
            upload = (files or {}).get(inp.name)
            if not upload or not upload[1]:
                if inp.required:
                    errors[inp.name] = [_("请选择要上传的文件")]
                continue
            slot = record.meta().slot(inp.slot) if record is not None else None
            try:
                attachments.check_file(slot, upload[0], upload[1])
            except ValueError as e:
                errors[inp.name] = [str(e)]
            continue
        raw = (inputs or {}).get(inp.name)
        try:
            value = changes.coerce(session, inp.spec, inp.type_, raw)
        except ValueError as e:
            errors[inp.name] = [str(e)]
            continue
        if inp.required and value in (None, ""):
            errors[inp.name] = [_("此项为必填项")]
            continue
        if inp.widget == "select" and value not in (None, "") and \
                str(value) not in {v for v, _label in inp.options(record)}:
            offered = "、".join(str(label) for _v, label in inp.options(record))
            errors[inp.name] = [_("「%(v)s」不可选，可选：%(offered)s", v=inp.label_of(value),
                                  offered=offered or _("无"))]
            continue
        msgs = changes.validate_value(inp.spec, value)
        if msgs:
            errors[inp.name] = msgs
            continue
        values[inp.name] = value
    if errors:
        # The dialog's own values: the message says which and why (they are not on the form).
        labels = {inp.name: inp.label for inp in t.inputs}
        labels["opinion"] = t.opinion_label or _("意见")
        raise changes.ValidationErrors(errors, _("；").join(
            _("%(label)s：%(value)s", label=labels.get(k, k), value=m)
            for k, msgs in errors.items() for m in msgs))
    return opinion, values


def fire(session, record: Record, name: str, actor: policy.Actor, *, data: dict | None = None,
         opinion: str | None = None, inputs: dict | None = None,
         files: dict | None = None) -> Outcome:
    """Fire transition ``name`` on ``record`` (already loaded through the actor's scope)."""
    t, ctx = _prepare(session, record, name, actor, data=data, opinion=opinion, inputs=inputs,
                      files=files)
    is_new = record.id is None
    if is_new:
        session.add(record)
    session.flush()  # user-mode flush: the guard checks what the user changed
    return _perform(session, record, t, ctx, is_new=is_new)


def _prepare(session, record, name, actor, *, data=None, opinion=None, inputs=None,
             files=None) -> tuple[Transition, Context]:
    """Everything that may refuse a transition, before anything is written as the system."""
    meta = record.meta()
    t = find_transition(type(record), name)
    if t is None:
        raise policy.Refused(_("未知操作：%(name)s", name=name), status=400)
    reason = policy.transition_refusal(actor, record, t)
    if reason:
        raise policy.Refused(reason, status=policy.refusal_status(actor, t, record))
    proposal = None
    if data is not None and t.kind == PROPOSE:
        proposal = change_requests.proposal(session, record, data, actor)
    elif data is not None and t.saves_form:
        try:
            changes.apply(session, record, data, actor, partial=False)
        except changes.ValidationErrors as e:
            if t.check_required:
                # One answer for everything to correct: wrong formats and empty fields.
                missing = changes.required_errors(record)
                if isinstance(t.check_required, list):
                    missing = {k: v for k, v in missing.items() if k in t.check_required}
                raise changes.ValidationErrors({**missing, **e.errors}) from None
            raise
    opinion, values = _check_inputs(session, t, opinion, inputs, files, record)
    if t.kind == PROPOSE and proposal is None:
        raise changes.ValidationErrors({"_record": [_("请修改后再提交变更")]},
                                       _("请修改后再提交变更"))
    if t.kind in (SAVE, STATE):
        errs = {**changes.preset_errors(record), **changes.order_errors(record)}
        if meta.clean is not None:
            errs.update(meta.clean(record, session) or {})
        if errs:
            raise changes.ValidationErrors(errs)
    if t.check_required:
        errs = changes.required_errors(record)
        if isinstance(t.check_required, list):
            errs = {k: v for k, v in errs.items() if k in t.check_required}
        if errs:
            raise changes.ValidationErrors(
                errs, _("%(title)s 缺少必填项", title=_record_name(record)))
    ctx = Context(session=session, actor=actor, transition=t, opinion=opinion, inputs=values,
                  files=files or {}, proposal=proposal)
    for locker in t.locks:
        lock(session, locker(record))
    for cond in t.conditions:
        msg = cond(record, ctx)
        if msg:
            raise policy.Refused(msg, status=422)
    dupes = unique_errors(session, record)
    if dupes:
        raise changes.ValidationErrors(dupes)
    return t, ctx


def lock(session, targets) -> None:
    """Row-lock and reload records (and their child lines) other than the one being fired."""
    if targets is None:
        return
    if not isinstance(targets, (list, tuple, set)):
        targets = [targets]
    for obj in targets:
        if obj is None or inspect(obj).transient or inspect(obj).pending:
            continue
        with session.no_autoflush:
            session.refresh(obj, with_for_update=True)
            _expire_children(session, obj)


def _expire_children(session, obj) -> None:
    meta = obj.meta() if hasattr(obj, "meta") else None
    if meta is None:
        return
    for cname in meta.children:
        if cname in inspect(obj).unloaded:
            continue
        for child in getattr(obj, cname):
            _expire_children(session, child)
            session.expire(child)
        session.expire(obj, [cname])


def _perform(session, record, t: Transition, ctx: Context, *, is_new: bool = False,
             flush: bool = True) -> Outcome:
    """The transition's own writes, as the system: state, numbers, effects, flow entry.
    A batch passes flush=False and flushes all its records at once."""
    meta = record.meta()
    wf = meta.workflow
    actor = ctx.actor
    from_state = None if is_new else policy.state_of(record)
    with system():
        if t.kind == COPY:
            new = copy_record(session, record, actor)
            session.flush()
            return Outcome(record, t, from_state, from_state,
                           _("复制成功，新单证：%(title)s", title=new.caption()), new_record=new)
        if t.kind == DELETE:
            title = _record_name(record)
            attachments.delete_all(session, record)
            allow_delete(record)
            for cname in meta.children:
                for child in getattr(record, cname):
                    allow_delete(child)
            session.delete(record)
            if flush:
                session.flush()
            return Outcome(None, t, from_state, None, _("%(title)s 已删除", title=title),
                           deleted=True)
        if is_new:
            _number(session, record, "create")
        if t.kind in (PROPOSE, APPLY_CHANGE, DISCARD_CHANGE):
            if t.kind == PROPOSE:
                change_requests.open_request(session, record, ctx.proposal, actor)
            else:
                change_requests.decide(session, record, actor, approve=t.kind == APPLY_CHANGE,
                                       opinion=ctx.opinion)
        if t.kind in STATE_KINDS:
            record.status = t.target
            _number(session, record, t.name)
        for inp in t.inputs:
            if inp.target and inp.name in ctx.inputs:
                setattr(record, inp.target, ctx.inputs[inp.name])
            if inp.widget == "file" and inp.name in ctx.files and ctx.files[inp.name][1]:
                filename, data = ctx.files[inp.name]
                attachments.add(session, record, inp.slot, filename, data, actor,
                                check_policy=False)
        for effect in t.effects:
            effect(record, ctx)
        if is_new:
            session.flush()  # the flow entry needs the new record's id
        to_state = record.status if wf else None
        if is_new and wf is not None:
            add_flow_entry(session, record, "create", None, wf.initial, actor)
        if t.kind in STATE_KINDS:
            add_flow_entry(session, record, t.name, from_state, to_state, actor,
                           ctx.opinion, role=_signing_role(actor, t),
                           inputs=None if ctx.opinion else _inputs_shown(t, ctx))
        if flush:
            session.flush()
    message = str(t.success(record) if callable(t.success) else t.success_message)
    if ctx.messages:
        message = _("，").join([message, *ctx.messages])
    return Outcome(record, t, from_state, to_state, message, new_record=ctx.new_record)


def _signing_role(actor, t: Transition) -> str | None:
    """A step is signed with the role it is given to (审核通过 by 企业审单, not 企业)."""
    return policy.acting_role(actor, t.roles)


def _inputs_shown(t: Transition, ctx: Context) -> dict[str, str] | None:
    """What a transition asked for (退回原因, 证书编号 …) stands in its flow entry, by input
    name: the history shows it with the input's label in the reader's language."""
    return {inp.name: present_value(ctx.inputs[inp.name]) for inp in t.inputs
            if inp.widget != "file" and not inp.secret and ctx.inputs.get(inp.name)} or None


def present_value(value) -> str:
    return display(None, None, value)


def _record_name(record: Record) -> str:
    return f"{record.meta().label} {record.caption()}".strip()


def copy_record(session, record: Record, actor: policy.Actor) -> Record:
    """A new draft with the copyable values and child lines; no number, history, attachments."""
    model = type(record)
    meta = model.meta()
    new = new_record(session, model, actor) if policy.can_create(actor, model) else model()
    with system():
        if meta.owner:
            setattr(new, meta.owner, getattr(record, meta.owner))
        for name, spec in meta.fields.items():
            if spec.copy and not spec.readonly:
                setattr(new, name, getattr(record, name))
        for cname, cspec in meta.children.items():
            if cspec.copy:
                setattr(new, cname, [_copy_child(c) for c in getattr(record, cname)])
        if meta.on_create is not None:
            meta.on_create(new, actor, session)
        session.add(new)
        session.flush()
        _number(session, new, "create")
    return new


def _copy_child(child):
    cmeta = child.meta()
    new = type(child)()
    for name, spec in cmeta.fields.items():
        if spec.copy:
            setattr(new, name, getattr(child, name))
    for cname, cspec in cmeta.children.items():
        if cspec.copy:
            setattr(new, cname, [_copy_child(c) for c in getattr(child, cname)])
    return new


@dataclass
class BatchResult:
    id: Any
    ok: bool
    message: str
    status: str | None = None
    status_label: str | None = None
    new_id: int | None = None
    title: str = ""


def fire_batch(session, model: type[Record], ids: list, name: str, actor: policy.Actor, *,
               opinion: str | None = None, inputs: dict | None = None) -> list[BatchResult]:
    """One result per id: refused records are reported and left as they were, the others are
    performed and written together (batch transitions take no form data)."""
    wf = model.meta().workflow
    t = find_transition(model, name)
    if t is None:
        raise policy.Refused(_("未知操作：%(name)s", name=name), status=400)
    if not t.batch:
        raise policy.Refused(_("「%(action)s」不支持批量操作", action=t.label), status=400)
    clean_ids = []
    for raw in ids:
        value = policy.parse_id(raw)
        if value is None:
            value = str(raw)[:40]
        if value not in clean_ids:
            clean_ids.append(value)
    numeric = [i for i in clean_ids if isinstance(i, int)]
    # Load every row of the batch with its child lines in a handful of queries.
    loaded = {}
    if numeric:
        opts = eager_children(model)
        for chunk in range(0, len(numeric), 500):
            part = numeric[chunk:chunk + 500]
            # Row-locked in id order (two batches over the same records never deadlock) and
            # reloaded: each record is checked as it is now, not as a page showed it.
            q = (session.query(model).filter(model.id.in_(part), policy.scope(model, actor))
                 .order_by(model.id).with_for_update(of=model).populate_existing())
            for rec in q.options(*opts):
                loaded[rec.id] = rec
    results: list[BatchResult] = []
    # 1. Ask every record whether it may go (policy, required fields, conditions); nothing is
    #    written yet, so a refused record leaves no trace.  2. Perform the accepted ones and
    #    write them in one flush — one transaction for the batch, a result per record.
    for rid in clean_ids:
        rec = loaded.get(rid) if isinstance(rid, int) else None
        if rec is None:
            results.append(BatchResult(rid, False, _("记录不存在或无权访问")))
            continue
        title = rec.caption()
        try:
            with session.no_autoflush:
                t_, ctx = _prepare(session, rec, name, actor, opinion=opinion, inputs=inputs)
        except (policy.Refused, changes.ValidationErrors) as e:
            msg = str(e.message) if isinstance(e, policy.Refused) else e.summary(
                _error_labels(rec))
            text = msg if title and title in msg else _(
                "%(label)s：%(value)s", label=_record_name(rec), value=msg)
            results.append(BatchResult(rid, False, text, title=title))
            continue
        with session.no_autoflush:
            out = _perform(session, rec, t_, ctx, flush=False)
        results.append(BatchResult(
            rid, True, out.message, status=out.to_state,
            status_label=str(wf.state_label(out.to_state)) if wf and out.to_state else None,
            title=title,
        ))
    with system():  # only the transitions' own writes are pending: no form data in a batch
        session.flush()
    return results


def batch_summary(transition: Transition, results: list[BatchResult]) -> str:
    """申报成功 3 条；申报失败 1 条：… — what succeeded, then what failed and why."""
    ok = sum(1 for r in results if r.ok)
    failed = [r for r in results if not r.ok]
    parts = []
    if ok:
        parts.append(_("%(done)s %(n)s 条", done=transition.success_message, n=ok))
    if failed:
        parts.append(_("%(action)s失败 %(n)s 条：", action=transition.label, n=len(failed))
                     + _("；").join(r.message for r in failed))
    return _("；").join(parts)


def _error_labels(record) -> dict[str, str]:
    labels = {}
    meta = record.meta()
    for name, spec in meta.fields.items():
        labels[name] = str(spec.label)
    for cname, cspec in meta.children.items():
        labels[cname] = str(cspec.label)
        cmeta = meta.child_model(cname).meta()
        for i in range(len(getattr(record, cname))):
            for fname, fspec in cmeta.fields.items():
                labels[f"{cname}-{i}-{fname}"] = _("%(table)s第%(n)s行 %(field)s",
                                                   table=cspec.label, n=i + 1, field=fspec.label)
    return labels


def error_labels(record) -> dict[str, str]:
    return _error_labels(record)


def eager_children(model, parent_loader=None) -> list:
    """selectinload options for every child table, nested ones included."""
    opts = []
    for cname in model.meta().children:
        loader = (parent_loader.selectinload(getattr(model, cname)) if parent_loader is not None
                  else selectinload(getattr(model, cname)))
        opts.append(loader)
        opts.extend(eager_children(model.meta().child_model(cname), loader))
    return opts


def available(record: Record, actor) -> list[Transition]:
    return policy.allowed_transitions(actor, record)


def is_new(record) -> bool:
    return inspect(record).transient or inspect(record).pending
