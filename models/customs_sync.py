"""智慧云报关 数据同步 (seed 002 §九): 报关单同步 按票 / 按天 through the exchange folder, and
the customs receipts (回执) that move a declaration through its customs statuses.

A run of 报关单同步 is a record (``cd_dec_sync``): the manual's form (按票: 统一编号, 企业类别,
报关单类型; 按天: 最近操作时间 range, 企业类别, 境内收发货人) and 确定, which

1. sends what 申报 queued (``cd_message`` rows not yet sent) to ``EXCHANGE_DIR/outbox``;
2. reads the inbox (app/engine/exchange.py): a DecMessage of the company that the run selects
   creates its declaration (a 暂存 of the company, the message's numbers kept) or, changed since
   the last sync, updates it — unless it was edited here since (a conflict, reported, never
   overwritten); the same message again changes nothing (its SHA-256 is kept in
   ``cd_sync_state``);
3. applies the receipts (``DecReceipt``, below) of the company's declarations;
4. writes the report (counts and one line per file) on the run.

The inbox is shared by every company of the platform: a file of another company (its
统一社会信用代码 that of another organisation here) is not this run's — skipped and left in the
inbox for that company's own sync, as a file the run does not select is, never rejected, counted
or named in the report.  So is a file another company's run moved away after this run listed the
inbox (gone when it is read, or while the inbox is listed).  A message or receipt naming a number
(统一编号, 预录入编号, 海关编号 …) that is another company's record's is rejected with a reason
that says only that the number cannot be matched to the company's record — never whose it is.

A file that cannot be used — over MAX_BYTES (refused by its size, before it is read), not
well-formed XML, with a DOCTYPE or entities, of a company not registered here, a receipt for a
declaration that is not there, a receipt whose 海关编号 is malformed, another declaration's, or
another than the one the declaration already has — is moved to ``rejected/`` with the reason
beside it and a line in the report.
Each file is applied in a savepoint: a file that fails — the database's refusal included (a
unique number taken meanwhile, a value too long) — leaves nothing behind and is rejected; the
other files sync and the run is recorded.  Files are moved only after the commit.

Receipt format (the single window's 回执, reduced to what a status needs)::

    <DecReceipt xmlns="http://www.chinaport.gov.cn/dec">
      <SeqNo>E20260000000000005</SeqNo>      统一编号 of the declaration
      <EntryId>900120260000123456</EntryId>  海关编号 (入库成功)
      <TradeCodeScc>91610131MA6W2K3L3A</TradeCodeScc>
      <Channel>K</Channel>                   see CHANNELS
      <NoticeDate>20261203101500</NoticeDate>
      <Note>放行</Note>
    </DecReceipt>

Receipts may arrive out of order (放行 before 审结): the status only moves forward along
已申报 → 海关入库成功 → 审结 → 查验 → 放行 → 结关; a late receipt is kept in the history without
moving the status back — its 海关编号 is kept all the same while the declaration has none (in
whatever status; a receipt received before without it gives it when sent again with it).  Every
receipt is one entry of the declaration's history (its customs steps), which 打印通知书 prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from flask_appbuilder import Model
from lxml import etree
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import mapped_column

from app.engine import (
    ADMIN,
    ALL,
    CUSTOMS,
    ENTERPRISE,
    Own,
    Record,
    State,
    Transition,
    Workflow,
    field,
    jobs,
    policy,
    validators,
    workflow_state,
)
from app.engine import transitions as wf_mod
from app.engine.changes import ValidationErrors
from app.engine.exchange import source as exchange_source
from app.engine.exporting import ImportReport, create
from app.engine.guard import system
from app.engine.history import add_flow_entry
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.record import now
from models.base import Organisation
from models.customs_declaration import (
    CUSTOMS_STATES,
    ENT_CATEGORIES,
    KINDS,
    SYSTEM,
    CdDeclaration,
)
from models.customs_exception import record_deletion
from models.customs_links import clear_licences
from models.customs_message import (
    MAX_BYTES,
    NS,
    CdMessage,
    MessageError,
    from_xml,
    parse,
    secure_root,
)

MODES = [("ticket", _l("按票同步")), ("day", _l("按天同步"))]
# 回执 channel → (the declaration's status, the workflow step it stands for)
CHANNELS = {
    "L": ("cus_accepted", "cus_accept"),
    "E": ("cus_rejected", "cus_reject"),
    "R": ("cus_returned", "cus_return"),
    "P": ("concluded", "conclude"),
    "H": ("inspection", "inspect"),
    "K": ("released", "release"),
    "J": ("closed", "close"),
    "D": ("cus_deleted", "cus_delete"),
}
PROGRESS = ("declared", "cus_accepted", "concluded", "inspection", "released", "closed")


class CdSyncState(Model):
    """What the last sync wrote into a declaration: the message's hash and the declaration's
    version right after — a later version means it was edited here since."""

    __tablename__ = "cd_sync_state"

    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   primary_key=True)
    body_sha = mapped_column(String(64), nullable=False)
    version = mapped_column(Integer, nullable=False)
    synced_at = mapped_column(DateTime, nullable=False, default=now)


class CdReceipt(Model):
    """回执 received for a declaration; one row per (declaration, channel, time)."""

    __tablename__ = "cd_receipt"

    id = mapped_column(Integer, primary_key=True)
    declaration_id = mapped_column(ForeignKey("cd_declaration.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    channel = mapped_column(String(2), nullable=False)
    notice_at = mapped_column(DateTime, nullable=False)
    note = mapped_column(Text)
    file_name = mapped_column(String(255))
    received_at = mapped_column(DateTime, nullable=False, default=now)

    __table_args__ = (UniqueConstraint("declaration_id", "channel", "notice_at",
                                       name="uq_cd_receipt_once"),)


def run_or_queue(r, ctx) -> None:
    """按票 syncs at once; 按天 (the whole inbox, any number of files) is a background job whose
    progress the run's page shows."""
    if r.mode != "day":
        run_sync(ctx.session, r, ctx.actor)
        return
    with system():
        r.status = "syncing"
    ctx.session.flush()
    jobs.start_after_commit(ctx.session, "sync_by_day", ctx.actor, origin=jobs.record_origin(r),
                            label=_("%(label)s（按天）", label=r.meta().label),
                            resource=r.meta().resource, run_id=r.id)


