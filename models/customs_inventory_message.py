"""The 核注清单 exchange message (InvtMessage): what 核注清单数据同步 reads from the exchange inbox,
what ``GET /cd_inventory/<id>/message`` answers and what 导入 of an .xml file reads.

The element names are those of the 金关二期 保税核注清单 message (INV101: InvtHeadType /
InvtListType, as published in the 单一窗口 加工贸易 报文 specification and read by public client
implementations), reduced to the fields the record holds; verify optional elements against the
specification before relying on them::

    <InvtMessage xmlns="http://www.chinaport.gov.cn/invt">
      <SysId>Z7</SysId>                      数据源: Z7 加工贸易手册, Z8 加工贸易账册
      <InvtHeadType>
        <SeqNo/> <BondInvtNo/> <PutrecNo/> <ImpexpMarkcd/> <InvtType/> <ListStat/> …
        <InputTime>20261203101500</InputTime>   the last operation (按天 selects by it)
      </InvtHeadType>
      <InvtListType> <GdsSeqno/> <PutrecSeqno/> <GdsMtno/> <Gdecd/> … </InvtListType> …
    </InvtMessage>

``ListStat`` is the 数据状态 (FIELD_NOTES §2: 1 暂存, 17 待审核, 3 海关入库成功, 4 海关入库失败,
5 审核通过, 6 审核拒绝, 18 已确认, 99 已删除).  The companies: 经营企业 (BizopEtps…), 加工企业
(RcvgdEtps…) and 申报企业 (DclEtps…), each with USCC (…Sccd), customs code (…no) and name (…Nm).
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from app.engine.exporting import ImportReport, create
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from models.base import Organisation
from models.customs_message import MessageError, XmlMessageCodec, secure_root

NS = "http://www.chinaport.gov.cn/invt"
DATA_SOURCES = [("Z7", _l("加工贸易手册")), ("Z8", _l("加工贸易账册"))]
# 数据状态 code ↔ the record's state
STATE_CODES = {"1": "draft", "17": "pending", "3": "cus_accepted", "4": "cus_rejected",
               "5": "pre_approved", "6": "rejected", "18": "confirmed", "99": "deleted"}
CODE_OF_STATE = {v: k for k, v in STATE_CODES.items()}
# 企业类型 of a sync: which company of the message the syncing enterprise must be
COMPANY_ROLES = {"1": "BizopEtps", "2": "RcvgdEtps", "3": "DclEtps"}

HEAD = [  # (element, field)
    ("BondInvtNo", "inv_no"), ("SeqNo", "seq_no"), ("PutrecNo", "manual_no"),
    ("ImpexpMarkcd", "ie_flag"), ("InvtType", "list_type"),
    ("BizopEtpsSccd", "trade_code_scc"), ("BizopEtpsno", "trade_code"),
    ("BizopEtpsNm", "trade_name"),
    ("RcvgdEtpsSccd", "process_code_scc"), ("RcvgdEtpsno", "process_code"),
    ("RcvgdEtpsNm", "process_name"),
    ("DclPlcCuscd", "customs_master"), ("ImpexpPortcd", "ie_port"), ("SupvModecd", "trade_mode"),
    ("TrspModecd", "traf_mode"), ("StshipTrsarvNatcd", "trade_country"),
    ("DclcusFlag", "dcl_flag"), ("Rmk", "note"),
]
GOODS = [
    ("PutrecSeqno", "put_rec_seq"), ("GdsMtno", "gds_mtno"), ("Gdecd", "code_ts"),
    ("GdsNm", "g_name"), ("GdsSpcfModelDesc", "g_model"), ("DclQty", "dcl_qty"),
    ("DclUnitcd", "dcl_unit"), ("LawfQty", "qty1"), ("LawfUnitcd", "unit1"),
    ("SecdLawfQty", "qty2"), ("SecdLawfUnitcd", "unit2"), ("DclUprcAmt", "dcl_price"),
    ("DclTotalAmt", "dcl_total"), ("DclCurrcd", "trade_curr"), ("Natcd", "origin_country"),
    ("DestinationNatcd", "destination_country"), ("LvyrlfModecd", "duty_mode"),
    ("GrossWt", "gross_wt"), ("NetWt", "net_wt"),
]
SYSTEM_FIELDS = ("inv_no", "seq_no", "trade_code_scc", "trade_code", "trade_name")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _put(parent, tag: str, value) -> None:
    el = etree.SubElement(parent, _q(tag))
    if value is not None and value != "":
        el.text = str(value)


def source_of(manual_no: str | None) -> str:
    """手册 (B…, C…) are Z7, 账册 (E…, H…, T…) Z8."""
    return "Z7" if (manual_no or "")[:1] in ("B", "C") else "Z8"


def to_xml(inv, declarant=None, at: dt.datetime | None = None) -> bytes:
    root = etree.Element(_q("InvtMessage"), nsmap={None: NS})
    _put(root, "SysId", source_of(inv.manual_no))
    head = etree.SubElement(root, _q("InvtHeadType"))
    for tag, name in HEAD:
        _put(head, tag, getattr(inv, name))
    org = declarant
    _put(head, "DclEtpsSccd", org.uscc if org is not None else inv.trade_code_scc)
    _put(head, "DclEtpsno", org.customs_code if org is not None else inv.trade_code)
    _put(head, "DclEtpsNm", org.name if org is not None else inv.trade_name)
    _put(head, "ListStat", CODE_OF_STATE.get(inv.status, "1"))
    stamp = at or inv.updated_at or dt.datetime.now()
    _put(head, "InputTime", stamp.strftime("%Y%m%d%H%M%S"))
    for n, g in enumerate(inv.goods, 1):
        row = etree.SubElement(root, _q("InvtListType"))
        _put(row, "GdsSeqno", n)
        for tag, name in GOODS:
            _put(row, tag, getattr(g, name))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _text(parent, tag) -> str | None:
    el = parent.find(_q(tag)) if parent is not None else None
    text = el.text.strip() if el is not None and el.text else ""
    return text or None


class Invt:
    """A read InvtMessage: the payload as the form would post it, the numbers written as the
    system, and what a sync selects by."""

    def __init__(self, root):
        if root.tag != _q("InvtMessage"):
            raise MessageError(_("不是核注清单报文：根元素应为 InvtMessage（命名空间 %(ns)s）",
                                 ns=NS))
        head = root.find(_q("InvtHeadType"))
        if head is None:
            raise MessageError(_("核注清单报文缺少表头 InvtHeadType"))
        h = {tag: _text(head, tag) for tag, _name in HEAD}
        if h["ImpexpMarkcd"] not in ("I", "E"):
            raise MessageError(_("进出口标志 ImpexpMarkcd 应为 I 或 E"))
        if not h["SeqNo"]:
            raise MessageError(_("核注清单报文缺少预录入统一编号 SeqNo"))
        self.source = _text(root, "SysId")
        self.state_code = _text(head, "ListStat")
        if self.state_code not in STATE_CODES:
            raise MessageError(_("数据状态 ListStat %(c)s 无法识别", c=self.state_code or "-"))
        self.state = STATE_CODES[self.state_code]
        try:
            self.input_time = dt.datetime.strptime(_text(head, "InputTime") or "",
                                                   "%Y%m%d%H%M%S")
        except ValueError:
            raise MessageError(_("操作时间 InputTime 应为 yyyyMMddHHmmss")) from None
        self.companies = {role: _text(head, f"{prefix}Sccd")
                          for role, prefix in COMPANY_ROLES.items()}
        self.ie_flag = h["ImpexpMarkcd"]
        self.numbers = {name: h[tag] for tag, name in HEAD
                        if name in ("inv_no", "seq_no") and h[tag]}
        self.payload = {name: h[tag] for tag, name in HEAD if name not in SYSTEM_FIELDS}
        self.payload["goods"] = [{name: _text(el, tag) for tag, name in GOODS}
                                 for el in root.iterfind(_q("InvtListType"))]
        self.trade_scc = h["BizopEtpsSccd"]

    @property
    def seq_no(self) -> str:
        return self.numbers["seq_no"]


def read(data: bytes) -> Invt:
    return Invt(secure_root(data))


class InvtMessageCodec(XmlMessageCodec):
    """The ``Message`` feature's codec for 核注清单 (download and 导入 of InvtMessage)."""

    @staticmethod
    def filename(inv) -> str:
        return f"InvtMessage-{inv.seq_no or inv.id}.xml"

    @staticmethod
    def dump(session, inv) -> bytes:
        return to_xml(inv)

    @staticmethod
    def import_data(session, model, data: bytes, actor) -> ImportReport:
        """导入 of one InvtMessage: a new 暂存 of the importing enterprise, numbered as any new
        one — 统一编号 and customs' 清单编号 are not taken from a file (the sync takes them)."""
        report = ImportReport()
        sheet = _("报文")
        try:
            msg = read(data)
        except MessageError as e:
            report.add(0, [str(e)], sheet)
            return report
        org = session.get(Organisation, actor.org_id) if actor.org_id else None
        if msg.trade_scc and (org is None or org.uscc != msg.trade_scc):
            report.add(0, [_("报文的经营企业（统一社会信用代码 %(scc)s）不是本企业，不能导入",
                             scc=msg.trade_scc)], sheet)
            return report
        lines = {"goods": [(i + 1, sheet) for i in range(len(msg.payload["goods"]))]}
        create(session, model, actor, msg.payload, report, (sheet, 0), lines)
        return report
