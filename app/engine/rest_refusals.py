"""Flask-AppBuilder's own refusals of a REST endpoint in the caller's language.

``@protect`` answers a request without a user (401), a role without the endpoint's permission
(403), and FAB looks some records up itself (404) — each with an English word ("Forbidden")
whatever language the caller reads.  Every API class of the product mixes this in before
FAB's ``BaseApi`` / ``ModelRestApi``, so they say what the engine's own refusals say.
"""

from __future__ import annotations

from .i18n import gettext as _


class LocalRefusals:
    def response_401(self):
        return self.response(401, message=_("请先登录"))

    def response_403(self):
        return self.response(403, message=_("您无权访问此页面"))

    def response_404(self):
        return self.response(404, message=_("记录不存在或无权访问"))