def run_message(r) -> str:
    return _("同步已在后台开始，本页显示进度") if r.status == "syncing" else _("同步完成")


def sync_workflow() -> Workflow:
    """待同步 → (确定) → 已同步, through 同步中 while a 按天 job runs."""
    return Workflow(
        states=[State("new", _l("待同步"), initial=True),
                State("syncing", _l("同步中"), style="info"),
                State("done", _l("已同步"), style="success")],
        transitions=[Transition("run", _l("确定"), ["new"], "done", roles=(ENTERPRISE,),
                                saves_form=True, check_required=True,
                                effects=[run_or_queue], success=run_message)],
    )


def _required_for(mode):
    return lambda r: r.mode == mode


class CdDecSync(Record):
    __tablename__ = "cd_dec_sync"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    mode = field(String(6), _l("同步方式"), required=True, widget="radio", choices=MODES,
                 initial="ticket")
    seq_no = field(String(18), _l("统一编号"), required=_required_for("ticket"),
                   show_when=("mode", ("ticket",)))
    dec_kind = field(String(12), _l("报关单类型"), widget="select", choices=KINDS,
                     show_when=("mode", ("ticket",)))
    ent_category = field(String(1), _l("企业类别"), widget="select", choices=ENT_CATEGORIES,
                         required=True, initial="D")
    op_from = field(Date, _l("最近操作时间（起）"), required=_required_for("day"),
                    show_when=("mode", ("day",)))
    op_to = field(Date, _l("最近操作时间（止）"), required=_required_for("day"),
                  show_when=("mode", ("day",)))
    trade_code = field(String(10), _l("境内收发货人"), show_when=("mode", ("day",)))
    status = workflow_state(_l("状态"))
    files = field(Integer, _l("文件数"), system=True)
    created = field(Integer, _l("新增"), system=True)
    updated = field(Integer, _l("更新"), system=True)
    unchanged = field(Integer, _l("未变化"), system=True)
    conflicts = field(Integer, _l("冲突"), system=True)
    receipts = field(Integer, _l("回执"), system=True)
    rejected = field(Integer, _l("拒收"), system=True)
    sent = field(Integer, _l("发送"), system=True)
    report = field(Text, _l("同步报告"), system=True, widget="textarea")

    class Meta:
        label = _l("报关单同步")
        list_label = _l("报关单同步记录")
        resource = "cd_dec_sync"
        menu = [SYSTEM.menu("sync", _l("报关单同步"), target="new", order=1),
                SYSTEM.menu("sync", _l("同步记录"), order=3)]
        owner = "company_id"
        scope = {ENTERPRISE: Own("company_id"), ADMIN: ALL}
        create_roles = (ENTERPRISE,)
        editable = {"new": (ENTERPRISE,)}
        list_columns = ["id", "mode", "seq_no", "op_from", "op_to", "status", "files",
                        "created", "unchanged", "conflicts", "receipts", "rejected",
                        "created_at"]
        order_by = "-id"
        clean = staticmethod(lambda r, session: range_errors(r))
        workflow = sync_workflow()


