"""“单一窗口”标准版 机电产品进口单证系统 (seed 004): the M&E product import licence.

Menus (enterprise): 企业信息备案 · 机电产品进口单证申请 · 机电产品进口单证列表 · 商品列表 ·
海关状态查询 · 报关余量查询 · 结关数据查询.  The commerce authority (商务部门/机电办) approves filings
and applications in the same backoffice; customs record the clearances that consume a licence.
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import mapped_column, object_session, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.engine import (
    ADMIN,
    ALL,
    COMMERCE,
    CUSTOMS,
    ENTERPRISE,
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
    Related,
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
    review_flow,
    validators,
    workflow_state,
)
from app.engine.fields import quantize
from app.engine.i18n import gettext as _
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.memo import memo
from app.engine.notify import notify_org
from app.engine.record import session_for
from models.base import Organisation, usd_rate

SYSTEM = System("me_licence", _l("机电产品进口单证"), icon="fa-cogs", order=90, groups=[
    Group("me", _l("机电产品进口单证"), "fa-cogs"),
])
MB = 1024 * 1024

ZERO = decimal.Decimal(0)


def _sum(values) -> decimal.Decimal:
    return sum((v for v in values if v is not None), ZERO)


# ==========================================================================================
# 第四章 商品列表 — the year's M&E catalogue (自动进口许可管理货物目录, chapters 84/85/90)
# ==========================================================================================
class MeProduct(Record):
    __tablename__ = "me_product"

    year = field(Integer, _l("年度"), required=True, index=True, validators=(validators.year,))
    hs_code = field(String(10), _l("商品编码"), required=True, validators=(validators.hs_code,),
                    index=True)
    name = field(String(200), _l("商品名称"), required=True)
    unit = field(String(3), _l("计量单位"), codelist="unit_of_measure", required=True)
    category = field(String(2), _l("管理类别"), required=True, choices=[
        ("A", _l("自动进口许可")), ("O", _l("自动进口许可(旧机电)")), ("R", _l("进口许可(重点旧机电)"))])
    remark = field(String(300), _l("备注"))

    __table_args__ = (UniqueConstraint("year", "hs_code", name="uq_me_product_year_hs"),)

    class Meta:
        label = _l("商品列表")
        resource = "me_product"
        menu = SYSTEM.menu("me", _l("商品列表"), order=4)
        scope = {ENTERPRISE: ALL, COMMERCE: ALL, CUSTOMS: ALL, ADMIN: ALL}
        create_roles = (COMMERCE, ADMIN)
        list_columns = ["hs_code", "name", "unit", "category", "year"]
        search = [Search("year", "exact"), Search("hs_code", "prefix"), Search("name", "contains")]
        order_by = "hs_code"
        title_field = "hs_code"
        # 系统自动执行当前年度机电商品的查询
        list_default = staticmethod(lambda: {"year": str(dt.date.today().year)})
        importable = True


# ==========================================================================================
# 第一章 企业信息备案
# ==========================================================================================
def _company(record) -> Organisation | None:
    session = object_session(record)
    org_id = getattr(record, "company_id", None)
    if org_id is None or session is None:
        return getattr(record, "company", None)
    return session.get(Organisation, org_id)


def _filing_from_company(filing, actor, session):
    org = session.get(Organisation, filing.company_id) if filing.company_id else None
    if org is not None:
        filing.org_code = org.org_code
        filing.uscc = org.uscc
        filing.company_name = org.name
        filing.province = filing.province or org.province


def _issue_me_account(filing, ctx):
    """审批通过: the commerce system opens the 机电系统账户 and the filing shows it."""
    session = ctx.session
    if not filing.me_account:
        filing.me_account = Numbering(
            "me_account", "{office}{yyyy}{seq:05d}", period="{office}{yyyy}",
            parts=lambda r: {"office": r.me_office or "00"},
        ).make(session, filing, "me_account")
    account = session.scalar(select(MeAccount).where(MeAccount.account == filing.me_account))
    if account is None:
        session.add(MeAccount(account=filing.me_account, password_hash=filing.me_password,
                              uscc=filing.uscc, company_name=filing.company_name,
                              office=filing.me_office, registered_at=ctx.at))
    filing.approved_at = ctx.at
    notify_org(session, filing.company_id, _l("企业信息备案已审批通过"),
               _l("机电系统账户：%(account)s", account=filing.me_account), record=filing)


def _notify_filing_returned(filing, ctx):
    notify_org(ctx.session, filing.company_id, _l("企业信息备案被退回"),
               _l("审批意见：%(opinion)s", opinion=ctx.opinion or ""), record=filing)


def _stamp_declared(record, ctx):
    record.declared_at = ctx.at


def _bind_account(filing, ctx):
    """获取商务部备案信息: an account already registered in the commerce system is bound."""
    session = ctx.session
    account = session.scalar(select(MeAccount).where(MeAccount.account == ctx.inputs["account"]))
    filing.me_account = account.account
    filing.me_password = account.password_hash
    filing.me_office = filing.me_office or account.office
    filing.approved_at = ctx.at


def _account_matches(filing, ctx):
    session = ctx.session
    account = session.scalar(
        select(MeAccount).where(MeAccount.account == ctx.inputs.get("account")))
    if account is None or not check_password_hash(account.password_hash,
                                                  ctx.inputs.get("password") or ""):
        return _("机电系统账户或密码错误，绑定失败")
    if account.uscc and filing.uscc and account.uscc != filing.uscc:
        return _("该机电系统账户不属于本企业，绑定失败")
    return None


FILING_FLOW = review_flow(
    ENTERPRISE, COMMERCE,
    under_review=lazy_pgettext("状态", "待审批"), approved=lazy_pgettext("状态", "已备案"),
    submit_effects=[_stamp_declared], approve_effects=[_issue_me_account], approve_batch=True,
    return_effects=[_notify_filing_returned],
    submit_confirm=_l("申报即意味着您的数据将向相关业务主管部门进行发送，并等待其审批。是否申报？"),
    extra=[Transition("bind", _l("获取商务部备案信息"), ["draft", "returned"], "approved",
                      roles=[ENTERPRISE], conditions=[_account_matches], effects=[_bind_account],
                      inputs=[Input("account", _l("机电系统账户"), String(30), required=True),
                              Input("password", _l("账户密码"), String(100), required=True,
                                    widget="password", secret=True)],
                      success=_l("绑定成功"), style="default")],
)


class MeEnterpriseFiling(Record):
    __tablename__ = "me_enterprise_filing"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, unique=True)
    company = relationship(Organisation, lazy="joined")

    # 企业基本情况 — grey: taken from the company's single-window registration
    org_code = field(String(10), _l("组织机构代码"), system=True, section="basic")
    uscc = field(String(18), _l("统一社会信用代码"), system=True, section="basic")
    company_name = field(String(200), _l("企业名称"), system=True, section="basic")
    status = workflow_state(_l("备案状态"))
    supervisor_level = field(String(2), _l("主管单位级别"), codelist="me_supervisor_level",
                             required=True, section="basic")
    unit_nature = field(String(2), _l("单位性质"), codelist="me_unit_nature", required=True,
                        section="basic")
    province = field(String(6), _l("企业地址(省市)"), codelist="region", required=True,
                     section="basic")
    address = field(String(300), _l("企业详细地址"), required=True, section="basic")
    postcode = field(String(6), _l("邮政编码"), section="basic",
                     validators=(validators.postcode,))
    legal_rep = field(String(60), _l("法定代表人"), required=True, section="basic")
    phone = field(String(30), _l("联系电话"), required=True, section="basic",
                  validators=(validators.phone,))
    filing_date = field(Date, _l("备案时间"), required=True, section="basic", not_future=True,
                        initial=lambda actor, session: dt.date.today())
    has_trading_rights = field(Boolean, _l("进出口经营权"), section="basic", default=False)

    # 机电进口许可证备案信息
    me_account = field(String(30), _l("机电系统账户"), system=True, copy=False, section="me")
    me_password = field(String(200), _l("账户密码"), required=True, secret=True,
                        widget="password", section="me", store=generate_password_hash,
                        copy=False)
    contact_name = field(String(60), _l("联系人"), required=True, section="me")
    contact_mobile = field(String(11), _l("联系人手机"), required=True, section="me",
                           validators=(validators.mobile,))
    contact_email = field(String(120), _l("电子邮箱"), section="me",
                          validators=(validators.email,))
    me_office = field(String(2), _l("所属机电办"), codelist="me_office", required=True,
                      section="me")
    declared_at = field(DateTime, _l("申报时间"), system=True, copy=False, section="me")
    approved_at = field(DateTime, _l("审批时间"), system=True, copy=False, section="me")

    class Meta:
        label = _l("企业信息备案")
        resource = "me_enterprise_filing"
        menu = SYSTEM.menu("me", _l("企业信息备案"), order=1)
        owner = "company_id"
        singleton_per_owner = True
        scope = {
            ENTERPRISE: Own("company_id"),
            COMMERCE: Where(lambda m, a: m.status != "draft"),
            ADMIN: ALL,
        }
        create_roles = (ENTERPRISE,)
        editable = {"draft": (ENTERPRISE,), "returned": (ENTERPRISE,)}
        sections = [
            Section("basic", _l("企业基本情况")),
            Section("me", _l("机电进口许可证备案信息")),
        ]
        list_columns = ["company_name", "uscc", "province", "me_office", "me_account", "status",
                        "declared_at"]
        search = [Search("company_name", "contains"), Search("uscc", "exact"),
                  Search("status"), Search("me_office"), Search("declared_at", "range")]
        order_by = "-id"
        title_field = "company_name"
        workflow = FILING_FLOW
        on_create = staticmethod(_filing_from_company)
        print = Print("me_enterprise_filing.html", _l("企业注册信息表"))
        status_button_label = _l("查询注册状态")


class MeAccount(Record):
    """Accounts of the commerce ministry's 机电产品进口单证管理系统 (bound by 获取商务部备案信息)."""

    __tablename__ = "me_account"

    account = field(String(30), _l("机电系统账户"), required=True, unique=True)
    password_hash = field(String(200), _l("账户密码"), secret=True, required=True,
                          widget="password", store=generate_password_hash)
    uscc = field(String(18), _l("统一社会信用代码"), validators=(validators.uscc,))
    company_name = field(String(200), _l("企业名称"), required=True)
    office = field(String(2), _l("所属机电办"), codelist="me_office")
    registered_at = field(DateTime, _l("注册时间"))

    class Meta:
        label = _l("机电系统账户")
        resource = "me_account"
        menu = SYSTEM.menu("me", _l("机电系统账户"), roles=(ADMIN,), order=8)
        scope = {COMMERCE: ALL, ADMIN: ALL}
        create_roles = (COMMERCE, ADMIN)
        list_columns = ["account", "company_name", "uscc", "office", "registered_at"]
        search = [Search("account", "exact"), Search("company_name", "contains")]
        title_field = "account"
        api = False


