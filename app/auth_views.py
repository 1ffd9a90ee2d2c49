"""Flask-AppBuilder's sign-in and password views, each changed at one point:

- the login form and ``POST /api/v1/security/login`` answer a throttled sign-in (app.throttle)
  with the time left: a message on the form, 429 with ``Retry-After`` on the API;
- the reset-password forms (own and an administrator's) check the password policy
  (app.passwords), and changing one's own password keeps the current session while it ends
  every other one (app.security: the session epoch).
"""

from __future__ import annotations

from flask import flash, g, redirect, request, session
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.api import safe
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import ResetPasswordForm
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.views import ResetMyPasswordView as FabResetMyPasswordView
from flask_appbuilder.security.views import ResetPasswordView as FabResetPasswordView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.views import expose
from wtforms import PasswordField
from wtforms.validators import DataRequired

from app.engine.i18n import lazy_gettext as _l
from app.passwords import PasswordPolicy
from app.throttle import LoginRefused

SESSION_EPOCH_KEY = "_epoch"  # the user's session epoch the cookie was issued under
POLICY_HINT = _l("至少 10 位，不能包含用户名，不能是常见密码")


class AuthDBView(FabAuthDBView):
    login_template = "engine/login.html"  # on the product's toolkit: the first page anyone sees

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        try:
            return super().login()
        except LoginRefused as refused:
            flash(as_unicode(refused.message), "warning")
            next_url = get_safe_redirect(request.args.get("next", ""))
            resp = redirect(self.appbuilder.get_url_for_login_with(next_url))
            resp.headers["Retry-After"] = str(refused.retry_after)
            return resp


class SecurityApi(FabSecurityApi):
    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        payload = request.get_json(silent=True)
        # Flask-AppBuilder's own answers to these are in English (marshmallow's, as objects)
        if not isinstance(payload, dict):
            return self.response_400(message=str(_l(
                '请求内容应为 JSON 对象：{"username": …, "password": …, "provider": "db"}')))
        if "provider" not in payload:
            # Flask-AppBuilder reads it unchecked (a KeyError, 500)
            return self.response_400(message=str(_l("请提供 provider（登录方式：db）")))
        if payload["provider"] != "db":
            return self.response_400(message=str(_l("登录方式（provider）只能是 db")))
        if not all(isinstance(payload.get(k), str) and payload[k] for k in ("username",
                                                                              "password")):
            return self.response_400(message=str(_l("请提供用户名（username）和密码（password）")))
        try:
            # Flask-AppBuilder's login without its catch-all (which would answer 500)
            resp = FabSecurityApi.login.__wrapped__(self)
        except LoginRefused as refused:
            resp = self.response(429, message=refused.message)
            resp.headers["Retry-After"] = str(refused.retry_after)
            return resp
        if resp.status_code == 401:  # Flask-AppBuilder's "Not authorized"
            return self.response(401, message=str(_l("用户名或密码错误")))
        return resp

    login.__doc__ = FabSecurityApi.login.__doc__


def _users_name() -> str | None:
    """The user whose password the administrators' reset form sets (?pk=…)."""
    from flask import current_app

    pk = request.args.get("pk")
    user = current_app.appbuilder.sm.get_user_by_id(pk)
    return user.username if user is not None else None


def _policy_form(owner):
    class PolicyResetPasswordForm(ResetPasswordForm):
        password = PasswordField(
            _l("密码"), description=POLICY_HINT,
            validators=[DataRequired(), PasswordPolicy(owner)],
            widget=BS3PasswordFieldWidget())

    return PolicyResetPasswordForm


class ResetMyPasswordView(FabResetMyPasswordView):
    form = _policy_form(lambda: g.user.username)

    def form_post(self, form) -> None:
        super().form_post(form)
        # The change ended every session of this user (a new epoch); this one goes on.
        user = self.appbuilder.sm.get_user_by_id(g.user.id)
        session[SESSION_EPOCH_KEY] = user.session_epoch


class ResetPasswordView(FabResetPasswordView):
    form = _policy_form(_users_name)
