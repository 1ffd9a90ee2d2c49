"""核注清单 (保税核注清单, the inventory of a 手册/账册): the enterprise enters and declares it,
customs pre-approve it (预审批通过) and from such a one the enterprise generates its 报关单
(生成报关单) — the fields carried over and the link kept.  Statuses as FIELD_NOTES §2 lists them
(1 暂存, 17 待审核, 3 海关入库成功, 4 海关入库失败, 5 审核通过 (预审批通过), 6 审核拒绝,
18 已确认, 99 已删除); 清单编号 QD + 关区 + year + I/E + serial.  Part 2 (数据同步, 核注清单异常)
builds on it.
"""

from __future__ import annotations

import decimal

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import mapped_column, relationship

from app.engine import (
    ADMIN,
    ALL,
    CUSTOMS,
    ENTERPRISE,
    SAVE,
    ChildRecord,
    Numbering,
    Own,
    Picker,
    Print,
    Record,
    Related,
    Search,
    Section,
    State,
    Transition,
    Where,
    Workflow,
    children,
    delete_transition,
    field,
    numeric,
    validators,
    workflow_state,
)
from app.engine import transitions as wf_mod
from app.engine.features import Message
from app.engine.guard import system
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.policy import ENTERPRISE_REVIEWER
from models.base import Organisation
from models.customs_declaration import (
    MAX_GOODS,
    SYSTEM,
    CdDeclaration,
    _hs_value,
    customs_code,
    manual_no_format,
)
from models.customs_inventory_message import InvtMessageCodec

ZERO = decimal.Decimal(0)

INV_STATES = [
    State("draft", lazy_pgettext("状态", "暂存"), initial=True),
    State("pending", lazy_pgettext("状态", "待审核"), style="info"),
    State("cus_accepted", lazy_pgettext("状态", "海关入库成功"), style="primary"),
    State("cus_rejected", lazy_pgettext("状态", "海关入库失败"), style="danger"),
    State("pre_approved", lazy_pgettext("状态", "预审批通过"), style="success"),
    State("rejected", lazy_pgettext("状态", "审核拒绝"), style="danger"),
    State("confirmed", lazy_pgettext("状态", "已确认"), style="success"),
    State("deleted", lazy_pgettext("状态", "已删除"), style="default"),
]
# The status numbers of the single window's 核注清单 (FIELD_NOTES §2), for messages and sync.
STATUS_CODES = {"draft": "1", "pending": "17", "cus_accepted": "3", "cus_rejected": "4",
                "pre_approved": "5", "rejected": "6", "confirmed": "18", "deleted": "99"}
LIST_TYPES = [("0", _l("普通清单")), ("1", _l("分批送货清单")), ("2", _l("集中报关清单")),
              ("3", _l("简单加工清单"))]
DCL_FLAGS = [("1", _l("报关")), ("2", _l("非报关"))]


def _inventory_from_company(inv, actor, session):
    org = session.get(Organisation, inv.company_id) if inv.company_id else None
    if org is not None:
        inv.trade_code_scc, inv.trade_code, inv.trade_name = org.uscc, org.customs_code, org.name
        if not inv.process_name:
            inv.process_code_scc, inv.process_code, inv.process_name = (
                org.uscc, org.customs_code, org.name)


def _existing_declarations(inv, session) -> list[CdDeclaration]:
    return list(session.scalars(select(CdDeclaration).where(
        CdDeclaration.inventory_id == inv.id, CdDeclaration.status != "cus_deleted")
        .order_by(CdDeclaration.id)))


def _parts(inv) -> list[list]:
    """The inventory's goods as the declarations carry them: in their order, MAX_GOODS (50) a
    declaration — part 1 the first 50 lines, part 2 the next … (one part for none)."""
    goods = list(inv.goods)
    return [goods[i:i + MAX_GOODS] for i in range(0, len(goods), MAX_GOODS)] or [[]]


