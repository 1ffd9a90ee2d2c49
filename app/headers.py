"""Security headers on every response.

- Content-Security-Policy: scripts from the app itself or inline with this response's nonce
  (``csp_nonce()``: the Jinja global Flask-AppBuilder's templates and Flask-Admin's
  ``csp_nonce_generator`` ask for); no plug-ins; forms post only to the app; no framing
  (``frame-ancestors 'none'``; a print's PDF only by the app's own pages, where it shows in
  the work area: ``framed_by_the_app``).  Styles may be inline (the templates set style attributes).
- X-Frame-Options: DENY, SAMEORIGIN for a print (browsers without frame-ancestors), X-Content-Type-Options: nosniff
  (downloads included), Referrer-Policy: same-origin.
- Strict-Transport-Security with ``SECURITY_HSTS`` (on when APP_ENV=production).

Flask-Admin's templates (the console at /admin) still carry a few inline event handlers
(``onclick="return modelActions.execute('…')"`` for its batch actions, the delete button's
confirmation, "return false;" of the filter menu) and ``href="javascript:void(0)"`` links.
Console pages allow exactly those handlers and that link by their hashes ('unsafe-hashes'): the handler texts are built from the console's
registered actions and Flask-Admin's own message in each language; any other inline handler
(an injected one) stays blocked.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from flask import g, request

BASE_POLICY = (
    "default-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
NO_FRAMING = "frame-ancestors 'none'"
SAME_ORIGIN_FRAMING = "frame-ancestors 'self'"
HSTS = "max-age=31536000; includeSubDomains"
ADMIN_PREFIX = "/admin"
_DELETE_CONFIRM = "Are you sure you want to delete this record?"


def csp_nonce() -> str:
    """This response's nonce (made on first use)."""
    nonce = g.get("_csp_nonce")
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(16)
    return nonce


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def console_handler_hashes(app) -> tuple[str, ...]:
    """Hashes of the inline handlers Flask-Admin's templates write for this console."""
    from flask_admin import babel as admin_babel
    from flask_babel import force_locale

    admin = app.extensions.get("admin")
    admins = admin if isinstance(admin, list) else [admin] if admin else []
    handlers = {"return false;", "javascript:void(0)"}
    for adm in admins:
        for view in adm._views:
            for name, _text in getattr(view, "_actions", ()):
                handlers.add(f"return modelActions.execute('{name}');")
    for locale in app.config.get("LANGUAGES", {"en": {}}):
        with force_locale(locale):
            message = str(admin_babel.gettext(_DELETE_CONFIRM))
        handlers.add(f"return faHelpers.safeConfirm('{message}');")
    return tuple(sorted(_sha256(h) for h in handlers))


def framed_by_the_app(resp):
    """``resp`` (a print's PDF) may be shown inside the app's own pages
    (engine/print_view.html), never inside another site's."""
    resp.framed_by_the_app = True
    return resp


def install(app) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    hsts = bool(app.config.get("SECURITY_HSTS"))
    base = "; ".join(BASE_POLICY)
    console: list[tuple[str, ...]] = []

    def policy() -> str:
        sources = f"'self' 'nonce-{csp_nonce()}'"
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            if not console:
                console.append(console_handler_hashes(app))
            sources += " 'unsafe-hashes' " + " ".join(console[0])
        return f"{base}; script-src {sources}"

    @app.after_request
    def security_headers(resp):
        h = resp.headers
        framed = getattr(resp, "framed_by_the_app", False)
        if "Content-Security-Policy" not in h:
            h["Content-Security-Policy"] = (policy().replace(NO_FRAMING, SAME_ORIGIN_FRAMING)
                                            if framed else policy())
        h.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            h.setdefault("Strict-Transport-Security", HSTS)
        return resp
