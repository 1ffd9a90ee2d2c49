"""进口旧机电产品装运前检验监督管理 (seeds 000 and 001): three parties on one set of records.

Institution side (装运前检验机构): 系统通知 · 公共查询 · 备案管理(备案申请) · 业务管理(业务受理) ·
质量反馈 · 监督检查 · 处置反馈 · 年度报告.  Enterprise side (委托企业): 系统通知 · 公共查询 ·
业务管理(业务委托).  Customs act behind every step: they accept filings and changes, raise quality
issues, supervision checks, disposals and annual-report requests — each reaching the institution
as a notice.  A disposal changes what other records may do: an institution under 不予认可 or
限期整改 cannot be entrusted nor file again; 撤销备案 takes it out of the public query.
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import mapped_column, object_session, relationship

from app.engine import (
    ADMIN,
    ALL,
    APPLY_CHANGE,
    COMMERCE,
    CUSTOMS,
    DISCARD_CHANGE,
    ENTERPRISE,
    INSTITUTION,
    PROPOSE,
    SAVE,
    AttachmentSlot,
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
    policy,
    validators,
    workflow_state,
)
from app.engine.codelists import english
from app.engine.fields import quantize
from app.engine.history import add_flow_entry
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.memo import memo
from app.engine.notify import notify_org
from app.engine.record import session_for
from models.base import INSTITUTION as INSTITUTION_KIND
from models.base import Organisation

SYSTEM = System("used_me", _l("进口旧机电产品装运前检验监督管理"), icon="fa-recycle", order=20,
                groups=[
                    Group("public", _l("公共查询"), "fa-search"),
                    Group("filing", _l("备案管理"), "fa-id-card"),
                    Group("business", _l("业务管理"), "fa-briefcase"),
                    Group("quality", _l("质量反馈"), "fa-comment-dots"),
                    Group("supervision", _l("监督检查"), "fa-clipboard-check"),
                    Group("disposal", _l("处置反馈"), "fa-gavel"),
                    Group("annual", _l("年度报告"), "fa-book"),
                ])
MB = 1024 * 1024
ZERO = decimal.Decimal(0)

# Disposal types (处置类型) and their manual wording.
NOT_RECOGNISED, REVOKE, RECTIFY = "not_recognised", "revoke", "rectify"
DISPOSAL_TYPES = [
    (NOT_RECOGNISED, _l("不予认可装运前检验结果")),
    (REVOKE, _l("撤销备案")),
    (RECTIFY, _l("限期整改")),
]
DISPOSAL_LABELS = dict(DISPOSAL_TYPES)
FILED_STATES = ("accepted", "change_review")
ANY_ROLE = (ENTERPRISE, INSTITUTION, CUSTOMS, COMMERCE, ADMIN)


def _today() -> dt.date:
    return dt.date.today()


def _sum(values):
    return sum((v for v in values if v is not None), ZERO)


# ==========================================================================================
# 公共查询: 旧机电业务规则, 法规及政策 (maintained by customs)
# ==========================================================================================
NEEDS_PSI, PROHIBITED = "pre_shipment", "prohibited"   # 旧机电业务规则's 管理措施


class UeBusinessRule(Record):
    __tablename__ = "ue_business_rule"

    hs_code = field(String(10), _l("HS编码"), required=True, index=True,
                    placeholder=_l("可输入 4 至 10 位"))
    name = field(String(200), _l("品名"), required=True)
    measure = field(String(20), _l("管理措施"), required=True, widget="select", choices=[
        (NEEDS_PSI, _l("需实施装运前检验")),
        (PROHIBITED, _l("禁止进口")),
        ("general", _l("一般管理"))])
    basis = field(String(300), _l("依据"))
    remark = field(Text, _l("备注"), widget="textarea")

    class Meta:
        label = _l("旧机电业务规则")
        list_label = _l("旧机电业务规则查询")
        resource = "ue_business_rule"
        menu = SYSTEM.menu("public", _l("旧机电业务规则查询"), order=1)
        scope = {r: ALL for r in ANY_ROLE}
        create_roles = (CUSTOMS, ADMIN)
        list_columns = ["hs_code", "name", "measure", "basis"]
        search = [Search("hs_code", "prefix"), Search("name", "contains")]
        order_by = "hs_code"
        title_field = "hs_code"
        importable = True
        print = Print("_generic.html", _l("旧机电业务规则"))


class Regulation(Record):
    __tablename__ = "regulation"

    title = field(String(300), _l("标题"), required=True)
    doc_no = field(String(100), _l("文号"))
    issuer = field(String(200), _l("发布机关"))
    published_on = field(Date, _l("发布时间"), required=True)
    content = field(Text, _l("内容"), widget="textarea")

    class Meta:
        label = _l("法规及政策")
        list_label = _l("法规及政策查询")
        resource = "regulation"
        menu = SYSTEM.menu("public", _l("法规及政策查询"), order=3)
        scope = {r: ALL for r in ANY_ROLE}
        create_roles = (CUSTOMS, ADMIN)
        list_columns = ["title", "doc_no", "issuer", "published_on"]
        search = [Search("title", "contains"), Search("published_on", "range")]
        order_by = "-published_on"
        title_field = "title"
        attachments = [AttachmentSlot("files", _l("附件"), max_bytes=10 * MB,
                                      kinds=("pdf", "doc", "docx"))]
        print = Print("_generic.html", _l("法规及政策"))


# ==========================================================================================
# Disposals and what they do to other records
# ==========================================================================================
def active_disposals(session, institution_id, on: dt.date | None = None) -> list:
    """Disposals that restrict an institution today: 不予认可 until its end date, 限期整改 until
    customs approve the rectification and revoke it."""
    on = on or _today()
    return list(session.scalars(select(UeDisposal).where(
        UeDisposal.institution_id == institution_id,
        UeDisposal.status.in_(("in_force", "rectify_submitted")),
        UeDisposal.disposal_type.in_((NOT_RECOGNISED, RECTIFY)),
        UeDisposal.start_on <= on,
        or_(UeDisposal.disposal_type == RECTIFY, UeDisposal.end_on >= on),
    ).order_by(UeDisposal.id)))


def current_filing(session, institution_id):
    return session.scalar(select(UeInstitutionFiling).where(
        UeInstitutionFiling.institution_id == institution_id,
        UeInstitutionFiling.status.in_(FILED_STATES)).order_by(UeInstitutionFiling.id.desc())
        .limit(1))


def entrustment_refusal(session, institution_id) -> str | None:
    """None when the institution may be entrusted today, else why not (the manual's words)."""
    pk = policy.parse_id(institution_id)
    org = session.get(Organisation, pk) if pk is not None else None
    name = _org_label(org.name, org.name_en) if org is not None else str(institution_id)
    if org is None or org.kind != INSTITUTION_KIND:
        return _("装运前检验机构不存在")
    if current_filing(session, institution_id) is None:
        revoked = session.scalar(select(UeInstitutionFiling.id).where(
            UeInstitutionFiling.institution_id == institution_id,
            UeInstitutionFiling.status == "revoked"))
        if revoked:
            return _("检验机构「%(name)s」已被撤销备案，不能接受委托", name=name)
        return _("检验机构「%(name)s」尚未备案，不能接受委托", name=name)
    for d in active_disposals(session, institution_id):
        if d.disposal_type == NOT_RECOGNISED:
            return _("检验机构「%(name)s」处于不予认可装运前检验结果处置期间（至 %(end)s），"
                     "不能接受委托", name=name, end=d.end_on)
        return _("检验机构「%(name)s」处于限期整改期间，不能接受委托", name=name)
    return None


def _institution_of(record):
    """The institution a record is about, row-locked while a transition decides on it: a
    disposal issued at the same moment as an entrustment is submitted, or two filings applied
    at once, are decided one after the other."""
    session = session_for(record)
    return session.get(Organisation, record.institution_id) if record.institution_id else None


def _org_label(name: str, name_en: str | None) -> str:
    """An organisation's name in the reader's language (its English name where it has one)."""
    return name_en if english() and name_en else name


def _institution_options(session, states) -> list[tuple[str, str]]:
    """(id, name in the reader's language) of the institutions with a filing in ``states``,
    by that name."""
    shown = func.coalesce(func.nullif(Organisation.name_en, ""), Organisation.name) \
        if english() else Organisation.name
    rows = session.execute(
        select(Organisation.id, shown)
        .join(UeInstitutionFiling, UeInstitutionFiling.institution_id == Organisation.id)
        .where(UeInstitutionFiling.status.in_(states))
        .order_by(shown)).all()
    return [(str(i), n) for i, n in dict(rows).items()]


def entrustable_institutions(record=None) -> list[tuple[str, str]]:
    """装运前检验机构 the form offers: filed, and not under a restricting disposal today."""
    session = session_for(record)

    def load():
        today = _today()
        blocked = {str(i) for i in session.scalars(select(UeDisposal.institution_id).where(
            UeDisposal.status.in_(("in_force", "rectify_submitted")),
            UeDisposal.disposal_type.in_((NOT_RECOGNISED, RECTIFY)),
            UeDisposal.start_on <= today,
            or_(UeDisposal.disposal_type == RECTIFY, UeDisposal.end_on >= today)))}
        return [o for o in _institution_options(session, FILED_STATES) if o[0] not in blocked]

    return memo(session, ("entrustable", _today(), english()), load)


def filed_institutions(record=None) -> list[tuple[str, str]]:
    """Institutions customs address (quality issues, checks, disposals, annual reports)."""
    session = session_for(record)
    return memo(session, ("filed_institutions", english()), lambda: _institution_options(
        session, FILED_STATES + ("revoked",)))


def institution_name(record) -> str | None:
    """The institution's name, in English where the user reads English and it has one."""
    session = object_session(record) or session_for(record)
    if not record.institution_id:
        return None
    names = memo(session, ("org_names", record.institution_id), lambda: session.execute(
        select(Organisation.name, Organisation.name_en)
        .where(Organisation.id == record.institution_id)).one_or_none())
    if names is None:
        return None
    return _org_label(names.name, names.name_en)


# ==========================================================================================
# 备案管理 — 备案申请 (InstitutionFiling)
# ==========================================================================================
def _filing_from_org(filing, actor, session):
    org = session.get(Organisation, filing.institution_id) if filing.institution_id else None
    if org is not None:
        filing.name_cn = filing.name_cn or org.name
        filing.name_en = filing.name_en or org.name_en
        filing.country = filing.country or org.country
        filing.address = filing.address or org.address
        filing.email = filing.email or org.email
        filing.phone = filing.phone or org.phone


def _filing_refusal(session, institution_id, filing_id=None) -> str | None:
    """Re-filing is refused during 不予认可 or 限期整改; one valid filing at a time."""
    for d in active_disposals(session, institution_id):
        if d.disposal_type == NOT_RECOGNISED:
            return _("不予认可处置期间不予重新备案")
        return _("请完成限期整改后重新备案")
    other = session.scalar(select(UeInstitutionFiling.filing_no).where(
        UeInstitutionFiling.institution_id == institution_id,
        UeInstitutionFiling.id != (filing_id or 0),
        UeInstitutionFiling.status.in_(FILED_STATES + ("pending", "supplement"))))
    if other:
        return _("已有备案申请 %(no)s 正在办理或有效，不能重复申请", no=other)
    return None


def _may_file(filing, ctx):
    return _filing_refusal(ctx.session, filing.institution_id, filing.id)


def _may_start_filing(session, actor):
    """The re-filing form of a disposed (or already filed) institution does not open."""
    return _filing_refusal(session, policy.owner_of_new(actor))


def _filing_accepted(filing, ctx):
    filing.accepted_at = ctx.at
    notify_org(ctx.session, filing.institution_id, _l("备案申请已受理"),
               _l("备案证书编号：%(no)s", no=filing.cert_no), record=filing)


def _filing_refused(filing, ctx):
    notify_org(ctx.session, filing.institution_id, _l("备案申请不予受理"),
               _l("原因：%(text)s", text=ctx.opinion or ""), record=filing)


def _filing_supplement(filing, ctx):
    notify_org(ctx.session, filing.institution_id, lazy_pgettext("通知", "补充材料"),
               _l("备案申请 %(no)s 需补充材料：%(text)s", no=filing.filing_no,
                  text=ctx.opinion or ""), record=filing)


def _change_decided(filing, ctx):
    approved = ctx.transition.kind == APPLY_CHANGE
    notify_org(ctx.session, filing.institution_id,
               _l("备案变更审核通过") if approved else _l("备案变更审核不通过"),
               _l("备案申请 %(no)s：%(text)s", no=filing.filing_no, text=ctx.opinion or ""),
               record=filing)


def _disposal_status(filing) -> str:
    if not filing.disposal_type:
        return _("正常")
    if filing.disposal_type == NOT_RECOGNISED and filing.disposal_until and \
            filing.disposal_until < _today():
        return _("正常")
    return str(DISPOSAL_LABELS.get(filing.disposal_type, filing.disposal_type))


def _disposal_end(filing) -> str:
    if filing.disposal_type == NOT_RECOGNISED and filing.disposal_until and \
            filing.disposal_until >= _today():
        return filing.disposal_until.isoformat()
    if filing.disposal_type == RECTIFY and filing.disposal_until:
        return filing.disposal_until.isoformat()
    return ""


FILING_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("pending", lazy_pgettext("状态", "待审核"), style="info"),
        State("accepted", lazy_pgettext("状态", "已受理"), style="success"),
        State("rejected", lazy_pgettext("状态", "不予受理"), style="danger"),
        State("supplement", lazy_pgettext("状态", "补充材料"), style="warning"),
        State("change_review", lazy_pgettext("状态", "变更审核中"), style="info"),
        State("revoked", lazy_pgettext("状态", "已撤销备案"), style="danger"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft", "supplement"], roles=[INSTITUTION], kind=SAVE),
        Transition("apply", _l("申请"), ["draft", "supplement"], "pending", roles=[INSTITUTION],
                   check_required=True, saves_form=True, conditions=[_may_file],
                   locks=[_institution_of],
                   todo=["supplement"], success=_l("申请成功")),
        Transition("accept", _l("已受理"), ["pending"], "accepted", roles=[CUSTOMS],
                   opinion="optional", opinion_label=_l("审核意见"), effects=[_filing_accepted],
                   todo=True, batch=True, success=lazy_pgettext("状态", "已受理"), style="success"),
        Transition("reject", _l("不予受理"), ["pending"], "rejected", roles=[CUSTOMS],
                   opinion="required", opinion_label=_l("不予受理原因"),
                   effects=[_filing_refused], todo=True, style="danger", success=_l("不予受理")),
        Transition("supplement", _l("补充材料"), ["pending"], "supplement", roles=[CUSTOMS],
                   opinion="required", opinion_label=_l("需补充的材料"),
                   effects=[_filing_supplement], todo=True, style="warning", success=_l("已通知补充材料")),
        Transition("request_change", _l("变更修改"), ["accepted"], "change_review",
                   roles=[INSTITUTION], kind=PROPOSE, opinion="optional",
                   opinion_label=_l("变更说明"), success=_l("变更已提交，待海关审核")),
        Transition("approve_change", _l("变更通过"), ["change_review"], "accepted",
                   roles=[CUSTOMS], kind=APPLY_CHANGE, opinion="optional",
                   opinion_label=_l("审核意见"), effects=[_change_decided], todo=True,
                   style="success", success=_l("变更通过")),
        Transition("reject_change", _l("变更不通过"), ["change_review"], "accepted",
                   roles=[CUSTOMS], kind=DISCARD_CHANGE, opinion="required",
                   opinion_label=_l("审核意见"), effects=[_change_decided], todo=True,
                   style="danger", success=_l("变更不通过")),
        delete_transition(["draft"], [INSTITUTION], batch=False),
        # Fired by nobody: a 撤销备案 disposal performs it (the flow entry carries its number).
        Transition("revoke", _l("撤销备案"), FILED_STATES, "revoked", roles=[], on_form=False,
                   inputs=[Input("disposal_no", _l("处置编号"))]),
    ],
)

