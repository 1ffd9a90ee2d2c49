"""智慧云报关服务平台 进出口管理 (seed 002), part 1: 报关单制单, 审单 (报关单审核 and 可视化审核),
业务数据查询 (报关数据查询, 概要申报数据查询), the 核注清单 it generates declarations from and the
商品综合分类表 (HS table) behind 商品编号.

Users are an enterprise's customs staff: the preparer (制单, role 企业) enters and submits a
declaration for review (提交审核); a reviewer of the same company (审单, role 企业审单, held
together with 企业) marks its fields green or red on the rendered form (可视化审核) and passes it
(审核通过) or returns it (退回) with the red fields and an opinion — never a declaration they
prepared (AEO).  A passed declaration is declared to customs (申报), which writes its DecMessage
(models/customs_message.py); customs receipts then move it through the customs statuses.

Field facts: ../shared/domain/FIELD_NOTES.txt §1–2 and DECLARATION_MESSAGE.md; code lists and the
HS subset: data/codelists/SOURCES.md, data/hs/SOURCES.md.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    select,
)
from sqlalchemy.orm import mapped_column, object_session, relationship

from app.engine import (
    ADMIN,
    ALL,
    COPY,
    CUSTOMS,
    ENTERPRISE,
    SAVE,
    ChildRecord,
    Group,
    Input,
    Numbering,
    Own,
    Picker,
    Print,
    Record,
    Screen,
    Search,
    Section,
    State,
    System,
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
from app.engine import codelists as codelist_data
from app.engine.changes import ValidationErrors, required_errors
from app.engine.features import ExtraPrint, Message
from app.engine.fields import ListButton, quantize
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.memo import memo
from app.engine.policy import ENTERPRISE_REVIEWER
from app.engine.record import session_for
from app.engine.review_marks import VisualReview, close_round, no_red_marks, not_prepared_by
from models.base import Organisation
from models.customs_message import BILL_KINDS, TRANSIT_KINDS, DecMessageCodec

SYSTEM = System("customs", _l("智慧云报关 进出口管理"), icon="fa-ship", order=30, groups=[
    Group("entry", _l("报关单制单"), "fa-edit"),
    Group("review", _l("审单"), "fa-check-square"),
    Group("query", _l("业务数据查询"), "fa-search"),
    Group("sync", _l("数据同步"), "fa-refresh"),
    Group("exception", _l("异常状态登记"), "fa-exclamation-triangle"),
])

ZERO = decimal.Decimal(0)
MAX_GOODS = 50


def _n(value: decimal.Decimal) -> str:
    """A number as people write it (12800, 95.5), never 1.28E+4."""
    from app.engine.present import fmt_decimal

    return fmt_decimal(value)


def _today() -> dt.date:
    return dt.date.today()


# ==========================================================================================
# The eight entry screens (报关单制单) and what they imply
# ==========================================================================================
E_DEC, E_BILL, E_TRN, E_TRN_BILL = "E_DEC", "E_BILL", "E_TRN", "E_TRN_BILL"
I_DEC, I_BILL, I_TRN, I_TRN_BILL = "I_DEC", "I_BILL", "I_TRN", "I_TRN_BILL"
IMPORT_KINDS = (I_DEC, I_BILL, I_TRN, I_TRN_BILL)
KINDS = [
    (E_DEC, _l("出口报关单")),
    (E_BILL, _l("出口备案清单")),
    (E_TRN, _l("出口转关提前报关")),
    (E_TRN_BILL, _l("出境转关提前备案清单")),
    (I_DEC, _l("进口报关单")),
    (I_BILL, _l("进口备案清单")),
    (I_TRN, _l("进口转关提前报关")),
    (I_TRN_BILL, _l("进境转关提前备案清单")),
]

# 南方模式: 申报地海关 in the Guangdong districts (广州 51, 黄埔 52, 深圳 53, 拱北 57, 汕头 60,
# 湛江 67, 江门 68) — the 转关 fields of the southern mode show only there (seed 002 小提示).
SOUTH_DISTRICT_PREFIXES = ("51", "52", "53", "57", "60", "67", "68")

# 监管方式 that need a 备案号 (手册/账册): processing trade (02xx–08xx), bonded goods and the
# special supervision zones.
BONDED_MODES = frozenset({"1200", "1215", "1233", "1234", "1371", "4400", "4600", "5000", "5010",
                          "5014", "5015", "5033", "5034", "5100", "5300", "5335", "5361", "6033"})


def needs_manual_no(trade_mode: str | None) -> bool:
    return bool(trade_mode) and (trade_mode[:2] in {"02", "03", "04", "05", "06", "07", "08"}
                                 and trade_mode != "0513" or trade_mode in BONDED_MODES)


ENTRY_TYPES = [("M", _l("通关无纸化")), ("0", _l("有纸报关")), ("L", _l("有纸带清单报关")),
               ("D", _l("无纸带清单报关")), ("W", _l("无纸报关"))]
BILL_TYPES = [("1", _l("普通备案清单")), ("2", _l("先进区后报关")), ("3", _l("分送集报备案清单")),
              ("4", _l("分送集报报关单"))]
DECL_MODES = [("1", _l("普通申报")), ("2", _l("概要申报")), ("3", _l("完整申报"))]
ENT_CATEGORIES = [("A", _l("境内收发货人")), ("B", _l("生产销售/消费使用单位")),
                  ("C", _l("申报单位")), ("D", _l("报关录入单位"))]
YES_NO = [("1", _l("是")), ("0", _l("否"))]
FEE_MARKS = [("1", _l("率")), ("2", _l("单价")), ("3", _l("总价"))]
FEE_MARKS_NO_UNIT = [("1", _l("率")), ("3", _l("总价"))]


# ==========================================================================================
# Format checks (暂存)
# ==========================================================================================
def customs_code(value) -> None:
    """海关编码 of an enterprise in a declaration: 10 digits."""
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{10}", str(value)):
        raise ValueError(_("海关编码应为 10 位数字"))


def manual_no_format(value) -> None:
    """备案号 (手册/账册编号): 12 characters, a letter first (B/C/E/H … by 监管方式)."""
    if value in (None, ""):
        return
    if not re.fullmatch(r"[A-Z][0-9A-Z]{11}", str(value)):
        raise ValueError(_("备案号应为 12 位，以字母开头"))


def license_no_format(value) -> None:
    """许可证号 "年-XX-顺序号", e.g. 26-61-000001."""
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{2}-[0-9A-Z]{2}-[0-9]{6}", str(value)):
        raise ValueError(_("许可证号格式应为 年-XX-顺序号，如 26-61-000001"))


def consignee_code(value) -> None:
    """境外收发货人代码: an AEO code (country + number) or NO."""
    if value in (None, ""):
        return
    if not re.fullmatch(r"NO|[A-Z]{2}[0-9A-Z]{3,17}", str(value)):
        raise ValueError(_("境外收发货人代码应为 AEO 编码（国别代码+编号）或 NO"))


def english_name(value) -> None:
    if value in (None, ""):
        return
    if re.search(r"[\u3400-\u9fff]", str(value)):
        raise ValueError(_("境外收发货人名称应填英文名称"))


def ciq_code(value) -> None:
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{3}", str(value)):
        raise ValueError(_("检验检疫编码应为 3 位数字"))


# ==========================================================================================
# 商品综合分类表 — the HS table behind 商品编号 (法定单位, 监管条件, 申报要素)
# ==========================================================================================
class CdHsCode(Record):
    """One 10-digit 商品编号 of the customs tariff with what a declaration needs from it."""

    __tablename__ = "cd_hs_code"

    code_ts = field(String(10), _l("商品编号"), required=True, unique=True,
                    validators=(validators.hs_code,))
    g_name = field(String(200), _l("商品名称"), required=True)
    unit1 = field(String(3), _l("法定第一单位"), codelist="unit_of_measure", required=True)
    unit2 = field(String(3), _l("法定第二单位"), codelist="unit_of_measure")
    control_mark = field(String(20), _l("监管条件"),
                         help=_l("监管证件代码，如 AB：A 检验检疫、B 电子底账"))
    ciq_mark = field(String(20), _l("检验检疫类别"))
    elements = field(String(500), _l("申报要素"),
                     help=_l("按 0:品牌类型;1:出口享惠情况;… 的顺序，用“|”分隔填报"))
    source = field(String(200), _l("数据来源"))

    class Meta:
        label = _l("商品综合分类表")
        resource = "cd_hs_code"
        menu = SYSTEM.menu("query", _l("商品综合分类表"), order=9)
        scope = {ENTERPRISE: ALL, ENTERPRISE_REVIEWER: ALL, CUSTOMS: ALL, ADMIN: ALL}
        create_roles = (ADMIN,)
        list_columns = ["code_ts", "g_name", "unit1", "unit2", "control_mark", "elements"]
        search = [Search("code_ts", "prefix"), Search("g_name", "contains"),
                  Search("control_mark", "contains")]
        order_by = "code_ts"
        title_field = "code_ts"
        importable = True

    def element_names(self) -> list[str]:
        """申报要素 "0:品牌类型;1:出口享惠情况;2:用途" -> [品牌类型, 出口享惠情况, 用途]."""
        out = []
        for part in (self.elements or "").split(";"):
            part = part.strip()
            if part:
                out.append(part.split(":", 1)[-1].strip())
        return out


def _session_of(obj):
    session = object_session(obj)
    if session is None and isinstance(obj, ChildRecord):
        parent = obj.parent()
        session = object_session(parent) if parent is not None else None
    return session or session_for(None)


def hs_entry(session, code) -> CdHsCode | None:
    if not code or session is None:
        return None
    return memo(session, ("cd_hs", code), lambda: session.scalar(
        select(CdHsCode).where(CdHsCode.code_ts == code)))


def _hs_of(line):
    return hs_entry(_session_of(line), line.code_ts)


def _hs_value(name):
    def compute(line):
        hs = _hs_of(line)
        value = getattr(hs, name, None) if hs is not None else None
        return value[:255] if isinstance(value, str) else value
    return compute


# ==========================================================================================
# 报关单: values the system fills in, the states
# ==========================================================================================
def _declaration_from_company(dec, actor, session):
    """境内收发货人 and 申报单位: the enterprise's own registration; 制单人: who enters it."""
    org = session.get(Organisation, dec.company_id) if dec.company_id else None
    if org is not None:
        dec.trade_code_scc, dec.trade_code, dec.trade_name = org.uscc, org.customs_code, org.name
        dec.agent_code_scc, dec.agent_code, dec.agent_name = org.uscc, org.customs_code, org.name
        if not dec.owner_name:
            dec.owner_code_scc, dec.owner_code, dec.owner_name = (org.uscc, org.customs_code,
                                                                  org.name)
    if actor is not None and not actor.system:
        dec.preparer_name = actor.display_name


