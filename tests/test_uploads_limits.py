"""Upload limits: ``UPLOAD_MAX_BYTES`` (8 MB) caps every file and every request whatever a slot
declares (法规及政策 declares 10 MB); file names lose control characters and keep their
extension when shortened; downloads carry a clean Content-Disposition."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.engine.attachments import Attachment
from models.used_me import Regulation

from .helpers import flashes

MB = 1024 * 1024
PDF_HEAD = b"%PDF-1.4\n1 0 obj<<>>endobj\n"


def pdf(size: int) -> bytes:
    return PDF_HEAD + b"0" * (size - len(PDF_HEAD) - 6) + b"%%EOF\n"


def regulation_id(db) -> int:
    return db.scalar(select(Regulation.id).order_by(Regulation.id).limit(1))


def stored(db, pk) -> list[Attachment]:
    db.rollback()
    return list(db.scalars(select(Attachment).where(Attachment.entity == "regulation",
                                                    Attachment.record_id == pk)))


def post_files(b, pk, *files):
    return b.post(f"/regulation/{pk}/attachments",
                  data={"slot": "files", "file": [(io.BytesIO(d), n) for n, d in files]},
                  content_type="multipart/form-data")


def test_a_9_mb_pdf_is_refused_by_the_8_mb_ceiling_though_the_slot_allows_10(browser, db):
    customs = browser("customs1")
    pk = regulation_id(db)
    before = len(stored(db, pk))
    assert post_files(customs, pk, ("通知全文.pdf", pdf(9 * MB))).status_code == 302
    assert "文件「通知全文.pdf」超过 8 MB 的大小限制" in flashes(customs)
    assert len(stored(db, pk)) == before
    # just under the ceiling is accepted
    assert post_files(customs, pk, ("通知全文.pdf", pdf(8 * MB - 1024))).status_code == 302
    assert "上传成功" in flashes(customs)
    assert len(stored(db, pk)) == before + 1


def test_the_api_refuses_a_9_mb_pdf_in_the_callers_language(api, db):
    rest = api("customs1")
    pk = regulation_id(db)
    before = len(stored(db, pk))
    resp = rest.post(f"/api/v1/regulation/{pk}/attachments?_l_=en",
                     data={"slot": "files", "file": (io.BytesIO(pdf(9 * MB)), "notice.pdf")},
                     content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "notice.pdf" in resp.json["message"] and "8 MB" in resp.json["message"]
    assert len(stored(db, pk)) == before


def test_the_files_of_one_request_together_stay_under_the_ceiling(browser, db):
    customs = browser("customs1")
    pk = regulation_id(db)
    before = len(stored(db, pk))
    post_files(customs, pk, ("第一部分.pdf", pdf(5 * MB)), ("第二部分.pdf", pdf(5 * MB)))
    assert "本次上传的文件合计超过 8 MB 的大小限制" in flashes(customs)
    assert len(stored(db, pk)) == before  # neither is kept


def test_control_characters_are_stripped_from_file_names(browser, api, db):
    customs = browser("customs1")
    pk = regulation_id(db)
    post_files(customs, pk, ("合同\x00正本\u202egpj.pdf", pdf(2048)))
    assert "上传成功" in flashes(customs)
    rest = api("customs1")
    resp = rest.post(f"/api/v1/regulation/{pk}/attachments",
                     data={"slot": "files",
                           "file": (io.BytesIO(pdf(2048)), "../../批复\x07\x1b.pdf")},
                     content_type="multipart/form-data")
    assert resp.status_code == 201 and resp.json["filename"] == "批复.pdf"
    names = sorted(a.filename for a in stored(db, pk))
    assert "合同正本gpj.pdf" in names and "批复.pdf" in names
    for att in stored(db, pk):
        assert not any(ord(c) < 32 or c == "\u202e" for c in att.filename)
        resp = customs.get(f"/regulation/{pk}/attachments/{att.id}")
        assert resp.status_code == 200
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert not any(ord(c) < 32 for c in disposition)


def test_a_long_name_is_shortened_to_200_characters_and_keeps_its_extension(browser, db):
    customs = browser("customs1")
    pk = regulation_id(db)
    long_name = "关于进一步规范进口旧机电产品装运前检验监督管理工作的通知" * 10 + ".pdf"
    assert len(long_name) > 200
    post_files(customs, pk, (long_name, pdf(2048)))
    assert "上传成功" in flashes(customs)
    att = max(stored(db, pk), key=lambda a: a.id)
    assert len(att.filename) == 200 and att.filename.endswith(".pdf")
    assert att.filename.startswith("关于进一步规范进口旧机电产品")
    resp = customs.get(f"/regulation/{pk}/attachments/{att.id}")
    assert resp.status_code == 200 and ".pdf" in resp.headers["Content-Disposition"]


def test_a_stored_name_is_cleaned_whatever_path_writes_it():
    """The model itself cleans the name (imports, scripts and data fixes too)."""
    att = Attachment(entity="regulation", record_id=1, slot="files", filename="a\r\nb\x00.pdf",
                     kind="pdf", size=1, data=b"x")
    assert att.filename == "ab.pdf"