# ==========================================================================================
# 第二章 单证申请 / 第三章 单证列表
# ==========================================================================================
def _years(actor=None, session=None):
    y = dt.date.today().year
    return [(str(y), str(y)), (str(y + 1), str(y + 1))]


def _valid_year(value) -> None:
    if value is not None and str(value) not in {y for y, _label in _years()}:
        raise ValueError(_("年度只能是本年度或下一年度"))


def _default_importer_code(actor, session):
    """进口商编码: the one of this company's last approved application, else the company's."""
    code = session.scalar(
        select(LicenceApplication.importer_code)
        .where(policy.own_rows(LicenceApplication, actor),
               LicenceApplication.status == "approved")
        .order_by(LicenceApplication.id.desc()).limit(1)
    )
    if code:
        return code
    return session.scalar(select(Organisation.customs_code).where(
        policy.own_rows(Organisation, actor, column="id")))


def _importer_name(app, session=None):
    session = session or object_session(app)
    if not app.importer_code or session is None:
        return None
    code = app.importer_code
    return memo(session, ("importer_name", code), lambda: session.scalar(
        select(Organisation.name).where(Organisation.customs_code == code)))


def _application_from_filing(app, actor, session):
    """进口用户 / 所在地区 come from the company's approved filing."""
    filing = session.scalar(select(MeEnterpriseFiling).where(
        MeEnterpriseFiling.company_id == app.company_id))
    org = session.get(Organisation, app.company_id) if app.company_id else None
    app.consignee_name = (filing.company_name if filing else None) or (org.name if org else None)
    app.region = (filing.province if filing else None) or (org.province if org else None)


