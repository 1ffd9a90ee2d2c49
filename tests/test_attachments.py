"""附件: ≤ 1 MB, checked by content not by name, only after the first 暂存, in scope."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.engine.attachments import Attachment, sniff

from .helpers import flashes, new_draft

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(b, pk, name, data):
    return b.post(f"/me_licence_application/{pk}/attachments",
                  data={"slot": "files", "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def count(db, pk=None):
    db.rollback()
    q = select(func.count()).select_from(Attachment)
    if pk is not None:
        q = q.where(Attachment.record_id == pk)
    return db.scalar(q)


def test_a_pdf_is_stored_listed_and_downloaded(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    assert upload(b, pk, "进口合同.pdf", PDF).status_code == 302
    assert "上传成功" in flashes(b)
    att = db.scalar(select(Attachment).where(Attachment.record_id == pk))
    assert (att.filename, att.kind, att.size, att.slot) == ("进口合同.pdf", "pdf", len(PDF), "files")
    html = b.get(f"/me_licence_application/{pk}").get_data(as_text=True)
    assert "进口合同.pdf" in html
    resp = b.get(f"/me_licence_application/{pk}/attachments/{att.id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Type"] == "application/pdf"


def test_a_file_over_one_megabyte_is_refused(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    big = PDF + b"0" * (1536 * 1024)
    upload(b, pk, "扫描件.pdf", big)
    assert "文件「扫描件.pdf」超过 1 MB 的大小限制" in flashes(b)
    assert count(db, pk) == 0


def test_a_pdf_renamed_exe_is_refused(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    upload(b, pk, "合同.exe", PDF)
    assert "文件「合同.exe」的扩展名与文件内容（PDF）不符" in flashes(b)
    assert count(db, pk) == 0


def test_a_program_renamed_pdf_is_refused(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    upload(b, pk, "合同.pdf", EXE)
    assert "文件「合同.pdf」的内容不是允许的类型" in flashes(b)
    assert count(db, pk) == 0


def test_content_detection():
    assert sniff(PDF) == "pdf" and sniff(EXE) == "exe" and sniff(PNG) == "png"
    assert sniff(b"hello world") is None


def test_no_upload_once_submitted_but_download_still_works(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    upload(b, pk, "a.png", PNG)
    from .helpers import add_goods

    add_goods(b, pk)
    b.post(f"/me_licence_application/{pk}/do/declare")
    upload(b, pk, "b.png", PNG)
    assert "当前状态下不能上传「附件」" in flashes(b)
    assert count(db, pk) == 1
    att = db.scalar(select(Attachment).where(Attachment.record_id == pk))
    assert b.get(f"/me_licence_application/{pk}/attachments/{att.id}").status_code == 200
    b.post(f"/me_licence_application/{pk}/attachments/{att.id}/delete")
    assert "当前状态下不能删除附件" in flashes(b)
    assert count(db, pk) == 1
    # the commerce officer reading the application may download it too
    assert browser("commerce1").get(
        f"/me_licence_application/{pk}/attachments/{att.id}").status_code == 200


def test_attachments_are_not_copied(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    upload(b, pk, "a.png", PNG)
    resp = b.post(f"/me_licence_application/{pk}/do/copy")
    new_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert count(db, pk) == 1 and count(db, new_id) == 0


def test_deleting_a_record_deletes_its_files(browser, db):
    b = browser("enterprise1")
    pk = new_draft(b)
    upload(b, pk, "a.png", PNG)
    b.post(f"/me_licence_application/{pk}/do/delete")
    assert count(db, pk) == 0


def test_api_upload_checks_the_same_rules(api, db):
    c = api("enterprise1")
    pk = c.post("/api/v1/me_licence_application/", json={"agent_name": "王建国"}).json["id"]
    resp = c.post(f"/api/v1/me_licence_application/{pk}/attachments",
                  data={"slot": "files", "file": (io.BytesIO(PDF + b"0" * 1_600_000), "x.pdf")},
                  content_type="multipart/form-data")
    assert resp.status_code == 422 and "超过 1 MB" in resp.json["message"]
    resp = c.post(f"/api/v1/me_licence_application/{pk}/attachments",
                  data={"slot": "files", "file": (io.BytesIO(PDF), "x.pdf")},
                  content_type="multipart/form-data")
    assert resp.status_code == 201
    aid = resp.json["id"]
    listing = c.get(f"/api/v1/me_licence_application/{pk}/attachments").json["result"]
    assert [a["filename"] for a in listing] == ["x.pdf"]
    assert c.get(f"/api/v1/me_licence_application/{pk}/attachments/{aid}").data == PDF
    assert c.delete(f"/api/v1/me_licence_application/{pk}/attachments/{aid}").status_code == 200
    assert count(db, pk) == 0
