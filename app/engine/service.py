"""The one request path of every channel: load through scope, check, fire, commit, answer.

The HTML screens (views.py) and the REST API (api.py) are thin callers of this module: each turns
an HTTP request into a call here and the :class:`Answer` it gets back into a page, a redirect or
JSON.  Nothing else loads a record for writing, fires a transition or commits.

- Loading for a write takes the record's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
  serialises writing transactions anyway) and reloads it, so the state, version and values that
  the checks read are the ones the write replaces: two officers approving at once give one
  approval and one "当前状态…不能…" answer, not a lost update.
- Every refusal becomes an Answer with a 4xx status and a message in the user's language: the
  policy's refusals, validation errors (422), a stale version or a lost race (409), a unique or
  check constraint of the database (409), values the database cannot hold (422).  The session is
  rolled back, so a refused request stores nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import attachments, changes, policy, submissions, workflow
from . import transitions as wf
from .constraints import integrity_message, violation
from .guard import PolicyViolation
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .record import Record

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """What a channel shows for one request."""

    status: int = 200
    message: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    record: Record | None = None
    new_record: Record | None = None
    deleted: bool = False
    results: list = field(default_factory=list)
    transition: Any = None
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.status < 400


class Failed(Exception):
    """Carries a refusal Answer out of nested service code."""

    def __init__(self, answer: Answer):
        super().__init__(answer.message)
        self.answer = answer


# --- loading ---------------------------------------------------------------------------------
def load(session, model, pk, actor, *, write: bool = False, lines: bool = False,
         options=()) -> Record:
    """One record through the actor's scope (404 outside it); ``write`` takes its row lock and
    reloads it with its child lines.  ``lines``: read with its child lines, one statement per
    child table (a form or a print shows them all), not one per parent line."""
    opts = list(options)
    if write or lines:
        opts = list(wf.eager_children(model)) + opts
    return policy.get_scoped(session, model, pk, actor, options=opts, for_update=write)


def load_many(session, model, ids, actor, *, write: bool = False) -> list[Record]:
    """Records by id, in the order given, through the actor's scope (404 if any is outside)."""
    clean = [policy.parse_id(i) for i in ids]
    if any(i is None for i in clean):
        raise policy.NotFound(_("记录不存在或无权访问"))
    q = (select(model).where(model.id.in_(clean), policy.scope(model, actor))
         .options(*wf.eager_children(model)).order_by(model.id))
    if write:
        q = q.with_for_update(of=model).execution_options(populate_existing=True)
    rows = {r.id: r for r in session.scalars(q)}
    if any(i not in rows for i in clean):
        raise policy.NotFound(_("记录不存在或无权访问"))
    return [rows[i] for i in clean]


# --- answering -------------------------------------------------------------------------------
def refusal(session, e: BaseException, record=None) -> Answer:
    """The Answer for an exception a write path raised (the session is rolled back)."""
    if isinstance(record, dict):
        record = record.get("record")
    if isinstance(e, IntegrityError):
        found = violation(e, record)  # before the rollback forgets the values
        session.rollback()
        message, errors = integrity_message(found)
        return Answer(409, message, errors)
    session.rollback()
    if isinstance(e, Failed):
        return e.answer
    if isinstance(e, changes.ValidationErrors):
        return Answer(422, e.message, e.errors)
    if isinstance(e, (policy.Refused, PolicyViolation)):
        return Answer(e.status, str(e.message))
    if isinstance(e, StaleDataError):
        return Answer(409, _("该记录已被他人修改，请刷新后重试"))
    if isinstance(e, DBAPIError):
        return _database_refusal(e)
    raise e


# SQLSTATE classes of errors a user's input or a concurrent user causes (PostgreSQL).
_SQLSTATE_ANSWERS = {
    "22": (422, _l("数值或文本超出允许范围")),  # data exception (out of range, bad encoding …)
    "40": (409, _l("操作与其他用户的操作冲突，请重试")),  # serialization failure, deadlock
    "55P03": (409, _l("记录正被其他用户处理，请稍后重试")),  # lock not available
}


def _database_refusal(e: DBAPIError) -> Answer:
    code = getattr(getattr(e, "orig", None), "sqlstate", None) or ""
    for prefix, (status, message) in _SQLSTATE_ANSWERS.items():
        if code.startswith(prefix):
            log.info("database refused a request (%s): %s", code, e.orig)
            return Answer(status, str(message))
    text = str(getattr(e, "orig", e)).lower()
    if "locked" in text or "deadlock" in text:  # SQLite: the busy timeout ran out
        return Answer(409, _("记录正被其他用户处理，请稍后重试"))
    if "too large" in text or "out of range" in text or "overflow" in text:
        return Answer(422, _("数值或文本超出允许范围"))
    raise e