def _note(inv, part: int, parts: int, first: int, last: int) -> str:
    """The line a generated declaration's history starts with (its 新增 entry)."""
    source = inv.inv_no or inv.seq_no
    if parts == 1:
        return _("由核注清单 %(no)s 生成", no=source)
    return _("由核注清单 %(no)s 生成（第 %(part)s 份，共 %(parts)s 份：清单商品第 %(first)s 至 "
             "%(last)s 项）", no=source, part=part, parts=parts, first=first, last=last)


def _part_of_notes(inv, parts: list[list]) -> dict[str, int]:
    """Part by the note its 新增 entry was written with, in each language of the product: how
    the declarations generated before they were marked with their part are told apart."""
    from flask import current_app
    from flask_babel import force_locale

    found = {}
    for locale in current_app.config.get("LANGUAGES") or ("zh_CN",):
        with force_locale(locale):
            for n, lines in enumerate(parts, start=1):
                first = (n - 1) * MAX_GOODS + 1
                found[_note(inv, n, len(parts), first, first + len(lines) - 1)] = n
    return found


def _generated_parts(inv, session, decs, parts) -> dict[int, int | None]:
    """Declaration id -> the part of the inventory it was generated as (None: not known — a
    declaration linked otherwise): read from its 新增 entry, which keeps the part."""
    from app.engine.history import FlowEntry

    if not decs:
        return {}
    entries = session.scalars(select(FlowEntry).where(
        FlowEntry.entity == CdDeclaration.meta().resource, FlowEntry.transition == "create",
        FlowEntry.record_id.in_([d.id for d in decs])).order_by(FlowEntry.id))
    by_note = None
    found: dict[int, int | None] = {d.id: None for d in decs}
    for e in entries:
        part = (e.inputs or {}).get("inventory_part")
        if part is None and e.opinion:
            by_note = _part_of_notes(inv, parts) if by_note is None else by_note
            part = by_note.get(e.opinion)
        if found.get(e.record_id) is None and isinstance(part, int):
            found[e.record_id] = part
    return found


def _missing_parts(inv, session) -> tuple[list[int], list[CdDeclaration]]:
    """(the parts no declaration of the inventory stands for — never generated, or their
    draft deleted —, the declarations still there).  A declaration whose part is not known
    stands for every part: nothing is generated twice."""
    parts = _parts(inv)
    decs = _existing_declarations(inv, session)
    known = _generated_parts(inv, session, decs, parts)
    if any(part is None for part in known.values()):
        return [], decs
    return [n for n in range(1, len(parts) + 1) if n not in set(known.values())], decs


def _not_generated_yet(inv, ctx):
    """Once per part (the inventory's row is locked while this is asked and the declarations
    made): refused when every part has its declaration — each is named; a part whose draft
    was deleted may be generated again."""
    missing, decs = _missing_parts(inv, ctx.session)
    if decs and not missing:
        return _("该核注清单已生成报关单 %(no)s", no=_("、").join(
            str(d.seq_no or d.id) for d in decs))
    return None


def _has_goods(inv, ctx):
    if not inv.goods:
        return _("核注清单 %(no)s 缺少表体商品", no=inv.seq_no or "")
    return None


