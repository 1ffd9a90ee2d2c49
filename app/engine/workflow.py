"""Workflows are declared data: states and a table of transitions (transitions.py runs them).

A transition is one row of a table — (name, label, from states, to state, roles, kind, batch,
conditions, effects, opinion, inputs, locks).  The same table drives the buttons on a form, the
batch buttons on a list, the REST action endpoints and the 待办 list, so they can never disagree.
``review_flow()`` declares the common draft → review → approved / returned workflow in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String

from .fields import FieldSpec
from .fields import field as field_
from .i18n import lazy_gettext as _l
from .i18n import lazy_pgettext

ANY = "*"
SAVE, STATE, COPY, DELETE = "save", "state", "copy", "delete"
# Change requests (change_requests.py): propose edits of an accepted record, apply or discard.
PROPOSE, APPLY_CHANGE, DISCARD_CHANGE = "propose", "apply_change", "discard_change"
STATE_KINDS = (STATE, PROPOSE, APPLY_CHANGE, DISCARD_CHANGE)


@dataclass
class State:
    code: str
    label: Any
    initial: bool = False
    style: str = "default"  # bootstrap label style: default, info, warning, success, danger


@dataclass
class Input:
    """A value a transition asks for (退回原因, 证书编号 …), validated like a field."""

    name: str
    label: Any
    type_: Any = field(default_factory=lambda: String(500))
    required: bool = False
    widget: str = "text"  # text | textarea | date | password | file | select
    validators: tuple = ()
    # widget="select": [(value, label)]; ``offer(record)`` narrows them to the values this
    # record may take (e.g. the states a 处理状态 may go to from its current one).
    choices: Any = None
    offer: Callable | None = None
    secret: bool = False
    # Stored on the record when the transition succeeds.
    target: str | None = None
    # widget="file": the attachment slot the uploaded file goes to.
    slot: str | None = None

    def options(self, record) -> list[tuple[str, Any]]:
        allowed = None if self.offer is None else {str(v) for v in self.offer(record)}
        return [(str(v), label) for v, label in (self.choices or ())
                if allowed is None or str(v) in allowed]

    def label_of(self, value) -> Any:
        return dict((str(v), label) for v, label in (self.choices or ())).get(str(value), value)

    @property
    def spec(self) -> FieldSpec:
        return FieldSpec(label=self.label, widget=self.widget, validators=self.validators,
                         secret=self.secret)


@dataclass
class Transition:
    name: str
    label: Any
    sources: Iterable[str] | str = ANY
    target: str | None = None
    roles: Iterable[str] = ()
    kind: str = STATE
    batch: bool = False
    # True: every required field; a list: just these; False: formats only.
    check_required: bool | list[str] = False
    conditions: list[Callable] = field(default_factory=list)
    effects: list[Callable] = field(default_factory=list)
    opinion: str | None = None  # None | "optional" | "required"
    opinion_label: Any = None
    inputs: list[Input] = field(default_factory=list)
    confirm: Any = None
    success: Any = None  # the message after it, or callable(record) -> message
    # The button that sends the transition's dialog (default 确定).
    submit_label: Any = None
    # Availability that depends on more than state and role: callable(record, actor) -> reason
    when: Callable | None = None
    # The button submits the form it sits on (暂存, 申报 from the detail form).
    saves_form: bool = False
    # Records on which the roles may fire it are in their 待办 (True: in every source state;
    # a list: only in these states).
    todo: bool | list[str] = False
    style: str = "primary"
    # Not shown as a button on the form (e.g. only from the list).
    on_form: bool = True
    # Other records the checks and effects read and change (a licence whose quota a clearance
    # consumes, the institution whose disposals decide an entrustment): callable(record) ->
    # record(s) or None.  They are row-locked and reloaded before the conditions run, so the
    # check and the write see the same, current copy however many workers race.
    locks: list[Callable] = field(default_factory=list)

    def __post_init__(self):
        self.roles = frozenset(self.roles)
        if self.sources != ANY:
            self.sources = (self.sources,) if isinstance(self.sources, str) else tuple(
                self.sources)
        if self.kind in (SAVE, PROPOSE):
            self.saves_form = True

    def allowed_from(self, state) -> bool:
        return self.sources == ANY or state in self.sources

    @property
    def success_message(self):
        return self.success or _l("%(action)s成功", action=self.label)


def delete_transition(states, roles, *, batch: bool = True) -> Transition:
    """删除 — only in the states the manual allows, with its warning."""
    return Transition("delete", _l("删除"), states, roles=roles, kind=DELETE, batch=batch,
                      confirm=_l("删除的数据将不可恢复，是否删除？"), style="danger")


def review_flow(preparer, reviewer, *,
                draft=None, under_review=None, approved=None, returned=None,
                submit: str = "declare", submit_label=None, submit_success=None,
                submit_confirm=None, submit_batch: bool = False,
                submit_conditions=(), submit_effects=(), submit_locks=(),
                approve_label=None, approve_success=None, approve_effects=(),
                approve_batch: bool = False,
                return_label=None, return_success=None, return_effects=(),
                opinion_label=None, withdraw: bool = False, withdraw_confirm=None,
                copy: bool = False, delete: bool = False, extra=()) -> Workflow:
    """The common review workflow in one call: the ``preparer`` role fills a draft (暂存) and
    submits it (申报); the ``reviewer`` role approves (审批通过) or returns it with an opinion
    (退回), after which the preparer edits and submits again.  State codes are ``draft``,
    ``under_review``, ``approved`` and ``returned``; their labels, the buttons' labels and what
    each step checks and does are arguments.  ``withdraw`` (撤回 back to the draft), ``copy``
    (复制) and ``delete`` (删除 of drafts and returned ones) are the optional steps of the
    manuals; ``extra`` adds transitions of the record type's own."""
    editing = ["draft", "returned"]
    transitions = [
        Transition("save", _l("暂存"), editing, roles=[preparer], kind=SAVE),
        Transition(submit, submit_label or _l("申报"), editing, "under_review",
                   roles=[preparer], batch=submit_batch, check_required=True, saves_form=True,
                   conditions=list(submit_conditions), effects=list(submit_effects),
                   locks=list(submit_locks), todo=["returned"],
                   success=submit_success or _l("申报成功"), confirm=submit_confirm),
    ]
    if withdraw:
        transitions.append(Transition(
            "withdraw", _l("撤回"), ["under_review"], "draft", roles=[preparer],
            confirm=withdraw_confirm, success=_l("撤回成功"), style="warning"))
    transitions += [
        Transition("approve", approve_label or _l("审批通过"), ["under_review"], "approved",
                   roles=[reviewer], opinion="optional",
                   opinion_label=opinion_label or _l("审批意见"),
                   effects=list(approve_effects), todo=True, batch=approve_batch,
                   success=approve_success or _l("已审批通过"), style="success"),
        Transition("return", return_label or _l("退回"), ["under_review"], "returned",
                   roles=[reviewer], opinion="required",
                   opinion_label=opinion_label or _l("审批意见"),
                   effects=list(return_effects), todo=True,
                   success=return_success or _l("已退回"), style="danger"),
    ]
    if copy:
        transitions.append(Transition("copy", _l("复制"), ANY, roles=[preparer], kind=COPY,
                                      confirm=_l("是否确认复制一份新单证？"), style="default"))
    transitions.extend(extra)
    if delete:
        transitions.append(delete_transition(editing, [preparer]))
    return Workflow(
        states=[
            State("draft", draft or lazy_pgettext("状态", "暂存"), initial=True),
            State("under_review", under_review or lazy_pgettext("状态", "审批中"),
                  style="info"),
            State("approved", approved or lazy_pgettext("状态", "审批通过"), style="success"),
            State("returned", returned or lazy_pgettext("状态", "退回"), style="danger"),
        ],
        transitions=transitions,
    )


