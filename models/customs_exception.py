"""智慧云报关 异常状态登记 (seed 002 §七–九): the enterprise records what went wrong with a
declaration (报关单异常) or a 核注清单 (核注清单异常) — 退单, 删单/改单申请, 查验 … — who was
responsible, whether customs penalised it, and follows it to its end: 待处理 → 处理中 → 已处理 →
已关闭, an 已处理 one reopened (重新打开) goes back to 处理中.

Both record types have the same fields and workflow and are declared once by ``_exception_type``;
they differ in the number they name (报关单号 or 清单编号) and the record it resolves to.  The
number is resolved to the company's own declaration (海关编号 or 统一编号) or 核注清单 (清单编号 or
预录入统一编号), which is stored so the list and the form link to it.

A 删单 receipt (models/customs_sync.py) registers the 删单 exception of its declaration once,
however often it arrives: ``record_deletion``, held by a unique column.

Field facts: ../shared/domain/FIELD_NOTES.txt §2.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import mapped_column

from app.engine import (
    ADMIN,
    ALL,
    CUSTOMS,
    ENTERPRISE,
    SAVE,
    AttachmentSlot,
    Input,
    Own,
    Record,
    Search,
    Section,
    State,
    Transition,
    Workflow,
    delete_transition,
    field,
    validators,
    workflow_state,
)
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.stats import Chart, Statistics
from models.customs_declaration import SYSTEM, CdDeclaration
from models.customs_inventory import CdInventory

MB = 1024 * 1024

RETURNED, DELETION, INSPECTION, MISMATCH, OVERDUE, REJECTED, OTHER = (
    "returned", "deletion", "inspection", "mismatch", "overdue", "rejected", "other")
KINDS = [
    (RETURNED, lazy_pgettext("异常类型", "退单")),
    (DELETION, _l("删单/改单申请")),
    (INSPECTION, lazy_pgettext("异常类型", "查验")),
    (MISMATCH, _l("数据不一致")),
    (OVERDUE, _l("超期未放行")),
    (REJECTED, _l("入库失败")),
    (OTHER, _l("其他")),
]
IE_FLAGS = [("I", _l("进口")), ("E", _l("出口"))]
YES_NO = [("Y", _l("是")), ("N", _l("否"))]

PENDING, PROCESSING, DONE, CLOSED = "pending", "processing", "done", "closed"
STATES = [
    State(PENDING, lazy_pgettext("处理状态", "待处理"), initial=True, style="warning"),
    State(PROCESSING, lazy_pgettext("处理状态", "处理中"), style="info"),
    State(DONE, lazy_pgettext("处理状态", "已处理"), style="success"),
    State(CLOSED, lazy_pgettext("处理状态", "已关闭"), style="default"),
]
# 变更状态: where each state may go (已处理 → 处理中 is 重新打开).
NEXT = {PENDING: (PROCESSING,), PROCESSING: (DONE,), DONE: (CLOSED, PROCESSING)}
ENT = (ENTERPRISE,)
OPEN = (PENDING, PROCESSING)


def _status_code(value) -> None:
    if value in (None, ""):
        return
    if value not in NEXT and value != CLOSED:
        raise ValueError(_("处理状态「%(v)s」无效，应为 %(codes)s", v=value,
                           codes="、".join(s.code for s in STATES)))


def _change_refusal(exc, ctx) -> str | None:
    """The new 处理状态 follows the workflow; 已处理 needs its 完成日期, not before 发生日期."""
    new = ctx.inputs.get("new_status")
    if new not in NEXT.get(exc.status, ()):
        wf = exc.meta().workflow
        return _("处理状态不能由「%(old)s」变更为「%(new)s」", old=wf.state_label(exc.status),
                 new=wf.state_label(new) if new in NEXT or new == CLOSED else new)
    if new == DONE:
        done_on = ctx.inputs.get("done_on") or exc.done_on
        if not done_on:
            return _("处理状态为已处理时，完成日期必填")
        if exc.occurred_on and done_on < exc.occurred_on:
            return _("完成日期不能早于发生日期")
    return None


def _changed(exc, ctx) -> None:
    new = ctx.inputs.get("new_status")
    exc.status = new
    if new == DONE:
        exc.done_on = ctx.inputs.get("done_on") or exc.done_on
    elif new == PROCESSING:  # 重新打开
        exc.done_on = None


def _link(exc, ctx) -> None:
    """保存: the number names the company's own declaration / 核注清单, stored as the link."""
    target, numbers = exc.link_target
    number = (exc.number or "").strip() or None
    exc.number = number
    found = None
    if number and exc.company_id:
        found = ctx.session.scalar(select(target.id).where(
            target.company_id == exc.company_id,
            or_(*(getattr(target, n) == number for n in numbers))).limit(1))
    exc.linked_id = found


FLOW = Workflow(
    states=STATES,
    transitions=[
        Transition("save", _l("保存"), OPEN, roles=ENT, kind=SAVE, check_required=True,
                   effects=[_link]),
        Transition("change_status", _l("变更状态"), tuple(NEXT), PROCESSING, roles=ENT,
                   inputs=[Input("new_status", _l("处理状态"), String(12), required=True,
                                 validators=(_status_code,), widget="select",
                                 choices=[(s.code, s.label) for s in STATES],
                                 offer=lambda exc: NEXT.get(exc.status, ())),
                           Input("done_on", _l("完成日期"), Date(), widget="date",
                                 validators=(validators.not_future,))],
                   conditions=[_change_refusal], effects=[_changed],
                   success=_l("处理状态已变更")),
        delete_transition([s.code for s in STATES], ENT),
    ],
)