def _generate_declaration(inv, ctx):
    """生成报关单: new draft declarations of the enterprise with the inventory's head and goods,
    linked to it; the user is taken to the first.  A declaration holds at most MAX_GOODS (50)
    goods lines: an inventory of more makes several, its lines in their order, MAX_GOODS each —
    none left out — each weighing what its own lines weigh.  Generated again after some of
    those drafts were deleted, it makes only the missing parts; each declaration's 新增 entry
    keeps the part it is (``inputs``: inventory_part)."""
    from app.engine.history import add_flow_entry

    session, actor = ctx.session, ctx.actor
    goods = list(inv.goods)
    parts = _parts(inv)
    missing, kept = _missing_parts(inv, session)
    made = []
    for n in missing:
        lines = parts[n - 1]
        dec = _declaration_of(session, actor, inv, lines)
        first = (n - 1) * MAX_GOODS + 1
        add_flow_entry(session, dec, "create", None, dec.status, actor,
                       _note(inv, n, len(parts), first, first + len(lines) - 1),
                       inputs={"inventory_part": n})
        made.append(dec)
    ctx.new_record = made[0]
    nos = _("、").join(d.seq_no for d in made)
    if kept:
        ctx.messages.append(_(
            "已重新生成缺少的第 %(parts)s 份报关单 %(nos)s（共 %(total)s 份，已有的报关单 %(kept)s "
            "未重复生成），请补充表头信息后暂存", parts=_("、").join(str(n) for n in missing),
            nos=nos, total=len(parts), kept=_("、").join(str(d.seq_no or d.id) for d in kept)))
    elif len(made) == 1:
        ctx.messages.append(_("已生成报关单 %(no)s，请补充表头信息后暂存", no=made[0].seq_no))
    else:
        ctx.messages.append(_(
            "核注清单共 %(count)s 项商品，报关单最多 %(max)s 项，已生成 %(n)s 份报关单 %(nos)s，"
            "请补充表头信息后暂存", count=len(goods), max=MAX_GOODS, n=len(made), nos=nos))


def _declaration_of(session, actor, inv, lines) -> CdDeclaration:
    """One draft declaration with the inventory's head and these goods lines."""
    dec = wf_mod.new_record(session, CdDeclaration, actor)
    with system():
        dec.kind = "E_DEC" if inv.ie_flag == "E" else "I_DEC"
        dec.inventory_id = inv.id
        dec.inv_no = inv.inv_no
        for src, dst in (("manual_no", "manual_no"), ("trade_mode", "trade_mode"),
                         ("traf_mode", "traf_mode"), ("ie_port", "ie_port"),
                         ("customs_master", "customs_master"),
                         ("trade_country", "trade_country"), ("trade_country", "trade_area_code")):
            value = getattr(inv, src)
            if value:
                setattr(dec, dst, value)
        # the weights of the lines this declaration carries, not of the whole inventory
        gross = sum((g.gross_wt or ZERO for g in lines), ZERO)
        net = sum((g.net_wt or ZERO for g in lines), ZERO)
        dec.gross_wt = gross or None
        dec.net_wt = net or None
        dec.goods = [_goods_line(g) for g in lines]
        session.add(dec)
        session.flush()
        wf_mod._number(session, dec, "create")
    return dec


def _goods_line(g):
    from models.customs_declaration import CdGoods

    return CdGoods(code_ts=g.code_ts, g_name=g.g_name, g_model=g.g_model, g_qty=g.dcl_qty,
                   g_unit=g.dcl_unit, qty1=g.qty1, qty2=g.qty2, decl_price=g.dcl_price,
                   decl_total=g.dcl_total, trade_curr=g.trade_curr,
                   origin_country=g.origin_country, destination_country=g.destination_country,
                   duty_mode=g.duty_mode or "1", contr_item=g.put_rec_seq)


