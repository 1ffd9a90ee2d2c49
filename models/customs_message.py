"""The declaration exchange message (报关单报文, DecMessage): written when a declaration is
declared (申报) into the outbox the sync program sends from, answered by
``GET /api/v1/cd_declaration/<pk>/message`` and read back by 导入.

Format: ../shared/domain/DECLARATION_MESSAGE.md (GACC 公告 2018年第67号 as read from public
client implementations); the elements this product reads and writes are fixed by
data/xsd/dec_message.xsd.  Reading is defensive: lxml with a parser that resolves no entities,
loads no DTD and reads nothing from the network, a size cap before parsing, any DOCTYPE refused,
and the schema checked before a value is used.  A round trip (message → 导入 into a database
without the declaration) gives the same declaration; the platform's own fields — 申报方式,
企业类别 and the 南方模式 transport fields — are not part of the message and take their
defaults.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re

from flask_appbuilder import Model
from lxml import etree
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import mapped_column

from app.engine.exporting import ImportReport, create
from app.engine.i18n import gettext as _
from app.engine.record import now
from models.base import Organisation

# The eight screens' kinds (models/customs_declaration.py imports this module, so they are
# repeated here rather than imported).
BILL_KINDS = ("E_BILL", "E_TRN_BILL", "I_BILL", "I_TRN_BILL")
TRANSIT_KINDS = ("E_TRN", "E_TRN_BILL", "I_TRN", "I_TRN_BILL")
NS = "http://www.chinaport.gov.cn/dec"
VERSION = "3.1"
MAX_BYTES = 2 * 1024 * 1024
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "xsd",
                           "dec_message.xsd")
_schema = None


class MessageError(ValueError):
    """A message that cannot be read; the text says why, in the user's language."""


class CdMessage(Model):
    """Outbox of exchange messages: one row per 申报 (ClientSeqNo makes a resend harmless).
    The sync program of 数据同步 delivers them to the single window's exchange folder."""

    __tablename__ = "cd_message"

    id = mapped_column(Integer, primary_key=True)
    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    client_seq_no = mapped_column(String(40), nullable=False, unique=True)
    kind = mapped_column(String(20), nullable=False, default="DecMessage")
    body = mapped_column(Text, nullable=False)
    created_at = mapped_column(DateTime, nullable=False, default=now)
    sent_at = mapped_column(DateTime)


# --- writing ---------------------------------------------------------------------------------
def _num(value) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if isinstance(value, decimal.Decimal) else str(value)


def _date(value) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _edi_id(dec) -> str:
    """报关标志: 1 普通报关, 3 北方转关提前, 5 南方转关提前."""
    if dec.kind in TRANSIT_KINDS:
        return "5" if dec.south_mode == "1" else "3"
    return "1"


def head_values(dec) -> list[tuple[str, object]]:
    export = dec.ie_flag_of() == "E"
    promise = "".join(v or "9" for v in (dec.promise_relation, dec.promise_price,
                                          dec.promise_royalty, dec.self_pay))
    overseas = "OverseasConsignee" if export else "OverseasConsignor"
    return [
        ("SeqNo", dec.seq_no), ("PreEntryId", dec.pre_entry_no), ("EntryId", dec.entry_id),
        ("IEFlag", dec.ie_flag_of()), ("CustomMaster", dec.customs_master), ("IEPort", dec.ie_port),
        ("IEDate", _date(dec.ie_date)), ("DDate", _date(dec.d_date)),
        ("ManualNo", dec.manual_no), ("ContrNo", dec.contr_no),
        ("TradeCode", dec.trade_code), ("TradeCodeScc", dec.trade_code_scc),
        ("TradeName", dec.trade_name),
        ("OwnerCode", dec.owner_code), ("OwnerCodeScc", dec.owner_code_scc),
        ("OwnerName", dec.owner_name),
        ("AgentCode", dec.agent_code), ("AgentCodeScc", dec.agent_code_scc),
        ("AgentName", dec.agent_name),
        ("CopCode", dec.agent_code), ("CopCodeScc", dec.agent_code_scc),
        ("CopName", dec.agent_name),
        (f"{overseas}Code", dec.overseas_code), (f"{overseas}Ename", dec.overseas_name),
        ("TrafMode", dec.traf_mode), ("TrafName", dec.traf_name), ("BillNo", dec.bill_no),
        ("TradeMode", dec.trade_mode), ("CutMode", dec.cut_mode), ("LicenseNo", dec.license_no),
        ("TradeCountry", dec.trade_country), ("TradeAreaCode", dec.trade_area_code),
        ("DistinatePort", dec.distinate_port), ("EntyPortCode", dec.enty_port_code),
        ("DistrictCode", dec.goods[0].district_code if dec.goods else None),
        ("TransMode", dec.trans_mode),
        ("FeeMark", dec.fee_mark), ("FeeRate", _num(dec.fee_rate)), ("FeeCurr", dec.fee_curr),
        ("InsurMark", dec.insur_mark), ("InsurRate", _num(dec.insur_rate)),
        ("InsurCurr", dec.insur_curr),
        ("OtherMark", dec.other_mark), ("OtherRate", _num(dec.other_rate)),
        ("OtherCurr", dec.other_curr),
        ("PackNo", _num(dec.pack_no)), ("WrapType", dec.wrap_type),
        ("GrossWet", _num(dec.gross_wt)), ("NetWt", _num(dec.net_wt)),
        ("NoteS", dec.note_s), ("MarkNo", dec.mark_no),
        ("EntryType", dec.entry_type),
        ("BillType", dec.bill_type if dec.kind in BILL_KINDS else None),
        ("DeclTrnRel", "1" if dec.kind in TRANSIT_KINDS else "0"),
        ("EdiId", _edi_id(dec)), ("PromiseItmes", promise),
        ("InputerName", dec.preparer_name),
    ]