def _exception_type(class_name, table, *, label, number_label, target, numbers, order,
                    stats_label, extra=None):
    """One exception record type: the fields, workflow, scope and menu both share."""
    ns = {
        "__module__": __name__,
        "__doc__": f"{table}: {label}.",
        "__tablename__": table,
        "link_target": (target, numbers),
        "company_id": mapped_column(ForeignKey("organisation.id"), nullable=False, index=True),
        "number": field(String(18), number_label, required=True, section="main", index=True,
                        link=("linked_id", target.meta().resource)),
        "linked_id": mapped_column(ForeignKey(f"{target.__tablename__}.id", ondelete="SET NULL"),
                                   index=True),
        "consignee": field(String(100), _l("境内收发货人"), section="main"),
        "ie_flag": field(String(1), _l("进出口"), widget="select", choices=IE_FLAGS,
                         section="main"),
        "client_name": field(String(100), _l("委托企业"), section="main"),
        "kind": field(String(12), _l("异常类型"), required=True, widget="select", choices=KINDS,
                      section="main", index=True),
        "occurred_on": field(Date, _l("发生日期"), required=True, section="main", index=True,
                             validators=(validators.not_future,)),
        "duty_post": field(String(60), _l("责任岗位"), section="main"),
        "duty_person": field(String(60), _l("责任人"), section="main"),
        "penalised": field(String(1), _l("海关是否处罚"), widget="select", choices=YES_NO,
                           section="main", index=True),  # 异常统计 counts by it
        "penalty_target": field(String(100), _l("处罚对象"), section="main"),
        "status": workflow_state(_l("处理状态")),
        "done_on": field(Date, _l("完成日期"), system=True, not_before="occurred_on",
                         section="main"),
        "reason": field(String(1000), _l("异常原因"), widget="textarea", section="main"),
        **(extra or {}),
    }

    class Meta:
        pass

    Meta.label = label
    Meta.resource = table
    Meta.menu = SYSTEM.menu("exception", label, order=order)
    Meta.owner = "company_id"
    Meta.scope = {ENTERPRISE: Own("company_id"), CUSTOMS: ALL, ADMIN: ALL}
    Meta.create_roles = ENT
    Meta.editable = {s: ENT for s in OPEN}
    Meta.sections = [Section("main", _l("异常信息"))]
    Meta.list_columns = ["number", "consignee", "ie_flag", "kind", "occurred_on", "duty_person",
                         "penalised", "status", "done_on"]
    Meta.search = [Search("number", "exact"), Search("kind"), Search("status"),
                   Search("occurred_on", "range"), Search("ie_flag"),
                   Search("client_name", "contains"), Search("duty_post", "exact"),
                   Search("penalised")]
    # 异常统计 (the manual: "进行统计分析"): counted in the list's scope, each bar its list
    Meta.features = [Statistics(stats_label, charts=[
        Chart("by_kind", _l("按异常类型"), group_by="kind"),
        Chart("by_month", _l("按月份（最近 12 个月）"), month_of="occurred_on", kind="line"),
        Chart("by_post", _l("按责任岗位"), group_by="duty_post"),
        Chart("by_penalty", _l("海关是否处罚"), group_by="penalised", kind="pie"),
    ], filters=["occurred_on", "ie_flag", "client_name"],
        menu=SYSTEM.menu("exception", stats_label, order=order + 10))]
    Meta.order_by = "-id"
    Meta.title_field = "number"
    Meta.attachments = [AttachmentSlot("file", _l("附件"), max_bytes=4 * MB,
                                       kinds=("pdf", "jpg", "png"), edit_states=OPEN,
                                       edit_roles=ENT)]
    Meta.workflow = FLOW
    ns["Meta"] = Meta
    return type(class_name, (Record,), ns)


CdDeclarationException = _exception_type(
    "CdDeclarationException", "cd_declaration_exception", label=_l("报关单异常"),
    number_label=_l("报关单号"), target=CdDeclaration, numbers=("entry_id", "seq_no"), order=1,
    stats_label=_l("报关单异常统计"),
    # set only by a 删单 receipt: the declaration whose 删单 this is, once
    extra={"deletion_of": mapped_column(Integer, unique=True)})
CdInventoryException = _exception_type(
    "CdInventoryException", "cd_inventory_exception", label=_l("核注清单异常"),
    number_label=_l("清单编号"), target=CdInventory, numbers=("inv_no", "seq_no"), order=2,
    stats_label=_l("核注清单异常统计"))


def record_deletion(session, declaration, occurred_on: dt.date, reason=None):
    """The 删单 exception of ``declaration``, created the first time only (unique
    ``deletion_of``: two workers racing insert one row); ``reason`` by default the receipt's."""
    query = select(CdDeclarationException).where(
        CdDeclarationException.deletion_of == declaration.id)
    found = session.scalar(query)
    if found is not None:
        return found
    exc = CdDeclarationException(
        company_id=declaration.company_id, number=declaration.entry_id or declaration.seq_no,
        linked_id=declaration.id, consignee=declaration.trade_name, ie_flag=declaration.ie_flag,
        kind=DELETION, occurred_on=occurred_on, status=PENDING, deletion_of=declaration.id,
        reason=reason or _("海关删单回执"))
    try:
        with session.begin_nested():
            session.add(exc)
    except IntegrityError:
        return session.scalar(query)
    return exc
