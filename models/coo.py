"""享惠受阻协调申请 (seed 003): an exporting enterprise whose goods were refused the tariff
preference abroad asks customs to coordinate, citing its certificate of origin (or origin
declaration) and the export declaration it covered.

Two record types:

- ``coo_certificate`` — certificates of origin and origin declarations of the four kinds of the
  manual, maintained by customs (贸促会 certificates by 贸促会, a customs-side user), each issued
  to one enterprise.  The enterprise binds (关联) its certificate to the export declaration it
  covers in 证书申请 › 关联: its own export declaration when 智慧云报关 holds it, else an 18-digit
  number of a real 关区.
- ``coo_coordination`` — the 享惠受阻协调申请 itself.  提交 checks the certificate: issued to this
  enterprise ("企业填写证书有误") and bound to the export declaration named
  ("提交失败，请进入证书申请系统进行关联操作"), the manual's messages — a number 智慧云报关 holds
  must be the enterprise's own export declaration, whose details alone are shown beside the
  application.  Customs receive it (待办) or refuse its receipt, return it with an opinion or
  close it (办结) with the result; the enterprise is told of every answer.

Field facts: ../shared/domain/FIELD_NOTES.txt §4; code list 优惠贸易协定 (trade_agreement).
The formats of certificate numbers below are the product's convention per kind (the manual shows
none); they are declared once in ``CERT_FORMATS``.
"""

from __future__ import annotations

import re

from flask import has_app_context
from flask_babel import force_locale, get_locale
from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, or_, select
from sqlalchemy.orm import mapped_column

from app.engine import (
    ADMIN,
    ALL,
    CUSTOMS,
    ENTERPRISE,
    SAVE,
    AttachmentSlot,
    Group,
    Input,
    Numbering,
    Own,
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
    delete_transition,
    field,
    validators,
    workflow_state,
)
from app.engine import codelists as codelist_data
from app.engine.history import default_locale
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.memo import memo
from app.engine.notify import notify_org
from app.engine.record import session_for
from app.engine.stats import Chart, Statistics
from models.base import COMPANY, Organisation
from models.customs_declaration import SYSTEM as CD_SYSTEM
from models.customs_declaration import CdDeclaration

SYSTEM = System("coo", _l("享惠受阻协调申请"), icon="fa-certificate", order=40, groups=[
    Group("apply", _l("享惠受阻协调申请"), "fa-edit"),
])
# Customs find their entries under 业务数据查询 (智慧云报关's group they already have): their menu
# bar holds nine menus and a tenth would wrap it at 1400 px.
CUSTOMS_MENU = CD_SYSTEM

KB, MB = 1024, 1024 * 1024

# The four kinds of the manual, with the format of their numbers (product convention).
CUSTOMS_CO, APPROVED_EXPORTER, RULING, CCPIT = "customs", "approved", "ruling", "ccpit"
KINDS = [
    (CUSTOMS_CO, _l("海关原产地证书")),
    (APPROVED_EXPORTER, _l("经核准出口商原产地声明")),
    (RULING, _l("基于海关行政裁定或预裁定的原产地声明")),
    (CCPIT, _l("贸促会原产地证书")),
]
APPLICATION_KINDS = [
    (CUSTOMS_CO, _l("海关原产地证书享惠受阻协调申请")),
    (APPROVED_EXPORTER, _l("经核准出口商原产地声明享惠受阻协调申请")),
    (RULING, _l("基于海关行政裁定或预裁定的原产地声明享惠受阻协调申请")),
    (CCPIT, _l("贸促会原产地证书享惠受阻协调申请")),
]
CERT_FORMATS = {
    CUSTOMS_CO: (r"[A-Z][0-9]{15}", _l("海关原产地证书号应为 1 位字母加 15 位数字，如 R266100000000123")),
    APPROVED_EXPORTER: (r"AE[0-9]{14}", _l("经核准出口商原产地声明编号应为 AE 加 14 位数字")),
    RULING: (r"RD[0-9]{14}", _l("原产地声明编号应为 RD 加 14 位数字")),
    CCPIT: (r"CCPIT[0-9]{11}", _l("贸促会原产地证书号应为 CCPIT 加 11 位数字")),
}


