"""The administrators' console (Flask-Admin at /admin): organisations, users, currency rates,
the notification outbox and all code lists by hand here; every record type and every code list
generated from its declaration (app/engine/console.py), with bulk edit and Excel export.

Only the 管理员 role gets in (asked of the policy); every form carries a CSRF token; writes to
record types go through the engine's write path and its flush guard.  Documents with a
workflow are read here; they change in their own screens.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from wtforms import PasswordField, ValidationError

from app import headers, passwords, throttle
from app.engine import codelists, policy, validators
from app.engine.codelists import CodeItem, english
from app.engine.console import Secured, add_generated_views
from app.engine.i18n import lazy_gettext as _l
from app.engine.i18n import lazy_pgettext
from app.engine.notify import OutboxMessage
from app.engine.policy import ROLE_LABELS
from app.engine.record import session_for
from models.base import ORG_KINDS, CurrencyRate, Organisation
from models.base import AppUser as User


def _is_admin() -> bool:
    return policy.may_administer(policy.current_actor())


_Secured = Secured


class HomeIndex(AdminIndexView):
    def is_accessible(self):
        return _is_admin()

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("AuthDBView.login", next=request.url))

    @expose("/")
    def index(self):
        return self.render("admin/console_index.html")


def _check_uscc(form, field):
    try:
        validators.uscc(field.data)
    except ValueError as e:
        raise ValidationError(str(e)) from None


def _check_org_code(form, field):
    try:
        validators.org_code(field.data)
    except ValueError as e:
        raise ValidationError(str(e)) from None


def org_name(org) -> str:
    """An organisation's name in the reader's language (its English name where it has one)."""
    if org is None:
        return ""
    return org.name_en if english() and org.name_en else org.name


def _coded(list_name: str):
    """A column holding codes of a code list (one, or several comma separated: 关区) shown as
    the screens show them: "code name", the name in the reader's language."""
    def shown(view, context, record, name):
        codes = [c.strip() for c in str(getattr(record, name, None) or "").split(",")]
        return str(_l("、")).join(codelists.display(session_for(record), list_name, c)
                                 for c in codes if c)
    return shown


ORG_CODED = {"country": _coded("country"), "province": _coded("region"),
             "customs_district": _coded("customs_district")}


class OrganisationAdmin(_Secured, ModelView):
    column_list = ["kind", "name", "uscc", "org_code", "customs_code", "customs_district",
                   "country", "province", "phone", "email", "active"]
    column_searchable_list = ["name", "uscc", "customs_code"]
    column_filters = ["kind", "active", "province"]
    column_editable_list = ["active", "phone", "email"]
    column_labels = {
        "kind": _l("类型"), "name": _l("名称"), "name_en": _l("英文名称"),
        "uscc": _l("统一社会信用代码"), "org_code": _l("组织机构代码"),
        "customs_code": _l("海关编码"), "customs_district": _l("关区"), "country": _l("国别"),
        "province": _l("省市"), "address": _l("地址"), "contact": _l("联系人"),
        "phone": _l("电话"), "email": _l("电子邮件"), "active": _l("有效"),
    }
    form_choices = {"kind": ORG_KINDS}
    column_choices = {"kind": ORG_KINDS}
    column_formatters = ORG_CODED
    column_formatters_export = ORG_CODED
    form_args = {"uscc": {"validators": [_check_uscc]},
                 "org_code": {"validators": [_check_org_code]}}

    def on_model_change(self, form, model, is_created):
        try:
            model.check_codes_agree()
        except ValueError as e:
            raise ValidationError(str(e)) from None


class UserAdmin(_Secured, ModelView):
    column_list = ["username", "first_name", "last_name", "email", "organisation", "roles",
                   "active", "last_login"]
    column_searchable_list = ["username", "email", "first_name", "last_name"]
    column_filters = ["active"]
    column_editable_list = ["active"]
    form_columns = ["username", "first_name", "last_name", "email", "mobile", "organisation",
                    "roles", "active", "new_password"]
    form_extra_fields = {"new_password": PasswordField(_l("新密码"))}
    column_labels = {"username": _l("用户名"), "first_name": _l("名"), "last_name": _l("姓"),
                     "email": _l("电子邮件"), "organisation": _l("所属单位"),
                     "roles": _l("角色"), "active": _l("有效"), "last_login": _l("最近登录"),
                     "mobile": _l("手机"), "new_password": _l("新密码")}
    column_formatters = {
        "organisation": lambda v, c, m, n: org_name(m.organisation),
        "roles": lambda v, c, m, n: str(_l("、")).join(
            str(ROLE_LABELS.get(r.name, r.name)) for r in m.roles),
    }
    column_formatters_export = column_formatters
    form_args = {"organisation": {"get_label": org_name},
                 "roles": {"get_label": lambda r: str(ROLE_LABELS.get(r.name, r.name))}}

    def on_model_change(self, form, model, is_created):
        if form.new_password.data:
            passwords.check(form.new_password.data, model.username)
            model.password = generate_password_hash(form.new_password.data)
        elif is_created:
            raise ValidationError(str(_l("新用户必须设置密码")))
        if policy.needs_organisation(r.name for r in model.roles) and model.organisation is None:
            raise ValidationError(str(_l("非管理员用户必须属于一个单位")))

    @action("unlock", _l("解除锁定"), _l("是否解除所选用户的登录锁定？"))
    def unlock(self, ids):
        throttle.unlock_users(ids)
        flash(str(_l("已解除 %(n)s 个用户的登录锁定", n=len(ids))), "success")