def run(session, fn, *, record=None) -> Answer:
    """Call ``fn()`` (which returns an Answer) in one transaction: commit it when it succeeds,
    roll back and answer the refusal when it does not."""
    try:
        answer = fn()
        if answer.ok:
            session.commit()
        else:
            session.rollback()
        return answer
    except (Failed, changes.ValidationErrors, policy.Refused, PolicyViolation, StaleDataError,
            DBAPIError) as e:
        return refusal(session, e, record)
    except OverflowError:
        session.rollback()
        return Answer(422, _("数值或文本超出允许范围"))


# --- writes ----------------------------------------------------------------------------------
REPLAYED = "replayed"


def fire(session, model, actor, name: str, *, pk=None, data: dict | None = None,
         opinion=None, inputs: dict | None = None, files: dict | None = None,
         require_version: bool = False, once: str | None = None) -> Answer:
    """Fire transition ``name`` on record ``pk`` (or on a new record when pk is None).  With a
    submission key ``once`` (submissions.py) a record the step makes — the new record, a copy,
    a record of another type — is made once: sent again, the answer is the record already made
    (``value`` REPLAYED)."""
    holder: dict = {}

    def replayed():
        earlier = submissions.made(session, actor, once) if once else None
        if earlier is None:
            return None
        message = _("已保存：这是同一表单的重复提交，没有再新建")
        if pk is None:
            return Answer(200, message, record=earlier, value=REPLAYED)
        return Answer(200, message, record=earlier, new_record=earlier, value=REPLAYED)

    def work() -> Answer:
        earlier = replayed()
        if earlier is not None:
            return earlier
        if pk is None:
            record = wf.new_record(session, model, actor)
        else:
            record = load(session, model, pk, actor, write=True)
        holder["record"] = record
        if require_version and data is not None and record.id is not None:
            changes.require_version(record, data)
        out = wf.fire(session, record, name, actor, data=data, opinion=opinion, inputs=inputs,
                      files=files)
        made = out.new_record if pk is not None else out.record
        if once and made is not None and made.id is not None:
            submissions.remember(session, actor, made, once)
        return Answer(200, out.message, record=out.record, new_record=out.new_record,
                      deleted=out.deleted, transition=out.transition)

    answer = run(session, work, record=holder)
    if once and answer.status == 409:
        # A submission of the same key committed meanwhile: its record is the answer.
        answer = replayed() or answer
    return answer


def update(session, model, actor, pk, data: dict, *, require_version: bool = True) -> Answer:
    """Save the submitted values of a record (暂存); where nothing may be edited now, an
    unchanged body is accepted and any change refused."""
    holder: dict = {}

    def work() -> Answer:
        record = load(session, model, pk, actor, write=True)
        holder["record"] = record
        if require_version:
            changes.require_version(record, data)
        save = workflow.find_transition(model, "save")
        reason = save is not None and policy.transition_refusal(actor, record, save)
        if save is None or reason:
            # Another office's record: that is the reason, whatever the fields.
            other = save is not None and policy.outside_edit_scope(actor, record, save.roles)
            changes.apply(session, record, data, actor, readonly=reason if other else True)
            return Answer(200, "", record=record)
        out = wf.fire(session, record, "save", actor, data=data)
        return Answer(200, out.message, record=out.record)

    return run(session, work, record=holder)


def batch(session, model, actor, name: str, ids: list, *, opinion=None,
          inputs: dict | None = None) -> Answer:
    """A batch transition: one result per id; refused records stay as they were."""

    def work() -> Answer:
        results = wf.fire_batch(session, model, ids, name, actor, opinion=opinion,
                                inputs=inputs)
        t = workflow.find_transition(model, name)
        ok = all(r.ok for r in results)
        return Answer(200, wf.batch_summary(t, results), results=results, transition=t,
                      value=ok)

    return run(session, work)


def attach(session, model, actor, pk, slot: str, uploads: list[tuple[str, bytes]]) -> Answer:
    """Store uploaded files in a record's attachment slot."""

    def work() -> Answer:
        record = load(session, model, pk, actor, write=True)
        stored = []
        for filename, data in uploads:
            try:
                stored.append(attachments.add(session, record, slot, filename, data, actor))
            except ValueError as e:
                return Answer(422, str(e), {"file": [str(e)]})
        session.flush()
        return Answer(201, _("上传成功"), record=record, value=stored)

    return run(session, work)


def detach(session, model, actor, pk, attachment_id) -> Answer:
    def work() -> Answer:
        record = load(session, model, pk, actor, write=True)
        attachments.remove(session, record, attachment_id, actor)
        return Answer(200, _("附件已删除"), record=record)

    return run(session, work)