def _goods_names(dec):
    names = []
    for g in dec.goods:
        if g.g_name and g.g_name not in names:
            names.append(g.g_name)
    return "、".join(names)[:500] or None


def _review_status(dec) -> str:
    return {"draft": "0", "under_review": "1", "review_returned": "3"}.get(dec.status, "2")


def _decl_status(dec) -> str:
    return DECL_STATUS_OF.get(dec.status, "0")


def _south_mode(dec) -> str:
    return "1" if (dec.kind in TRANSIT_KINDS and dec.customs_master
                   and dec.customs_master[:2] in SOUTH_DISTRICT_PREFIXES) else "0"


STATES = [
    State("draft", lazy_pgettext("状态", "暂存"), initial=True),
    State("under_review", lazy_pgettext("状态", "待审核"), style="info"),
    State("review_passed", lazy_pgettext("状态", "审核通过"), style="success"),
    State("review_returned", lazy_pgettext("状态", "审核退回"), style="danger"),
    State("declared", lazy_pgettext("状态", "已申报"), style="primary"),
    State("cus_accepted", lazy_pgettext("状态", "海关入库成功"), style="primary"),
    State("cus_rejected", lazy_pgettext("状态", "海关入库失败"), style="danger"),
    State("cus_returned", lazy_pgettext("状态", "退单"), style="danger"),
    State("concluded", lazy_pgettext("状态", "审结"), style="primary"),
    State("inspection", lazy_pgettext("状态", "查验"), style="warning"),
    State("released", lazy_pgettext("状态", "放行"), style="success"),
    State("closed", lazy_pgettext("状态", "结关"), style="success"),
    State("cus_deleted", lazy_pgettext("状态", "删单"), style="default"),
]
CUSTOMS_STATES = ("declared", "cus_accepted", "cus_rejected", "cus_returned", "concluded",
                  "inspection", "released", "closed", "cus_deleted")
EDITING = ("draft", "review_returned", "cus_rejected", "cus_returned")
DECL_STATUS = [("0", _l("未申报"))] + [
    (str(i), lazy_pgettext("状态", word)) for i, word in enumerate(
        ("已申报", "海关入库成功", "海关入库失败", "退单", "审结", "查验", "放行", "结关", "删单"),
        start=1)]
DECL_STATUS_OF = {s: str(i + 1) for i, s in enumerate(CUSTOMS_STATES)}
REVIEW_STATUS = [("0", _l("未提交审核")), ("1", lazy_pgettext("状态", "待审核")),
                 ("2", lazy_pgettext("状态", "审核通过")),
                 ("3", lazy_pgettext("状态", "审核退回"))]


# ==========================================================================================
# Checks: formats at 暂存, the 逻辑校验 before 提交审核 and 申报 (all at once, by field and line)
# ==========================================================================================
def _format_checks(dec) -> dict:
    if len(dec.goods) > MAX_GOODS:
        return {"goods": [_("商品信息最多 %(n)s 项，现有 %(m)s 项", n=MAX_GOODS,
                            m=len(dec.goods))]}
    return {}


def _export(dec) -> bool:
    return (dec.kind or "E")[0] == "E"


# 运保杂 by 成交方式 (1 CIF, 2 C&F, 3 FOB, 4 C&I, 5 市场价, 6 垫仓, 7 EXW): what the declared price
# does not contain must be declared (import: up to the place of import; export: what it does
# contain beyond the border).  (freight required, insurance required) per direction.
FEES_BY_TRANS_MODE = {
    "E": {"1": (True, True), "2": (True, False), "3": (False, False), "4": (False, True),
          "7": (False, False)},
    "I": {"1": (False, False), "2": (False, True), "3": (True, True), "4": (True, False),
          "7": (True, True)},
}

# 监管证件代码 that apply to one direction only (the others apply to both).
IMPORT_ONLY_DOCS = frozenset("12679AFMOPQRZvefnqbst")
EXPORT_ONLY_DOCS = frozenset("3458BEGHVgixyz")


def docs_needed(control_mark: str | None, ie_flag: str) -> list[str]:
    out = []
    for c in control_mark or "":
        if (ie_flag == "E" and c in IMPORT_ONLY_DOCS) or (ie_flag == "I" and c in EXPORT_ONLY_DOCS):
            continue
        if c not in out:
            out.append(c)
    return out