def cert_no_errors(kind: str | None, cert_no: str | None) -> list[str]:
    pattern = CERT_FORMATS.get(kind or "")
    if not cert_no or pattern is None or re.fullmatch(pattern[0], cert_no):
        return []
    return [str(pattern[1])]


def export_entry_no(value) -> None:
    """出口报关单号: 18 digits, the first four a 关区 of the code list."""
    if value in (None, ""):
        return
    validators.entry_id(value)
    if not has_app_context():
        return
    session = session_for(None)
    if str(value)[:4] not in codelist_data.items(session,
                                                                         "customs_district"):
        raise ValueError(_("报关单号前 4 位「%(code)s」不是有效的关区代码", code=str(value)[:4]))


def _companies(record=None):
    """The companies a certificate is issued to: asked once per transaction (a list of
    certificates shows each one's company through them)."""
    session = session_for(None)
    return memo(session, "coo_companies", lambda: [
        (str(i), name) for i, name in session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.kind == COMPANY, Organisation.active.is_(True))
            .order_by(Organisation.name))])


# ==========================================================================================
# Certificates of origin and their binding (证书申请 › 关联)
# ==========================================================================================
def _cert_clean(cert, session) -> dict:
    errors = cert_no_errors(cert.kind, cert.cert_no)
    return {"cert_no": errors} if errors else {}


def _not_own_export(session, number, company_id) -> bool:
    """Whether 智慧云报关 holds a declaration numbered ``number`` (海关编号, unique) that is not
    this company's own export declaration.  Only that is asked: nothing of another company's
    declaration is read."""
    return session.scalar(select(CdDeclaration.id).where(
        CdDeclaration.entry_id == number,
        or_(CdDeclaration.company_id != company_id,
            CdDeclaration.ie_flag.is_distinct_from("E"))).limit(1)) is not None


def _own_export_declaration(session, number, company_id) -> CdDeclaration | None:
    """This company's own export declaration numbered ``number`` in 智慧云报关, if it holds one."""
    return session.scalar(select(CdDeclaration).where(
        CdDeclaration.entry_id == number, CdDeclaration.company_id == company_id,
        CdDeclaration.ie_flag == "E"))


def _binding_refusal(cert, ctx) -> str | None:
    """The declaration bound must be the enterprise's own export declaration when 智慧云报关
    holds it."""
    number = ctx.inputs.get("export_entry_no")
    if _not_own_export(ctx.session, number, cert.company_id):
        return _("报关单 %(no)s 不是本企业的出口报关单", no=number)
    return None


def _bound(cert, ctx) -> None:
    cert.bound_at = ctx.at


CERT_FLOW = Workflow(
    states=[State("issued", lazy_pgettext("状态", "已签发"), initial=True, style="success")],
    transitions=[
        # issued from its first save: no draft to complete later
        Transition("save", _l("保存"), ["issued"], roles=[CUSTOMS], kind=SAVE,
                   check_required=True),
        Transition("bind", _l("关联"), ["issued"], "issued", roles=[ENTERPRISE],
                   inputs=[Input("export_entry_no", _l("出口报关单号"), String(18),
                                 required=True, validators=(export_entry_no,),
                                 target="bound_entry_no")],
                   conditions=[_binding_refusal], effects=[_bound], submit_label=_l("关联"),
                   success=_l("关联成功")),
        delete_transition(["issued"], [CUSTOMS]),
    ],
)


