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
from flask_babel import LazyString, force_locale
from flask_babel import gettext as babel_gettext
from flask_babel import pgettext as babel_pgettext
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    func,
    select,
)
from sqlalchemy.orm import mapped_column

from . import i18n, policy, present
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


# --- texts the system writes, in each reader's language -----------------------------------
# A notice the system makes (补充材料, 年度报告 …) is addressed to people reading Chinese or
# English.  Its title and content are the models' translatable messages (``_l`` /
# ``lazy_pgettext`` with their parameters); they are kept as such — msgid, context and
# parameters, a parameter that is itself a message (年度报告, 不予认可 …) likewise — and
# translated when read: the screens in the reader's language, an e-mail in its recipient's.
_GETTEXT = (i18n.gettext, babel_gettext)
_PGETTEXT = (i18n.pgettext, babel_pgettext)


def message_of(text):
    """What is kept of a text to translate it later: a translatable message as
    ``{"msgid", "context", "params"}``; any other text (typed by a user, a number, a name) as
    itself — it reads the same in every language."""
    if isinstance(text, LazyString):
        func, args, kwargs = text._func, text._args, text._kwargs
        params = {k: message_of(v) for k, v in kwargs.items()}
        if func in _GETTEXT and len(args) == 1:
            return {"msgid": args[0], "params": params}
        if func in _PGETTEXT and len(args) == 2:
            return {"context": args[0], "msgid": args[1], "params": params}
        with force_locale(default_locale()):
            return str(text)
    if text is None or isinstance(text, (str, bool, int, float)):
        return text
    return str(text)


def render_message(message) -> str:
    """A kept message in the current language (the request's, or a ``force_locale``)."""
    return "" if message is None else str(_rendered(message))


def _rendered(message):
    if not isinstance(message, dict) or "msgid" not in message:
        return message
    msgid, context = message["msgid"], message.get("context")
    params = {k: _rendered(v) for k, v in (message.get("params") or {}).items()}
    try:
        if context:
            return i18n.pgettext(context, msgid, **params)
        return i18n.gettext(msgid, **params)
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
        try:
            return msgid % params if params else msgid
        except (KeyError, ValueError, TypeError):
            return msgid


# Countries and regions whose organisations read the product's default language (Chinese).
CHINESE_READING = frozenset({"CHN", "HKG", "MAC", "TWN"})
INSTITUTION_KIND = "institution"  # models/base.py: the overseas inspection institutions


def reader_locale(org):
    """The language an organisation's e-mail is written in.  Users choose a language per
    session only, so it is told by what is known of the organisation: one abroad (its 国别
    set and not China's) — as the overseas inspection institutions are — reads English, every
    other the default language."""
    country = (getattr(org, "country", None) or "").strip().upper()
    abroad = country not in CHINESE_READING if country else \
        getattr(org, "kind", None) == INSTITUTION_KIND
    languages = current_app.config.get("LANGUAGES") or {}
    return "en" if abroad and "en" in languages else default_locale()


COMMON = System("common", _l("系统通知"), icon="fa-bell", order=0, groups=[
    Group("notice", _l("系统通知"), "fa-bell"),
])


def _title_text(notice) -> str:
    return notice.title_text


def _content_text(notice) -> str:
    return notice.content_text


class Notice(Record):
    """公告消息: an announcement to everybody or a role, or a 通知 to one organisation.

    ``title`` and ``content`` hold the text as written — by the office that published it, or
    for the system's own notices in the default language (searched and edited as such);
    ``message`` keeps the system's messages themselves, read in each reader's language."""

    __tablename__ = "notice"

    title = field(String(300), _l("标题"), required=True, display_fn=_title_text)
    kind = field(String(20), _l("类别"), required=True, initial="公告", widget="select",
                 choices=[("公告", _l("公告")), ("通知", _l("通知"))])
    role = field(String(40), _l("发送对象角色"), widget="select",
                 choices=[(r, policy.ROLE_LABELS[r]) for r in policy.ROLES])
    org_id = field(Integer, _l("发送对象单位"), foreign_key=ForeignKey("organisation.id"),
                   widget="select", choices=_org_options)
    content = field(Text, _l("内容"), widget="textarea", display_fn=_content_text)
    entity = field(String(60), _l("关联单证类型"), system=True,
                   display_fn=lambda n: present.record_type_label(n.entity))
    record_id = field(Integer, _l("关联单证"), system=True, display_fn=_related_caption)
    published_at = field(DateTime, _l("发布时间"), system=True)
    publisher = field(String(200), _l("发布单位"), system=True,
                      display_fn=lambda n: present.who(n.publisher))
    # the office that published it changes it (none: the system's own and the administrators')
    publisher_org_id = mapped_column(ForeignKey("organisation.id"))
    # A notice the system made: {"title": message, "content": message} (``message_of``); a
    # part changed by hand afterwards is dropped from it and reads as written.
    message = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_notice_org", "org_id", "published_at"),)

    def _text(self, part: str) -> str:
        message = (self.message or {}).get(part)
        if message is not None:
            return render_message(message)
        text = getattr(self, part) or ""
        if self.message is None and part == "title" and text and \
                self.publisher == policy.SYSTEM_NAME:
            # a notice the system made before messages were kept: its title is most often a
            # message of its own (备案申请已受理 …), translated if so
            translated = i18n.pgettext("通知", text)
            return translated if translated != text else i18n.gettext(text)
        return text

    @property
    def title_text(self) -> str:
        """The title in the reader's language (as written, when a person wrote it)."""
        return self._text("title")

    @property
    def content_text(self) -> str:
        """The content in the reader's language (as written, when a person wrote it)."""
        return self._text("content")

    def caption(self) -> str:
        return self.title_text or super().caption()

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


@event.listens_for(Notice.title, "set", active_history=True)
@event.listens_for(Notice.content, "set", active_history=True)
def _written_by_hand(notice, value, old, initiator):
    """A part of a system notice changed by hand (an administrator's correction) reads as
    written from then on: its kept message no longer says the same."""
    part = initiator.key
    if not notice.message or part not in notice.message or not isinstance(old, (str, type(None))):
        return
    if (old or "") != (value or ""):
        with system():  # bookkeeping of the change the guard checks, not a change of its own
            notice.message = {k: v for k, v in notice.message.items() if k != part}


def notify_org(session, org_id, title, content="", *, record=None,
               role: str | None = None, publisher: str = policy.SYSTEM_NAME,
               email: bool = True) -> Notice:
    """A 通知 to one organisation (e.g. 补充材料), plus an e-mail to its contact address.

    ``title`` and ``content`` are translatable messages (``_l`` …) or plain text: each reader
    reads the notice in its own language, the e-mail is written in the recipient's
    (``reader_locale``)."""
    message = {"title": message_of(title), "content": message_of(content or "")}
    # The stored text is the default language's, whoever acted (searched, and the REST API's).
    with force_locale(default_locale()):
        title, content = render_message(message["title"]), render_message(message["content"])
    with system():
        n = Notice(title=title, content=content, kind="通知", org_id=org_id, role=role,
                   entity=record.meta().resource if record is not None else None,
                   record_id=record.id if record is not None else None, published_at=now(),
                   publisher=publisher, message=message)
    session.add(n)
    if email and org_id is not None:
        org = session.get(_org_model(), org_id)
        if org is not None and org.email:
            with force_locale(reader_locale(org)):
                subject = render_message(message["title"])
                body = render_message(message["content"])
            queue(session, "email", org.email, subject, body or subject)
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