def logic_errors(dec, session) -> dict[str, list[str]]:
    """逻辑校验: every problem of the declaration, field path -> messages (goods-2-decl_total …)."""
    errors: dict[str, list[str]] = {}

    def add(path, message):
        errors.setdefault(path, []).append(str(message))

    for path, msgs in required_errors(dec).items():
        for m in msgs:
            add(path, m)
    ie = (dec.kind or "E")[0]
    # code-list values exist (values that came in through a message or a sync included)
    for rec, prefix in [(dec, "")] + [(g, f"goods-{i}-") for i, g in enumerate(dec.goods)] + [
            (d, f"documents-{i}-") for i, d in enumerate(dec.documents)] + [
            (c, f"containers-{i}-") for i, c in enumerate(dec.containers)]:
        for name, spec in rec.meta().fields.items():
            value = getattr(rec, name)
            if spec.codelist and value not in (None, "") and spec.compute is None and \
                    value not in codelist_data.items(session, spec.codelist):
                add(prefix + name, _("「%(code)s」不是有效的代码", code=value))
    if not dec.goods:
        add("goods", _("至少录入一项商品"))
    if len(dec.goods) > MAX_GOODS:
        add("goods", _("商品信息最多 %(n)s 项，现有 %(m)s 项", n=MAX_GOODS, m=len(dec.goods)))
    if dec.net_wt is not None and dec.gross_wt is not None and dec.net_wt > dec.gross_wt:
        add("net_wt", _("净重不能大于毛重（毛重 %(g)s 千克）", g=_n(dec.gross_wt)))
    _fee_checks(dec, ie, add)
    if dec.kind in TRANSIT_KINDS and dec.traf_name and not re.fullmatch(r"@[0-9]{13,18}",
                                                                        dec.traf_name):
        add("traf_name", _("转关提前报关的运输工具名称应为“@”+载货清单号（13 至 18 位数字）"))
    if dec.manual_no:
        for i, g in enumerate(dec.goods):
            if g.contr_item is None:
                add(f"goods-{i}-contr_item", _("有备案号时应填报备案序号"))
    elif not needs_manual_no(dec.trade_mode):
        for i, g in enumerate(dec.goods):
            if g.contr_item is not None:
                add(f"goods-{i}-contr_item", _("没有备案号时不填报备案序号"))
    if not dec.owner_code_scc and not dec.owner_code:
        add("owner_code_scc", _("生产销售单位应填报统一社会信用代码或海关编码"))
    have_docs = {d.docu_code for d in dec.documents}
    for i, g in enumerate(dec.goods):
        _goods_checks(session, dec, ie, i, g, have_docs, add)
    from models.customs_links import licence_errors, pre_shipment_errors

    licence_errors(session, dec, add)
    pre_shipment_errors(session, dec, add)
    return errors


def _fee_checks(dec, ie, add) -> None:
    needed = FEES_BY_TRANS_MODE[ie].get(dec.trans_mode or "", None)
    for prefix, label, index in (("fee", _("运费"), 0), ("insur", _("保费"), 1)):
        mark, rate, curr = (getattr(dec, f"{prefix}_mark"), getattr(dec, f"{prefix}_rate"),
                            getattr(dec, f"{prefix}_curr"))
        given = bool(mark or rate is not None or curr)
        if needed is not None and needed[index] and not given:
            add(f"{prefix}_rate", _("成交方式为 %(mode)s 时应填报%(fee)s",
                                    mode=_trans_label(dec.trans_mode), fee=label))
        if needed is not None and not needed[index] and given:
            add(f"{prefix}_rate", _("成交方式为 %(mode)s 时不应填报%(fee)s",
                                    mode=_trans_label(dec.trans_mode), fee=label))
    for prefix, label in (("fee", _("运费")), ("insur", _("保费")), ("other", _("杂费"))):
        mark, rate, curr = (getattr(dec, f"{prefix}_mark"), getattr(dec, f"{prefix}_rate"),
                            getattr(dec, f"{prefix}_curr"))
        if not (mark or rate is not None or curr):
            continue
        if not mark:
            add(f"{prefix}_mark", _("请选择%(fee)s标记", fee=label))
        if rate is None:
            add(f"{prefix}_rate", _("请填报%(fee)s", fee=label))
        if mark == "1":
            if curr:
                add(f"{prefix}_curr", _("%(fee)s为率时不填报币制", fee=label))
            if rate is not None and rate >= 100:
                add(f"{prefix}_rate", _("%(fee)s率应小于 100（百分比）", fee=label))
        elif mark in ("2", "3") and not curr:
            add(f"{prefix}_curr", _("%(fee)s为单价或总价时应填报币制", fee=label))


def _trans_label(code) -> str:
    return dict(TRANS_LABELS).get(code, code or "")


TRANS_LABELS = [("1", "CIF"), ("2", "C&F"), ("3", "FOB"), ("4", "C&I"), ("5", "市场价"),
                ("6", "垫仓"), ("7", "EXW")]


def _goods_checks(session, dec, ie, i, g, have_docs, add) -> None:
    p = f"goods-{i}-"
    if g.decl_price is not None and g.g_qty is not None and g.decl_total is not None:
        expected = quantize(g.decl_price * g.g_qty)
        if quantize(g.decl_total) != expected:
            add(p + "decl_total", _("总价应等于单价×成交数量：%(price)s × %(qty)s = %(total)s",
                                    price=_n(g.decl_price), qty=_n(g.g_qty),
                                    total=expected))
    hs = hs_entry(session, g.code_ts)
    if g.code_ts and hs is None:
        add(p + "code_ts", _("商品编号 %(code)s 不在商品综合分类表中", code=g.code_ts))
        return
    if hs is None:
        return
    if hs.unit2 and g.qty2 is None:
        add(p + "qty2", _("商品编号 %(code)s 有法定第二单位（%(unit)s），应填报法定第二数量",
                          code=g.code_ts, unit=codelist_data.name_of(session, "unit_of_measure",
                                                                     hs.unit2)))
    if not hs.unit2 and g.qty2 is not None:
        add(p + "qty2", _("商品编号 %(code)s 没有法定第二单位，不填报法定第二数量",
                          code=g.code_ts))
    if g.g_unit and g.g_unit == hs.unit1 and g.qty1 is not None and g.g_qty is not None \
            and g.qty1 != g.g_qty:
        add(p + "qty1", _("成交单位与法定第一单位相同，法定第一数量应等于成交数量"))
    if g.g_unit and g.g_unit == hs.unit2 and g.qty2 is not None and g.g_qty is not None \
            and g.qty2 != g.g_qty:
        add(p + "qty2", _("成交单位与法定第二单位相同，法定第二数量应等于成交数量"))
    names = hs.element_names()
    parts = (g.g_model or "").split("|")
    if names and g.g_model and len(parts) > len(names):
        add(p + "g_model", _("规格型号有 %(n)s 项，多于申报要素的 %(m)s 项", n=len(parts),
                             m=len(names)))
    if names and g.g_model and names[0] == _("品牌类型") and parts[0].strip() not in (
            "0", "1", "2", "3", "4"):
        add(p + "g_model", _("申报要素“品牌类型”应填 0 至 4"))
    if names and g.g_model and len(names) > 1 and names[1] == _("出口享惠情况") and ie == "E" \
            and (len(parts) < 2 or parts[1].strip() not in ("0", "1", "2")):
        add(p + "g_model", _("申报要素“出口享惠情况”应填 0 至 2"))
    for code in docs_needed(hs.control_mark, ie):
        if code not in have_docs:
            add("documents", _("第 %(n)s 项商品 %(code)s 的监管条件要求随附单证：%(doc)s",
                               n=i + 1, code=g.code_ts,
                               doc=codelist_data.display(session, "license_document", code)))


def _cited_batch_licences(dec) -> list:
    from models.customs_links import cited_batch_licences

    return cited_batch_licences(dec)


def logic_check(dec, ctx):
    """The condition of 提交审核 and 申报: every problem at once, or nothing."""
    errors = logic_errors(dec, ctx.session)
    if errors:
        from app.engine.transitions import error_labels

        labels = error_labels(dec)
        items = []
        for path, msgs in errors.items():
            label = labels.get(path, path)
            items.extend(_("%(label)s：%(value)s", label=label, value=m) for m in msgs)
        raise ValidationErrors(errors, _("逻辑校验未通过，共 %(n)s 项：%(items)s", n=len(items),
                                         items=_("；").join(items)))
    return None


# ==========================================================================================
# Workflow: 暂存 → 提交审核 → 审核通过 / 退回 → 申报 → customs statuses
# ==========================================================================================
def _submitted(dec, ctx):
    dec.submitted_by_id = ctx.actor.user_id
    dec.submitted_at = ctx.at
    dec.reviewer_name = None
    dec.reviewed_at = None


def _reviewed(dec, ctx):
    dec.reviewer_name = ctx.actor.display_name
    dec.reviewed_at = ctx.at