GOODS_ELEMENTS = [("GNo", "g_no"), ("CodeTS", "code_ts"), ("CiqCode", "ciq_code"),
                  ("GName", "g_name"), ("GModel", "g_model"), ("GQty", "g_qty"),
                  ("GUnit", "g_unit"), ("FirstQty", "qty1"), ("FirstUnit", "unit1"),
                  ("SecondQty", "qty2"), ("SecondUnit", "unit2"), ("DeclPrice", "decl_price"),
                  ("DeclTotal", "decl_total"), ("TradeCurr", "trade_curr"),
                  ("OriginCountry", "origin_country"),
                  ("DestinationCountry", "destination_country"),
                  ("DistrictCode", "district_code"), ("DutyMode", "duty_mode"),
                  ("ContrItem", "contr_item")]
CONTAINER_ELEMENTS = [("ContainerId", "container_id"), ("ContainerMd", "container_md"),
                      ("ContainerWt", "container_wt"), ("GoodsNo", "goods_no"),
                      ("LclFlag", "lcl_flag")]
DOCU_ELEMENTS = [("DocuCode", "docu_code"), ("CertCode", "cert_code")]


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _add(parent, tag, value):
    if value in (None, ""):
        return
    etree.SubElement(parent, _q(tag)).text = _num(value) if not isinstance(value, str) else value


def to_xml(dec, client_seq_no: str | None = None, at: dt.datetime | None = None) -> bytes:
    at = at or now()
    root = etree.Element(_q("DecMessage"), nsmap={None: NS})
    root.set("version", VERSION)
    head = etree.SubElement(root, _q("DecHead"))
    for tag, value in head_values(dec):
        _add(head, tag, value)
    lists = etree.SubElement(root, _q("DecLists"))
    for g in dec.goods:
        el = etree.SubElement(lists, _q("DecList"))
        for tag, name in GOODS_ELEMENTS:
            _add(el, tag, getattr(g, name))
    containers = etree.SubElement(root, _q("DecContainers"))
    for c in dec.containers:
        el = etree.SubElement(containers, _q("Container"))
        for tag, name in CONTAINER_ELEMENTS:
            _add(el, tag, getattr(c, name))
    docus = etree.SubElement(root, _q("DecLicenseDocus"))
    for d in dec.documents:
        el = etree.SubElement(docus, _q("LicenseDocu"))
        for tag, name in DOCU_ELEMENTS:
            _add(el, tag, getattr(d, name))
    free = etree.SubElement(root, _q("DecFreeTxt"))
    _add(free, "VoyNo", dec.voyage_no)
    sign = etree.SubElement(root, _q("DecSign"))
    _add(sign, "OperType", "G")
    _add(sign, "CopCode", dec.agent_code)
    _add(sign, "OperName", dec.preparer_name)
    _add(sign, "ClientSeqNo", client_seq_no or dec.sys_no)
    _add(sign, "SignDate", at.strftime("%Y%m%d%H%M%S") + "00")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def queue_message(session, dec, ctx) -> CdMessage:
    """申报: the message goes to the outbox (sent by the sync program)."""
    n = session.scalar(select(func.count()).select_from(CdMessage).where(
        CdMessage.declaration_id == dec.id)) or 0
    client_seq_no = f"{dec.sys_no}-{n + 1:02d}"
    msg = CdMessage(declaration_id=dec.id, client_seq_no=client_seq_no,
                    body=to_xml(dec, client_seq_no, ctx.at).decode("utf-8"), created_at=ctx.at)
    session.add(msg)
    return msg