def _goods_names(app):
    names = []
    for g in app.goods:
        if g.name and g.name not in names:
            names.append(g.name)
    return "、".join(names)[:500] or None  # data (searched by its Chinese words), not UI


def _total_usd(app):
    session = object_session(app)
    amount = _sum(g.amount for g in app.goods)
    if session is None or not app.currency:
        return None
    rate = usd_rate(session, app.currency, (app.declared_at or dt.datetime.now()).date())
    if rate is None:
        return None
    return quantize(amount * rate)


def _has_goods(app, ctx):
    if not app.goods:
        return _("申请单 %(no)s 缺少商品信息", no=app.application_no or "")
    for g in app.goods:
        if not g.specs:
            return _("申请单 %(no)s 的商品「%(name)s」缺少规格型号",
                     no=app.application_no or "", name=g.name or g.hs_code)
    return None


def _filing_approved(app, ctx):
    approved = memo(ctx.session, ("filing_approved", app.company_id), lambda: ctx.session.scalar(
        select(MeEnterpriseFiling.id).where(MeEnterpriseFiling.company_id == app.company_id,
                                            MeEnterpriseFiling.status == "approved")))
    if approved is None:
        return _("企业信息备案尚未审批通过，不能申报")
    return None


def _rate_known(app, ctx):
    if app.currency and app.total_usd is None:
        return _("币制 %(cur)s 没有可用的折美元汇率，请联系管理员", cur=app.currency)
    return None