class CooCertificate(Record):
    """A certificate of origin or origin declaration issued to one enterprise."""

    __tablename__ = "coo_certificate"

    kind = field(String(12), _l("证书类型"), required=True, widget="select", choices=KINDS,
                 initial=CUSTOMS_CO, section="main", index=True)
    cert_no = field(String(30), _l("证书号"), required=True, unique=True, section="main")
    status = workflow_state()
    company_id = field(Integer, _l("签发对象企业"), foreign_key=ForeignKey("organisation.id"),
                       required=True, widget="select", choices=_companies, section="main",
                       index=True)
    agreement_code = field(String(2), _l("优惠贸易协定"), codelist="trade_agreement",
                           required=True, section="main")
    issue_date = field(Date, _l("签发日期"), required=True, section="main",
                       validators=(validators.not_future,))
    import_country = field(String(3), _l("进口国"), codelist="country", required=True,
                           section="main")
    goods = field(String(500), _l("货物"), required=True, widget="textarea", section="main")
    bound_entry_no = field(String(18), _l("关联出口报关单号"), system=True, section="binding",
                           index=True)
    bound_at = field(DateTime, _l("关联时间"), system=True, section="binding")

    class Meta:
        label = _l("原产地证书")
        resource = "coo_certificate"
        menu = CUSTOMS_MENU.menu("query", _l("原产地证书"), order=22, roles=(CUSTOMS, ADMIN))
        scope = {ENTERPRISE: Own("company_id"), CUSTOMS: ALL, ADMIN: ALL}
        create_roles = (CUSTOMS,)
        editable = {"issued": (CUSTOMS,)}
        sections = [Section("main", _l("证书信息")), Section("binding", _l("关联信息"))]
        list_columns = ["cert_no", "kind", "company_id", "agreement_code", "issue_date",
                        "import_country", "bound_entry_no"]
        search = [Search("cert_no", "exact"), Search("kind"), Search("agreement_code"),
                  Search("bound_entry_no", "exact"), Search("issue_date", "range")]
        order_by = "-id"
        title_field = "cert_no"
        clean = staticmethod(_cert_clean)
        workflow = CERT_FLOW
        screens = [
            Screen("bind", _l("关联"),
                   columns=["cert_no", "kind", "agreement_code", "issue_date", "import_country",
                            "bound_entry_no", "bound_at"],
                   search=[Search("cert_no", "exact"), Search("kind"),
                           Search("bound_entry_no", "exact")],
                   roles=(ENTERPRISE,), menu=SYSTEM.menu("apply", _l("证书申请 › 关联"), order=9)),
        ]


# ==========================================================================================
# 享惠受阻协调申请
# ==========================================================================================
EDITING = ("draft", "withdrawn", "receive_failed", "returned")
DELETABLE = ("draft", "withdrawn", "returned")
STATES = [
    State("draft", lazy_pgettext("状态", "暂存"), initial=True),
    State("declared", lazy_pgettext("状态", "已申报"), style="info"),
    State("pending", lazy_pgettext("状态", "待办"), style="primary"),
    State("receive_failed", lazy_pgettext("状态", "海关接收失败"), style="danger"),
    State("withdrawn", lazy_pgettext("状态", "已撤回"), style="warning"),
    State("returned", lazy_pgettext("状态", "退回"), style="danger"),
    State("closed", lazy_pgettext("状态", "已办结"), style="success"),
]
NOT_BOUND = _l("提交失败，请进入证书申请系统进行关联操作")
WRONG_CERT = _l("企业填写证书有误")


def _from_company(app, actor, session):
    org = session.get(Organisation, app.company_id) if app.company_id else None
    if org is not None:
        app.uscc, app.ent_name = org.uscc, org.name


def _certificate(session, app) -> CooCertificate | None:
    """The applicant's own certificate of the number named (another company's is not read)."""
    return session.scalar(select(CooCertificate).where(
        CooCertificate.cert_no == app.cert_no, CooCertificate.company_id == app.company_id))


def _certificate_refusal(app, ctx) -> str | None:
    """提交: the certificate was issued to this enterprise, and bound to the export
    declaration the application names (the manual's two messages) — which, when 智慧云报关
    holds that number, must still be the enterprise's own export declaration: the binding
    may have been made before the number was a declaration there."""
    cert = _certificate(ctx.session, app)
    if cert is None:
        return str(WRONG_CERT)
    if cert.bound_entry_no != app.export_entry_no:
        return str(NOT_BOUND)
    if _not_own_export(ctx.session, app.export_entry_no, app.company_id):
        return _("提交失败，报关单 %(no)s 不是本企业的出口报关单，请进入证书申请系统进行关联操作",
                 no=app.export_entry_no)
    return None