class Workflow:
    def __init__(self, states: list[State], transitions: list[Transition]):
        self.states = {s.code: s for s in states}
        initial = [s.code for s in states if s.initial]
        self.initial = initial[0] if initial else states[0].code
        self.transitions = transitions
        self._by_name = {t.name: t for t in transitions}
        self.model = None

    def bind(self, model) -> None:
        """The record type this workflow belongs to (checks.py verifies its states)."""
        self.model = model

    def get(self, name: str) -> Transition | None:
        return self._by_name.get(name)

    def state_label(self, code):
        s = self.states.get(code)
        return s.label if s else (code or "")

    def state_style(self, code) -> str:
        s = self.states.get(code)
        return s.style if s else "default"

    def batch_transitions(self) -> list[Transition]:
        return [t for t in self.transitions if t.batch]

    @property
    def proposal_states(self) -> frozenset[str]:
        """States in which edits are proposals (reviewed before they apply), not writes."""
        return frozenset(s for t in self.transitions if t.kind == PROPOSE
                         for s in (t.sources if t.sources != ANY else self.states))


def transitions_of(model) -> list[Transition]:
    """The declared transitions, or for a record type without workflow the implicit
    保存 / 删除 of the roles that may create it."""
    meta = model.meta()
    if meta.workflow is not None:
        return meta.workflow.transitions
    plain = meta.__dict__.get("_plain_transitions")
    if plain is None:
        roles = meta.create_roles
        plain = [
            # no draft to finish later: what is saved is the record, complete
            Transition("save", _l("保存"), ANY, roles=roles, kind=SAVE, check_required=True),
            delete_transition(ANY, roles),
        ]
        meta._plain_transitions = plain
    return plain


def find_transition(model, name: str) -> Transition | None:
    for t in transitions_of(model):
        if t.name == name:
            return t
    return None


def workflow_state(label=None, display_fn=None):
    """The status column of a record with a workflow (grey, set only by transitions).
    ``display_fn(record)`` may show more than the state (e.g. 已到期 after an end date)."""
    # Not tracked as a field change: every state change is a flow entry of its own.
    return field_(String(40), label or _l("状态"), system=True, index=True, copy=False,
                  track=False, display_fn=display_fn)