def _clean_application(app, session) -> dict:
    """Cross-field checks run on every save: 进口商编码 exists, goods are in the catalogue."""
    errors = {}
    if app.importer_code and _importer_name(app, session) is None:
        errors["importer_code"] = [_("进口商编码不存在")]
    year = int(app.year or dt.date.today().year)
    codes = {g.hs_code for g in app.goods if g.hs_code}
    if codes:
        known = memo(session, ("catalogue", year), lambda: frozenset(session.scalars(
            select(MeProduct.hs_code).where(MeProduct.year == year))))
        for i, g in enumerate(app.goods):
            if g.hs_code and g.hs_code not in known:
                errors[f"goods-{i}-hs_code"] = [
                    _("商品编码 %(code)s 不在 %(year)s 年度机电产品目录中", code=g.hs_code,
                      year=year)]
    return errors


def _approve_licence(app, ctx):
    """审批通过: 许可证号 issued, valid six months within the calendar year, sent to customs."""
    app.approved_at = ctx.at
    today = ctx.at.date()
    six_months = _add_months(today, 6)
    app.valid_until = min(six_months, dt.date(today.year, 12, 31))
    app.customs_status = "sent"
    app.customs_sent_at = ctx.at
    for g in app.goods:
        for s in g.specs:
            s.cleared_qty = ZERO
    app.cleared_qty = ZERO
    app.clearance_count = 0
    ctx.messages.append(_("许可证号：%(no)s", no=app.licence_no))
    notify_org(ctx.session, app.company_id, _l("机电产品进口单证申请已审批通过"),
               _l("申请单编号 %(app)s，许可证号 %(no)s", app=app.application_no,
                  no=app.licence_no), record=app)


def _add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    last = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31,
            31, 30, 31, 30, 31][m - 1]
    return dt.date(y, m, min(d.day, last))


def _notify_returned(app, ctx):
    notify_org(ctx.session, app.company_id, _l("机电产品进口单证申请被退回"),
               _l("申请单编号 %(app)s，审批意见：%(opinion)s", app=app.application_no,
                  opinion=ctx.opinion or ""), record=app)


def _licence_office(app) -> dict:
    session = object_session(app)
    office = memo(session, ("me_office", app.company_id), lambda: session.scalar(
        select(MeEnterpriseFiling.me_office).where(
            MeEnterpriseFiling.company_id == app.company_id))) if session else None
    return {"office": office or "00"}


LICENCE_FLOW = review_flow(
    ENTERPRISE, COMMERCE, submit_batch=True,
    submit_conditions=[_has_goods, _filing_approved, _rate_known],
    submit_effects=[_stamp_declared],
    submit_confirm=_l("申报即意味着您的数据将向相关业务主管部门进行发送，并等待其审批。是否申报？"),
    approve_effects=[_approve_licence], approve_batch=True, return_effects=[_notify_returned],
    withdraw=True, withdraw_confirm=_l("撤回后单证状态变为暂存，可修改、删除、再次申报。是否撤回？"),
    copy=True, delete=True,
)