def _lock_certificate(app):
    return _certificate(session_for(app), app)  # (an application 提交 before any 暂存 is new)


def _submitted(app, ctx) -> None:
    """What customs see beside the application: the certificate and the declaration."""
    cert = _certificate(ctx.session, app)
    app.submitted_at = ctx.at
    app.certificate_id = cert.id
    app.cert_kind, app.cert_issue_date = cert.kind, cert.issue_date
    app.cert_bound_at = cert.bound_at
    # only the applicant's own export declaration: never another company's, nor an import one
    dec = _own_export_declaration(ctx.session, app.export_entry_no, app.company_id)
    # its facts, worded in each reader's language when shown (``_export_declaration_text``)
    app.export_declaration_facts = {"found": False} if dec is None else {
        "found": True, "no": dec.entry_id, "trade": dec.trade_name or "",
        "country": dec.trade_country or "", "goods": dec.goods_names or "",
        "status": dec.status}
    # … and as the default language words them (the REST API's and the history's value)
    with force_locale(default_locale()):
        app.export_declaration = _declaration_words(ctx.session,
                                                    app.export_declaration_facts)[:500]
    app.customs_reply = None


def _declaration_words(session, facts: dict) -> str:
    """The export declaration a submitted application cites, in the current language: its
    number, 境内收发货人, 运抵国 (code and name), goods and status."""
    if not facts.get("found"):
        return _("智慧云报关中无此报关单")
    code = facts.get("country") or ""
    item = codelist_data.items(session, "country").get(code)
    english = str(get_locale() or "").startswith("en")
    name = (item.get("name_en") if english and item.get("name_en") else item["name"]) \
        if item is not None else ""
    return _("出口报关单 %(no)s：%(trade)s，运抵国 %(country)s，%(goods)s，状态 %(status)s",
             no=facts.get("no") or "", trade=facts.get("trade") or "",
             country=f"{code} {name}".strip(), goods=facts.get("goods") or "",
             status=CdDeclaration.meta().workflow.state_label(facts.get("status")))


def _export_declaration_text(app) -> str:
    """出口报关单 as the reader reads it: worded from the facts kept at 提交; an application
    submitted before they were kept shows the text it was given then."""
    if app.export_declaration_facts is None:
        return app.export_declaration or ""
    return _declaration_words(session_for(app), app.export_declaration_facts)


def _answer(title):
    def effect(app, ctx) -> None:
        reply = ctx.opinion or next((str(v) for v in ctx.inputs.values() if v), "")
        app.customs_reply = reply or None
        app.answered_at = ctx.at
        notify_org(ctx.session, app.company_id, title,
                   _l("协调单号 %(no)s：%(reply)s", no=app.coord_no, reply=reply), record=app)
    return effect


def _received(app, ctx) -> None:
    notify_org(ctx.session, app.company_id, _l("享惠受阻协调申请海关已接收"),
               _l("协调单号 %(no)s", no=app.coord_no), record=app)


ENT = (ENTERPRISE,)
CUS = (CUSTOMS,)

