"""What a request may carry before any view reads it.

Text the databases cannot store (NUL bytes, lone UTF-16 surrogates), JSON nested deeper than any
record, rison query strings that do not parse and bodies over the size limit are answered here,
before a view or Flask-AppBuilder's own endpoints (login included) see them: 400 / 413 with the
reason in the user's language — JSON under /api/, a page elsewhere.
"""

from __future__ import annotations

import json

from flask import current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from .i18n import gettext as _

MAX_JSON_DEPTH = 32


class BadInput(ValueError):
    pass


def check_text(value: str) -> None:
    """Raise BadInput for text no database column can hold."""
    if not isinstance(value, str):  # a form part without a value (multipart: no body)
        return
    if "\x00" in value:
        raise BadInput(_("内容包含无效字符（NUL）"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(_("内容包含无效字符")) from None


def check_json(value, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadInput(_("JSON 嵌套层次过深"))
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k)
            check_json(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_json(v, depth + 1)


def _api() -> bool:
    return request.path.startswith("/api/")


def _answer(status: int, message: str):
    if _api():
        return current_app.response_class(
            response=json.dumps({"message": message}, ensure_ascii=False), status=status,
            mimetype="application/json")
    return render_template("engine/error.html", message=message,
                           appbuilder=current_app.appbuilder), status


def _check_request() -> None:
    for key, value in request.args.items(multi=True):
        check_text(key)
        check_text(value)
    if request.content_length and request.content_length > (
            current_app.config.get("MAX_CONTENT_LENGTH") or float("inf")):
        raise RequestEntityTooLarge()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            check_text(key)
            check_text(value)
        # File names are cleaned where files are stored (attachments.clean_filename).
    elif request.is_json:
        raw = request.get_data(cache=True)
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                raise BadInput(_("请求内容不是有效的 JSON")) from None
            check_json(body)
    q = request.args.get("q")
    if q and _api():
        _check_rison(q)


def _check_rison(q: str) -> None:
    import prison

    try:
        prison.loads(q)
        return
    except RecursionError:
        raise BadInput(_("查询参数格式错误")) from None
    except Exception:  # noqa: BLE001 - prison raises several kinds for malformed input
        pass
    try:
        json.loads(q)
    except (ValueError, RecursionError):
        raise BadInput(_("查询参数格式错误")) from None


def install(app) -> None:
    @app.before_request
    def _reject_bad_input():
        try:
            _check_request()
        except BadInput as e:
            return _answer(400, str(e))
        except RequestEntityTooLarge:
            return _too_large(None)
        return None

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_e):
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return _answer(413, _("请求内容超过 %(n)s MB 的上限", n=limit // (1024 * 1024)))