class LicenceApplication(Record):
    __tablename__ = "me_licence_application"

    company_id = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)

    # 申请详细信息
    application_no = field(String(20), _l("申请单编号"), system=True, copy=False, unique=True,
                           section="apply")
    licence_no = field(String(20), _l("许可证号"), system=True, copy=False, unique=True,
                       section="apply")
    status = workflow_state(_l("单证状态"))
    agent_mobile = field(String(11), _l("经办人手机号"), required=True, autofocus=True,
                         validators=(validators.mobile,), section="apply")
    agent_name = field(String(60), _l("经办人"), required=True, section="apply")
    importer_code = field(String(10), _l("进口商编码"), required=True, section="apply",
                          initial=_default_importer_code,
                          help=_l("输入进口商编码，系统反填进口商名称"))
    importer_name = field(String(200), _l("进口商名称"), compute=_importer_name, section="apply",
                           reveals="importer_code")
    consignee_name = field(String(200), _l("进口用户"), system=True, section="apply")
    region = field(String(6), _l("所在地区"), system=True, codelist="region", section="apply")
    year = field(Integer, _l("年度"), required=True, choices=lambda rec: _years(), section="apply",
                 validators=(_valid_year,),
                 initial=lambda actor, session: dt.date.today().year, widget="select")
    trade_country = field(String(3), _l("贸易国(地区)"), codelist="country", required=True,
                          section="apply")
    origin_country = field(String(3), _l("原产地国(地区)"), codelist="country", required=True,
                           section="apply")
    fx_source = field(String(2), _l("外汇来源"), codelist="me_fx_source", required=True,
                      initial="01", section="apply")
    goods_use = field(String(2), _l("商品用途"), codelist="me_goods_use", required=True,
                      initial="01", section="apply")
    trade_mode = field(String(4), _l("贸易方式"), codelist="supervision_mode", required=True,
                       initial="0110", section="apply")
    customs_port = field(String(4), _l("报关口岸"), codelist="customs_district", required=True,
                         section="apply")
    batch_mode = field(String(1), _l("一批一证/非一批一证"), required=True, widget="radio",
                       choices=[("1", _l("一批一证")), ("0", _l("非一批一证"))], initial="1",
                       section="apply")
    remark = field(Text, _l("备注"), widget="textarea", section="apply")

    # 商品信息: 单机 or 项目
    goods_kind = field(String(10), _l("商品类型"), required=True, widget="radio",
                       choices=[("single", _l("单机")), ("project", _l("项目"))],
                       initial="single", section="goods")
    project_type = field(String(2), _l("项目类型"), codelist="me_project_type",
                         required=True, show_when=("goods_kind", ("project",)), section="goods")
    project_industry = field(String(2), _l("项目所属行业"), codelist="me_industry",
                             required=True, show_when=("goods_kind", ("project",)),
                             section="goods")
    currency = field(String(3), _l("币制"), codelist="currency", required=True, initial="USD",
                     section="goods")
    goods = children("LicenceGoods", _l("商品信息"), back_populates="application",
                     section="goods", requires_saved=True, order_by="LicenceGoods.id")

    # 总计 — computed, never typed
    total_qty = field(numeric(18, 3), _l("数量总计"), section="totals",
                      compute=lambda a: _sum(g.qty for g in a.goods))
    total_amount = field(numeric(18, 2), _l("原币总值"), section="totals",
                         compute=lambda a: quantize(_sum(g.amount for g in a.goods)))
    total_usd = field(numeric(18, 2), _l("折美元总值"), section="totals", compute=_total_usd)
    goods_names = field(String(500), _l("商品名称"), compute=_goods_names, track=False,
                        in_form=False)

    contracts = children("LicenceContract", _l("合同信息"), back_populates="application",
                         section="contract", requires_saved=True, order_by="LicenceContract.id")

    # 审批 — filled by the commerce officer's decision
    declared_at = field(DateTime, _l("申报时间"), system=True, copy=False, section="review")
    approved_at = field(DateTime, _l("审批时间"), system=True, copy=False, section="review")
    valid_until = field(Date, _l("有效截止日期"), system=True, copy=False, section="review")
    customs_status = field(String(10), _l("海关状态"), system=True, copy=False,
                           section="review", choices=[("sent", _l("已发送海关")),
                                                      ("received", _l("海关已接收")),
                                                      ("failed", _l("发送失败"))])
    customs_sent_at = field(DateTime, _l("发送海关时间"), system=True, copy=False,
                            section="review")
    cleared_qty = field(numeric(18, 3), _l("已结关数量"), system=True, copy=False,
                        section="review")
    remaining_qty = field(numeric(18, 3), _l("报关余量"), section="review", copy=False,
                          compute=lambda a: (a.total_qty or ZERO) - (a.cleared_qty or ZERO)
                          if a.status == "approved" else None)
    clearance_count = field(Integer, _l("已报关次数"), system=True, copy=False,
                            section="review")

    def usd(self, amount) -> str:
        """折美元 of an amount in the application's currency (for the print form)."""
        session = object_session(self)
        if amount is None or session is None:
            return ""
        rate = usd_rate(session, self.currency, (self.declared_at or dt.datetime.now()).date())
        return f"{quantize(amount * rate):,.2f}" if rate is not None else ""

    class Meta:
        label = _l("机电产品进口单证申请")
        list_label = _l("机电产品进口单证列表")
        resource = "me_licence_application"
        menu = [SYSTEM.menu("me", _l("机电产品进口单证申请"), target="new", order=2),
                SYSTEM.menu("me", _l("机电产品进口单证列表"), order=3)]
        owner = "company_id"
        scope = {
            ENTERPRISE: Own("company_id"),
            COMMERCE: Where(lambda m, a: m.status != "draft"),
            CUSTOMS: Where(lambda m, a: m.status == "approved"),
            ADMIN: ALL,
        }
        create_roles = (ENTERPRISE,)
        editable = {"draft": (ENTERPRISE,), "returned": (ENTERPRISE,)}
        sections = [
            Section("apply", _l("申请详细信息")),
            Section("goods", _l("商品信息")),
            Section("totals", _l("总计")),
            Section("contract", _l("合同信息")),
            Section("review", _l("审批信息")),
        ]
        list_columns = ["application_no", "licence_no", "importer_name", "goods_names",
                        "total_usd", "status", "declared_at", "updated_at"]
        search = [
            Search("application_no", "exact"),
            Search("licence_no", "exact"),
            Search("goods_names", "contains", indexed=True),
            Search("status"),
            Search("importer_name", "contains"),
            Search("declared_at", "range"),
        ]
        order_by = "-id"
        title_field = "application_no"
        numbering = [
            Numbering("application_no", "JD{yyyy}{seq:010d}"),
            Numbering("licence_no", "{yy}-{office}-{seq:06d}", period="{yy}-{office}",
                      parts=_licence_office, on="approve"),
        ]
        workflow = LICENCE_FLOW
        on_create = staticmethod(_application_from_filing)
        clean = staticmethod(_clean_application)
        print = Print("me_licence_application.html", _l("机电产品进口申请表"))
        attachments = [
            AttachmentSlot("files", _l("附件"), max_bytes=1 * MB, requires_saved=True),
        ]
        related = [
            Related("me_clearance", "licence_id", _l("结关数据"),
                    ["entry_id", "customs_code", "cleared_on", "total_qty", "source", "status"]),
        ]
        status_button_label = _l("查询状态")
        screens = [
            Screen("customs_status", _l("海关状态查询"),
                   columns=["licence_no", "application_no", "importer_name", "goods_names",
                            "approved_at", "valid_until", "customs_status", "customs_sent_at"],
                   search=[Search("licence_no", "exact"), Search("application_no", "exact"),
                           Search("customs_status"), Search("approved_at", "range")],
                   where=lambda m: m.status == "approved",
                   menu=SYSTEM.menu("me", order=5)),
            Screen("quota", _l("报关余量查询"),
                   columns=["licence_no", "goods_names", "total_qty", "cleared_qty",
                            "remaining_qty", "clearance_count", "valid_until"],
                   search=[Search("licence_no", "exact")],
                   where=lambda m: (m.status == "approved") & (m.batch_mode == "0"),
                   menu=SYSTEM.menu("me", order=6)),
        ]