COORDINATION_FLOW = Workflow(
    states=STATES,
    transitions=[
        # 暂存 fails while a required field is empty (seed 003 §四 6).
        Transition("save", _l("暂存"), EDITING, roles=ENT, kind=SAVE, check_required=True),
        Transition("submit", _l("提交"), EDITING, "declared", roles=ENT, saves_form=True,
                   check_required=True, conditions=[_certificate_refusal],
                   locks=[_lock_certificate], effects=[_submitted],
                   todo=["returned", "receive_failed"], success=_l("申报成功")),
        Transition("withdraw", _l("撤回"), ["pending"], "withdrawn", roles=ENT, batch=True,
                   confirm=_l("是否撤回该协调申请？"), success=_l("撤回成功"), style="warning"),
        Transition("receive", _l("接收"), ["declared"], "pending", roles=CUS, batch=True,
                   effects=[_received], todo=True, style="success", success=_l("已接收")),
        Transition("reject_receipt", _l("接收失败"), ["declared"], "receive_failed", roles=CUS,
                   inputs=[Input("reason", _l("接收失败原因"), String(500), required=True,
                                 widget="textarea")],
                   effects=[_answer(_l("享惠受阻协调申请海关接收失败"))], todo=True,
                   style="danger", success=_l("已标记为接收失败")),
        Transition("return", _l("退回"), ["pending"], "returned", roles=CUS,
                   opinion="required", opinion_label=_l("退回意见"),
                   effects=[_answer(_l("享惠受阻协调申请被退回"))], todo=True, style="danger",
                   success=_l("已退回")),
        Transition("close", _l("办结"), ["pending"], "closed", roles=CUS,
                   inputs=[Input("result", _l("协调结果"), String(500), required=True,
                                 widget="textarea", target="result")],
                   effects=[_answer(_l("享惠受阻协调申请已办结"))], todo=True, style="success",
                   success=_l("已办结")),
        delete_transition(DELETABLE, ENT),
    ],
)


def _coordination_clean(app, session) -> dict:
    errors = cert_no_errors(app.kind, app.cert_no)
    return {"cert_no": errors} if errors else {}


def _required(label):
    return {"required": True, "placeholder": _l("%(label)s必填", label=label)}


