"""智慧云报关 核注清单数据同步 (seed 002 §九 steps 6–8): the enterprise's 核注清单 of the single
window brought here through the exchange inbox (InvtMessage files, models/customs_inventory_message.py),
as the manual's screen asks:

- 按票: 企业类型, 统一编号/清单编号, 数据源, 进出口标志, 确定;
- 按天: 最近操作时间 range, 数据状态, 企业类型, 数据源, 进出口标志, 确定 — a background job.

企业类型 says which company of the message the enterprise is (经营企业, 加工企业, 申报企业); a
message naming the enterprise in another role is left for a sync of that type, one not naming
it at all is refused.  A synced 核注清单 keeps the message's numbers and its 数据状态 (so a
预审批通过 one can 生成报关单 here); the same message again changes nothing, a later one updates
it — its content while it is still open to 暂存, its status always — unless it was edited here
since (a conflict, reported).  The run, the report and the rejected files work as 报关单同步's
(models/customs_sync.py).
"""

from __future__ import annotations

import hashlib

from flask_appbuilder import Model
from lxml import etree
from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import mapped_column

from app.engine import ADMIN, ALL, ENTERPRISE, Own, Record, field, workflow_state
from app.engine.guard import system
from app.engine.i18n import lazy_gettext as _l
from app.engine.record import now
from models.customs_declaration import SYSTEM
from models.customs_inventory import CdInventory
from models.customs_inventory_message import (
    COMPANY_ROLES,
    DATA_SOURCES,
    NS,
    STATE_CODES,
    Invt,
)
from models.customs_sync import (
    MODES,
    Run,
    _company,
    _not_another_companys,
    _Skip,
    range_errors,
    reads,
    sync_workflow,
    upsert,
)

ENT_TYPES = [("1", _l("经营企业")), ("2", _l("加工企业")), ("3", _l("申报企业"))]
IE_FLAGS = [("I", _l("进口")), ("E", _l("出口"))]
DATA_STATES = [(code, CdInventory.meta().workflow.state_label(state))
               for code, state in STATE_CODES.items()]


class CdInvSyncState(Model):
    """What the last sync wrote into a 核注清单 (as ``cd_sync_state`` for declarations)."""

    __tablename__ = "cd_inv_sync_state"

    inventory_id = mapped_column(ForeignKey("cd_inventory.id", ondelete="CASCADE"),
                                 primary_key=True)
    body_sha = mapped_column(String(64), nullable=False)
    version = mapped_column(Integer, nullable=False)
    synced_at = mapped_column(DateTime, nullable=False, default=now)


def _when(mode):
    return lambda r: r.mode == mode


class CdInvSync(Record):
    __tablename__ = "cd_inv_sync"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    mode = field(String(6), _l("同步方式"), required=True, widget="radio", choices=MODES,
                 initial="ticket")
    ent_type = field(String(1), _l("企业类型"), required=True, widget="select",
                     choices=ENT_TYPES, initial="1")
    number = field(String(18), _l("统一编号/清单编号"), required=_when("ticket"),
                   show_when=("mode", ("ticket",)))
    op_from = field(Date, _l("最近操作时间（起）"), required=_when("day"),
                    show_when=("mode", ("day",)))
    op_to = field(Date, _l("最近操作时间（止）"), required=_when("day"),
                  show_when=("mode", ("day",)))
    data_state = field(String(2), _l("数据状态"), widget="select", choices=DATA_STATES,
                       show_when=("mode", ("day",)))
    data_source = field(String(2), _l("数据源"), required=True, widget="select",
                        choices=DATA_SOURCES, initial="Z7")
    ie_flag = field(String(1), _l("进出口标志"), required=True, widget="select",
                    choices=IE_FLAGS, initial="I")
    status = workflow_state(_l("状态"))
    files = field(Integer, _l("文件数"), system=True)
    created = field(Integer, _l("新增"), system=True)
    updated = field(Integer, _l("更新"), system=True)
    unchanged = field(Integer, _l("未变化"), system=True)
    conflicts = field(Integer, _l("冲突"), system=True)
    rejected = field(Integer, _l("拒收"), system=True)
    report = field(Text, _l("同步报告"), system=True, widget="textarea")

    class Meta:
        label = _l("核注清单数据同步")
        list_label = _l("核注清单同步记录")
        resource = "cd_inv_sync"
        menu = [SYSTEM.menu("sync", _l("核注清单数据同步"), target="new", order=2),
                SYSTEM.menu("sync", _l("核注清单同步记录"), order=4)]
        owner = "company_id"
        scope = {ENTERPRISE: Own("company_id"), ADMIN: ALL}
        create_roles = (ENTERPRISE,)
        editable = {"new": (ENTERPRISE,)}
        list_columns = ["id", "mode", "number", "op_from", "op_to", "ie_flag", "status", "files",
                        "created", "updated", "unchanged", "conflicts", "rejected",
                        "created_at"]
        order_by = "-id"
        clean = staticmethod(lambda r, session: range_errors(r))
        workflow = sync_workflow()


def _selected(run_rec, msg: Invt, role: str) -> bool:
    if role != run_rec.ent_type or msg.source != run_rec.data_source \
            or msg.ie_flag != run_rec.ie_flag:
        return False
    if run_rec.mode == "ticket":
        return run_rec.number in (msg.numbers.get("seq_no"), msg.numbers.get("inv_no"))
    return (run_rec.op_from <= msg.input_time.date() <= run_rec.op_to
            and (not run_rec.data_state or msg.state_code == run_rec.data_state))


def _inventory(session, run_rec, org, actor, _data, root, _name, run: Run) -> str:
    # whose it is before whether it is valid: another company's file is left for its own sync
    sccs = {(root.findtext(f"{{{NS}}}InvtHeadType/{{{NS}}}{prefix}Sccd") or "").strip()
            for prefix in COMPANY_ROLES.values()} - {""}
    if org.uscc not in sccs:
        for scc in sorted(sccs):
            _not_another_companys(session, org, scc)
    msg = Invt(root)
    roles = [role for role, scc in msg.companies.items() if scc and scc == org.uscc]
    if not roles:
        _company(session, org, msg.trade_scc)  # another company's, or one not registered
    if not any(_selected(run_rec, msg, role) for role in roles):
        raise _Skip
    sha = hashlib.sha256(etree.tostring(root, method="c14n")).hexdigest()

    def as_the_message(inv):
        with system():
            inv.status = msg.state
            inv.trade_code_scc = msg.trade_scc or inv.trade_code_scc
            for tag, name in (("BizopEtpsno", "trade_code"), ("BizopEtpsNm", "trade_name")):
                value = root.findtext(f"{{{NS}}}InvtHeadType/{{{NS}}}{tag}")
                if value and value.strip():
                    setattr(inv, name, value.strip())

    return upsert(session, CdInventory, CdInvSyncState, org, actor, msg.seq_no, msg.payload,
                  msg.numbers, sha, run, after=as_the_message)


reads("cd_inv_sync", {f"{{{NS}}}InvtMessage": _inventory}, _inventory)