def _catalogue_year(model, record):
    root = record.root() if isinstance(record, ChildRecord) else record
    year = getattr(root, "year", None) or dt.date.today().year
    return model.year == int(year)


class LicenceGoods(ChildRecord):
    __tablename__ = "me_licence_goods"
    __parent__ = "application"

    application_id = mapped_column(ForeignKey("me_licence_application.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    application = relationship(LicenceApplication, back_populates="goods")

    hs_code = field(String(10), _l("商品编码"), required=True,
                    validators=(validators.hs_code,),
                    placeholder=_l("输入至少四位商品编码后回车选择"),
                    picker=Picker("me_product", "hs_code", "name", min_chars=4,
                                  fills={"name": "name", "unit": "unit"},
                                  where=_catalogue_year))
    name = field(String(200), _l("商品名称"), required=True)
    goods_state = field(String(1), _l("商品状态"), required=True, initial="N",
                        choices=[("N", _l("新")), ("U", _l("旧"))], widget="select")
    unit = field(String(3), _l("计量单位"), codelist="unit_of_measure", required=True)
    qty = field(numeric(18, 3), _l("数量"), compute=lambda g: _sum(s.qty for s in g.specs))
    amount = field(numeric(18, 2), _l("总值"),
                   compute=lambda g: quantize(_sum(s.amount for s in g.specs)))

    specs = children("LicenceGoodsSpec", _l("规格型号"), back_populates="goods",
                     order_by="LicenceGoodsSpec.id")

    class Meta:
        label = _l("商品信息")


class LicenceGoodsSpec(ChildRecord):
    __tablename__ = "me_licence_goods_spec"
    __parent__ = "goods"

    goods_id = mapped_column(ForeignKey("me_licence_goods.id", ondelete="CASCADE"),
                             nullable=False, index=True)
    goods = relationship(LicenceGoods, back_populates="specs")

    model = field(String(200), _l("规格型号"), required=True,
                  placeholder=_l("录入规格型号，回车保存并新增下一条"))
    qty = field(numeric(18, 3), _l("数量"), required=True, validators=(validators.positive,))
    unit_price = field(numeric(18, 4), _l("单价"), required=True,
                       validators=(validators.positive,))
    amount = field(numeric(18, 2), _l("总值"),
                   compute=lambda s: quantize(s.qty * s.unit_price)
                   if s.qty is not None and s.unit_price is not None else None)
    cleared_qty = field(numeric(18, 3), _l("已结关数量"), system=True, copy=False)

    class Meta:
        label = _l("规格型号")


def _root_company(contract):
    app = contract.application
    return _company(app) if app is not None else None


class LicenceContract(ChildRecord):
    __tablename__ = "me_licence_contract"
    __parent__ = "application"

    application_id = mapped_column(ForeignKey("me_licence_application.id", ondelete="CASCADE"),
                                   nullable=False, index=True)
    application = relationship(LicenceApplication, back_populates="contracts")

    contract_no = field(String(50), _l("合同号"), required=True)
    signed_on = field(Date, _l("签约日期"), not_future=True)
    seller = field(String(200), _l("卖方"))
    amount = field(numeric(18, 2), _l("合同金额"), validators=(validators.positive,))
    currency = field(String(3), _l("币制"), codelist="currency")
    buyer_uscc = field(String(18), _l("统一社会信用代码"),
                       compute=lambda c: getattr(_root_company(c), "uscc", None))
    buyer_name = field(String(200), _l("企业名称"),
                       compute=lambda c: getattr(_root_company(c), "name", None))

    class Meta:
        label = _l("合同信息")


# ==========================================================================================
# 第六章 报关余量查询 / 第七章 结关数据查询 — clearances recorded by customs
# ==========================================================================================
def _licence_by_no(clearance, session=None):
    session = session or session_for(clearance)  # a clearance 提交 unsaved is locked too
    if session is None or not clearance.licence_no:
        return None
    return session.scalar(select(LicenceApplication).where(
        LicenceApplication.licence_no == clearance.licence_no))


def _link_licence(clearance, ctx):
    """The clearance belongs to the licence it cites (and to that licence's company)."""
    lic = _licence_by_no(clearance)
    clearance.licence_id = lic.id if lic else None
    clearance.company_id = lic.company_id if lic else None


def _clean_clearance(clearance, session) -> dict:
    errors = {}
    lic = _licence_by_no(clearance, session)
    if clearance.licence_no and (lic is None or lic.status != "approved"):
        errors["licence_no"] = [_("许可证号不存在或未审批通过")]
        return errors
    if lic is not None:
        spec_ids = {s.id for g in lic.goods for s in g.specs}
        for i, line in enumerate(clearance.lines):
            if line.spec_id is not None and line.spec_id not in spec_ids:
                errors[f"lines-{i}-spec_id"] = [_("该规格型号不属于此许可证")]
    return errors


def _check_quota(clearance, ctx):
    lic = _licence_by_no(clearance)
    if lic is None:
        return _("许可证号不存在或未审批通过")
    if lic.valid_until and clearance.cleared_on and clearance.cleared_on > lic.valid_until:
        return _("许可证 %(no)s 已过有效截止日期 %(d)s", no=lic.licence_no, d=lic.valid_until)
    used = lic.clearance_count or 0
    if lic.batch_mode == "1" and used >= 1:
        return _("一批一证许可证 %(no)s 只能报关一次", no=lic.licence_no)
    if lic.batch_mode == "0" and used >= 6:
        return _("非一批一证许可证 %(no)s 最多报关 6 次", no=lic.licence_no)
    specs = {s.id: s for g in lic.goods for s in g.specs}
    wanted: dict[int, decimal.Decimal] = {}
    for line in clearance.lines:
        wanted[line.spec_id] = wanted.get(line.spec_id, ZERO) + (line.qty or ZERO)
    for spec_id, qty in wanted.items():
        spec = specs.get(spec_id)
        if spec is None:
            return _("结关商品未对应许可证的规格型号")
        left = (spec.qty or ZERO) - (spec.cleared_qty or ZERO)
        if qty > left:
            return _("规格型号「%(model)s」报关余量不足：余量 %(left)s，本次 %(qty)s",
                     model=spec.model, left=left.normalize(), qty=qty.normalize())
    return None


def _consume_quota(clearance, ctx):
    lic = _licence_by_no(clearance)
    specs = {s.id: s for g in lic.goods for s in g.specs}
    for line in clearance.lines:
        spec = specs[line.spec_id]
        spec.cleared_qty = (spec.cleared_qty or ZERO) + line.qty
    lic.cleared_qty = (lic.cleared_qty or ZERO) + _sum(line.qty for line in clearance.lines)
    lic.clearance_count = (lic.clearance_count or 0) + 1


CLEARANCE_FLOW = Workflow(
    states=[State("draft", lazy_pgettext("状态", "暂存"), initial=True),
            State("cleared", lazy_pgettext("状态", "已结关"), style="success")],
    transitions=[
        Transition("save", _l("暂存"), ["draft"], roles=[CUSTOMS], kind=SAVE,
                   effects=[_link_licence]),
        Transition("clear", _l("结关确认"), ["draft"], "cleared", roles=[CUSTOMS],
                   check_required=True, saves_form=True, conditions=[_check_quota],
                   locks=[_licence_by_no],
                   effects=[_link_licence, _consume_quota], todo=True,
                   success=_l("结关确认成功")),
        delete_transition(["draft"], [CUSTOMS]),
    ],
)


class MeClearance(Record):
    __tablename__ = "me_clearance"

    licence_id = mapped_column(ForeignKey("me_licence_application.id"), index=True)
    company_id = mapped_column(ForeignKey("organisation.id"), index=True)

    licence_no = field(String(20), _l("许可证号"), required=True, index=True,
                       picker=Picker("me_licence_application", "licence_no", "goods_names",
                                     min_chars=2,
                                     where=lambda m, r: m.status == "approved"))
    entry_id = field(String(18), _l("报关单号"), required=True, validators=(validators.entry_id,),
                     unique=True)
    customs_code = field(String(4), _l("结关海关"), codelist="customs_district", required=True)
    declared_on = field(Date, _l("申报日期"), not_future=True)
    cleared_on = field(Date, _l("结关日期"), required=True, not_future=True,
                       not_before="declared_on",
                       initial=lambda actor, session: dt.date.today())
    source = field(String(12), _l("数据来源"), system=True, initial="manual",
                   choices=[("manual", _l("海关录入")), ("declaration", _l("报关单结关回执"))])
    declaration_id = mapped_column(ForeignKey("cd_declaration.id"), nullable=True, unique=True)
    status = workflow_state(_l("状态"))
    total_qty = field(numeric(18, 3), _l("结关数量"),
                      compute=lambda c: _sum(line.qty for line in c.lines))
    total_amount = field(numeric(18, 2), _l("结关金额"),
                         compute=lambda c: quantize(_sum(line.amount for line in c.lines)))
    lines = children("MeClearanceLine", _l("结关商品"), back_populates="clearance",
                     order_by="MeClearanceLine.id", requires_saved=True, min_rows=1)

    class Meta:
        label = _l("结关数据")
        resource = "me_clearance"
        menu = SYSTEM.menu("me", _l("结关数据查询"), order=7)
        scope = {
            ENTERPRISE: Own("company_id"),
            CUSTOMS: ALL,
            COMMERCE: ALL,
            ADMIN: ALL,
        }
        create_roles = (CUSTOMS,)
        editable = {"draft": (CUSTOMS,)}
        sections = [Section("main", _l("结关信息"))]
        list_columns = ["licence_no", "entry_id", "customs_code", "cleared_on", "total_qty",
                        "total_amount", "source", "status"]
        search = [Search("licence_no", "exact"), Search("entry_id", "exact"),
                  Search("cleared_on", "range")]
        order_by = "-id"
        title_field = "entry_id"
        workflow = CLEARANCE_FLOW
        clean = staticmethod(_clean_clearance)


def _licence_specs(line):
    """The 规格型号 lines of the cited licence, with what is left to clear."""
    clearance = line.parent() if line is not None else None
    lic = _licence_by_no(clearance) if clearance is not None else None
    if lic is None:
        return []
    out = []
    for g in lic.goods:
        for s in g.specs:
            left = (s.qty or ZERO) - (s.cleared_qty or ZERO)
            out.append((str(s.id), _("%(hs)s %(name)s / %(model)s（余量 %(left)s）", hs=g.hs_code,
                                     name=g.name, model=s.model, left=left.normalize())))
    return out


def _spec_of(line):
    session = object_session(line) or (object_session(line.clearance) if line.clearance else None)
    if session is None or line.spec_id is None:
        return None
    return session.get(LicenceGoodsSpec, line.spec_id)


class MeClearanceLine(ChildRecord):
    __tablename__ = "me_clearance_line"
    __parent__ = "clearance"

    clearance_id = mapped_column(ForeignKey("me_clearance.id", ondelete="CASCADE"),
                                 nullable=False, index=True)
    clearance = relationship(MeClearance, back_populates="lines")

    spec_id = field(Integer, _l("许可证规格型号"), required=True, widget="select",
                    choices=_licence_specs)
    hs_code = field(String(10), _l("商品编码"),
                    compute=lambda ln: _spec_of(ln).goods.hs_code if _spec_of(ln) else None)
    name = field(String(200), _l("商品名称"),
                 compute=lambda ln: _spec_of(ln).goods.name if _spec_of(ln) else None)
    model = field(String(200), _l("规格型号"),
                  compute=lambda ln: _spec_of(ln).model if _spec_of(ln) else None)
    qty = field(numeric(18, 3), _l("数量"), required=True, validators=(validators.positive,))
    amount = field(numeric(18, 2), _l("金额"), validators=(validators.not_negative,))

    class Meta:
        label = _l("结关商品")