class CooCoordination(Record):
    """享惠受阻协调申请 (seed 003 §四)."""

    __tablename__ = "coo_coordination"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    kind = field(String(12), _l("协调单类型"), required=True, preset=True, widget="select",
                 choices=APPLICATION_KINDS, initial=CUSTOMS_CO, section="main", index=True)
    coord_no = field(String(20), _l("协调单号"), system=True, unique=True, copy=False,
                     section="main")
    uscc = field(String(18), _l("社会信用代码"), system=True, section="main")
    ent_name = field(String(200), _l("企业中文名称"), system=True, section="main")
    status = workflow_state(_l("处理状态"))
    cert_no = field(String(30), _l("原产地证书号"), section="main", index=True,
                    **_required(_l("原产地证书号")))
    agreement_code = field(String(2), _l("优惠贸易协定代码"), codelist="trade_agreement",
                           section="main", index=True, **_required(_l("优惠贸易协定代码")))
    export_entry_no = field(String(18), _l("出口报关单号"), section="main", index=True,
                            validators=(export_entry_no,), **_required(_l("出口报关单号")))
    import_entry_no = field(String(50), _l("进口报关单号"), section="main",
                            **_required(_l("进口报关单号")))
    contact = field(String(60), _l("联系人"), section="main", **_required(_l("联系人姓名")))
    phone = field(String(30), _l("联系电话"), section="main", validators=(validators.phone,),
                  **_required(_l("联系电话")))
    import_country = field(String(3), _l("进口国家/地区"), codelist="country", section="main",
                           index=True)
    import_port = field(String(6), _l("进口国家/地区口岸"), codelist="port", section="main")
    reason = field(String(1000), _l("申请事由"), widget="textarea", section="main",
                   **_required(_l("申请事由")))

    # --- what customs see beside it, and their answer ---------------------------------------
    submitted_at = field(DateTime, _l("提交日期"), system=True, copy=False, section="customs")
    certificate_id = mapped_column(ForeignKey("coo_certificate.id"), index=True)
    cert_kind = field(String(12), _l("证书类型"), choices=KINDS, system=True, copy=False,
                      section="customs")
    cert_issue_date = field(Date, _l("证书签发日期"), system=True, copy=False,
                            section="customs")
    cert_bound_at = field(DateTime, _l("证书关联时间"), system=True, copy=False,
                          section="customs")
    export_declaration = field(String(500), _l("出口报关单"), system=True, copy=False,
                               section="customs", display_fn=_export_declaration_text)
    # what 提交 found of it in 智慧云报关 (number, country and status codes …), for the words above
    export_declaration_facts = mapped_column(JSON(none_as_null=True))
    customs_reply = field(String(2000), _l("海关意见"), system=True, copy=False,
                          section="customs")
    result = field(String(500), _l("协调结果"), system=True, copy=False, section="customs")
    answered_at = field(DateTime, _l("海关处理时间"), system=True, copy=False,
                        section="customs")

    __table_args__ = (Index("ix_coo_coordination_company_status", "company_id", "status"),)

    class Meta:
        label = _l("享惠受阻协调申请")
        list_label = _l("享惠受阻协调查询")
        resource = "coo_coordination"
        # The left menu 享惠受阻协调申请: one entry per type, each opening its new form.
        menu = [SYSTEM.menu("apply", label, target="new", order=i, args={"kind": code})
                for i, (code, label) in enumerate(APPLICATION_KINDS, start=1)] + [
            SYSTEM.menu("apply", _l("享惠受阻协调查询"), order=5, roles=ENT)]
        owner = "company_id"
        scope = {
            ENTERPRISE: Own("company_id"),
            CUSTOMS: Where(lambda m, a: m.status != "draft"),
            ADMIN: ALL,
        }
        create_roles = ENT
        editable = {s: ENT for s in EDITING}
        sections = [Section("main", _l("基本信息")), Section("customs", _l("海关处理信息"))]
        list_columns = ["coord_no", "kind", "cert_no", "agreement_code", "export_entry_no",
                        "status", "submitted_at"]
        search = [
            Search("coord_no", "exact"),
            Search("cert_no", "exact", label=_l("原产地证明号")),
            Search("export_entry_no", "exact", label=_l("出口报关单编号")),
            Search("status"),
            Search("kind"),
            Search("agreement_code"),
            Search("submitted_at", "range", label=_l("提交起止日期")),
        ]
        order_by = "-id"
        title_field = "coord_no"
        numbering = Numbering("coord_no", "XH{yyyy}{mm}{dd}{seq:06d}", period="{yyyy}{mm}{dd}")
        on_create = staticmethod(_from_company)
        clean = staticmethod(_coordination_clean)
        attachments = [
            AttachmentSlot(name, label, max_bytes=4 * MB, kind_max_bytes={"pdf": 300 * KB},
                           kinds=("pdf", "jpg", "png"), edit_states=EDITING, edit_roles=ENT)
            for name, label in (("origin_proof", _l("原产地证明")),
                                ("import_declaration", _l("进口报关单")),
                                ("other1", _l("其他1")), ("other2", _l("其他2")))]
        attachment_hint = _l("提示：每个pdf大小不超过300K，每个附件大小不能超过4M，若您上传的附件大小"
                             "超过系统限制，可使用pdf压缩软件压缩pdf文件使其满足系统要求后再次上传。")
        workflow = COORDINATION_FLOW
        print = Print("_generic.html", _l("享惠受阻协调申请"))
        screens = [
            Screen("handle", _l("享惠受阻协调处理"),
                   columns=["coord_no", "kind", "ent_name", "cert_no", "agreement_code",
                            "export_entry_no", "import_country", "status", "submitted_at"],
                   search=[Search("coord_no", "exact"), Search("status"), Search("kind"),
                           Search("agreement_code"), Search("ent_name", "contains"),
                           Search("submitted_at", "range", label=_l("提交起止日期"))],
                   roles=CUS, transitions={"receive": None},
                   menu=CUSTOMS_MENU.menu("query", order=21)),
        ]
        # customs' statistics of the applications they handle (an enterprise reaching the
        # address counts its own)
        features = [Statistics(_l("享惠受阻协调统计"), charts=[
            Chart("by_kind", _l("按协调单类型"), group_by="kind"),
            Chart("by_month", _l("按提交月份（最近 12 个月）"), month_of="submitted_at",
                  kind="line"),
            Chart("by_agreement", _l("按优惠贸易协定"), group_by="agreement_code"),
            Chart("by_country", _l("按进口国家/地区"), group_by="import_country"),
            Chart("by_status", _l("按处理状态"), group_by="status", kind="pie"),
        ], filters=["submitted_at", "kind", "agreement_code"],
            menu=CUSTOMS_MENU.menu("query", _l("享惠受阻协调统计"), order=23, roles=CUS))]