def _declared(dec, ctx):
    from models.customs_message import queue_message

    dec.declared_at = ctx.at
    dec.d_date = ctx.at.date()
    queue_message(ctx.session, dec, ctx)
    ctx.messages.append(_("预录入编号：%(no)s", no=dec.pre_entry_no))


def _prepared_by(dec):
    """Who prepared the declaration: its maker, whoever submitted it, and whoever changed what
    a preparer fills in since its last review round closed — a reviewer who is also 企业 and
    edited it does not review it (their own change would pass unreviewed)."""
    from app.engine.history import FieldChange
    from app.engine.review_marks import ReviewRound

    session = session_for(dec)
    meta = dec.meta()
    since = session.scalar(select(func.max(ReviewRound.closed_at)).where(
        ReviewRound.entity == meta.resource, ReviewRound.record_id == dec.id))
    changes = select(FieldChange.actor_id, FieldChange.field).where(
        FieldChange.entity == meta.resource, FieldChange.record_id == dec.id,
        FieldChange.actor_id.is_not(None))
    if since is not None:
        changes = changes.where(FieldChange.at >= since)
    editors = {actor for actor, name in session.execute(changes)
               if name.split(".")[0].split("[")[0] in meta.children
               or not getattr(meta.fields.get(name), "system", True)}
    return {dec.created_by_id, dec.submitted_by_id, *editors} - {None}


def _closed_at_customs(dec, ctx) -> None:
    """结关 entered by an officer consumes the cited licences' 报关余量, as the receipt does
    (models/customs_sync.py); what could not be cleared is told."""
    from models.customs_links import clear_licences

    ctx.messages.extend(clear_licences(ctx.session, dec, ctx.at.date()))


def _deleted_at_customs(dec, ctx) -> None:
    """删单 entered by an officer registers the 删单 exception, as the receipt does."""
    from models.customs_exception import record_deletion

    record_deletion(ctx.session, dec, ctx.at.date(), reason=_("海关删单"))


PREPARER = (ENTERPRISE,)
REVIEWER = (ENTERPRISE_REVIEWER,)
_not_own = not_prepared_by(_prepared_by, _l("不能审核本人制单的报关单"))

DECLARATION_FLOW = Workflow(
    states=STATES,
    transitions=[
        Transition("save", _l("暂存"), EDITING, roles=PREPARER, kind=SAVE),
        Transition("submit", _l("提交审核"), EDITING, "under_review", roles=PREPARER,
                   saves_form=True, batch=True, conditions=[logic_check],
                   effects=[_submitted], todo=["review_returned"],
                   success=_l("已提交审核")),
        Transition("review_pass", _l("审核通过"), ["under_review"], "review_passed",
                   roles=REVIEWER, when=_not_own, opinion="optional",
                   opinion_label=_l("审核意见"), conditions=[no_red_marks],
                   effects=[_reviewed, close_round("passed")], todo=True, style="success",
                   success=_l("已审核通过")),
        Transition("review_return", _l("退回"), ["under_review"], "review_returned",
                   roles=REVIEWER, when=_not_own, opinion="required",
                   opinion_label=_l("审核意见"), effects=[_reviewed, close_round("returned")],
                   todo=True, style="danger", success=_l("已退回")),
        Transition("declare", _l("申报"), ["review_passed"], "declared",
                   roles=PREPARER, batch=True, conditions=[logic_check], effects=[_declared],
                   locks=[_cited_batch_licences],
                   todo=True, success=_l("申报成功"),
                   confirm=_l("申报即意味着您的数据将向海关发送。是否申报？")),
        # Customs receipts (回执) — fired by the receipt processing of 数据同步 (part 2) or by
        # a customs officer; each is one status of the declaration at customs.
        Transition("cus_accept", _l("海关入库成功"), ["declared"], "cus_accepted",
                   roles=(CUSTOMS,), opinion="optional", success=_l("已登记：海关入库成功"),
                   inputs=[Input("entry_id", _l("海关编号"), String(18), required=True,
                                 validators=(validators.entry_id,), target="entry_id")]),
        Transition("cus_reject", _l("海关入库失败"), ["declared"], "cus_rejected",
                   roles=(CUSTOMS,), opinion="optional", success=_l("已登记：海关入库失败")),
        Transition("cus_return", _l("退单"), ["declared", "cus_accepted"], "cus_returned",
                   roles=(CUSTOMS,), opinion="optional"),
        Transition("conclude", _l("审结"), ["cus_accepted"], "concluded", roles=(CUSTOMS,),
                   opinion="optional"),
        Transition("inspect", _l("查验"), ["concluded"], "inspection", roles=(CUSTOMS,),
                   opinion="optional"),
        Transition("release", _l("放行"), ["concluded", "inspection"], "released",
                   roles=(CUSTOMS,), opinion="optional"),
        Transition("close", _l("结关"), ["released"], "closed", roles=(CUSTOMS,),
                   opinion="optional", effects=[_closed_at_customs]),
        Transition("cus_delete", _l("删单"), ["declared", "cus_accepted", "concluded",
                                             "inspection", "cus_returned"], "cus_deleted",
                   roles=(CUSTOMS,), opinion="optional", effects=[_deleted_at_customs]),
        Transition("copy", _l("复制"), "*", roles=PREPARER, kind=COPY,
                   confirm=_l("是否确认复制一份新报关单？"), style="default"),
        delete_transition(["draft"], PREPARER),
    ],
)


# ==========================================================================================
# The boxes of the official form (中华人民共和国海关进出口货物报关单)
# ==========================================================================================
def _cell(session, rec, name) -> str:
    from app.engine import present

    return present.cell(session, rec, name)


def _short(session, rec, name) -> str:
    from app.engine import present

    return present.short(session, rec, name)


def box_text(dec, path: str) -> str:
    """The text of one box of the form: several fields joined where the form joins them."""
    session = object_session(dec)
    c = lambda n: _cell(session, dec, n)  # noqa: E731
    if path == "trade_name":
        return "\n".join(v for v in (dec.trade_code_scc, dec.trade_code, dec.trade_name) if v)
    if path == "owner_name":
        return "\n".join(v for v in (dec.owner_code_scc, dec.owner_code, dec.owner_name) if v)
    if path == "agent_name":
        return "\n".join(v for v in (dec.agent_code_scc, dec.agent_code, dec.agent_name) if v)
    if path == "overseas_name":
        return "\n".join(v for v in (dec.overseas_code, dec.overseas_name) if v)
    if path == "traf_name":
        text = "/".join(v for v in (dec.traf_name, dec.voyage_no) if v)
        if dec.south_mode == "1" and (dec.trn_traf_name or dec.trn_traf_no):
            text += "\n" + "/".join(v for v in (dec.trn_traf_name, dec.trn_traf_no) if v)
        return text
    if path in ("fee_rate", "insur_rate", "other_rate"):
        prefix = path.split("_")[0]
        rate = getattr(dec, f"{prefix}_rate")
        if rate is None:
            return ""
        mark = getattr(dec, f"{prefix}_mark") or ""
        curr = getattr(dec, f"{prefix}_curr") or ""
        # the form's notation: currency/amount/mark (e.g. USD/1200/3)
        return "/".join(v for v in (curr, _n(rate), mark) if v)
    if path == "documents":
        return _("；").join(f"{d.docu_code} {d.cert_code or ''}" for d in dec.documents)
    if path == "mark_no":
        return "\n".join(v for v in (dec.mark_no, dec.note_s) if v)
    if path == "containers":
        return _("；").join(f"{k.container_id or ''} {_short(session, k, 'container_md')}"
                           for k in dec.containers)
    return c(path)


def goods_box_text(line, path: str) -> str:
    session = _session_of(line)
    c = lambda n: _cell(session, line, n)  # noqa: E731
    s = lambda n: _short(session, line, n)  # noqa: E731
    if path == "g_name":
        return "\n".join(v for v in (line.g_name, line.g_model) if v)
    if path == "g_qty":
        rows = [(c("qty1"), s("unit1")), (c("qty2"), s("unit2")), (c("g_qty"), s("g_unit"))]
        # 2台 in Chinese, "2 set" in English: the catalogue says where the space goes
        return "\n".join(_("%(qty)s%(unit)s", qty=q, unit=u) if u else q for q, u in rows if q)
    if path == "decl_price":
        return "\n".join(v for v in (c("decl_price"), c("decl_total"), s("trade_curr")) if v)
    if path == "code_ts":
        return "".join(v for v in (line.code_ts, line.ciq_code) if v)
    return c(path)


