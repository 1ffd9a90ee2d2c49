"""In-app notices (公告消息), 待办 (what waits for me), and e-mail / SMS through an outbox.

A notice is addressed to everybody, to a role, or to one organisation, and may point at a
record.  E-mail and SMS are never sent inside a business transaction: they are written to the
outbox in the same transaction and delivered afterwards by :func:`deliver_pending` (retried with
back-off while a sender is down), so nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from flask_appbuilder import Model
from flask_babel import force_locale
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import mapped_column

from . import policy, present
from .fields import Search, field
from .guard import system
from .history import default_locale
from .i18n import lazy_gettext as _l
from .menus import Group, System
from .policy import Addressed
from .record import REGISTRY, Record, now, session_for

log = logging.getLogger(__name__)


_organisations: list = []


def register_organisations(model):
    """The product's organisation table (name, email, active), told to the engine by the shared
    base of the models: notices are addressed to organisations and e-mailed to them."""
    _organisations[:] = [model]
    return model


def _org_model():
    if not _organisations:
        raise RuntimeError("no organisation model registered (models/base.py)")
    return _organisations[0]


def _org_options(record=None):
    org = _org_model()
    session = current_app.appbuilder.session
    return [(str(o.id), o.name) for o in session.scalars(
        select(org).where(org.active.is_(True)).order_by(org.name))]


def _stamp_publisher(notice, actor, session):
    notice.publisher = (actor.org_name or actor.display_name) if actor else policy.SYSTEM_NAME
    notice.published_at = now()


def _related_caption(notice) -> str:
    """The record a notice is about by its number (协调单号 …), not its id."""
    model = REGISTRY.get(notice.entity or "")
    if model is None or notice.record_id is None:
        return "" if notice.record_id is None else str(notice.record_id)
    related = session_for(notice).get(model, notice.record_id)
    return related.caption() if related is not None else str(notice.record_id)


COMMON = System("common", _l("系统通知"), icon="fa-bell", order=0, groups=[
    Group("notice", _l("系统通知"), "fa-bell"),
])


class Notice(Record):
    """公告消息: an announcement to everybody or a role, or a 通知 to one organisation."""

    __tablename__ = "notice"

    title = field(String(300), _l("标题"), required=True)
    kind = field(String(20), _l("类别"), required=True, initial="公告", widget="select",
                 choices=[("公告", _l("公告")), ("通知", _l("通知"))])
    role = field(String(40), _l("发送对象角色"), widget="select",
                 choices=[(r, policy.ROLE_LABELS[r]) for r in policy.ROLES])
    org_id = field(Integer, _l("发送对象单位"), foreign_key=ForeignKey("organisation.id"),
                   widget="select", choices=_org_options)
    content = field(Text, _l("内容"), widget="textarea")
    entity = field(String(60), _l("关联单证类型"), system=True,
                   display_fn=lambda n: present.record_type_label(n.entity))
    record_id = field(Integer, _l("关联单证"), system=True, display_fn=_related_caption)
    published_at = field(DateTime, _l("发布时间"), system=True)
    publisher = field(String(200), _l("发布单位"), system=True,
                      display_fn=lambda n: present.who(n.publisher))
    # the office that published it changes it (none: the system's own and the administrators')
    publisher_org_id = mapped_column(ForeignKey("organisation.id"))

    __table_args__ = (Index("ix_notice_org", "org_id", "published_at"),)

    class Meta:
        label = _l("公告消息")
        resource = "notice"
        menu = COMMON.menu("notice", _l("公告消息"))
        owner = "publisher_org_id"
        scope = {r: Addressed() for r in policy.ROLES}
        edit_scope = {policy.CUSTOMS: policy.Own("publisher_org_id")}
        create_roles = (policy.ADMIN, policy.CUSTOMS)
        list_columns = ["title", "kind", "publisher", "published_at"]
        search = [Search("title", "contains"), Search("published_at", "range")]
        order_by = "-published_at"
        title_field = "title"
        on_create = staticmethod(_stamp_publisher)


class OutboxMessage(Model):
    __tablename__ = "outbox_message"

    id = mapped_column(Integer, primary_key=True)
    channel = mapped_column(String(20), nullable=False)  # email | sms
    recipient = mapped_column(String(200), nullable=False)
    subject = mapped_column(String(300))
    body = mapped_column(Text, nullable=False)
    status = mapped_column(String(20), nullable=False, default="pending")  # pending|sent|failed
    attempts = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at = mapped_column(DateTime, nullable=False, default=now)
    last_error = mapped_column(Text)
    created_at = mapped_column(DateTime, nullable=False, default=now)
    sent_at = mapped_column(DateTime)

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


def notify_org(session, org_id, title: str, content: str = "", *, record=None,
               role: str | None = None, publisher: str = policy.SYSTEM_NAME,
               email: bool = True) -> Notice:
    """A 通知 to one organisation (e.g. 补充材料), plus an e-mail to its contact address."""
    # Stored text is written in the product's default language, whoever acted.
    with force_locale(default_locale()):
        title, content = str(title), str(content or "")
    with system():
        n = Notice(title=title, content=content, kind="通知", org_id=org_id, role=role,
                   entity=record.meta().resource if record is not None else None,
                   record_id=record.id if record is not None else None, published_at=now(),
                   publisher=publisher)
    session.add(n)
    if email and org_id is not None:
        org = session.get(_org_model(), org_id)
        if org is not None and org.email:
            queue(session, "email", org.email, title, content or title)
    return n


def queue(session, channel: str, recipient: str, subject: str, body: str) -> OutboxMessage:
    msg = OutboxMessage(channel=channel, recipient=recipient, subject=subject[:300], body=body,
                        status="pending", attempts=0, next_attempt_at=now(), created_at=now())
    session.add(msg)
    return msg


# --- senders -------------------------------------------------------------------------------
class SenderDown(Exception):
    pass


class SmtpSender:
    def send(self, msg: OutboxMessage) -> None:
        cfg = current_app.config
        if not cfg.get("SMTP_HOST"):
            raise SenderDown("SMTP_HOST is not configured")
        em = EmailMessage()
        em["From"] = cfg["SMTP_FROM"]
        em["To"] = msg.recipient
        em["Subject"] = msg.subject or ""
        em.set_content(msg.body)
        try:
            with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as s:
                s.send_message(em)
        except OSError as e:
            raise SenderDown(str(e)) from e


class LogSmsSender:
    """Development SMS gateway: writes the message to the log."""

    def send(self, msg: OutboxMessage) -> None:
        log.info("SMS to %s: %s", msg.recipient, msg.body)


def _sender(channel: str):
    path = current_app.config.get("NOTIFY_SENDERS", {}).get(channel)
    if not path:
        raise SenderDown(f"no sender for {channel}")
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)()


MAX_ATTEMPTS = 10


def deliver_pending(session, limit: int = 100) -> dict[str, int]:
    """Send what is due; a failure is retried later with exponential back-off.

    The rows are taken with FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one writer anyway):
    workers running side by side each send different messages, never the same one twice."""
    due = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now())
        .order_by(OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for msg in due:
        msg.attempts += 1
        try:
            _sender(msg.channel).send(msg)
        except Exception as e:  # noqa: BLE001 - any sender failure is retried
            msg.last_error = str(e)[:2000]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = "failed"
                counts["failed"] += 1
            else:
                msg.next_attempt_at = now() + dt.timedelta(minutes=2 ** min(msg.attempts, 8))
                counts["retry"] += 1
            continue
        msg.status = "sent"
        msg.sent_at = now()
        counts["sent"] += 1
    session.commit()
    return counts


# --- 待办 ---------------------------------------------------------------------------------
def todo_counts(session, actor: policy.Actor) -> list[dict]:
    """Per record type: how many records in scope wait for an action of this actor's roles."""
    out = []
    for model in REGISTRY.values():
        states = policy.todo_states(actor, model)
        if not states:
            continue
        n = session.scalar(
            select(func.count()).select_from(model).where(
                model.status.in_(sorted(states)), policy.scope(model, actor))
        )
        if n:
            out.append({"model": model, "label": model.meta().label, "count": n,
                        "states": sorted(states), "resource": model.meta().resource})
    return out
