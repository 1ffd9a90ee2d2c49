"""Change requests: edits of an accepted record that take effect only once reviewed.

A workflow declares them with three transition kinds (workflow.py): PROPOSE (e.g. 变更修改 of an
accepted filing: the yellow fields are edited as usual, but the edits are stored here and the
record is left as it was), APPLY_CHANGE (the reviewer approves: the record is updated and the
field changes enter its history) and DISCARD_CHANGE (the reviewer rejects: nothing changes).
While a change is pending, the record's screen shows old and new side by side.
"""

from __future__ import annotations

import json

from flask_appbuilder import Model
from sqlalchemy import DateTime, Index, Integer, String, Text, inspect, select
from sqlalchemy.orm import mapped_column

from . import changes, policy, present
from .constraints import unique_errors
from .i18n import gettext as _
from .record import now

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class ChangeRequest(Model):
    __tablename__ = "change_request"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    status = mapped_column(String(20), nullable=False, default=PENDING)
    # {"field": {"old": json value, "new": json value}, ...}
    changes = mapped_column(Text, nullable=False)
    requested_by_id = mapped_column(Integer)
    requested_by_name = mapped_column(String(128))
    requested_at = mapped_column(DateTime, nullable=False, default=now)
    decided_by_name = mapped_column(String(128))
    decided_at = mapped_column(DateTime)
    opinion = mapped_column(Text)

    __table_args__ = (Index("ix_change_request_record", "entity", "record_id", "status"),)

    @property
    def values(self) -> dict:
        return json.loads(self.changes)


def proposal(session, record, data: dict, actor) -> dict:
    """What the submitted form would change, validated like any edit; the record stays as it
    was.  Only the record's own fields take part (child tables are not changed this way)."""
    meta = record.meta()
    fields = {k: v for k, v in data.items() if k in meta.fields or k == "version"}
    try:
        changes.apply(session, record, fields, actor, partial=False)
    except changes.ValidationErrors as e:  # one answer for everything to correct
        raise changes.ValidationErrors({**changes.required_errors(record), **e.errors}) from None
    # The record as it would become passes every check a complete save passes: the reviewer
    # approves values as they are and cannot mend a blank or a clash then.
    errors = {**changes.required_errors(record), **changes.order_errors(record)}
    if meta.clean is not None:
        errors.update(meta.clean(record, session) or {})
    errors.update(unique_errors(session, record))
    if errors:
        raise changes.ValidationErrors(errors)
    ins = inspect(record)
    diff = {}
    for name in meta.fields:
        hist = ins.attrs[name].history
        if hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                diff[name] = {"old": present.json_value(old), "new": present.json_value(new)}
    session.expire(record, list(meta.fields))  # back to what is stored
    if not diff:
        raise changes.ValidationErrors({"_record": [_("没有修改任何内容")]},
                                       _("没有修改任何内容"))
    return diff


def pending(session, record) -> ChangeRequest | None:
    wf = record.meta().workflow
    if record.id is None or wf is None or not wf.proposal_states:
        return None
    return session.scalar(
        select(ChangeRequest)
        .where(ChangeRequest.entity == record.meta().resource,
               ChangeRequest.record_id == record.id, ChangeRequest.status == PENDING)
        .order_by(ChangeRequest.id.desc()).limit(1))


def open_request(session, record, diff: dict, actor) -> ChangeRequest:
    cr = ChangeRequest(entity=record.meta().resource, record_id=record.id, status=PENDING,
                       changes=json.dumps(diff, ensure_ascii=False),
                       requested_by_id=actor.user_id if actor else None,
                       requested_by_name=actor.display_name if actor else None,
                       requested_at=now())
    session.add(cr)
    return cr


def decide(session, record, actor, *, approve: bool, opinion: str | None) -> ChangeRequest:
    """Apply (as the system: the reviewer may not edit the fields himself) or reject."""
    cr = pending(session, record)
    if cr is None:
        raise policy.Refused(_("没有待审核的变更"), status=409)
    if approve:
        meta = record.meta()
        for name, pair in cr.values.items():
            spec = meta.fields.get(name)
            if spec is None:
                continue
            setattr(record, name, changes.coerce(session, spec, meta.column_type(name),
                                                 pair["new"]))
    cr.status = APPROVED if approve else REJECTED
    cr.decided_by_name = actor.display_name if actor else None
    cr.decided_at = now()
    cr.opinion = opinion
    return cr


def rows(session, record, cr: ChangeRequest) -> list[tuple[str, str, str]]:
    """(label, old, new) as the reader sees them, in the order of the form."""
    meta = record.meta()
    out = []
    values = cr.values
    for name, spec in meta.fields.items():
        if name not in values:
            continue
        coltype = meta.column_type(name)
        shown = []
        for key in ("old", "new"):
            try:
                value = changes.coerce(session, spec, coltype, values[name][key])
            except ValueError:
                value = values[name][key]
            shown.append(present.display(session, spec, value, record, coltype))
        out.append((str(spec.label), shown[0], shown[1]))
    return out
