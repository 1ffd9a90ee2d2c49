"""Every record type of the product: the shared base plus one module per system."""

from app.engine import change_requests, notify  # noqa: F401 - engine tables (公告消息, 变更)

from . import base, codelists, me_licence, used_me  # noqa: F401

__all__ = ["base", "codelists", "me_licence", "used_me"]