INSTITUTION_FIELDS = ("draft", "supplement", "accepted")


class UeInstitutionFiling(Record):
    __tablename__ = "ue_institution_filing"

    institution_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)

    filing_no = field(String(20), _l("备案申请号"), system=True, copy=False, unique=True,
                      section="basic")
    cert_no = field(String(20), _l("备案证书编号"), system=True, copy=False, unique=True,
                    section="basic")
    status = workflow_state(_l("状态"))
    name_cn = field(String(200), _l("机构中文名称"), required=True, section="basic")
    name_en = field(String(200), _l("机构英文名称"), required=True, section="basic")
    country = field(String(3), _l("所在国家(地区)"), codelist="country", required=True,
                    section="basic")
    address = field(String(300), _l("地址"), required=True, section="basic")
    established_on = field(Date, _l("成立日期"), section="basic", not_future=True)
    legal_rep = field(String(100), _l("法定代表人"), required=True, section="basic")
    scope_text = field(Text, _l("检验业务范围"), widget="textarea", required=True,
                       section="basic")
    staff_count = field(Integer, _l("人员总数"), validators=(validators.not_negative,),
                        section="basic")
    inspector_count = field(Integer, _l("检验人员数"), validators=(validators.not_negative,),
                            section="basic")
    contact = field(String(60), _l("联系人"), required=True, section="contact")
    contact_id_no = field(String(18), _l("联系人身份证号"), required=True, section="contact",
                          validators=(validators.id_number,))
    phone = field(String(30), _l("联系电话"), required=True, section="contact",
                  validators=(validators.intl_phone,))
    email = field(String(120), _l("电子邮件"), required=True, section="contact",
                  validators=(validators.email,))
    accepted_at = field(DateTime, _l("受理时间"), system=True, copy=False, section="contact")
    disposal_type = field(String(20), _l("处置状态"), system=True, copy=False,
                          choices=DISPOSAL_TYPES, display_fn=_disposal_status, in_form=False)
    disposal_until = field(Date, _l("处置到期时间"), system=True, copy=False,
                           display_fn=_disposal_end, in_form=False)

    departments = children("UeFilingDepartment", _l("主要部门情况"),
                           back_populates="filing", section="children", requires_saved=True,
                           edit_states=("draft", "supplement"),
                           order_by="UeFilingDepartment.id")
    equipment = children("UeFilingEquipment", _l("主要检测设备情况"), back_populates="filing",
                         section="children", requires_saved=True,
                         edit_states=("draft", "supplement"), order_by="UeFilingEquipment.id")
    certifications = children("UeFilingCertification", _l("企业质量管理体系认证情况"),
                              back_populates="filing", section="children",
                              requires_saved=True, edit_states=("draft", "supplement"),
                              order_by="UeFilingCertification.id")
    track_record = children("UeFilingTrackRecord", _l("近三年实施装运前检验的情况"),
                            back_populates="filing", section="children", requires_saved=True,
                            edit_states=("draft", "supplement"),
                            order_by="UeFilingTrackRecord.id")

    class Meta:
        label = _l("备案申请")
        resource = "ue_institution_filing"
        menu = SYSTEM.menu("filing", _l("备案申请"))
        owner = "institution_id"
        scope = {
            INSTITUTION: Own("institution_id"),
            CUSTOMS: Where(lambda m, a: m.status != "draft"),
            ADMIN: ALL,
        }
        create_roles = (INSTITUTION,)
        # On 已受理 the yellow fields are edited for a change request (变更修改), not saved.
        editable = {s: (INSTITUTION,) for s in INSTITUTION_FIELDS}
        sections = [
            Section("basic", _l("机构基本信息")),
            Section("contact", _l("联系信息")),
            Section("children", _l("机构详细情况")),
        ]
        list_columns = ["filing_no", "name_cn", "country", "cert_no", "status", "updated_at"]
        search = [Search("cert_no", "exact"), Search("filing_no", "exact"),
                  Search("name_cn", "contains"), Search("status")]
        order_by = "-id"
        title_field = "filing_no"
        numbering = [
            Numbering("filing_no", "BA{yyyy}{seq:06d}"),
            Numbering("cert_no", "ZJ{yyyy}{seq:04d}", on="accept"),
        ]
        workflow = FILING_FLOW
        on_create = staticmethod(_filing_from_org)
        create_refusal = staticmethod(_may_start_filing)
        attachments = [AttachmentSlot("materials", _l("相关材料"), max_bytes=10 * MB,
                                      edit_states=("draft", "supplement"),
                                      edit_roles=(INSTITUTION,))]
        print = Print("ue_institution_filing.html", _l("装运前检验机构备案申请表"))
        screens = [
            Screen("filed", _l("已备案检验机构查询"),
                   columns=["name_cn", "name_en", "country", "cert_no", "disposal_type",
                            "disposal_until"],
                   search=[Search("name_cn", "contains"), Search("cert_no", "exact")],
                   where=lambda m: m.status.in_(FILED_STATES),
                   scope={r: ALL for r in ANY_ROLE}, detail=False,
                   menu=SYSTEM.menu("public", order=2)),
        ]