INVENTORY_FLOW = Workflow(
    states=INV_STATES,
    transitions=[
        Transition("save", _l("暂存"), ["draft", "rejected", "cus_rejected"], roles=[ENTERPRISE],
                   kind=SAVE),
        Transition("declare", _l("申报"), ["draft", "rejected", "cus_rejected"], "pending",
                   roles=[ENTERPRISE], check_required=True, saves_form=True, batch=True,
                   conditions=[_has_goods], todo=["rejected", "cus_rejected"],
                   success=_l("申报成功")),
        Transition("cus_accept", _l("海关入库成功"), ["pending"], "cus_accepted",
                   roles=[CUSTOMS], opinion="optional", success=_l("已登记：海关入库成功")),
        Transition("cus_reject", _l("海关入库失败"), ["pending"], "cus_rejected",
                   roles=[CUSTOMS], opinion="optional", success=_l("已登记：海关入库失败")),
        Transition("pre_approve", _l("预审批通过"), ["pending", "cus_accepted"], "pre_approved",
                   roles=[CUSTOMS], opinion="optional", todo=True, style="success"),
        Transition("reject", _l("审核拒绝"), ["pending", "cus_accepted"], "rejected",
                   roles=[CUSTOMS], opinion="required", opinion_label=_l("审核意见"),
                   todo=True, style="danger"),
        Transition("confirm", _l("确认"), ["pre_approved"], "confirmed", roles=[CUSTOMS]),
        Transition("cus_delete", _l("删除清单"), ["pending", "cus_accepted", "pre_approved"],
                   "deleted", roles=[CUSTOMS], opinion="optional"),
        Transition("make_declaration", _l("生成报关单"), ["pre_approved"], "pre_approved",
                   roles=[ENTERPRISE], conditions=[_not_generated_yet],
                   effects=[_generate_declaration], todo=True, success=_l("生成报关单成功")),
        delete_transition(["draft"], [ENTERPRISE]),
    ],
)


class CdInventory(Record):
    __tablename__ = "cd_inventory"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)

    inv_no = field(String(18), _l("清单编号"), system=True, copy=False, unique=True,
                   section="head")
    seq_no = field(String(18), _l("预录入统一编号"), system=True, copy=False, unique=True,
                   section="head")
    status = workflow_state(_l("清单状态"))
    ie_flag = field(String(1), _l("进出口标志"), required=True, widget="select",
                    choices=[("I", _l("进口")), ("E", _l("出口"))], initial="I", section="head")
    manual_no = field(String(12), _l("手(账)册编号"), required=True, section="head",
                      validators=(manual_no_format,))
    list_type = field(String(1), _l("清单类型"), required=True, widget="select",
                      choices=LIST_TYPES, initial="0", section="head")
    trade_code_scc = field(String(18), _l("经营企业社会信用代码"), system=True, section="head")
    trade_code = field(String(10), _l("经营企业编号"), system=True, section="head")
    trade_name = field(String(100), _l("经营企业名称"), system=True, section="head")
    process_code_scc = field(String(18), _l("加工单位社会信用代码"), section="head",
                             validators=(validators.uscc,))
    process_code = field(String(10), _l("加工单位编号"), section="head",
                         validators=(customs_code,))
    process_name = field(String(100), _l("加工单位名称"), required=True, section="head")
    customs_master = field(String(4), _l("主管海关"), codelist="customs_district", required=True,
                           section="head")
    ie_port = field(String(4), _l("进出境关别"), codelist="customs_district", required=True,
                    section="head")
    trade_mode = field(String(4), _l("监管方式"), codelist="supervision_mode", required=True,
                       section="head")
    traf_mode = field(String(1), _l("运输方式"), codelist="transport_mode", required=True,
                      section="head")
    trade_country = field(String(3), _l("启运/运抵国(地区)"), codelist="country", required=True,
                          section="head")
    dcl_flag = field(String(1), _l("报关标志"), required=True, widget="select",
                     choices=DCL_FLAGS, initial="1", section="head")
    note = field(String(255), _l("备注"), section="head", widget="textarea")

    goods = children("CdInventoryGoods", _l("表体"), back_populates="inventory",
                     section="goods", order_by="CdInventoryGoods.id")

    class Meta:
        label = _l("核注清单")
        resource = "cd_inventory"
        menu = SYSTEM.menu("query", _l("核注清单"), order=3)
        owner = "company_id"
        scope = {
            ENTERPRISE: Own("company_id"),
            ENTERPRISE_REVIEWER: Own("company_id"),
            CUSTOMS: Where(lambda m, a: (m.status != "draft")
                           & m.customs_master.in_(a.customs_codes or ("-",))),
            ADMIN: ALL,
        }
        create_roles = (ENTERPRISE,)
        editable = {"draft": (ENTERPRISE,), "rejected": (ENTERPRISE,),
                    "cus_rejected": (ENTERPRISE,)}
        sections = [Section("head", _l("表头")), Section("goods", _l("表体"))]
        list_columns = ["inv_no", "seq_no", "ie_flag", "manual_no", "trade_mode",
                        "customs_master", "status", "updated_at"]
        search = [Search("inv_no", "exact"), Search("seq_no", "exact"),
                  Search("manual_no", "exact"), Search("ie_flag"), Search("status"),
                  Search("updated_at", "range")]
        order_by = "-id"
        title_field = "seq_no"
        numbering = [
            Numbering("seq_no", "Q{yyyy}{seq:013d}"),
            Numbering("inv_no", "QD{district}{yy}{ie}{seq:09d}", period="{district}{yy}{ie}",
                      parts=lambda r: {"district": r.customs_master or "0000",
                                       "ie": r.ie_flag or "I"}, on="pre_approve"),
        ]
        workflow = INVENTORY_FLOW
        on_create = staticmethod(_inventory_from_company)
        related = [Related("cd_declaration", "inventory_id", _l("生成的报关单"),
                           ["seq_no", "kind", "pre_entry_no", "status"])]
        print = Print("_generic.html", _l("核注清单"))
        # the InvtMessage: GET …/<id>/message, 导入 of an .xml file, 核注清单数据同步
        features = [Message(InvtMessageCodec())]
        importable = True


