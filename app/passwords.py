"""The password policy: one check for every channel that sets a password.

Channels: Flask-AppBuilder's own and administrators' reset-password forms and its user form
(``FAB_PASSWORD_COMPLEXITY_VALIDATOR``), the admin console's user form, the security
manager's ``reset_password`` / ``add_user`` (also behind ``flask fab …``), and
``flask app set-password``.

A password is refused when it is shorter than ``PASSWORD_MIN_LENGTH`` (10), contains the user
name, or is one of the common passwords of ``data/passwords/common-passwords.txt``.
"""

from __future__ import annotations

import functools
import os

from flask import current_app, has_app_context, has_request_context, request
from wtforms import ValidationError

from app.engine.i18n import gettext as _

COMMON_LIST = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "passwords",
                           "common-passwords.txt")
DEFAULT_MIN_LENGTH = 10


class PasswordRejected(ValueError):
    """A password the policy refuses; the message is in the user's language."""


@functools.cache
def common_passwords() -> frozenset[str]:
    with open(COMMON_LIST, encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def min_length() -> int:
    if has_app_context():
        return int(current_app.config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))
    return DEFAULT_MIN_LENGTH


def problem(password: str | None, username: str | None = None) -> str | None:
    """Why ``password`` may not be used by ``username`` (None when it may)."""
    password = password or ""
    n = min_length()
    if len(password) < n:
        return _("密码长度不能少于 %(n)s 位", n=n)
    name = (username or "").strip().lower()
    if name and name in password.lower():
        return _("密码不能包含用户名")
    if password.strip().lower() in common_passwords():
        return _("密码过于常见，容易被猜中，请换一个")
    return None


def check(password: str | None, username: str | None = None) -> None:
    """Raise PasswordRejected unless ``password`` meets the policy."""
    reason = problem(password, username)
    if reason:
        raise PasswordRejected(reason)


class PasswordPolicy:
    """WTForms validator.  The user name comes from the form's ``username`` field, else from
    ``owner()`` (the user whose password the form sets)."""

    def __init__(self, owner=None):
        self.owner = owner

    def __call__(self, form, field):
        username = None
        if "username" in form:
            username = form["username"].data
        elif self.owner is not None:
            username = self.owner()
        reason = problem(field.data, username)
        if reason:
            raise ValidationError(reason)


def fab_complexity(password: str) -> None:
    """``FAB_PASSWORD_COMPLEXITY_VALIDATOR``: Flask-AppBuilder's own forms pass the password
    only; its user form posts the user name beside it."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    username = request.form.get("username") if has_request_context() else None
    reason = problem(password, username)
    if reason:
        raise PasswordComplexityValidationError(reason)