# Boxes a reviewer marks (可视化审核): path -> (label, the form fields it stands for).
HEAD_BOXES = {
    "pre_entry_no": (_l("预录入编号"), ["pre_entry_no"]),
    "entry_id": (_l("海关编号"), ["entry_id"]),
    "trade_name": (_l("境内收发货人"), ["trade_code_scc", "trade_code", "trade_name"]),
    "ie_port": (_l("出境关别"), ["ie_port"]),
    "ie_date": (_l("出口日期"), ["ie_date"]),
    "d_date": (_l("申报日期"), ["d_date"]),
    "manual_no": (_l("备案号"), ["manual_no"]),
    "overseas_name": (_l("境外收发货人"), ["overseas_code", "overseas_name"]),
    "traf_mode": (_l("运输方式"), ["traf_mode"]),
    "traf_name": (_l("运输工具名称及航次号"), ["traf_name", "voyage_no", "trn_traf_name",
                                           "trn_traf_no"]),
    "bill_no": (_l("提运单号"), ["bill_no"]),
    "owner_name": (_l("生产销售单位"), ["owner_code_scc", "owner_code", "owner_name"]),
    "trade_mode": (_l("监管方式"), ["trade_mode"]),
    "cut_mode": (_l("征免性质"), ["cut_mode"]),
    "license_no": (_l("许可证号"), ["license_no"]),
    "contr_no": (_l("合同协议号"), ["contr_no"]),
    "trade_area_code": (_l("贸易国(地区)"), ["trade_area_code"]),
    "trade_country": (_l("运抵国(地区)"), ["trade_country"]),
    "distinate_port": (_l("指运港"), ["distinate_port"]),
    "enty_port_code": (_l("离境口岸"), ["enty_port_code"]),
    "wrap_type": (_l("包装种类"), ["wrap_type"]),
    "pack_no": (_l("件数"), ["pack_no"]),
    "gross_wt": (_l("毛重(千克)"), ["gross_wt"]),
    "net_wt": (_l("净重(千克)"), ["net_wt"]),
    "trans_mode": (_l("成交方式"), ["trans_mode"]),
    "fee_rate": (_l("运费"), ["fee_mark", "fee_rate", "fee_curr"]),
    "insur_rate": (_l("保费"), ["insur_mark", "insur_rate", "insur_curr"]),
    "other_rate": (_l("杂费"), ["other_mark", "other_rate", "other_curr"]),
    "documents": (_l("随附单证及编号"), ["documents"]),
    "mark_no": (_l("标记唛码及备注"), ["mark_no", "note_s"]),
    "containers": (_l("集装箱"), ["containers"]),
    "customs_master": (_l("申报地海关"), ["customs_master"]),
    "entry_type": (_l("报关单类型"), ["entry_type"]),
    "promise_relation": (_l("特殊关系确认"), ["promise_relation"]),
    "promise_price": (_l("价格影响确认"), ["promise_price"]),
    "promise_royalty": (_l("支付特许权使用费确认"), ["promise_royalty"]),
    "self_pay": (_l("自报自缴"), ["self_pay"]),
    "agent_name": (_l("申报单位"), ["agent_code_scc", "agent_code", "agent_name"]),
}
GOODS_BOXES = {
    "code_ts": (_l("商品编号"), ["code_ts", "ciq_code"]),
    "g_name": (_l("商品名称及规格型号"), ["g_name", "g_model"]),
    "g_qty": (_l("数量及单位"), ["g_qty", "g_unit", "qty1", "qty2"]),
    "decl_price": (_l("单价/总价/币制"), ["decl_price", "decl_total", "trade_curr"]),
    "origin_country": (_l("原产国(地区)"), ["origin_country"]),
    "destination_country": (_l("最终目的国(地区)"), ["destination_country"]),
    "district_code": (_l("境内货源地"), ["district_code"]),
    "duty_mode": (_l("征免"), ["duty_mode"]),
}
IMPORT_WORDS = {"ie_port": _l("进境关别"), "ie_date": _l("进口日期"),
                "trade_country": _l("启运国(地区)"), "distinate_port": _l("经停港"),
                "enty_port_code": _l("入境口岸"), "owner_name": _l("消费使用单位"),
                "district_code": _l("境内目的地")}


def box_label(dec, path: str) -> str:
    """The box's label on the form of this declaration's direction."""
    if (dec.kind or "E")[0] == "I" and path in IMPORT_WORDS:
        return str(IMPORT_WORDS[path])
    if path in HEAD_BOXES:
        return str(HEAD_BOXES[path][0])
    return str(GOODS_BOXES[path][0]) if path in GOODS_BOXES else path


def review_paths(dec) -> dict[str, str]:
    """Every box a reviewer may mark: path -> label (goods.N.field for the N-th goods line)."""
    out = {p: box_label(dec, p) for p in HEAD_BOXES}
    for n, _g in enumerate(dec.goods, start=1):
        for p in GOODS_BOXES:
            out[f"goods.{n}.{p}"] = _("第%(n)s项 %(label)s", n=n, label=box_label(dec, p))
    return out


def review_form_paths(dec, path: str) -> list[str]:
    """The form fields a marked box stands for (form paths: goods-0-g_qty …)."""
    if path.startswith("goods."):
        _goods, n, box = path.split(".", 2)
        return [f"goods-{int(n) - 1}-{f}" for f in GOODS_BOXES.get(box, ("", []))[1]]
    out = []
    for f in HEAD_BOXES.get(path, ("", []))[1]:
        if f in dec.meta().children:  # a whole table: every cell of it
            out.extend(f"{f}-{i}-{name}" for i, line in enumerate(getattr(dec, f))
                       for name in line.meta().fields)
        else:
            out.append(f)
    return out


FEATURES = [
    VisualReview(template="cd/visual_review.html", states=("under_review",),
                 pass_transition="review_pass", return_transition="review_return",
                 paths=review_paths, form_paths=review_form_paths,
                 show_red_in=("review_returned",)),
    Message(DecMessageCodec()),
    ExtraPrint("notices", "cd_notices.html", _l("海关通知书")),
]