class UeFilingDepartment(ChildRecord):
    __tablename__ = "ue_filing_department"
    __parent__ = "filing"

    filing_id = mapped_column(ForeignKey("ue_institution_filing.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    filing = relationship(UeInstitutionFiling, back_populates="departments")
    dept_name = field(String(100), _l("部门名称"), required=True)
    duty = field(String(300), _l("主要职责"))
    head = field(String(60), _l("负责人"))
    staff = field(Integer, _l("人数"), validators=(validators.not_negative,))

    class Meta:
        label = _l("主要部门情况")


class UeFilingEquipment(ChildRecord):
    __tablename__ = "ue_filing_equipment"
    __parent__ = "filing"

    filing_id = mapped_column(ForeignKey("ue_institution_filing.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    filing = relationship(UeInstitutionFiling, back_populates="equipment")
    name = field(String(100), _l("设备名称"), required=True)
    model = field(String(100), _l("型号规格"))
    serial_no = field(String(60), _l("出厂编号"))
    quantity = field(Integer, _l("数量"), validators=(validators.positive,))
    calibrated_until = field(Date, _l("检定/校准有效期"), not_past=True)

    class Meta:
        label = _l("主要检测设备情况")


class UeFilingCertification(ChildRecord):
    __tablename__ = "ue_filing_certification"
    __parent__ = "filing"

    filing_id = mapped_column(ForeignKey("ue_institution_filing.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    filing = relationship(UeInstitutionFiling, back_populates="certifications")
    standard = field(String(100), _l("认证标准"), required=True,
                     placeholder="ISO/IEC 17020")
    cert_no = field(String(60), _l("证书编号"), required=True)
    issuer = field(String(200), _l("发证机构"))
    valid_until = field(Date, _l("有效期至"), not_past=True)

    class Meta:
        label = _l("企业质量管理体系认证情况")


class UeFilingTrackRecord(ChildRecord):
    __tablename__ = "ue_filing_track_record"
    __parent__ = "filing"

    filing_id = mapped_column(ForeignKey("ue_institution_filing.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    filing = relationship(UeInstitutionFiling, back_populates="track_record")
    year = field(Integer, _l("年份"), required=True, validators=(validators.year,))
    batches = field(Integer, _l("检验批次"), validators=(validators.not_negative,))
    value_usd = field(numeric(18, 2), _l("货值(万美元)"), validators=(validators.not_negative,))
    products = field(String(300), _l("主要产品类别"))

    class Meta:
        label = _l("近三年实施装运前检验的情况")


# ==========================================================================================
# 业务管理 — 业务委托 (enterprise) / 业务受理 (institution)
# ==========================================================================================
def _entrustment_from_company(e, actor, session):
    org = session.get(Organisation, e.company_id) if e.company_id else None
    if org is not None:
        e.company_name = org.name
        e.consignee = e.consignee or org.name
        e.contact_phone = e.contact_phone or org.phone
        e.contact_email = e.contact_email or org.email
        e.contact_name = e.contact_name or org.contact


def _institution_may_be_entrusted(e, ctx):
    return entrustment_refusal(ctx.session, e.institution_id)


def _has_goods(e, ctx):
    if not e.goods:
        return _("业务委托 %(no)s 缺少货物信息", no=e.entrust_no or "")
    return None


def _clean_entrustment(e, session) -> dict:
    """Posting an institution the form would not offer gets the manual's reason (when the
    enterprise chooses it; the institution's own steps say why in their conditions)."""
    chosen = e.id is None or inspect(e).attrs.institution_id.history.has_changes()
    if e.institution_id and chosen:
        reason = entrustment_refusal(session, e.institution_id)
        if reason:
            return {"institution_id": [reason]}
    return {}


def _entrusted(e, ctx):
    e.entrusted_at = ctx.at
    notify_org(ctx.session, e.institution_id, _l("新的业务委托"),
               _l("%(company)s 提交了业务委托 %(no)s", company=e.company_name or "",
                  no=e.entrust_no), record=e)


def _accepted(e, ctx):
    e.accepted_at = ctx.at
    notify_org(ctx.session, e.company_id, _l("业务委托已受理"),
               _l("业务委托 %(no)s 已被 %(inst)s 受理", no=e.entrust_no,
                  inst=institution_name(e) or ""), record=e)


def _returned(e, ctx):
    notify_org(ctx.session, e.company_id, lazy_pgettext("通知", "补充材料"),
               _l("业务委托 %(no)s 被退回，退回原因：%(reason)s", no=e.entrust_no,
                  reason=e.return_reason or ""), record=e)


def _inspected(e, ctx):
    e.completed_at = ctx.at
    notify_org(ctx.session, e.company_id, _l("检验完成"),
               _l("业务委托 %(no)s 检验完成，检验机构证书编号 %(cert)s", no=e.entrust_no,
                  cert=e.inst_cert_no), record=e)


ENTRUSTMENT_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("pending", lazy_pgettext("状态", "待受理"), style="info"),
        State("accepted", lazy_pgettext("状态", "受理中"), style="primary"),
        State("done", lazy_pgettext("状态", "检验完成"), style="success"),
        State("supplement", lazy_pgettext("状态", "补充材料"), style="warning"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft", "supplement"], roles=[ENTERPRISE], kind=SAVE),
        Transition("submit", _l("提交"), ["draft", "supplement"], "pending", roles=[ENTERPRISE],
                   check_required=True, saves_form=True, batch=True,
                   conditions=[_has_goods, _institution_may_be_entrusted],
                   locks=[_institution_of],
                   effects=[_entrusted], todo=["supplement"], success=_l("提交成功"),
                   confirm=_l("提交后由装运前检验机构受理，是否提交？")),
        Transition("accept", _l("接受委托"), ["pending"], "accepted", roles=[INSTITUTION],
                   conditions=[_institution_may_be_entrusted], locks=[_institution_of],
                   effects=[_accepted], todo=True, batch=True, success=_l("操作成功"),
                   style="success"),
        Transition("return", _l("退回"), ["pending"], "supplement", roles=[INSTITUTION],
                   inputs=[Input("reason", _l("退回原因"), Text(), required=True,
                                 widget="textarea", target="return_reason")],
                   effects=[_returned], todo=True, success=_l("操作成功"), style="danger"),
        Transition("result", _l("检验结果"), ["accepted"], "done", roles=[INSTITUTION],
                   inputs=[Input("result_file", _l("检验结果"), widget="file", slot="result",
                                 required=True),
                           Input("cert_no", _l("检验机构证书编号"), String(60), required=True,
                                 target="inst_cert_no"),
                           Input("valid_until", _l("证书有效期"), Date(), required=True,
                                 validators=(validators.not_past,),
                                 widget="date", target="cert_valid_until")],
                   effects=[_inspected], todo=True, submit_label=_l("提交"),
                   success=_l("提交成功")),  # 点击提交按钮，提示提交成功 (seed 001)
        delete_transition(["draft"], [ENTERPRISE]),
    ],
)


class UeEntrustment(Record):
    __tablename__ = "ue_entrustment"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)

    entrust_no = field(String(20), _l("业务编号"), system=True, copy=False, unique=True,
                       section="main")
    status = workflow_state(_l("状态"))
    company_name = field(String(200), _l("委托企业名称"), system=True, section="main")
    consignee = field(String(200), _l("收货人"), required=True, section="main")
    entry_customs = field(String(4), _l("入境海关"), codelist="customs_district", required=True,
                          section="main")
    destination = field(String(6), _l("到货地"), codelist="region", required=True,
                        section="main")
    destination_customs = field(String(4), _l("到货地海关"), codelist="customs_district",
                                required=True, section="main")
    use = field(String(2), _l("用途"), codelist="me_goods_use", required=True, section="main")
    institution_id = field(Integer, _l("装运前检验机构"), foreign_key=ForeignKey(
        "organisation.id"), required=True, widget="select", choices=entrustable_institutions,
        refusal=entrustment_refusal,
        display_fn=institution_name, section="main", index=True)
    contact_name = field(String(60), _l("联系人"), required=True, section="contact")
    contact_phone = field(String(30), _l("联系人电话"), section="contact",
                          validators=(validators.phone,))
    contact_mobile = field(String(11), _l("联系人手机"), required=True, section="contact",
                           validators=(validators.mobile,))
    contact_email = field(String(120), _l("联系人邮件"), section="contact",
                          validators=(validators.email,))
    currency = field(String(3), _l("币制"), codelist="currency", required=True, initial="USD",
                     section="contact")
    total_qty = field(numeric(18, 3), _l("总数量"), section="totals",
                      compute=lambda e: _sum(g.qty for g in e.goods))
    total_amount = field(numeric(18, 2), _l("总金额"), section="totals",
                         compute=lambda e: quantize(_sum(g.amount for g in e.goods)))
    goods = children("UeEntrustmentGoods", _l("货物详细信息"), back_populates="entrustment",
                     section="goods", requires_saved=True, order_by="UeEntrustmentGoods.id")
    remark = field(Text, _l("备注"), widget="textarea", section="contact")

    entrusted_at = field(DateTime, _l("委托时间"), system=True, copy=False, section="result")
    accepted_at = field(DateTime, _l("受理时间"), system=True, copy=False, section="result")
    return_reason = field(Text, _l("退回原因"), system=True, copy=False, section="result",
                          widget="textarea")
    inst_cert_no = field(String(60), _l("检验机构证书编号"), system=True, copy=False,
                         section="result")
    cert_valid_until = field(Date, _l("证书有效期"), system=True, copy=False, section="result")
    completed_at = field(DateTime, _l("检验完成时间"), system=True, copy=False,
                         section="result")

    class Meta:
        label = _l("业务委托")
        resource = "ue_entrustment"
        menu = SYSTEM.menu("business", _l("业务委托"), roles=(ENTERPRISE, CUSTOMS, ADMIN), order=1)
        owner = "company_id"
        scope = {
            ENTERPRISE: Own("company_id"),
            INSTITUTION: Own("institution_id") & Where(lambda m, a: m.status != "draft"),
            CUSTOMS: Where(lambda m, a: m.status != "draft"),
            ADMIN: ALL,
        }
        create_roles = (ENTERPRISE,)
        editable = {"draft": (ENTERPRISE,), "supplement": (ENTERPRISE,)}
        sections = [
            Section("main", _l("委托信息")),
            Section("contact", _l("联系信息")),
            Section("goods", _l("货物详细信息")),
            Section("totals", _l("合计")),
            Section("result", _l("受理及检验结果")),
        ]
        list_columns = ["entrust_no", "consignee", "entry_customs", "destination", "use",
                        "institution_id", "status", "entrusted_at"]
        search = [
            Search("entrust_no", "exact"), Search("consignee", "contains"),
            Search("entry_customs"), Search("destination"), Search("use"),
            Search("institution_id", "exact"), Search("status"),
            Search("entrusted_at", "range"),
        ]
        order_by = "-id"
        title_field = "entrust_no"
        numbering = Numbering("entrust_no", "WT{yyyy}{seq:06d}")
        workflow = ENTRUSTMENT_FLOW
        on_create = staticmethod(_entrustment_from_company)
        clean = staticmethod(_clean_entrustment)
        attachments = [
            AttachmentSlot("docs", _l("随附单据"), max_bytes=5 * MB,
                           edit_states=("draft", "supplement"), edit_roles=(ENTERPRISE,)),
            AttachmentSlot("result", _l("检验结果"), max_bytes=10 * MB,
                           kinds=("pdf", "jpg", "png"), edit_states=(),
                           edit_roles=(INSTITUTION,)),
        ]
        print = Print("ue_entrustment.html", _l("进口旧机电产品装运前检验业务委托书"))
        screens = [
            Screen("inbox", _l("业务受理"),
                   columns=["entrust_no", "company_name", "consignee", "status",
                            "entrusted_at"],
                   search=[Search("entrust_no", "exact"), Search("company_name", "contains"),
                           Search("status"), Search("entrusted_at", "range")],
                   roles=(INSTITUTION, CUSTOMS),
                   menu=SYSTEM.menu("business", roles=(INSTITUTION,), order=2)),
        ]


class UeEntrustmentGoods(ChildRecord):
    __tablename__ = "ue_entrustment_goods"
    __parent__ = "entrustment"

    entrustment_id = mapped_column(ForeignKey("ue_entrustment.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    entrustment = relationship(UeEntrustment, back_populates="goods")
    hs_code = field(String(10), _l("HS编码"), required=True, validators=(validators.hs_code,),
                    placeholder=_l("输入至少四位商品编号后回车选择"),
                    picker=Picker("cd_hs_code", "code_ts", "g_name", min_chars=4,
                                  fills={"name": "g_name"}))
    name = field(String(200), _l("品名"), required=True)
    model = field(String(200), _l("规格型号"), required=True)
    manufacturer = field(String(200), _l("制造商"))
    made_on = field(String(7), _l("制造年月"), placeholder="YYYY-MM",
                    validators=(validators.year_month,))
    qty = field(numeric(18, 3), _l("数量"), required=True, validators=(validators.positive,))
    unit = field(String(3), lazy_pgettext("计量", "单位"), codelist="unit_of_measure",
                 required=True, initial="001")
    unit_price = field(numeric(18, 2), _l("单价"), required=True,
                       validators=(validators.positive,))
    amount = field(numeric(18, 2), _l("金额"),
                   compute=lambda g: quantize(g.qty * g.unit_price)
                   if g.qty is not None and g.unit_price is not None else None)

    class Meta:
        label = _l("货物详细信息")


# ==========================================================================================
# Customs-initiated records addressed to one institution
# ==========================================================================================
def addressed_to(**spec):
    """The 检验机构 a customs request is addressed to (filed institutions only)."""
    return field(Integer, _l("检验机构"), foreign_key=ForeignKey("organisation.id"),
                 required=True, widget="select", choices=filed_institutions,
                 display_fn=institution_name, index=True, **spec)


def _issued(kind_label):
    """Effect of a customs request: stamped, and a notice to the institution addressed."""
    def effect(record, ctx):
        record.issued_at = ctx.at
        notify_org(ctx.session, record.institution_id, kind_label,
                   _l("%(kind)s %(no)s，请及时处理", kind=kind_label, no=record.caption()),
                   record=record)
    return effect


def _stamp_reply(record, ctx):
    record.replied_at = ctx.at


def _addressed():
    """Scope of a record customs address to one institution: it sees it once sent."""
    return {
        INSTITUTION: Own("institution_id") & Where(lambda m, a: m.status != "draft"),
        CUSTOMS: ALL,
        ADMIN: ALL,
    }


# -- 质量反馈: 工作质量问题反馈 --------------------------------------------------------------
QUALITY_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("sent", lazy_pgettext("状态", "待反馈"), style="warning"),
        State("replied", lazy_pgettext("状态", "已反馈"), style="info"),
        State("closed", lazy_pgettext("状态", "已阅"), style="success"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft"], roles=[CUSTOMS], kind=SAVE),
        Transition("send", _l("发送"), ["draft"], "sent", roles=[CUSTOMS], saves_form=True,
                   check_required=["institution_id", "content"],
                   effects=[_issued(_l("工作质量问题反馈"))], success=_l("发送成功")),
        Transition("save_reply", _l("暂存"), ["sent"], roles=[INSTITUTION], kind=SAVE),
        Transition("reply", _l("提交"), ["sent"], "replied", roles=[INSTITUTION],
                   saves_form=True, check_required=["reply"], todo=True,
                   effects=[_stamp_reply], success=_l("提交成功")),
        Transition("close", _l("已阅"), ["replied"], "closed", roles=[CUSTOMS], todo=True,
                   batch=True, style="success", success=_l("已阅")),
        delete_transition(["draft"], [CUSTOMS]),
    ],
)


class UeQualityIssue(Record):
    __tablename__ = "ue_quality_issue"

    issue_no = field(String(20), _l("问题编号"), system=True, copy=False, unique=True)
    status = workflow_state(_l("状态"))
    institution_id = addressed_to()
    content = field(Text, _l("问题内容"), required=True, widget="textarea")
    issued_at = field(DateTime, _l("发送时间"), system=True, copy=False)
    reply = field(Text, _l("回复说明"), widget="textarea", edit_states=("sent",),
                  edit_roles=(INSTITUTION,), required=lambda r: r.status != "draft")
    replied_at = field(DateTime, _l("反馈时间"), system=True, copy=False)

    class Meta:
        label = _l("工作质量问题反馈")
        resource = "ue_quality_issue"
        menu = SYSTEM.menu("quality", _l("工作质量问题反馈"))
        scope = _addressed()
        create_roles = (CUSTOMS,)
        editable = {"draft": (CUSTOMS,)}
        list_columns = ["issue_no", "institution_id", "content", "status", "created_at",
                        "replied_at"]
        search = [Search("reply", "contains", label=_l("回复内容")),
                  Search("content", "contains"), Search("status"),
                  Search("created_at", "range")]
        order_by = "-id"
        title_field = "issue_no"
        numbering = Numbering("issue_no", "ZL{yyyy}{seq:05d}")
        workflow = QUALITY_FLOW
        attachments = [
            AttachmentSlot("evidence", _l("问题材料"), max_bytes=10 * MB,
                           edit_states=("draft",), edit_roles=(CUSTOMS,)),
            AttachmentSlot("reply_files", _l("回复材料"), max_bytes=10 * MB,
                           edit_states=("sent",), edit_roles=(INSTITUTION,)),
        ]
        print = Print("_generic.html", _l("工作质量问题反馈"))


# -- 监督检查: 文件检查 / 实地检查 -------------------------------------------------------------
FILE_CHECK, SITE_CHECK = "file", "site"


def _only_file_checks(check, actor):
    if check.check_type != FILE_CHECK:
        return _("实地检查无需提交文件")
    return None


def _only_site_checks(check, actor):
    if check.check_type != SITE_CHECK:
        return _("文件检查需待检验机构提交文件后审核")
    return None


def _check_failed(check, ctx):
    notify_org(ctx.session, check.institution_id, lazy_pgettext("通知", "补充材料"),
               _l("监督检查 %(no)s 未通过，请提交补充材料：%(text)s", no=check.check_no,
                  text=ctx.opinion or ""), record=check)


SUPERVISION_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("requested", lazy_pgettext("状态", "待反馈"), style="warning"),
        State("submitted", lazy_pgettext("状态", "已提交"), style="info"),
        State("supplement", lazy_pgettext("状态", "补充材料"), style="warning"),
        State("passed", lazy_pgettext("状态", "检查通过"), style="success"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft"], roles=[CUSTOMS], kind=SAVE),
        Transition("issue", _l("下达"), ["draft"], "requested", roles=[CUSTOMS],
                   saves_form=True, check_required=["institution_id", "check_type",
                                                    "requirement"],
                   effects=[_issued(_l("监督检查"))], success=_l("下达成功")),
        Transition("save_feedback", _l("暂存"), ["requested", "supplement"],
                   roles=[INSTITUTION], kind=SAVE),
        Transition("submit", _l("提交"), ["requested"], "submitted", roles=[INSTITUTION],
                   saves_form=True, check_required=["feedback"], when=_only_file_checks,
                   todo=True, success=_l("提交成功")),
        Transition("resubmit", _l("提交补充材料"), ["supplement"], "submitted",
                   roles=[INSTITUTION], saves_form=True, check_required=["feedback"],
                   todo=True, success=_l("提交成功")),
        Transition("pass", _l("审核通过"), ["submitted"], "passed", roles=[CUSTOMS],
                   opinion="optional", opinion_label=_l("审核意见"), todo=True,
                   style="success", success=_l("审核通过")),
        Transition("fail", _l("审核不通过"), ["submitted"], "supplement", roles=[CUSTOMS],
                   opinion="required", opinion_label=_l("审核意见"), effects=[_check_failed],
                   todo=True, style="danger", success=_l("审核不通过")),
        Transition("site_pass", _l("检查通过"), ["requested"], "passed", roles=[CUSTOMS],
                   opinion="optional", opinion_label=_l("检查意见"), when=_only_site_checks,
                   style="success", success=_l("检查通过")),
        Transition("site_fail", _l("检查不通过"), ["requested"], "supplement", roles=[CUSTOMS],
                   opinion="required", opinion_label=_l("检查意见"), when=_only_site_checks,
                   effects=[_check_failed], style="danger", success=_l("检查不通过")),
        delete_transition(["draft"], [CUSTOMS]),
    ],
)


class UeSupervisionCheck(Record):
    __tablename__ = "ue_supervision_check"

    check_no = field(String(20), _l("检查编号"), system=True, copy=False, unique=True)
    status = workflow_state(_l("状态"))
    institution_id = addressed_to()
    check_type = field(String(10), _l("检查类型"), required=True, widget="radio",
                       initial=FILE_CHECK,
                       choices=[(FILE_CHECK, _l("文件检查")), (SITE_CHECK, _l("实地检查"))])
    requirement = field(Text, _l("检查内容及要求"), required=True, widget="textarea")
    deadline = field(Date, _l("提交期限"), not_past=True)
    issued_at = field(DateTime, _l("下达时间"), system=True, copy=False)
    feedback = field(Text, _l("反馈说明"), widget="textarea",
                     edit_states=("requested", "supplement"), edit_roles=(INSTITUTION,),
                     required=lambda r: r.status not in (None, "draft"))

    class Meta:
        label = _l("监督检查")
        list_label = _l("监督检查反馈")
        resource = "ue_supervision_check"
        menu = SYSTEM.menu("supervision", _l("监督检查反馈"))
        scope = _addressed()
        create_roles = (CUSTOMS,)
        editable = {"draft": (CUSTOMS,)}
        list_columns = ["check_no", "institution_id", "check_type", "requirement", "status",
                        "created_at"]
        search = [Search("requirement", "contains", label=_l("公告内容")),
                  Search("check_type"), Search("status"), Search("created_at", "range")]
        order_by = "-id"
        title_field = "check_no"
        numbering = Numbering("check_no", "JC{yyyy}{seq:05d}")
        workflow = SUPERVISION_FLOW
        attachments = [
            AttachmentSlot("files", _l("检查材料"), max_bytes=10 * MB,
                           edit_states=("requested", "supplement"), edit_roles=(INSTITUTION,)),
        ]
        print = Print("_generic.html", _l("监督检查"))


# -- 处置反馈: 不予认可装运前检验结果 / 撤销备案 / 限期整改 ----------------------------------------
def _needs_end(disposal) -> bool:
    return disposal.disposal_type in (NOT_RECOGNISED, RECTIFY)


def _disposal_in_force(d, ctx):
    """下达: the disposal acts on the institution's filing at once."""
    d.issued_at = ctx.at
    session = ctx.session
    filing = current_filing(session, d.institution_id)
    if filing is not None:
        if d.disposal_type == REVOKE:
            # the disposal's number as what the step took, shown with its label in the
            # reader's language (not a text stored in the language of the one who issued it)
            add_flow_entry(session, filing, "revoke", filing.status, "revoked", ctx.actor,
                           inputs={"disposal_no": d.disposal_no})
            filing.status = "revoked"
            filing.disposal_type = REVOKE
            filing.disposal_until = None
        else:
            filing.disposal_type = d.disposal_type
            filing.disposal_until = d.end_on
    notify_org(session, d.institution_id, _l("处置通知"),
               _l("处置 %(no)s（%(type)s）：%(text)s", no=d.disposal_no,
                  type=DISPOSAL_LABELS[d.disposal_type], text=d.notice_content or ""),
               record=d)


def _disposal_lifted(d, ctx):
    """整改通过 — the disposal is revoked and the institution may be entrusted again."""
    session = ctx.session
    filing = current_filing(session, d.institution_id)
    if filing is not None and filing.disposal_type == d.disposal_type:
        filing.disposal_type = None
        filing.disposal_until = None
    d.lifted_at = ctx.at
    notify_org(session, d.institution_id, _l("撤销处置"),
               _l("处置 %(no)s 已撤销", no=d.disposal_no), record=d)


def _rectification_returned(d, ctx):
    notify_org(ctx.session, d.institution_id, lazy_pgettext("通知", "补充材料"),
               _l("处置 %(no)s 的整改材料未通过审核：%(text)s", no=d.disposal_no,
                  text=ctx.opinion or ""), record=d)


def _only_rectification(d, actor):
    if d.disposal_type != RECTIFY:
        return _("只有限期整改需要提交整改材料")
    return None


def _disposal_state(d) -> str:
    label = str(DISPOSAL_FLOW.state_label(d.status))
    if d.status == "in_force" and d.disposal_type == NOT_RECOGNISED and d.end_on and \
            d.end_on < _today():
        return _("已到期")
    return label


DISPOSAL_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("in_force", lazy_pgettext("状态", "处置中"), style="danger"),
        State("rectify_submitted", lazy_pgettext("状态", "整改材料已提交"), style="info"),
        State("lifted", lazy_pgettext("状态", "已撤销处置"), style="success"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft"], roles=[CUSTOMS], kind=SAVE),
        Transition("issue", _l("下达"), ["draft"], "in_force", roles=[CUSTOMS],
                   saves_form=True, check_required=True, effects=[_disposal_in_force],
                   locks=[_institution_of],
                   confirm=_l("处置下达后立即生效，是否下达？"), success=_l("下达成功"),
                   style="danger"),
        Transition("save_rectification", _l("暂存"), ["in_force"], roles=[INSTITUTION],
                   kind=SAVE, when=_only_rectification),
        Transition("submit_rectification", _l("提交整改材料"), ["in_force"],
                   "rectify_submitted", roles=[INSTITUTION], saves_form=True,
                   check_required=["rectification"], when=_only_rectification, todo=True,
                   success=_l("提交成功")),
        Transition("lift", _l("整改通过，撤销处置"), ["rectify_submitted"], "lifted",
                   roles=[CUSTOMS], opinion="optional", opinion_label=_l("审核意见"),
                   effects=[_disposal_lifted], todo=True, style="success", success=_l("已撤销处置")),
        Transition("return_rectification", _l("整改不通过"), ["rectify_submitted"], "in_force",
                   roles=[CUSTOMS], opinion="required", opinion_label=_l("审核意见"),
                   effects=[_rectification_returned], todo=True, style="danger", success=_l("整改不通过")),
        delete_transition(["draft"], [CUSTOMS], batch=False),
    ],
)


class UeDisposal(Record):
    __tablename__ = "ue_disposal"

    disposal_no = field(String(20), _l("处置编号"), system=True, copy=False, unique=True)
    status = workflow_state(_l("处置状态"), display_fn=lambda d: _disposal_state(d))
    institution_id = addressed_to()
    disposal_type = field(String(20), _l("处置类型"), required=True, widget="select",
                          choices=DISPOSAL_TYPES)
    notice_content = field(Text, _l("处置公告内容"), required=True, widget="textarea")
    basis = field(String(300), _l("处置依据"))
    start_on = field(Date, _l("开始日期"), required=True,
                     initial=lambda actor, session: dt.date.today())
    end_on = field(Date, _l("到期日期"), required=True, not_before="start_on",
                   show_when=("disposal_type", (NOT_RECOGNISED, RECTIFY)))
    issued_at = field(DateTime, _l("下达时间"), system=True, copy=False)
    rectification = field(Text, _l("整改情况说明"), widget="textarea",
                          edit_states=("in_force",), edit_roles=(INSTITUTION,),
                          required=lambda d: d.status == "in_force",
                          show_when=("disposal_type", (RECTIFY,)))
    lifted_at = field(DateTime, _l("撤销处置时间"), system=True, copy=False)

    class Meta:
        label = _l("处置")
        list_label = _l("处置反馈")
        resource = "ue_disposal"
        menu = SYSTEM.menu("disposal", _l("处置反馈"))
        scope = _addressed()
        create_roles = (CUSTOMS,)
        editable = {"draft": (CUSTOMS,)}
        list_columns = ["disposal_no", "institution_id", "disposal_type", "start_on",
                        "end_on", "status", "created_at"]
        search = [Search("notice_content", "contains"), Search("disposal_type"),
                  Search("status"), Search("created_at", "range")]
        order_by = "-id"
        title_field = "disposal_no"
        numbering = Numbering("disposal_no", "CZ{yyyy}{seq:05d}")
        workflow = DISPOSAL_FLOW
        attachments = [
            AttachmentSlot("decision", _l("处置决定书"), max_bytes=10 * MB,
                           edit_states=("draft",), edit_roles=(CUSTOMS,)),
            AttachmentSlot("rectify_files", _l("整改材料"), max_bytes=10 * MB,
                           edit_states=("in_force",), edit_roles=(INSTITUTION,)),
        ]
        print = Print("ue_disposal.html", _l("处置决定"))


# -- 年度报告: 年度工作报告 ------------------------------------------------------------------------
def _clean_annual_report(r, session) -> dict:
    if r.institution_id and r.year:
        other = session.scalar(select(UeAnnualReport.report_no).where(
            UeAnnualReport.institution_id == r.institution_id, UeAnnualReport.year == r.year,
            UeAnnualReport.id != (r.id or 0)))
        if other:
            return {"year": [_("该机构 %(year)s 年度的报告已在 %(no)s 中要求", year=r.year,
                               no=other)]}
    return {}


ANNUAL_FLOW = Workflow(
    states=[
        State("draft", lazy_pgettext("状态", "暂存"), initial=True),
        State("requested", lazy_pgettext("状态", "待填写"), style="warning"),
        State("submitted", lazy_pgettext("状态", "已提交"), style="info"),
        State("reviewed", lazy_pgettext("状态", "已阅"), style="success"),
    ],
    transitions=[
        Transition("save", _l("暂存"), ["draft"], roles=[CUSTOMS], kind=SAVE),
        Transition("request", _l("发起"), ["draft"], "requested", roles=[CUSTOMS],
                   saves_form=True, check_required=["institution_id", "year"],
                   effects=[_issued(_l("年度报告"))], success=_l("已发起")),
        Transition("save_report", _l("暂存"), ["requested"], roles=[INSTITUTION], kind=SAVE),
        Transition("submit", _l("提交"), ["requested"], "submitted", roles=[INSTITUTION],
                   saves_form=True, check_required=["batches", "summary"], todo=True,
                   success=_l("提交成功")),
        Transition("review", _l("已阅"), ["submitted"], "reviewed", roles=[CUSTOMS], todo=True,
                   batch=True, style="success", success=_l("已阅")),
        delete_transition(["draft"], [CUSTOMS]),
    ],
)

REPORT_FIELDS = dict(edit_states=("requested",), edit_roles=(INSTITUTION,))


def _filling(report) -> bool:
    return report.status == "requested"


class UeAnnualReport(Record):
    __tablename__ = "ue_annual_report"
    # One report per institution and year, held by the database under concurrency.
    __table_args__ = (UniqueConstraint("institution_id", "year",
                                       name="uq_ue_annual_report_institution_year"),)

    report_no = field(String(20), _l("报告编号"), system=True, copy=False, unique=True,
                      section="request")
    status = workflow_state(_l("状态"))
    institution_id = addressed_to(section="request")
    year = field(Integer, _l("报告年份"), required=True, section="request",
                 validators=(validators.year,),
                 initial=lambda actor, session: dt.date.today().year - 1)
    request_note = field(Text, _l("填报要求"), widget="textarea", section="request")
    deadline = field(Date, _l("提交期限"), section="request", not_past=True)
    issued_at = field(DateTime, _l("发起时间"), system=True, copy=False, section="request")
    batches = field(Integer, _l("全年检验批次"), validators=(validators.not_negative,),
                    section="report", required=_filling, **REPORT_FIELDS)
    goods_value = field(numeric(18, 2), _l("检验货值(万美元)"),
                        validators=(validators.not_negative,), section="report",
                        **REPORT_FIELDS)
    certificates = field(Integer, _l("出具证书数"), validators=(validators.not_negative,),
                         section="report", **REPORT_FIELDS)
    problems = field(Text, _l("发现的主要问题"), widget="textarea", section="report",
                     **REPORT_FIELDS)
    changes_text = field(Text, _l("人员及设备变化情况"), widget="textarea", section="report",
                         **REPORT_FIELDS)
    summary = field(Text, _l("年度工作总结"), widget="textarea", section="report",
                    required=_filling, **REPORT_FIELDS)

    class Meta:
        label = _l("年度报告")
        list_label = _l("年度工作报告")
        resource = "ue_annual_report"
        menu = SYSTEM.menu("annual", _l("年度工作报告"))
        scope = _addressed()
        create_roles = (CUSTOMS,)
        editable = {"draft": (CUSTOMS,)}
        sections = [Section("request", _l("报告要求")), Section("report", _l("报告内容"))]
        list_columns = ["report_no", "institution_id", "year", "status", "deadline",
                        "updated_at"]
        search = [Search("year", "exact"), Search("status")]
        order_by = "-id"
        title_field = "report_no"
        numbering = Numbering("report_no", "ND{yyyy}{seq:05d}")
        workflow = ANNUAL_FLOW
        clean = staticmethod(_clean_annual_report)
        attachments = [AttachmentSlot("files", _l("报告附件"), max_bytes=10 * MB,
                                      **REPORT_FIELDS)]
        print = Print("ue_annual_report.html", _l("装运前检验机构年度工作报告"))
