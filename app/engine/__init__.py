"""The declarative engine.  A record type is declared with what this package exports:

    from app.engine import Record, ChildRecord, field, children, workflow_state, Workflow, ...

and the engine generates its list and search screens, forms, workflow buttons, history, print,
REST API, admin-console view and notifications.  See docs/extending.md.
"""

from . import validators
from .fields import (
    AttachmentSlot,
    Picker,
    Print,
    Related,
    Screen,
    Search,
    Section,
    children,
    field,
    numeric,
)
from .menus import Group, System
from .numbering import Numbering
from .policy import (
    ADMIN,
    ALL,
    COMMERCE,
    CUSTOMS,
    ENTERPRISE,
    INSTITUTION,
    Own,
    Refused,
    Where,
)
from .record import ChildRecord, Record, now
from .workflow import (
    ANY,
    APPLY_CHANGE,
    COPY,
    DELETE,
    DISCARD_CHANGE,
    PROPOSE,
    SAVE,
    STATE,
    Input,
    State,
    Transition,
    Workflow,
    delete_transition,
    review_flow,
    workflow_state,
)

__all__ = [
    "ADMIN", "ALL", "ANY", "APPLY_CHANGE", "COMMERCE", "COPY", "CUSTOMS", "DELETE",
    "DISCARD_CHANGE", "ENTERPRISE", "INSTITUTION", "PROPOSE", "SAVE", "STATE",
    "AttachmentSlot", "ChildRecord", "Group", "Input", "Numbering", "Own", "Picker", "Print",
    "Record", "Refused", "Related", "Screen", "Search", "Section", "State", "System",
    "Transition", "Where", "Workflow", "children", "delete_transition", "field", "now",
    "numeric", "review_flow", "validators", "workflow_state",
]