# ==========================================================================================
# The declaration
# ==========================================================================================
class CdDeclaration(Record):
    __tablename__ = "cd_declaration"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    inventory_id = mapped_column(ForeignKey("cd_inventory.id"), index=True)

    # --- 单证编号 ---------------------------------------------------------------------------
    kind = field(String(12), _l("报关单类别"), required=True, preset=True, widget="select",
                 choices=KINDS, initial=E_DEC, section="numbers", index=True)
    ie_flag = field(String(1), _l("进出口标志"), choices=[("E", _l("出口")), ("I", _l("进口"))],
                    compute=lambda d: d.ie_flag_of(), section="numbers", index=True)
    sys_no = field(String(20), _l("系统编号"), system=True, copy=False, unique=True,
                   section="numbers")
    seq_no = field(String(18), _l("统一编号"), system=True, copy=False, unique=True,
                   section="numbers")
    pre_entry_no = field(String(18), _l("预录入编号"), system=True, copy=False, unique=True,
                         section="numbers")
    entry_id = field(String(18), _l("海关编号"), system=True, copy=False, unique=True,
                     section="numbers")
    status = workflow_state(_l("系统状态"))
    entry_type = field(String(1), _l("报关单类型"), required=True, widget="select",
                       choices=ENTRY_TYPES, initial="M", section="numbers")
    bill_type = field(String(1), _l("清单类型"), widget="select", choices=BILL_TYPES,
                      required=True, show_when=("kind", BILL_KINDS), section="numbers")
    decl_mode = field(String(1), _l("申报方式"), widget="select", choices=DECL_MODES,
                      required=True, initial="1", section="numbers")
    ent_category = field(String(1), _l("企业类别"), choices=ENT_CATEGORIES, system=True,
                         initial="D", section="numbers")

    # --- 收发货人 ---------------------------------------------------------------------------
    trade_code_scc = field(String(18), _l("境内收发货人统一社会信用代码"), system=True,
                           section="parties")
    trade_code = field(String(10), _l("境内收发货人海关编码"), system=True, section="parties")
    trade_name = field(String(100), _l("境内收发货人"), system=True, section="parties")
    overseas_code = field(String(20), _l("境外收发货人代码"), section="parties",
                          validators=(consignee_code,), initial="NO")
    overseas_name = field(String(100), _l("境外收发货人"), required=True, section="parties",
                          validators=(english_name,),
                          placeholder=_l("英文名称"))
    owner_code_scc = field(String(18), _l("生产销售单位统一社会信用代码"), section="parties",
                           validators=(validators.uscc,))
    owner_code = field(String(10), _l("生产销售单位海关编码"), section="parties",
                       validators=(customs_code,))
    owner_name = field(String(100), _l("生产销售单位"), required=True, section="parties")
    agent_code_scc = field(String(18), _l("申报单位统一社会信用代码"), system=True,
                           section="parties")
    agent_code = field(String(10), _l("申报单位海关编码"), system=True, section="parties")
    agent_name = field(String(100), _l("申报单位"), system=True, section="parties")

    # --- 运输信息 ---------------------------------------------------------------------------
    ie_port = field(String(4), _l("出境关别"), codelist="customs_district", required=True,
                    section="transport", autofocus=True)
    customs_master = field(String(4), _l("申报地海关"), codelist="customs_district",
                           required=True, section="transport", index=True)
    ie_date = field(Date, _l("出口日期"), system=True, copy=False, section="transport")
    d_date = field(Date, _l("申报日期"), system=True, copy=False, section="transport")
    traf_mode = field(String(1), _l("运输方式"), codelist="transport_mode", required=True,
                      section="transport")
    traf_name = field(String(50), _l("运输工具名称"), section="transport",
                      required=lambda d: d.traf_mode in ("2", "5") or d.kind in TRANSIT_KINDS,
                      help=_l("转关提前报关填报“@”+载货清单号"))
    voyage_no = field(String(32), _l("航次号"), section="transport")
    bill_no = field(String(32), _l("提运单号"), section="transport", index=True,
                    required=lambda d: d.traf_mode in ("2", "5"))
    south_mode = field(String(1), _l("南方模式"), compute=_south_mode, in_form=False,
                       track=False)
    trn_traf_name = field(String(50), _l("境内运输工具名称"), section="transport",
                          show_when=("south_mode", ("1",)), required=True)
    trn_traf_no = field(String(32), _l("境内运输工具编号"), section="transport",
                        show_when=("south_mode", ("1",)))
    enty_port_code = field(String(6), _l("离境口岸"), codelist="domestic_port", required=True,
                           section="transport")
    distinate_port = field(String(6), _l("指运港"), codelist="port", required=True,
                           section="transport")

    # --- 贸易信息 ---------------------------------------------------------------------------
    trade_mode = field(String(4), _l("监管方式"), codelist="supervision_mode", required=True,
                       initial="0110", section="trade")
    cut_mode = field(String(3), _l("征免性质"), codelist="levy_nature", section="trade")
    manual_no = field(String(12), _l("备案号"), section="trade",
                      required=lambda d: needs_manual_no(d.trade_mode),
                      validators=(manual_no_format,))
    license_no = field(String(20), _l("许可证号"), section="trade", index=True,
                       validators=(license_no_format,))
    # 旧机电: the certificate of the pre-shipment inspection (业务委托 检验结果, system A)
    psi_cert_no = field(String(60), _l("装运前检验证书编号"), section="trade",
                        show_when=("kind", IMPORT_KINDS),
                        help=_l("进口需实施装运前检验的旧机电产品时填报检验机构出具的证书编号"))
    contr_no = field(String(32), _l("合同协议号"), section="trade",
                     required=lambda d: d.trade_mode == "0110")
    trade_area_code = field(String(3), _l("贸易国(地区)"), codelist="country", required=True,
                            section="trade")
    trade_country = field(String(3), _l("运抵国(地区)"), codelist="country", required=True,
                          section="trade")
    trans_mode = field(String(1), _l("成交方式"), codelist="transaction_mode", required=True,
                       initial="3", section="trade")
    fee_mark = field(String(1), _l("运费标记"), widget="select", choices=FEE_MARKS,
                     section="trade")
    fee_rate = field(numeric(19, 5), _l("运费"), section="trade",
                     validators=(validators.positive,))
    fee_curr = field(String(3), _l("运费币制"), codelist="currency", section="trade")
    insur_mark = field(String(1), _l("保费标记"), widget="select", choices=FEE_MARKS_NO_UNIT,
                       section="trade")
    insur_rate = field(numeric(19, 5), _l("保费"), section="trade",
                       validators=(validators.positive,))
    insur_curr = field(String(3), _l("保费币制"), codelist="currency", section="trade")
    other_mark = field(String(1), _l("杂费标记"), widget="select", choices=FEE_MARKS_NO_UNIT,
                       section="trade")
    other_rate = field(numeric(19, 5), _l("杂费"), section="trade")
    other_curr = field(String(3), _l("杂费币制"), codelist="currency", section="trade")

    # --- 货物信息 ---------------------------------------------------------------------------
    wrap_type = field(String(2), _l("包装种类"), codelist="wrap_type", required=True,
                      section="cargo")
    pack_no = field(Integer, _l("件数"), required=True, section="cargo",
                    validators=(validators.positive,))
    gross_wt = field(numeric(19, 5), _l("毛重(千克)"), required=True, section="cargo",
                     validators=(validators.positive,))
    net_wt = field(numeric(19, 5), _l("净重(千克)"), required=True, section="cargo",
                   validators=(validators.positive,))
    mark_no = field(String(400), _l("标记唛码"), required=True, initial="N/M", section="cargo",
                    widget="textarea")
    note_s = field(String(255), _l("备注"), section="cargo", widget="textarea")
    promise_relation = field(String(1), _l("特殊关系确认"), widget="select", choices=YES_NO,
                             initial="0", section="cargo")
    promise_price = field(String(1), _l("价格影响确认"), widget="select", choices=YES_NO,
                          initial="0", section="cargo")
    promise_royalty = field(String(1), _l("支付特许权使用费确认"), widget="select",
                            choices=YES_NO, initial="0", section="cargo")
    self_pay = field(String(1), _l("自报自缴"), widget="select", choices=YES_NO, initial="0",
                     section="cargo")

    goods = children("CdGoods", _l("商品信息"), back_populates="declaration", section="goods",
                     order_by="CdGoods.id")
    documents = children("CdDocument", _l("随附单证"), back_populates="declaration",
                         section="documents", order_by="CdDocument.id")
    containers = children("CdContainer", _l("集装箱"), back_populates="declaration",
                          section="containers", order_by="CdContainer.id")

    # --- lists and review -------------------------------------------------------------------
    goods_names = field(String(500), _l("商品名称"), compute=_goods_names, track=False,
                        in_form=False)
    review_status = field(String(1), _l("审核状态"), choices=REVIEW_STATUS,
                          compute=_review_status, track=False, in_form=False, index=True)
    decl_status = field(String(1), _l("申报状态"), choices=DECL_STATUS, compute=_decl_status,
                        track=False, in_form=False)
    preparer_name = field(String(128), _l("制单人"), system=True, copy=False, section="review",
                          index=True)
    submitted_by_id = field(Integer, _l("提交审核人"), system=True, copy=False, in_form=False,
                            track=False)
    submitted_at = field(DateTime, _l("提交审核时间"), system=True, copy=False,
                         section="review")
    reviewer_name = field(String(128), _l("审单人"), system=True, copy=False, section="review")
    reviewed_at = field(DateTime, _l("审核时间"), system=True, copy=False, section="review")
    declared_at = field(DateTime, _l("申报时间"), system=True, copy=False, section="review")
    inv_no = field(String(18), _l("核注清单编号"), system=True, copy=False, section="review")

    __table_args__ = (
        Index("ix_cd_declaration_company_updated", "company_id", "updated_at"),
        Index("ix_cd_declaration_company_status", "company_id", "status"),
    )

    class Meta:
        label = _l("报关单")
        list_label = _l("报关数据查询")
        resource = "cd_declaration"
        # 报关单制单 is the enterprise's; customs find declared ones under 报关数据查询.
        menu = [SYSTEM.menu("entry", label, order=i, args={"kind": code}, roles=(ENTERPRISE,))
                for i, (code, label) in enumerate(KINDS, start=1)] + [
            SYSTEM.menu("query", _l("报关数据查询"), order=1)]
        owner = "company_id"
        scope = {
            ENTERPRISE: Own("company_id"),
            ENTERPRISE_REVIEWER: Own("company_id"),
            CUSTOMS: Where(lambda m, a: m.status.in_(CUSTOMS_STATES)
                           & m.customs_master.in_(a.customs_codes or ("-",))),
            ADMIN: ALL,
        }
        create_roles = (ENTERPRISE,)
        editable = {s: (ENTERPRISE,) for s in EDITING}
        sections = [
            Section("numbers", _l("单证信息")),
            Section("parties", _l("收发货人")),
            Section("transport", _l("运输信息")),
            Section("trade", _l("贸易信息")),
            Section("cargo", _l("货物信息")),
            Section("goods", _l("商品信息")),
            Section("documents", _l("随附单证")),
            Section("containers", _l("集装箱")),
            Section("review", _l("审核信息")),
        ]
        list_columns = ["seq_no", "kind", "pre_entry_no", "entry_id", "trade_name", "bill_no",
                        "customs_master", "status", "updated_at"]
        search = [
            Search("kind"),
            Search("seq_no", "exact"),
            Search("pre_entry_no", "exact"),
            Search("entry_id", "exact"),
            Search("bill_no", "exact"),
            Search("ie_flag"),
            Search("status"),
            Search("customs_master"),
            Search("goods_names", "contains", indexed=True),
            Search("updated_at", "range"),
        ]
        order_by = "-id"
        title_field = "seq_no"
        numbering = [
            Numbering("sys_no", "YB{yyyy}{mm}{dd}{seq:06d}", period="{yyyy}{mm}{dd}"),
            # a draft whose 类别 was cleared is numbered as ie_flag shows it (出口); 申报 refuses it
            Numbering("seq_no", "{ie}{yyyy}{seq:013d}", parts=lambda d: {"ie": d.ie_flag_of()}),
            Numbering("pre_entry_no", "{customs}{yyyy}{flag}{seq:09d}",
                      period="{customs}{yyyy}{flag}",
                      parts=lambda d: {"customs": d.customs_master or "0000",
                                       "flag": "0" if d.ie_flag_of() == "E" else "1"},
                      on="declare"),
        ]
        on_create = staticmethod(_declaration_from_company)
        clean = staticmethod(lambda d, session: _format_checks(d))
        print = Print("cd_declaration.html", _l("中华人民共和国海关进出口货物报关单"),
                      button=_l("打印报关单"))
        export_label = _l("列表导出")
        importable = True
        list_buttons = [
            ListButton(_l("打印通知书"), "/print/view?print=notices"),
            ListButton(_l("生成报关单"), "/cd_inventory/?status=pre_approved&_searched=1",
                       select="none", roles=(ENTERPRISE,)),
        ]
        screens = [
            Screen("review", _l("报关单审核"),
                   columns=["ie_flag", "sys_no", "pre_entry_no", "status", "decl_status",
                            "seq_no", "entry_id", "customs_master", "review_status",
                            "preparer_name", "updated_at"],
                   search=[
                       Search("pre_entry_no", "exact", label=_l("申报单号")),
                       Search("bill_no", "exact"),
                       Search("ie_flag"),
                       Search("review_status"),
                       Search("customs_master"),
                       Search("trade_name", "contains"),
                       Search("updated_at", "range"),
                       Search("preparer_name", "contains"),
                       Search("decl_mode"),
                       Search("sys_no", "exact"),
                       Search("seq_no", "exact"),
                       Search("entry_id", "exact"),
                       Search("decl_status"),
                       Search("ent_category"),
                   ],
                   where=lambda m: m.status != "draft",
                   roles=(ENTERPRISE_REVIEWER,),
                   list_default=lambda: {"updated_at__from": (_today() - dt.timedelta(days=7))
                                         .isoformat()},
                   buttons=[
                       ListButton(_l("可视化审核"), "/visual_review", style="primary"),
                       ListButton(_l("普通审核"), ""),
                       ListButton(_l("状态筛选"), select="none", menu=[
                           (lazy_pgettext("状态", "待审核"), "?review_status=1&_searched=1"),
                           (lazy_pgettext("状态", "审核通过"), "?review_status=2&_searched=1"),
                           (lazy_pgettext("状态", "审核退回"), "?review_status=3&_searched=1"),
                           (_l("全部"), "?_searched=1"),
                       ]),
                   ],
                   transitions={"declare": _l("发送")},
                   print_label=_l("打印"),
                   menu=SYSTEM.menu("review", order=1)),
            Screen("summary", _l("概要申报数据查询"),
                   columns=["seq_no", "kind", "pre_entry_no", "entry_id", "trade_name",
                            "bill_no", "customs_master", "status", "updated_at"],
                   search=[Search("seq_no", "exact"), Search("entry_id", "exact"),
                           Search("bill_no", "exact"), Search("ie_flag"),
                           Search("customs_master"), Search("updated_at", "range")],
                   where=lambda m: m.decl_mode == "2",
                   list_default=lambda: {"updated_at__from": (_today() - dt.timedelta(days=7))
                                         .isoformat()},
                   print_label=_l("打印"),
                   menu=SYSTEM.menu("query", order=2)),
        ]
        workflow = DECLARATION_FLOW
        features = FEATURES

    # --- the official form's boxes (print and 可视化审核 share them) --------------------------
    def ie_flag_of(self) -> str:
        """E or I by 报关单类别 (E for a draft whose 类别 was left empty)."""
        return (self.kind or "E")[0]

    def box_text(self, path: str) -> str:
        return box_text(self, path)

    def box_label(self, path: str) -> str:
        return box_label(self, path)

    def customs_notices(self) -> list:
        """The notices customs sent for this declaration (its customs steps, newest last):
        (what — the status it told, 放行 as "Released", not the button's "Release" —, when,
        the receipt's text, who) — 打印通知书."""
        from app.engine.history import flow_of

        wf = self.meta().workflow
        out = []
        for e in flow_of(object_session(self), self):
            t = wf.get(e.transition)
            if t is not None and CUSTOMS in t.roles:
                out.append((wf.state_label(e.to_state) if e.to_state else t.label, e.at,
                            e.opinion_text, e.org_name or e.actor_name))
        return out


