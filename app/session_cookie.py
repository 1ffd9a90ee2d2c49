"""The signed session cookie and the CSRF token signed for it, each worked out once.

A signed-in user sends the same session cookie with every request.  Flask checks its
signature and decodes it each time (≈ 35 µs: a new serializer, two HMACs, base64, JSON), and
Flask-WTF signs the page's CSRF token anew for each page (≈ 20 µs) — together about 2 % of a
list answered from an index.  Both are pure functions of their input and the secret key, so
what a cookie decoded to and the token signed for a raw token are remembered per process:

- a cookie is taken from memory only when it is byte for byte one this process verified
  before with the same keys, and its age is still checked against the session lifetime;
- a session holding anything mutable (Flask's flashed messages are a list changed in place) is
  decoded afresh each time, so no request can change what another one reads;
- the CSRF token is the signature of the session's raw token; ``WTF_CSRF_TIME_LIMIT`` is None
  (config.py), so a token signed a minute ago is as good as a new one — with a time limit set,
  a remembered token is used for at most a hundredth of it.
"""

from __future__ import annotations

import time

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

_MAX = 4096
_SCALARS = (str, int, float, bool, type(None))


class SessionCookies(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict[tuple, object] = {}
        # (cookie, keys) -> (signed at, the decoded session)
        self._opened: dict[tuple, tuple[float, dict]] = {}

    @staticmethod
    def _keys(app) -> tuple:
        return (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = self._keys(app)
        s = self._serializers.get(keys)
        if s is None:
            s = self._serializers[keys] = super().get_signing_serializer(app)
        return s

    def open_session(self, app, request):
        s = self.get_signing_serializer(app)
        if s is None:
            return None
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (val, self._keys(app))
        hit = self._opened.get(key)
        if hit is not None:
            if time.time() - hit[0] > max_age:
                del self._opened[key]
                return self.session_class()
            return self.session_class(hit[1])
        try:
            data, signed = s.loads(val, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(type(v) in _SCALARS for v in data.values()):
            if len(self._opened) >= _MAX:
                self._opened.clear()
            self._opened[key] = (signed.timestamp(), dict(data))
        return self.session_class(data)


_signed_tokens: dict[tuple, tuple[float, str]] = {}


def csrf_token() -> str:
    """``csrf_token()`` of the templates: Flask-WTF's ``generate_csrf``, with the token signed
    for this session's raw token remembered (also the one signed on the session's first page,
    when the raw token is made)."""
    from flask_wtf.csrf import generate_csrf

    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field in g:
        return generate_csrf()
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    limit = config.get("WTF_CSRF_TIME_LIMIT")
    reuse = float("inf") if limit is None else limit / 100
    now = time.monotonic()
    raw = session.get(field)
    hit = _signed_tokens.get((raw, secret)) if isinstance(raw, str) else None
    if hit is not None and now - hit[0] <= reuse:
        setattr(g, field, hit[1])
        return hit[1]
    token = generate_csrf()
    raw = session.get(field)
    if isinstance(raw, str):
        if len(_signed_tokens) >= _MAX:
            _signed_tokens.clear()
        _signed_tokens[(raw, secret)] = (now, token)
    return token


def init_app(app) -> None:
    """Install both; call after ``CSRFProtect(app)``, whose context processor would otherwise
    hand the templates its own ``generate_csrf`` (a context processor outranks a global)."""
    app.session_interface = SessionCookies()
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