# --- reading ---------------------------------------------------------------------------------
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def schema() -> etree.XMLSchema:
    global _schema
    if _schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        _schema = etree.XMLSchema(etree.parse(SCHEMA_PATH, parser))
    return _schema


def secure_root(data: bytes):
    """The root element of an exchange file read defensively (size, no DOCTYPE or entities,
    no network), or MessageError saying why it is refused."""
    if len(data) > MAX_BYTES:
        raise MessageError(_("报文超过 %(n)s MB，拒绝读取", n=MAX_BYTES // (1024 * 1024)))
    if _DOCTYPE.search(data):
        raise MessageError(_("报文不能包含 DOCTYPE 或实体声明（ENTITY），拒绝读取"))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_pis=True,
                             collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise MessageError(_("报文不是格式正确的 XML：%(reason)s", reason=str(e)[:200])) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MessageError(_("报文不能包含 DOCTYPE 或实体声明（ENTITY），拒绝读取"))
    return root


def parse(data: bytes):
    """The DecMessage's root element, or MessageError saying why it is refused."""
    root = secure_root(data)
    if root.tag != _q("DecMessage"):
        raise MessageError(_("不是报关单报文：根元素应为 DecMessage（命名空间 %(ns)s）", ns=NS))
    xsd = schema()
    if not xsd.validate(root):
        problems = [f"{_('第 %(n)s 行', n=e.line)}: {e.message}" for e in list(xsd.error_log)[:10]]
        raise MessageError(_("报文不符合报文格式：%(problems)s", problems="；".join(problems)))
    return root


def _text(parent, tag) -> str | None:
    if parent is None:
        return None
    el = parent.find(_q(tag))
    if el is None or el.text is None:
        return None
    text = el.text.strip()
    return text or None


def _day(value) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise MessageError(_("日期 %(v)s 格式错误，应为 yyyyMMdd", v=value)) from None


def from_xml(root) -> tuple[dict, dict, str | None]:
    """(payload as the form would post it, numbers written as the system, TradeCodeScc)."""
    head = root.find(_q("DecHead"))
    h = {tag: _text(head, tag) for tag, _v in head_values_tags()}
    ie = h["IEFlag"]
    if ie not in ("E", "I"):
        raise MessageError(_("进出口标志 IEFlag 应为 E 或 I"))
    transit = h.get("DeclTrnRel") == "1"
    bill = bool(h.get("BillType"))
    kind = f"{ie}_" + {(False, False): "DEC", (True, False): "BILL", (False, True): "TRN",
                       (True, True): "TRN_BILL"}[(bill, transit)]
    overseas = "OverseasConsignee" if ie == "E" else "OverseasConsignor"
    promise = (h.get("PromiseItmes") or "") + "9999"
    payload = {
        "kind": kind, "customs_master": h["CustomMaster"], "ie_port": h["IEPort"],
        "manual_no": h["ManualNo"], "contr_no": h["ContrNo"],
        "owner_code": h["OwnerCode"], "owner_code_scc": h["OwnerCodeScc"],
        "owner_name": h["OwnerName"],
        "overseas_code": h.get(f"{overseas}Code"), "overseas_name": h.get(f"{overseas}Ename"),
        "traf_mode": h["TrafMode"], "traf_name": h["TrafName"], "bill_no": h["BillNo"],
        "trade_mode": h["TradeMode"], "cut_mode": h["CutMode"], "license_no": h["LicenseNo"],
        "trade_country": h["TradeCountry"], "trade_area_code": h["TradeAreaCode"],
        "distinate_port": h["DistinatePort"], "enty_port_code": h["EntyPortCode"],
        "trans_mode": h["TransMode"],
        "fee_mark": h["FeeMark"], "fee_rate": h["FeeRate"], "fee_curr": h["FeeCurr"],
        "insur_mark": h["InsurMark"], "insur_rate": h["InsurRate"],
        "insur_curr": h["InsurCurr"],
        "other_mark": h["OtherMark"], "other_rate": h["OtherRate"],
        "other_curr": h["OtherCurr"],
        "pack_no": h["PackNo"], "wrap_type": h["WrapType"], "gross_wt": h["GrossWet"],
        "net_wt": h["NetWt"], "note_s": h["NoteS"], "mark_no": h["MarkNo"],
        "entry_type": h["EntryType"], "bill_type": h["BillType"],
        "promise_relation": _promise(promise[0]), "promise_price": _promise(promise[1]),
        "promise_royalty": _promise(promise[2]), "self_pay": _promise(promise[3]),
        "voyage_no": _text(root.find(_q("DecFreeTxt")), "VoyNo"),
    }
    goods = []
    for el in root.iterfind(f"{_q('DecLists')}/{_q('DecList')}"):
        row = {name: _text(el, tag) for tag, name in GOODS_ELEMENTS
               if name not in ("g_no", "unit1", "unit2")}
        goods.append(row)
    payload["goods"] = goods
    payload["containers"] = [{name: _text(el, tag) for tag, name in CONTAINER_ELEMENTS}
                             for el in root.iterfind(f"{_q('DecContainers')}/{_q('Container')}")]
    payload["documents"] = [{name: _text(el, tag) for tag, name in DOCU_ELEMENTS}
                            for el in root.iterfind(f"{_q('DecLicenseDocus')}/"
                                                    f"{_q('LicenseDocu')}")]
    numbers = {"seq_no": h["SeqNo"], "pre_entry_no": h["PreEntryId"], "entry_id": h["EntryId"],
               "ie_date": _day(h["IEDate"]), "d_date": _day(h["DDate"])}
    return payload, {k: v for k, v in numbers.items() if v}, h["TradeCodeScc"]


def head_values_tags():
    return [(t, None) for t in (
        "SeqNo", "PreEntryId", "EntryId", "IEFlag", "CustomMaster", "IEPort", "IEDate", "DDate",
        "ManualNo", "ContrNo", "TradeCode", "TradeCodeScc", "TradeName", "OwnerCode",
        "OwnerCodeScc", "OwnerName", "AgentCode", "AgentCodeScc", "AgentName",
        "OverseasConsigneeCode", "OverseasConsigneeEname", "OverseasConsignorCode",
        "OverseasConsignorEname", "TrafMode", "TrafName", "BillNo", "TradeMode", "CutMode",
        "LicenseNo", "TradeCountry", "TradeAreaCode", "DistinatePort", "EntyPortCode",
        "TransMode", "FeeMark", "FeeRate", "FeeCurr", "InsurMark", "InsurRate", "InsurCurr",
        "OtherMark", "OtherRate", "OtherCurr", "PackNo", "WrapType", "GrossWet", "NetWt",
        "NoteS", "MarkNo", "EntryType", "BillType", "DeclTrnRel", "EdiId", "PromiseItmes")]


def _promise(digit: str) -> str | None:
    return digit if digit in ("0", "1") else None


class XmlMessageCodec:
    """What the ``Message`` feature needs of an XML exchange message: its download and which
    uploaded files 导入 reads as one."""

    mimetype = "application/xml"
    accept = ".xml"

    @staticmethod
    def reads_file(filename: str, data: bytes) -> bool:
        head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
        return (filename or "").lower().endswith(".xml") or head.startswith(b"<")


class DecMessageCodec(XmlMessageCodec):
    """The declaration's DecMessage: dump for the endpoint, read for 导入."""

    @staticmethod
    def filename(dec) -> str:
        return f"DecMessage-{dec.seq_no or dec.id}.xml"

    @staticmethod
    def dump(session, dec) -> bytes:
        return to_xml(dec)

    @staticmethod
    def import_data(session, model, data: bytes, actor) -> ImportReport:
        """导入 of one DecMessage: a new draft of the importing enterprise, numbered as any new
        one — the numbers and dates the system and customs give are not taken from a file."""
        report = ImportReport()
        sheet = _("报文")
        try:
            root = parse(data)
            payload, _numbers, trade_scc = from_xml(root)
        except MessageError as e:
            report.add(0, [str(e)], sheet)
            return report
        org = session.get(Organisation, actor.org_id) if actor.org_id else None
        if trade_scc and (org is None or org.uscc != trade_scc):
            report.add(0, [_("报文的境内收发货人（统一社会信用代码 %(scc)s）不是本企业，不能导入",
                             scc=trade_scc)], sheet)
            return report
        lines = {t: [(i + 1, sheet) for i in range(len(payload.get(t) or []))]
                 for t in ("goods", "containers", "documents")}
        create(session, model, actor, payload, report, (sheet, 0), lines)
        return report

