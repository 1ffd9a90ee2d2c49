"""Attachments: typed slots per record type, size limits, content checked by content.

No file is larger than ``UPLOAD_MAX_BYTES`` whatever its slot declares, nor are the files of one
request together.  A file's name keeps no path, no control or format characters (NUL, line
breaks, bidirectional overrides) and at most 200 characters, its extension kept.

A file's kind is read from its first bytes (PDF, PNG, JPEG, GIF, TIFF, OLE2 doc/xls, OOXML
docx/xlsx, ZIP, Windows executables); the name's extension must agree with the content and the
slot must accept the kind.  Files are stored in the database (one transaction with the record,
one backup); download goes through the owning record's scope.
"""

from __future__ import annotations

import io
import os
import unicodedata
import zipfile

from flask import current_app, g, has_app_context, has_request_context
from flask_appbuilder import Model
from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, select
from sqlalchemy.orm import deferred, mapped_column, validates

from . import policy
from .fields import AttachmentSlot
from .i18n import gettext as _
from .record import Record, now

KIND_LABELS = {
    "pdf": "PDF", "jpg": "JPG", "png": "PNG", "gif": "GIF", "tif": "TIFF", "doc": "DOC",
    "xls": "XLS", "docx": "DOCX", "xlsx": "XLSX", "zip": "ZIP",
}
EXTENSIONS = {
    ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".gif": "gif", ".tif": "tif",
    ".tiff": "tif", ".doc": "doc", ".xls": "xls", ".docx": "docx", ".xlsx": "xlsx",
    ".zip": "zip",
}
MIME = {
    "pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "tif": "image/tiff", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
NAME_MAX = 200  # the column's length
DEFAULT_CEILING = 8 * 1024 * 1024


class Attachment(Model):
    __tablename__ = "attachment"

    id = mapped_column(Integer, primary_key=True)
    entity = mapped_column(String(60), nullable=False)
    record_id = mapped_column(Integer, nullable=False)
    slot = mapped_column(String(40), nullable=False)
    filename = mapped_column(String(200), nullable=False)
    kind = mapped_column(String(10), nullable=False)
    size = mapped_column(Integer, nullable=False)
    data = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by_id = mapped_column(Integer)
    uploaded_by_name = mapped_column(String(128))
    uploaded_at = mapped_column(DateTime, nullable=False, default=now)

    __table_args__ = (Index("ix_attachment_record", "entity", "record_id", "slot"),)

    @validates("filename")
    def _clean_filename(self, key, value):
        return clean_filename(value)

    @property
    def mimetype(self) -> str:
        return MIME.get(self.kind, "application/octet-stream")


def sniff(data: bytes, filename: str = "") -> str | None:
    """The kind of a file judged by its content (None when unknown)."""
    head = data[:8]
    if data[:5] == b"%PDF-":
        return "pdf"
    if head == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif"
    if data[:2] == b"MZ":
        return "exe"
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        ext = EXTENSIONS.get(os.path.splitext(filename.lower())[1])
        return ext if ext in ("doc", "xls") else "ole"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        return "zip"
    return None


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.0f} MB" if n % (1024 * 1024) == 0 else f"{n / 1024 / 1024:.1f} MB"
    return f"{n // 1024} KB"