@jobs.task("sync_by_day", _l("数据同步（按天）"))
def sync_by_day(ctx, resource: str, run_id: int) -> str:
    from app.engine.record import REGISTRY

    run_rec = policy.get_scoped(ctx.session, REGISTRY[resource], run_id, ctx.actor)
    if run_rec.status != "syncing":
        raise jobs.JobFailed(_("该同步记录已完成，不能再次运行"))
    run = run_sync(ctx.session, run_rec, ctx.actor, progress=ctx.progress)
    with system():
        run_rec.status = "done"
    return _("文件 %(files)s，新增 %(created)s，更新 %(updated)s，未变化 %(unchanged)s，"
             "冲突 %(conflicts)s，回执 %(receipts)s，拒收 %(rejected)s", **run.counts)


def range_errors(r) -> dict:
    if r.mode == "day" and r.op_from and r.op_to and r.op_from > r.op_to:
        return {"op_to": [_("结束日期不能早于开始日期")]}
    return {}


# --- the run ---------------------------------------------------------------------------------
class Run:
    def __init__(self):
        self.counts = dict.fromkeys(("files", "created", "updated", "unchanged", "conflicts",
                                     "receipts", "rejected", "sent"), 0)
        self.lines: list[str] = []

    def line(self, name: str, text: str) -> None:
        self.lines.append(f"{name}: {text}")


# The messages each kind of sync run reads: {run resource: {root tag: handler}}, and the one
# that answers a file no sync reads ("not a DecMessage" …).  handler(session, run_rec, org,
# actor, data, root, name, run) -> the report's line.
HANDLERS: dict[str, dict[str, object]] = {}
FALLBACK: dict[str, object] = {}


def reads(resource: str, handlers: dict, fallback) -> None:
    HANDLERS[resource] = handlers
    FALLBACK[resource] = fallback


def run_sync(session, run_rec, actor, src=None, progress=None) -> Run:
    src = src or exchange_source(current_app)
    org = session.get(Organisation, run_rec.company_id)
    run = Run()
    if isinstance(run_rec, CdDecSync):  # what 申报 queued goes out with a declaration sync
        _send_outbox(session, org, src, run)
    items = _listing(src)
    for n, item in enumerate(items, 1):
        _one_file(session, run_rec, org, actor, src, item, run)
        if progress is not None:
            progress(n, len(items), item.name)
    with system():
        for k, v in run.counts.items():
            setattr(run_rec, k, v)
        run_rec.report = "\n".join(run.lines) or _("收件箱中没有待同步的文件")
    return run


LISTING_ATTEMPTS = 3


def _listing(src) -> list:
    """The inbox's files.  The inbox is shared: a file another company's run moves away while
    the directory is listed (between its entry and its size) fails the listing — listed again,
    without it."""
    for attempt in range(1, LISTING_ATTEMPTS + 1):
        try:
            return src.incoming()
        except FileNotFoundError:
            if attempt == LISTING_ATTEMPTS:
                current_app.logger.warning("sync: the inbox kept changing while listed")
                raise policy.Refused(_("收件箱正在被其他同步处理，请稍后重新同步"),
                                     status=409) from None
    return []  # pragma: no cover - the loop returns or raises


def _send_outbox(session, org, src, run: Run) -> None:
    # row-locked, skipping what another run of the company is sending now: a message is
    # written to the outbox once, never by two runs into the same file at once
    rows = session.scalars(select(CdMessage).join(
        CdDeclaration, CdDeclaration.id == CdMessage.declaration_id).where(
        CdDeclaration.company_id == org.id, CdMessage.sent_at.is_(None)).order_by(CdMessage.id)
        .with_for_update(of=CdMessage, skip_locked=True))
    for msg in rows:
        src.send(f"DecMessage-{msg.client_seq_no}.xml", msg.body.encode("utf-8"))
        msg.sent_at = now()
        run.counts["sent"] += 1