class CdInventoryGoods(ChildRecord):
    __tablename__ = "cd_inventory_goods"
    __parent__ = "inventory"

    inventory_id = mapped_column(ForeignKey("cd_inventory.id", ondelete="CASCADE"),
                                 nullable=False, index=True)
    inventory = relationship(CdInventory, back_populates="goods")

    put_rec_seq = field(Integer, _l("备案序号"), required=True,
                        validators=(validators.positive,))
    gds_mtno = field(String(32), _l("商品料号"), required=True)
    code_ts = field(String(10), _l("商品编码"), required=True, validators=(validators.hs_code,),
                    picker=Picker("cd_hs_code", "code_ts", "g_name", min_chars=4,
                                  fills={"g_name": "g_name"}))
    g_name = field(String(255), _l("商品名称"), required=True)
    g_model = field(String(255), _l("规格型号"), required=True)
    dcl_qty = field(numeric(19, 5), _l("申报数量"), required=True,
                    validators=(validators.positive,))
    dcl_unit = field(String(3), _l("申报计量单位"), codelist="unit_of_measure", required=True)
    qty1 = field(numeric(19, 5), _l("法定数量"), required=True,
                 validators=(validators.positive,))
    unit1 = field(String(3), _l("法定计量单位"), codelist="unit_of_measure",
                  compute=_hs_value("unit1"))
    qty2 = field(numeric(19, 5), _l("第二法定数量"), validators=(validators.positive,))
    unit2 = field(String(3), _l("第二法定计量单位"), codelist="unit_of_measure",
                  compute=_hs_value("unit2"))
    dcl_price = field(numeric(19, 4), _l("企业申报单价"), required=True,
                      validators=(validators.positive,))
    dcl_total = field(numeric(19, 2), _l("企业申报总价"), required=True,
                      validators=(validators.positive,))
    trade_curr = field(String(3), _l("币制"), codelist="currency", required=True,
                       initial="USD")
    origin_country = field(String(3), _l("原产国(地区)"), codelist="country", required=True)
    destination_country = field(String(3), _l("最终目的国(地区)"), codelist="country",
                                required=True)
    duty_mode = field(String(1), _l("征免方式"), codelist="duty_mode", required=True,
                      initial="1")
    gross_wt = field(numeric(19, 5), _l("毛重(千克)"), validators=(validators.positive,))
    net_wt = field(numeric(19, 5), _l("净重(千克)"), validators=(validators.positive,))

    class Meta:
        label = _l("表体")