def clean_filename(filename: str | None) -> str:
    """The name a file is stored and offered under: the last part of a Windows or POSIX path,
    without control and format characters, at most ``NAME_MAX`` characters with its extension
    kept."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > NAME_MAX:
        stem, ext = os.path.splitext(name)
        if len(ext) > 16:
            stem, ext = name, ""
        name = stem[:NAME_MAX - len(ext)].rstrip() + ext
    return name


def upload_ceiling() -> int:
    """``UPLOAD_MAX_BYTES``: no upload is larger, whatever its slot declares."""
    if has_app_context():
        return int(current_app.config.get("UPLOAD_MAX_BYTES") or DEFAULT_CEILING)
    return DEFAULT_CEILING


def check_file(slot: AttachmentSlot, filename: str, data: bytes) -> str:
    """Return the kind of an acceptable file or raise ValueError with the user's message."""
    name = clean_filename(filename)
    if not name:
        raise ValueError(_("请选择要上传的文件"))
    if not data:
        raise ValueError(_("文件「%(name)s」为空", name=name))
    limit = min(slot.max_bytes, upload_ceiling())
    if len(data) > limit:
        raise ValueError(_("文件「%(name)s」超过 %(limit)s 的大小限制", name=name,
                           limit=human_size(limit)))
    kind = sniff(data, name)
    allowed = ", ".join(KIND_LABELS[k] for k in slot.kinds if k in KIND_LABELS)
    if kind not in slot.kinds:
        raise ValueError(_("文件「%(name)s」的内容不是允许的类型（允许：%(allowed)s）",
                           name=name, allowed=allowed))
    ext_kind = EXTENSIONS.get(os.path.splitext(name.lower())[1])
    if ext_kind != kind:
        raise ValueError(_("文件「%(name)s」的扩展名与文件内容（%(kind)s）不符", name=name,
                           kind=KIND_LABELS.get(kind, kind)))
    limit = slot.kind_max_bytes.get(kind)
    if limit and len(data) > limit:
        raise ValueError(_("%(kind)s 文件「%(name)s」超过 %(limit)s 的大小限制",
                           kind=KIND_LABELS[kind], name=name, limit=human_size(limit)))
    return kind


def list_for(session, record: Record, slot: str | None = None) -> list[Attachment]:
    if record.id is None:
        return []
    q = select(Attachment).where(Attachment.entity == record.meta().resource,
                                 Attachment.record_id == record.id)
    if slot:
        q = q.where(Attachment.slot == slot)
    return list(session.scalars(q.order_by(Attachment.id)))


def add(session, record: Record, slot_name: str, filename: str, data: bytes,
        actor: policy.Actor, *, check_policy: bool = True) -> Attachment:
    slot = record.meta().slot(slot_name)
    if slot is None:
        raise policy.NotFound(_("附件类别不存在"))
    if check_policy and not policy.slot_editable(actor, record, slot):
        if slot.requires_saved and record.id is None:
            raise policy.Refused(_("请先暂存，再上传附件"), status=409)
        raise policy.Refused(_("当前状态下不能上传「%(slot)s」", slot=slot.label))
    kind = check_file(slot, filename, data)
    _count_in_request(data)
    if not slot.many:
        for old in list_for(session, record, slot_name):
            session.delete(old)
    att = Attachment(
        entity=record.meta().resource, record_id=record.id, slot=slot_name,
        filename=filename, kind=kind, size=len(data), data=data,
        uploaded_by_id=actor.user_id if actor else None,
        uploaded_by_name=actor.display_name if actor else None, uploaded_at=now(),
    )
    session.add(att)
    return att


def _count_in_request(data: bytes) -> None:
    """The files of one request together stay under the ceiling (a file attached to several
    records of a batch counts once)."""
    if not has_request_context():
        return
    seen = g.setdefault("_uploads", {})
    seen[id(data)] = data  # kept, so that no other upload of this request reuses the id
    ceiling = upload_ceiling()
    if sum(len(d) for d in seen.values()) > ceiling:
        raise ValueError(_("本次上传的文件合计超过 %(limit)s 的大小限制",
                           limit=human_size(ceiling)))


def get_for(session, record: Record, att_id) -> Attachment:
    att_id = policy.parse_id(att_id)
    if att_id is None:
        raise policy.NotFound(_("附件不存在"))
    att = session.scalar(select(Attachment).where(
        Attachment.id == att_id, Attachment.entity == record.meta().resource,
        Attachment.record_id == record.id))
    if att is None:
        raise policy.NotFound(_("附件不存在"))
    return att


def remove(session, record: Record, att_id, actor: policy.Actor) -> None:
    att = get_for(session, record, att_id)
    slot = record.meta().slot(att.slot)
    if slot is None or not policy.slot_editable(actor, record, slot):
        raise policy.Refused(_("当前状态下不能删除附件"))
    session.delete(att)


def delete_all(session, record: Record) -> None:
    for att in list_for(session, record):
        session.delete(att)


def missing_required(session, record: Record) -> list[str]:
    present = {a.slot for a in list_for(session, record)}
    return [str(s.label) for s in record.meta().attachments if s.required and s.name not in present]