class _Skip(Exception):
    """Not selected by this run (another ticket, another day): left in the inbox."""


def _reject(session, src, item, run: Run, reason: str) -> None:
    src.reject(session, item.name, reason)
    run.counts["rejected"] += 1
    run.line(item.name, _("拒收：%(reason)s", reason=reason))


def _one_file(session, run_rec, org, actor, src, item, run: Run) -> None:
    if item.size > MAX_BYTES:
        _reject(session, src, item, run, _("文件超过 %(n)s MB，未读取", n=MAX_BYTES // (1024 * 1024)))
        return
    try:
        data = src.read(item.name)
    except FileNotFoundError:
        # gone since the listing: another company's run took its own file — not this run's
        return
    run.counts["files"] += 1
    sp = session.begin_nested()
    try:
        # a savepoint per file: rolled back, it takes back only this file's work — on
        # PostgreSQL too, where a failed statement aborts the transaction until then
        root = secure_root(data)
        resource = run_rec.meta().resource
        handler = HANDLERS[resource].get(root.tag)
        if handler is None:
            if any(root.tag in h for h in HANDLERS.values()):
                raise _Skip  # another sync's message: left for it
            handler = FALLBACK[resource]
        outcome = handler(session, run_rec, org, actor, data, root, item.name, run)
        sp.commit()
    except _Skip:
        sp.rollback()
        run.counts["files"] -= 1
        return
    except MessageError as e:
        sp.rollback()
        _reject(session, src, item, run, str(e))
        return
    except (IntegrityError, DataError) as e:  # what no check before the write foresaw
        sp.rollback()
        current_app.logger.warning("sync: the database refused %s: %s", item.name,
                                   getattr(e, "orig", e))
        _reject(session, src, item, run,
                _("报文的数据不能写入（与已有记录冲突或超出允许范围），未同步"))
        return
    src.done(session, item.name)
    run.line(item.name, outcome)


def _selected(run_rec, numbers: dict, payload: dict, trade_code, sign_day) -> bool:
    if run_rec.mode == "ticket":
        return numbers.get("seq_no") == run_rec.seq_no and (
            not run_rec.dec_kind or payload["kind"] == run_rec.dec_kind)
    if run_rec.trade_code and trade_code != run_rec.trade_code:
        return False
    return sign_day is not None and run_rec.op_from <= sign_day <= run_rec.op_to


def _sign_day(root) -> dt.date | None:
    el = root.find(f"{{{NS}}}DecSign/{{{NS}}}SignDate")
    try:
        return dt.datetime.strptime((el.text or "")[:8], "%Y%m%d").date()
    except (AttributeError, ValueError):
        return None


def _not_another_companys(session, org, scc) -> None:
    """_Skip when ``scc`` is another organisation's of the platform: the shared inbox's file is
    that company's, left for its own sync — whatever else is wrong with it, which is for that
    company's run to say.  Never rejected here, never named in this run's report."""
    if scc and scc != org.uscc and session.scalar(
            select(Organisation.id).where(Organisation.uscc == scc).limit(1)):
        raise _Skip


def _company(session, org, scc) -> None:
    """The file is the company's (its 统一社会信用代码), another company's (_Skip: left in the
    inbox) or of a company not registered here (MessageError: rejected)."""
    if scc and scc == org.uscc:
        return
    _not_another_companys(session, org, scc)
    raise MessageError(_("报文的企业（统一社会信用代码 %(scc)s）未在本平台注册", scc=scc or "-"))


def _message(session, run_rec, org, actor, data: bytes, root, _name, run: Run) -> str:
    # whose it is before whether it is valid: another company's invalid message is its own
    scc = root.findtext(f"{{{NS}}}DecHead/{{{NS}}}TradeCodeScc")
    _not_another_companys(session, org, scc.strip() if scc else None)
    root = parse(data)  # the schema of the DecMessage
    payload, numbers, scc = from_xml(root)
    _company(session, org, scc)
    head = root.find(f"{{{NS}}}DecHead")
    trade_code = head.findtext(f"{{{NS}}}TradeCode")
    if not _selected(run_rec, numbers, payload, trade_code, _sign_day(root)):
        raise _Skip
    return upsert(session, CdDeclaration, CdSyncState, org, actor, numbers.get("seq_no"),
                  payload, numbers, _content_sha(root), run)


def upsert(session, model, state_model, org, actor, seq_no, payload: dict, numbers: dict,
           sha: str, run: Run, after=None) -> str:
    """The record of the message ``seq_no``: created, unchanged (same content hash), updated by
    a 暂存 as the enterprise, or a conflict when it was edited here since the last sync.
    ``after(record)`` then writes what the message says as the system (a status); a record no
    longer open to 暂存 then keeps its content."""
    what = model.meta().label
    rec = session.scalar(select(model).where(model.seq_no == seq_no).with_for_update()) \
        if seq_no else None
    taken = _numbers_of_others(session, model, org, {"seq_no": seq_no, **numbers})
    if taken is not None:
        # whose it is, or that it is anyone's, is not this company's to know
        name, value = taken
        raise MessageError(_("%(field)s %(no)s 无法对应本企业的%(what)s，不能同步",
                             field=model.meta().fields[name].label, no=value, what=what))
    key = next(iter(state_model.__table__.primary_key.columns)).name
    if rec is None:
        report = ImportReport()
        rec = create(session, model, actor, payload, report, (_("报文"), 0), None, numbers)
        if rec is None:
            raise MessageError("；".join(e for p in report.rows for e in p.errors)[:500])
        if after is not None:
            after(rec)
        session.flush()
        session.add(state_model(**{key: rec.id}, body_sha=sha, version=rec.version))
        run.counts["created"] += 1
        return _("新增%(what)s %(no)s", what=what, no=seq_no)
    state = session.get(state_model, rec.id)
    if state is not None and state.body_sha == sha:
        run.counts["unchanged"] += 1
        return _("%(what)s %(no)s 未变化", what=what, no=seq_no)
    if state is None or rec.version != state.version:
        run.counts["conflicts"] += 1
        return _("冲突：%(what)s %(no)s 在本平台修改过，未覆盖（请核对后手工处理）", what=what,
                 no=seq_no)
    # the content by a 暂存 — with ``after`` (which moves the status) only while it is open
    if after is None or policy.may_fire(actor, rec, model.meta().workflow.get("save")):
        try:
            wf_mod.fire(session, rec, "save", actor, data=payload)
        except (ValidationErrors, policy.Refused) as e:
            raise MessageError(_("报文不能同步：%(reason)s", reason=str(e)[:500])) from None
    if after is not None:
        after(rec)
    session.flush()
    state.body_sha, state.version, state.synced_at = sha, rec.version, now()
    run.counts["updated"] += 1
    return _("更新%(what)s %(no)s", what=what, no=seq_no)


def _numbers_of_others(session, model, org, numbers: dict) -> tuple[str, str] | None:
    """(field, value) of the first unique number of the message (统一编号, 预录入编号, 海关编号,
    清单编号 …) that a record of another company holds, else None."""
    owner = getattr(model, model.meta().owner)
    for name, value in numbers.items():
        column = model.__table__.columns.get(name)
        if not value or column is None or not column.unique:
            continue
        if session.scalar(select(model.id).where(getattr(model, name) == value,
                                                 owner != org.id).limit(1)) is not None:
            return name, value
    return None


def _content_sha(root) -> str:
    """The message's content: everything but its signature block (DecSign: who sent it when),
    so the same declaration sent again is the same."""
    parts = [etree.tostring(el, method="c14n") for el in root
             if el.tag != f"{{{NS}}}DecSign"]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def _receipt(session, _run_rec, org, actor, _data, root, name: str, run: Run) -> str:
    def text(tag):
        v = root.findtext(f"{{{NS}}}{tag}")
        return v.strip() if v and v.strip() else None

    seq_no, channel, scc = text("SeqNo"), text("Channel"), text("TradeCodeScc")
    entry_id = text("EntryId")
    _not_another_companys(session, org, scc)  # before anything of it is judged
    if channel not in CHANNELS:
        raise MessageError(_("回执类型 %(c)s 无法识别", c=channel or "-"))
    try:
        at = dt.datetime.strptime((text("NoticeDate") or "")[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise MessageError(_("回执时间 NoticeDate 应为 yyyyMMddHHmmss")) from None
    if entry_id:
        try:
            validators.entry_id(entry_id)
        except ValueError as e:
            raise MessageError(_("海关编号格式不正确：%(reason)s", reason=str(e))) from None
    _company(session, org, scc)
    dec = session.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == seq_no)
                         .with_for_update()) if seq_no else None
    # another company's declaration is answered as one that does not exist
    if dec is None or dec.company_id != org.id:
        raise MessageError(_("回执的报关单（统一编号 %(no)s）不存在", no=seq_no or "-"))
    if dec.status not in CUSTOMS_STATES:
        raise MessageError(_("报关单 %(no)s 尚未申报，不能接收回执", no=seq_no))
    # the 海关编号: kept whenever the declaration has none yet, whatever its status; another
    # than the one it has is a receipt not for it — rejected, the declaration unchanged
    if entry_id and dec.entry_id and entry_id != dec.entry_id:
        raise MessageError(_("回执的海关编号 %(no)s 与报关单 %(seq)s 已有的海关编号 %(old)s "
                             "不一致，未接收该回执", no=entry_id, seq=seq_no, old=dec.entry_id))
    new_entry_id = entry_id if entry_id and not dec.entry_id else None
    holder = _entry_id_taken(session, dec, new_entry_id) if new_entry_id else None
    if holder:
        if holder == org.id:  # one of the company's own declarations: its to know
            raise MessageError(_("海关编号 %(no)s 已属于其他报关单，不能写入报关单 %(seq)s",
                                 no=new_entry_id, seq=seq_no))
        raise MessageError(_("海关编号 %(no)s 无法对应本企业的报关单 %(seq)s，未接收该回执",
                             no=new_entry_id, seq=seq_no))
    seen = session.scalar(select(CdReceipt.id).where(
        CdReceipt.declaration_id == dec.id, CdReceipt.channel == channel,
        CdReceipt.notice_at == at)) is not None
    if seen and not new_entry_id:
        run.counts["unchanged"] += 1
        return _("回执已接收过，未变化")
    target, step = CHANNELS[channel]
    before = dec.status
    moves = not seen and _moves(before, target)
    state = session.get(CdSyncState, dec.id)
    fresh = state is not None and state.version == dec.version
    with system():
        if moves:
            dec.status = target
        if new_entry_id:
            dec.entry_id = new_entry_id
        if not seen:  # received before (without its 海关编号): only the number is new
            session.add(CdReceipt(declaration_id=dec.id, channel=channel, notice_at=at,
                                  note=text("Note"), file_name=name))
            entry = add_flow_entry(session, dec, step, before, dec.status, actor,
                                   text("Note"), role=CUSTOMS)
            entry.at, entry.actor_name, entry.org_name = at, _("海关回执"), _("海关")
            if channel == "D":
                record_deletion(session, dec, at.date())
        session.flush()
        if fresh:
            state.version = dec.version
    problems = clear_licences(session, dec, at.date()) \
        if dec.status == "closed" and before != "closed" else []
    run.counts["receipts"] += 1
    wf = CdDeclaration.meta().workflow
    said = _("回执已接收过") if seen else _(
        "回执：报关单 %(no)s %(old)s → %(new)s", no=seq_no, old=wf.state_label(before),
        new=wf.state_label(dec.status))
    if new_entry_id:
        said = _("%(said)s，海关编号 %(no)s 已写入", said=said, no=new_entry_id)
    return _("；").join([said, *problems])


def _entry_id_taken(session, dec, entry_id: str) -> int | None:
    """The company of the other declaration (of any company) that already has the 海关编号,
    else None."""
    return session.scalar(select(CdDeclaration.company_id).where(
        CdDeclaration.entry_id == entry_id, CdDeclaration.id != dec.id).limit(1))


reads("cd_dec_sync", {f"{{{NS}}}DecMessage": _message, f"{{{NS}}}DecReceipt": _receipt},
      _message)


def _moves(current: str, target: str) -> bool:
    """Forward only; 入库失败 / 退单 only before 审结; 删单 unless 结关."""
    if current in ("cus_deleted", "closed"):
        return False
    if target == "cus_deleted":
        return True
    if target in ("cus_rejected", "cus_returned"):
        return current in ("declared", "cus_accepted")
    if current in ("cus_rejected", "cus_returned"):
        return False
    return PROGRESS.index(target) > PROGRESS.index(current)
