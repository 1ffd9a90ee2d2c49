"""Every record type of the product: the shared base plus one module per system."""

from app.engine import notify  # noqa: F401 - Notice (公告消息) is a record type too

from . import base, codelists, me_licence  # noqa: F401

__all__ = ["base", "codelists", "me_licence"]