class CodeItemAdmin(_Secured, ModelView):
    column_list = ["list_name", "code", "name", "name_en", "extra", "active", "sort"]
    column_searchable_list = ["code", "name", "name_en"]
    column_filters = ["list_name", "active"]
    column_editable_list = ["name", "name_en", "active", "sort"]
    column_labels = {"list_name": _l("代码表"), "code": _l("代码"), "name": _l("名称"),
                     "name_en": _l("英文名称"), "extra": _l("附加"), "active": _l("有效"),
                     "sort": _l("排序")}
    form_choices = {"list_name": [(k, v["label"]) for k, v in codelists.LISTS.items()]}

    def after_model_change(self, form, model, is_created):
        codelists.invalidate(model.list_name)

    def after_model_delete(self, model):
        codelists.invalidate(model.list_name)

    @action("deactivate", _l("停用"), _l("是否停用所选代码？"))
    def deactivate(self, ids):
        session = session_for()
        for item in session.scalars(select(CodeItem).where(CodeItem.id.in_(ids))):
            item.active = False
        session.commit()
        codelists.invalidate()
        flash(str(_l("已停用 %(n)s 条代码", n=len(ids))), "success")


class CurrencyRateAdmin(_Secured, ModelView):
    column_list = ["currency", "valid_from", "usd_rate", "source"]
    column_filters = ["currency", "valid_from"]
    column_editable_list = ["usd_rate"]
    column_labels = {"currency": _l("币制"), "valid_from": _l("生效日期"),
                     "usd_rate": _l("折美元汇率"), "source": _l("来源")}


OUTBOX_CHANNELS = [("email", _l("邮件")), ("sms", _l("短信"))]
OUTBOX_STATES = [("pending", lazy_pgettext("状态", "待发送")),
                 ("sent", lazy_pgettext("状态", "已发送")),
                 ("failed", lazy_pgettext("状态", "发送失败"))]


class OutboxAdmin(_Secured, ModelView):
    can_create = False
    can_edit = False
    column_list = ["channel", "recipient", "subject", "status", "attempts", "next_attempt_at",
                   "last_error", "created_at", "sent_at"]
    column_filters = ["channel", "status"]
    column_labels = {"channel": _l("发送方式"), "recipient": _l("接收人"), "subject": _l("主题"),
                     "body": _l("内容"), "status": _l("状态"), "attempts": _l("发送次数"),
                     "next_attempt_at": _l("下次发送时间"), "last_error": _l("错误信息"),
                     "created_at": _l("创建时间"), "sent_at": _l("发送时间")}
    column_choices = {"channel": OUTBOX_CHANNELS, "status": OUTBOX_STATES}
    column_default_sort = ("id", True)

    @action("retry", _l("立即重试"))
    def retry(self, ids):
        from app.engine.record import now

        session = session_for()
        for msg in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
            msg.status, msg.next_attempt_at = "pending", now()
        session.commit()


def init_admin(app, db) -> Admin:
    admin = Admin(app, name=_l("管理控制台"), url="/admin", endpoint="admin",
                  theme=Bootstrap4Theme(base_template="admin/console_base.html"),
                  csp_nonce_generator=headers.csp_nonce,
                  index_view=HomeIndex(name=lazy_pgettext("菜单", "首页"), url="/admin",
                                       endpoint="admin"))
    admin.add_view(OrganisationAdmin(Organisation, db, name=_l("单位"), endpoint="org_admin",
                                     category=_l("用户与单位")))
    admin.add_view(UserAdmin(User, db, name=_l("用户"), endpoint="user_admin",
                             category=_l("用户与单位")))
    admin.add_view(CodeItemAdmin(CodeItem, db, name=_l("代码表"), endpoint="code_admin",
                                 category=_l("参数")))
    admin.add_view(CurrencyRateAdmin(CurrencyRate, db, name=_l("汇率"), endpoint="rate_admin",
                                     category=_l("参数")))
    admin.add_view(OutboxAdmin(OutboxMessage, db, name=_l("消息发送队列"),
                               endpoint="outbox_admin"))
    add_generated_views(admin, db)  # every record type and every code list
    # Every console form (create, edit, delete, bulk action) derives from SecureForm and checks
    # its own CSRF token; the app-wide check would demand a second one under the same name.
    csrf = app.extensions["csrf"]
    for view in admin._views:
        csrf.exempt(view.blueprint)
    return admin