class CdGoods(ChildRecord):
    __tablename__ = "cd_declaration_goods"
    __parent__ = "declaration"

    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    declaration = relationship(CdDeclaration, back_populates="goods")

    g_no = field(Integer, _l("项号"), compute=lambda g: _line_no(g, "goods"))
    code_ts = field(String(10), _l("商品编号"), required=True, validators=(validators.hs_code,),
                    placeholder=_l("输入至少四位商品编号后回车选择"),
                    picker=Picker("cd_hs_code", "code_ts", "g_name", min_chars=4,
                                  fills={"g_name": "g_name"}))
    ciq_code = field(String(3), _l("检验检疫编码"), validators=(ciq_code,))
    g_name = field(String(255), _l("商品名称"), required=True)
    # 新 / 旧 as the licence's 商品状态 (models/me_licence.py): 旧 goods of a 旧机电业务规则 need
    # their pre-shipment inspection certificate (models/customs_links.py)
    goods_state = field(String(1), _l("商品状态"), initial="N", widget="select",
                        choices=[("N", _l("新")), ("U", _l("旧"))])
    g_model = field(String(255), _l("规格型号"), required=True,
                    placeholder=_l("按申报要素填报，用“|”分隔"))
    elements = field(String(255), _l("申报要素"), compute=_hs_value("elements"), track=False)
    g_qty = field(numeric(19, 5), _l("成交数量"), required=True,
                  validators=(validators.positive,))
    g_unit = field(String(3), _l("成交计量单位"), codelist="unit_of_measure", required=True)
    qty1 = field(numeric(19, 5), _l("法定第一数量"), required=True,
                 validators=(validators.positive,))
    unit1 = field(String(3), _l("法定第一计量单位"), codelist="unit_of_measure",
                  compute=_hs_value("unit1"))
    qty2 = field(numeric(19, 5), _l("法定第二数量"), validators=(validators.positive,))
    unit2 = field(String(3), _l("法定第二计量单位"), codelist="unit_of_measure",
                  compute=_hs_value("unit2"))
    decl_price = field(numeric(19, 4), _l("单价"), required=True,
                       validators=(validators.positive,))
    decl_total = field(numeric(19, 2), _l("总价"), required=True,
                       validators=(validators.positive,))
    trade_curr = field(String(3), _l("币制"), codelist="currency", required=True,
                       initial="USD")
    origin_country = field(String(3), _l("原产国(地区)"), codelist="country", required=True)
    destination_country = field(String(3), _l("最终目的国(地区)"), codelist="country",
                                required=True)
    district_code = field(String(5), _l("境内货源地"), codelist="domestic_district",
                          required=True)
    duty_mode = field(String(1), _l("征免"), codelist="duty_mode", required=True, initial="1")
    contr_item = field(Integer, _l("备案序号"), validators=(validators.positive,))

    class Meta:
        label = _l("商品信息")

    def box_text(self, path: str) -> str:
        return goods_box_text(self, path)


