"""Every record type of the product: the shared base, then one module per system of the single
window, each found and imported here (app/engine/discovery.py) — a new module is a new system."""

# the engine's own tables: 公告消息, 变更, new-form submission keys
from app.engine import change_requests, notify, submissions  # noqa: F401
from app.engine.discovery import import_modules

__all__ = import_modules(__name__, __path__, first=("base", "codelists"))
