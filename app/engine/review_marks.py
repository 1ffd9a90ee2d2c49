"""可视化审核: a reviewer marks the boxes of a record's rendered form green (correct) or red
(wrong); one click green, two red, three back to none.  Marks are saved as they are made and
belong to one review round; passing (审核通过) is refused while any box is red, returning (退回)
names the red boxes; each round stays in the history (who, when, which boxes, the opinion); the
preparer of a returned record sees the red boxes on the form itself.

A record type declares it with a feature (features.py)::

    Meta.features = [VisualReview(template="cd/visual_review.html", states=("under_review",),
                                  pass_transition="review_pass",
                                  return_transition="review_return",
                                  paths=review_paths, form_paths=review_form_paths)]

and its review transitions use ``no_red_marks`` (condition of the pass), ``close_round(outcome)``
(effect of both) and ``not_prepared_by(...)`` (nobody reviews what they prepared).  Endpoints:

    GET  /<resource>/<pk>/visual_review              the screen (the record's declared template)
    POST /<resource>/<pk>/visual_review/marks        {"marks": {path: "green"|"red"|null}}
    GET|PUT /api/v1/<resource>/<pk>/review_marks     the current round's marks / set marks

Whoever may fire the return transition on the record now (its state, the reviewer's role, not
its preparer) may mark; the record is loaded through the actor's scope like everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, jsonify, render_template, request, url_for
from flask_appbuilder import BaseView, Model, expose
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.security.decorators import permission_name, protect
from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import mapped_column

from . import policy, service
from . import workflow as wf_mod
from .features import Feature, signed_in
from .i18n import gettext as _
from .record import now
from .rest_refusals import LocalRefusals

MARKS = ("green", "red")
MAX_MARKS = 2000  # per request: a form has a few hundred boxes at most


class ReviewMark(Model):
    """The current colour of one box in one review round of one record."""

    __tablename__ = "review_mark"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    round_no = mapped_column(Integer, nullable=False)
    path = mapped_column(String(120), nullable=False)
    mark = mapped_column(String(5), nullable=False)
    actor_id = mapped_column(Integer)
    actor_name = mapped_column(String(128), nullable=False, default="")
    at = mapped_column(DateTime, nullable=False, default=now)

    __table_args__ = (
        UniqueConstraint("entity", "record_id", "round_no", "path", name="uq_review_mark"),
    )


class ReviewRound(Model):
    """A finished review round: who decided, when, the red and green boxes, the opinion."""

    __tablename__ = "review_round"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    round_no = mapped_column(Integer, nullable=False)
    outcome = mapped_column(String(10), nullable=False)  # passed | returned
    reviewer_id = mapped_column(Integer)
    reviewer_name = mapped_column(String(128), nullable=False, default="")
    closed_at = mapped_column(DateTime, nullable=False, default=now)
    opinion = mapped_column(Text)
    # JSON: [[path, label], …] of the red boxes (the label as closed, in the language of the
    # moment: shown only for a box the form no longer has, see round_red); the green ones are
    # counted
    red = mapped_column(Text, nullable=False, default="[]")
    green_count = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_review_round_record", "entity", "record_id", "round_no", unique=True),
    )

    @property
    def red_boxes(self) -> list[tuple[str, str]]:
        """(path, label as closed) of each red box; a bare path stands for itself."""
        out = []
        for x in json.loads(self.red or "[]"):
            if isinstance(x, str):
                out.append((x, x))
            elif x:
                out.append((str(x[0]), str(x[1]) if len(x) > 1 else str(x[0])))
        return out


@dataclass
class VisualReview(Feature):
    template: str
    states: tuple[str, ...]
    pass_transition: str
    return_transition: str
    # callable(record) -> {path: label} of every box that may be marked
    paths: Callable
    # callable(record, path) -> the form paths a box stands for (the red ones on the form)
    form_paths: Callable
    # States in which the boxes of the last returned round show red on the form
    show_red_in: tuple[str, ...] = ()

    def views(self, model):
        return [_view_for(model, self)]

    def apis(self, model):
        return [_api_for(model, self)]


def feature_of(model) -> VisualReview | None:
    return next((f for f in model.meta().features if isinstance(f, VisualReview)), None)


# --- rounds and marks ---------------------------------------------------------------------------
def current_round(session, record) -> int:
    last = session.scalar(select(func.max(ReviewRound.round_no)).where(
        ReviewRound.entity == record.meta().resource, ReviewRound.record_id == record.id))
    return (last or 0) + 1


def marks_of(session, record, round_no: int | None = None) -> dict[str, str]:
    round_no = round_no or current_round(session, record)
    rows = session.execute(select(ReviewMark.path, ReviewMark.mark).where(
        ReviewMark.entity == record.meta().resource, ReviewMark.record_id == record.id,
        ReviewMark.round_no == round_no).order_by(ReviewMark.id)).all()
    return {p: m for p, m in rows}


def rounds_of(session, record) -> list[ReviewRound]:
    return list(session.scalars(select(ReviewRound).where(
        ReviewRound.entity == record.meta().resource, ReviewRound.record_id == record.id)
        .order_by(ReviewRound.round_no)))


def refusal(actor, record, feature: VisualReview) -> str | None:
    """Why this actor may not mark this record now (None: may)."""
    if record.status not in feature.states:
        wf = record.meta().workflow
        return _("当前状态「%(state)s」不能审核", state=wf.state_label(record.status))
    t = wf_mod.find_transition(type(record), feature.return_transition)
    return policy.transition_refusal(actor, record, t)


def _clean_marks(body, record, feature) -> tuple[dict, dict]:
    """{path: mark or None} from a request body, and the errors of what is not."""
    errors: dict[str, list[str]] = {}
    marks = body.get("marks") if isinstance(body, dict) else None
    if not isinstance(marks, dict) or not marks:
        return {}, {"marks": [_("请提供要标记的字段：{\"marks\": {\"字段\": \"green\" | \"red\" | null}}")]}
    if len(marks) > MAX_MARKS:
        return {}, {"marks": [_("一次最多标记 %(n)s 个字段", n=MAX_MARKS)]}
    known = feature.paths(record)
    out = {}
    for path, mark in marks.items():
        if not isinstance(path, str) or path not in known:
            errors[str(path)[:120]] = [_("没有这个可审核的字段")]
        elif mark not in (None, "", *MARKS):
            errors[path] = [_("标记只能是 green、red 或 null")]
        else:
            out[path] = mark or None
    return out, errors


def set_marks(session, model, actor, pk, body) -> service.Answer:
    """Save marks of the current round (row lock on the record: one reviewer's clicks and a
    decision do not cross)."""
    feature = feature_of(model)

    def work() -> service.Answer:
        record = service.load(session, model, pk, actor, write=True)
        reason = refusal(actor, record, feature)
        if reason:
            return service.Answer(409 if policy.has_any(actor, _review_roles(model, feature)) else 403,
                                  reason)
        marks, errors = _clean_marks(body, record, feature)
        if errors:
            return service.Answer(422, _("标记无效"), errors)
        entity, round_no = model.meta().resource, current_round(session, record)
        existing = {m.path: m for m in session.scalars(select(ReviewMark).where(
            ReviewMark.entity == entity, ReviewMark.record_id == record.id,
            ReviewMark.round_no == round_no, ReviewMark.path.in_(list(marks))))}
        for path, mark in marks.items():
            row = existing.get(path)
            if mark is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(ReviewMark(entity=entity, record_id=record.id, round_no=round_no,
                                       path=path, mark=mark, actor_id=actor.user_id,
                                       actor_name=actor.display_name, at=now()))
            else:
                row.mark, row.actor_id, row.actor_name, row.at = (
                    mark, actor.user_id, actor.display_name, now())
        session.flush()
        return service.Answer(200, _("已保存"), record=record,
                               value=state_of(session, record, feature, round_no))

    return service.run(session, work)


def state_of(session, record, feature, round_no=None) -> dict:
    """What the API answers: the current round, its marks, the red boxes, the past rounds."""
    round_no = round_no or current_round(session, record)
    marks = marks_of(session, record, round_no)
    labels = feature.paths(record)
    return {
        "round": round_no,
        "marks": marks,
        "red": [{"path": p, "label": labels.get(p, p)} for p, m in marks.items() if m == "red"],
        "rounds": [{
            "round": r.round_no, "outcome": r.outcome, "reviewer": r.reviewer_name,
            "at": r.closed_at.isoformat(), "opinion": r.opinion,
            "red": round_red(r, labels),
            "green_count": r.green_count,
        } for r in rounds_of(session, record)],
    }


def round_red(review_round, labels: dict) -> list[dict]:
    """The red boxes of a closed round, each labelled in the reader's language from its path
    (``labels``: the feature's path -> label now); a box the form no longer has (a goods line
    removed since) keeps the label it was closed with."""
    return [{"path": p, "label": str(labels[p]) if p in labels else lbl}
            for p, lbl in review_round.red_boxes]


def _review_roles(model, feature) -> frozenset:
    roles = set()
    for name in (feature.pass_transition, feature.return_transition):
        t = wf_mod.find_transition(model, name)
        roles |= set(t.roles) if t else set()
    return frozenset(roles)


# --- what the review transitions declare ------------------------------------------------------
def no_red_marks(record, ctx):
    """Condition of 审核通过: no box of this round is red."""
    feature = feature_of(type(record))
    marks = marks_of(ctx.session, record)
    labels = feature.paths(record)
    red = [labels.get(p, p) for p, m in marks.items() if m == "red"]
    if red:
        return _("以下字段已标为错误（红色），不能审核通过：%(fields)s", fields=_("、").join(red))
    return None


def close_round(outcome: str):
    """Effect of 审核通过 / 退回: the round is kept with its red boxes and the opinion."""

    def effect(record, ctx):
        feature = feature_of(type(record))
        session = ctx.session
        round_no = current_round(session, record)
        marks = marks_of(session, record, round_no)
        labels = feature.paths(record)
        red = [[p, str(labels.get(p, p))] for p, m in marks.items() if m == "red"]
        session.add(ReviewRound(
            entity=record.meta().resource, record_id=record.id, round_no=round_no,
            outcome=outcome, reviewer_id=ctx.actor.user_id, reviewer_name=ctx.actor.display_name,
            closed_at=ctx.at, opinion=ctx.opinion, red=json.dumps(red, ensure_ascii=False),
            green_count=sum(1 for m in marks.values() if m == "green")))
        if outcome == "returned" and red:
            ctx.messages.append(_("标红字段：%(fields)s", fields=_("、").join(x[1] for x in red)))

    return effect


def not_prepared_by(preparers: Callable, message):
    """``when`` of the review transitions: refused to the record's preparers
    (``preparers(record)`` -> their user ids)."""

    def when(record, actor):
        if actor.user_id is not None and actor.user_id in preparers(record):
            return str(message)
        return None

    return when


def form_marks(session, record, actor) -> dict[str, str]:
    """Form path -> mark to show on the detail form: the current round's while it is reviewed,
    the red boxes of the last returned round while the record is being corrected."""
    feature = feature_of(type(record))
    if feature is None or record.id is None:
        return {}
    if record.status in feature.states:
        marks = marks_of(session, record)
    elif record.status in feature.show_red_in:
        last = session.scalar(select(ReviewRound).where(
            ReviewRound.entity == record.meta().resource, ReviewRound.record_id == record.id)
            .order_by(ReviewRound.round_no.desc()).limit(1))
        if last is None or last.outcome != "returned":
            return {}
        marks = {p: "red" for p, _label in last.red_boxes}
    else:
        return {}
    out = {}
    for path, mark in marks.items():
        for fp in feature.form_paths(record, path):
            if out.get(fp) != "red":
                out[fp] = mark
    return out


# --- the screen -------------------------------------------------------------------------------
class ReviewView(BaseView):
    model = None
    feature: VisualReview = None
    route_base = None
    default_view = "visual_review"

    @expose("/<int:pk>/visual_review")
    @signed_in
    def visual_review(self, actor, pk):
        from . import present

        session = current_app.appbuilder.session
        record = service.load(session, self.model, pk, actor, lines=True)
        feature = self.feature
        reason = refusal(actor, record, feature)
        buttons = [t for t in (wf_mod.find_transition(self.model, feature.pass_transition),
                               wf_mod.find_transition(self.model, feature.return_transition))
                   if t is not None and policy.may_fire(actor, record, t)]
        state = state_of(session, record, feature)
        return render_template(
            feature.template, appbuilder=current_app.appbuilder, record=record, r=record,
            model=self.model, meta=self.model.meta(), present=present, session=session,
            review=state, labels=feature.paths(record), can_mark=reason is None,
            refusal=reason, buttons=buttons, endpoint=f"{self.model.meta().resource}_view",
            marks_url=url_for(f"{type(self).__name__}.save_marks", pk=record.id),
            feature_return=feature.return_transition)

    @expose("/<int:pk>/visual_review/marks", methods=["POST"])
    @signed_in
    def save_marks(self, actor, pk):
        body = request.get_json(silent=True)
        answer = set_marks(current_app.appbuilder.session, self.model, actor, pk, body)
        if not answer.ok:
            out = {"message": str(answer.message)}
            if answer.errors:
                out["errors"] = answer.errors
            return jsonify(out), answer.status
        return jsonify({"message": answer.message, **answer.value})


def _view_for(model, feature) -> type:
    resource = model.meta().resource
    return type(f"{resource}_review_view", (ReviewView,), {
        "model": model, "feature": feature, "route_base": f"/{resource}"})


# --- the REST API -------------------------------------------------------------------------------
class ReviewApi(LocalRefusals, BaseApi):
    model = None
    feature: VisualReview = None
    allow_browser_login = False

    def _json(self, answer):
        if not answer.ok:
            body = {"message": str(answer.message)}
            if answer.errors:
                body["errors"] = answer.errors
            return self.response(answer.status, **body)
        return self.response(200, message=str(answer.message), **answer.value)

    @api_expose("/<int:pk>/review_marks", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def get_marks(self, pk):
        """The current review round's marks, its red boxes and the past rounds.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: "{round, marks: {path: green|red}, red, rounds}"}
            404: {description: No such record in the user's scope}
        """
        session = current_app.appbuilder.session
        actor = policy.current_actor()
        try:
            record = policy.get_scoped(session, self.model, pk, actor)
        except policy.Refused as e:
            session.rollback()
            return self.response(e.status, message=str(e.message))
        return self.response(200, **state_of(session, record, self.feature))

    @api_expose("/<int:pk>/review_marks", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put_marks(self, pk):
        """Mark boxes of the current round: {"marks": {"<field or goods.N.field>":
        "green" | "red" | null}} (null resets).
        ---
        put:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema: {type: object, properties: {marks: {type: object}}}
          responses:
            200: {description: The round's marks after the change}
            404: {description: No such record in the user's scope}
            409: {description: Not in review, or the user prepared it}
            422: {description: Unknown box or mark}
        """
        body = request.get_json(silent=True)
        answer = set_marks(current_app.appbuilder.session, self.model, policy.current_actor(),
                           pk, body)
        return self._json(answer)


def _api_for(model, feature) -> type:
    resource = model.meta().resource
    return type(f"{resource}_review_api", (ReviewApi,), {
        "model": model, "feature": feature, "resource_name": resource,
        "openapi_spec_tag": resource})