class CdDocument(ChildRecord):
    __tablename__ = "cd_declaration_document"
    __parent__ = "declaration"

    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    declaration = relationship(CdDeclaration, back_populates="documents")

    docu_code = field(String(1), _l("监管证件代码"), codelist="license_document", required=True)
    cert_code = field(String(40), _l("证件编号"), required=True)

    class Meta:
        label = _l("随附单证")


class CdContainer(ChildRecord):
    __tablename__ = "cd_declaration_container"
    __parent__ = "declaration"

    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    declaration = relationship(CdDeclaration, back_populates="containers")

    container_id = field(String(11), _l("集装箱号"), required=True,
                         validators=(validators.container_no,))
    container_md = field(String(2), _l("集装箱规格"), codelist="container_spec", required=True)
    container_wt = field(numeric(10, 2), _l("自重(千克)"), validators=(validators.positive,))
    goods_no = field(String(100), _l("商品项号关系"), placeholder=_l("如 1,2,3"))
    lcl_flag = field(String(1), _l("拼箱标识"), widget="select", choices=YES_NO, initial="0")

    class Meta:
        label = _l("集装箱")


def _line_no(line, table: str) -> int | None:
    parent = line.parent()
    if parent is None:
        return None
    lines = getattr(parent, table)
    for i, other in enumerate(lines, start=1):
        if other is line:
            return i
    return len(lines) + 1




# ==========================================================================================
# Loading the 商品综合分类表 an operator holds (flask app load-hs FILE)
# ==========================================================================================
HS_COLUMNS = {
    "code_ts": ("code_ts", "商品编号", "商品编码", "HS编码", "税号"),
    "g_name": ("g_name", "商品名称", "货品名称"),
    "unit1": ("unit1", "法定第一单位", "第一计量单位"),
    "unit2": ("unit2", "法定第二单位", "第二计量单位"),
    "control_mark": ("control_mark", "监管条件", "海关监管条件"),
    "ciq_mark": ("ciq_mark", "检验检疫类别"),
    "elements": ("elements", "申报要素"),
    "source": ("source", "数据来源"),
}


def _hs_rows(path: str):
    """(line number, {column: text}) of a CSV (UTF-8 or GB18030) or .xlsx file."""
    import csv
    import io

    if path.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True, data_only=True).active
        rows = ws.iter_rows(values_only=True)
        header = [str(c or "").strip() for c in next(rows, ())]
        for i, values in enumerate(rows, start=2):
            yield i, {h: ("" if v is None else str(v)).strip() for h, v in zip(header, values,
                                                                             strict=False)}
        return
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    reader = csv.DictReader(io.StringIO(text))
    for i, row in enumerate(reader, start=2):
        yield i, {(k or "").strip(): (v or "").strip() for k, v in row.items()
                  if isinstance(v, str)}


def _unit_code(session, value: str) -> str | None:
    units = codelist_data.items(session, "unit_of_measure")
    value = (value or "").strip()
    if not value or value in ("无", "-"):
        return None
    if value in units:
        return value
    if value.isdigit() and value.zfill(3) in units:
        return value.zfill(3)
    for code, item in units.items():
        if item["name"] == value:
            return code
    raise ValueError(_("计量单位「%(unit)s」不在计量单位代码表中", unit=value))


def load_hs_table(session, path: str) -> tuple[int, int, list[tuple[int, str]]]:
    """Add or update 商品综合分类表 rows from a file; (added, updated, [(line, reason)])."""
    from app.engine.guard import system

    problems: list[tuple[int, str]] = []
    existing = {h.code_ts: h for h in session.scalars(select(CdHsCode))}
    added = updated = 0
    seen_header = False
    with system():
        for line, row in _hs_rows(path):
            if not seen_header:
                seen_header = True
                missing = [k for k in ("code_ts", "g_name", "unit1")
                           if not any(a in row for a in HS_COLUMNS[k])]
                if missing:
                    problems.append((1, _("缺少列：%(cols)s", cols=_("、").join(
                        HS_COLUMNS[k][1] for k in missing))))
                    return 0, 0, problems
            values = {k: next((row[a] for a in aliases if row.get(a)), "")
                      for k, aliases in HS_COLUMNS.items()}
            if not any(values.values()):
                continue
            code = re.sub(r"[.\s]", "", values["code_ts"])
            try:
                if not re.fullmatch(r"[0-9]{10}", code):
                    raise ValueError(_("商品编号「%(code)s」应为 10 位数字", code=values["code_ts"]))
                if not values["g_name"]:
                    raise ValueError(_("缺少商品名称"))
                unit1 = _unit_code(session, values["unit1"])
                if unit1 is None:
                    raise ValueError(_("缺少法定第一单位"))
                unit2 = _unit_code(session, values["unit2"])
                control = "".join(re.findall(r"[0-9A-Za-z]", values["control_mark"].split(":")[0]
                                             if ":" in values["control_mark"][:3]
                                             else values["control_mark"]))[:20]
            except ValueError as e:
                problems.append((line, str(e)))
                continue
            hs = existing.get(code)
            if hs is None:
                hs = CdHsCode(code_ts=code)
                session.add(hs)
                existing[code] = hs
                added += 1
            else:
                updated += 1
            hs.g_name = values["g_name"][:200]
            hs.unit1, hs.unit2, hs.control_mark = unit1, unit2, control or None
            hs.ciq_mark = values["ciq_mark"][:20] or None
            hs.elements = values["elements"][:500] or None
            hs.source = (values["source"] or os.path.basename(path))[:200]
    session.flush()
    return added, updated, problems


def _load_hs_command():
    import click
    from flask import current_app
    from flask.cli import with_appcontext

    @click.command("load-hs")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @with_appcontext
    def load_hs(path):
        """Load the 商品综合分类表 (CSV or .xlsx) into the HS table behind 商品编号."""
        session = current_app.appbuilder.session
        added, updated, problems = load_hs_table(session, path)
        session.commit()
        click.echo(_("商品综合分类表：新增 %(a)s 条，更新 %(u)s 条", a=added, u=updated))
        for line, reason in problems:
            click.echo(_("第 %(n)s 行未导入：%(reason)s", n=line, reason=reason), err=True)
        if problems:
            click.echo(_("%(n)s 行无法读取", n=len(problems)), err=True)

    return load_hs


CLI_COMMANDS = [_load_hs_command()]
