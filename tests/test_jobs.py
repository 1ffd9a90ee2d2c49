"""Background jobs through HTTP (app/engine/jobs.py): a list's 导出 beyond its limit, 批量打印 of
many records and the 导入 of a large file become jobs with their progress, result file and
errors on 我的任务; one user never reaches another's job.  In-process here (no REDIS_URL); the
Redis path and a job killed mid-way are in tests/test_jobs_redis.py."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pdfplumber
from sqlalchemy import func, select

from models.me_licence import MeProduct

from .helpers import wait_job
from .test_import import _fill


def _job_page(b, resp):
    assert resp.status_code == 302, resp.status_code
    where = resp.headers["Location"]
    assert re.search(r"/jobs/\d+$", where), where
    s, html = b.text(where)
    assert s == 200
    return where, html


def test_a_large_export_is_a_job_whose_file_is_downloaded_from_my_jobs(app, browser, db):
    app.config["EXPORT_INLINE_ROWS"] = 2
    b = browser("enterprise1")
    listed = b.text("/me_licence_application/")[1]
    rows = int(re.search(r"共\s*(\d+)\s*条", listed).group(1))
    assert rows > 2
    where, html = _job_page(b, b.get("/me_licence_application/export"))
    assert "机电产品进口单证申请 导出" in html and "job-progress" in html
    status = wait_job(b, html)
    assert status["status"] == "done", status
    assert status["message"] == f"导出 {rows} 条" and status["done"] == rows
    s, html = b.text(where)
    assert "已完成" in html and "机电产品进口单证申请.xlsx" in html
    resp = b.get(f"{where}/result")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert _rows(resp.data) == rows  # one row per record of the list
    # 我的任务 lists it; another user (or nobody) never reaches it
    s, mine = b.text("/jobs/")
    assert "我的任务" in mine and "机电产品进口单证申请 导出" in mine
    other = browser("enterprise2")
    for path in (where, f"{where}/status", f"{where}/result"):
        assert other.get(path).status_code == 404, path
    for path in ("/jobs/72054927189158719567500935168", "/jobs/72054927189158719567500935168/status"):
        assert b.get(path).status_code == 404, path  # no id can be that number
    assert "机电产品进口单证申请 导出" not in other.text("/jobs/")[1]
    anon = app.test_client()
    assert anon.get(f"{where}/status").status_code == 401
    assert anon.get(where).status_code == 302
    # a short export still answers at once
    app.config["EXPORT_INLINE_ROWS"] = 10_000
    resp = b.get("/me_licence_application/export")
    assert resp.status_code == 200 and resp.mimetype.endswith("sheet")


def test_an_export_job_keeps_to_the_users_scope_and_filters(app, browser, db):
    app.config["EXPORT_INLINE_ROWS"] = 0
    b = browser("enterprise1")
    _where, html = _job_page(b, b.get("/me_licence_application/export?_ids=1,2,3,4,5,6,7,8"))
    status = wait_job(b, html)
    assert status["status"] == "done"
    data = b.get(f"/jobs/{status['id']}/result").data
    exported = _rows(data)
    assert 0 < exported < 8, "only enterprise1's own of the ids asked for"
    # a screen the user may not open is refused before any job starts
    jobs_before = db.scalar(select(func.count()).select_from(_job_table()))
    assert b.get("/me_licence_application/export?_screen=nope").status_code == 404
    db.rollback()
    assert db.scalar(select(func.count()).select_from(_job_table())) == jobs_before


def _rows(xlsx: bytes) -> int:
    """Records in an export's first sheet (under its labels)."""
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0]
    return sum(1 for row in sheet.iter_rows(min_row=2, values_only=True) if any(row))


def _job_table():
    from app.engine.jobs import Job

    return Job


def test_a_batch_print_of_many_records_is_a_job(app, browser):
    app.config["PRINT_INLINE_RECORDS"] = 2
    b = browser("enterprise1")
    where, html = _job_page(b, b.get("/me_licence_application/print?ids=1,3,5"))
    status = wait_job(b, html)
    assert status["status"] == "done" and status["message"] == "打印 3 份", status
    resp = b.get(f"{where}/result")
    assert resp.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(resp.data)) as pdf:
        assert len(pdf.pages) >= 3
    # a record outside the user's scope among them: refused at once, no job
    resp = b.get("/me_licence_application/print?ids=1,3,999999")
    assert resp.status_code == 404


def test_a_rest_batch_print_of_many_records_is_a_job_too(app, api):
    """The REST batch print holds the same limit as the screen's: above it the answer is
    202 with the job to follow (GET /api/v1/job/<id>) and its PDF when done; another user
    sees no such job; a record outside the scope is refused at once."""
    import time

    app.config["PRINT_INLINE_RECORDS"] = 2
    ent = api("enterprise1")
    resp = ent.get("/api/v1/me_licence_application/print?ids=1,3,5")
    assert resp.status_code == 202, resp.status_code
    body = resp.json
    assert resp.headers["Location"].endswith(body["status_url"])
    assert body["status_url"] == f"/api/v1/job/{body['job_id']}" and body["message"]
    deadline = time.monotonic() + 60
    while True:
        status = ent.get(body["status_url"])
        assert status.status_code == 200, status.get_data(as_text=True)
        if status.json["finished"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status.json["status"] == "done" and status.json["message"] == "打印 3 份"
    assert status.json["result_url"] == f"{body['status_url']}/result"
    pdf = ent.get(status.json["result_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(pdf.data)) as doc:
        assert len(doc.pages) >= 3
    # another user's job does not exist for them; a bad id is a 404 too
    other = api("enterprise2")
    assert other.get(body["status_url"]).status_code == 404
    assert other.get(status.json["result_url"]).status_code == 404
    assert ent.get("/api/v1/job/999999").status_code == 404
    assert ent.get("/api/v1/job/72054927189158719567500935168").status_code == 404
    # a record outside the user's scope among them: refused, no job
    resp = ent.get("/api/v1/me_licence_application/print?ids=1,3,999999")
    assert resp.status_code == 404 and "job_id" not in resp.json
    # within the limit: the PDF at once
    resp = ent.get("/api/v1/me_licence_application/print?ids=1,3")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"


def test_a_large_import_is_a_job_all_or_nothing(app, browser, db):
    app.config["IMPORT_INLINE_BYTES"] = 10
    com = browser("commerce1")
    template = com.get("/me_product/import/template").data
    before = db.scalar(select(func.count()).select_from(MeProduct))
    bad = _fill(template, [
        {"year": 2026, "hs_code": "8460290000", "name": "其他磨床", "unit": "001",
         "category": "A"},
        {"year": 2026, "hs_code": "84602", "name": "短编码", "unit": "001", "category": "A"},
    ])
    resp = com.post("/me_product/import", data={"file": (io.BytesIO(bad), "catalogue.xlsx")},
                    content_type="multipart/form-data")
    where, html = _job_page(com, resp)
    status = wait_job(com, html)
    assert status["status"] == "failed"
    assert "导入失败，没有导入任何数据" in status["error"] and "第 4 行" in status["error"] \
        and "商品编码应为 10 位数字" in status["error"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MeProduct)) == before
    s, html = com.text(where)
    assert "重新运行" in html and "商品编码应为 10 位数字" in html
    good = _fill(template, [
        {"year": 2026, "hs_code": "8460290000", "name": "其他磨床", "unit": "001",
         "category": "A"},
        {"year": 2026, "hs_code": "8461500000", "name": "锯床", "unit": "001", "category": "A"},
    ])
    resp = com.post("/me_product/import", data={"file": (io.BytesIO(good), "catalogue.xlsx")},
                    content_type="multipart/form-data")
    _where, html = _job_page(com, resp)
    status = wait_job(com, html)
    assert status["status"] == "done" and status["message"] == "导入成功：2 条", status
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MeProduct)) == before + 2


def test_a_failed_import_job_speaks_english_without_chinese_punctuation(app, browser):
    """The rows' errors of a failed import job are in the starter's language, and so is what
    joins them: not （sheet） and ；."""
    app.config["IMPORT_INLINE_BYTES"] = 10
    com = browser("commerce1")
    com.get("/lang/en")
    template = com.get("/me_product/import/template").data
    bad = _fill(template, [
        {"year": 2026, "hs_code": "84602", "name": "短编码", "unit": "001", "category": "A"},
    ])
    resp = com.post("/me_product/import", data={"file": (io.BytesIO(bad), "catalogue.xlsx")},
                    content_type="multipart/form-data")
    _where, html = _job_page(com, resp)
    error = wait_job(com, html)["error"]
    row = next(line for line in error.splitlines() if line.startswith("Row 3"))
    assert not set(row) & set("（）；：「」"), row
    assert row.startswith("Row 3 (Product list): "), row


def test_only_a_failed_job_is_run_again(app, browser, db):
    app.config["EXPORT_INLINE_ROWS"] = 0
    b = browser("enterprise1")
    where, html = _job_page(b, b.get("/me_licence_application/export"))
    assert wait_job(b, html)["status"] == "done"
    resp = b.post(f"{where}/rerun", data={"csrf_token": b.csrf()})
    assert resp.status_code == 302
    s, html = b.text(where)
    assert "只有失败或已中断的任务可以重新运行" in html
    assert json.loads(b.get(f"{where}/status").data)["status"] == "done"
    # another user's job: 404, never re-run
    other = browser("enterprise2")
    assert other.post(f"{where}/rerun", data={"csrf_token": other.csrf()}).status_code == 404


def test_my_jobs_is_in_every_users_menu(browser):
    for user in ("enterprise1", "customs1", "commerce1", "admin"):
        s, html = browser(user).text("/")
        assert 'id="menu-jobs"' in html and "我的任务" in html, user
    s, html = browser("enterprise1").text("/jobs/")
    assert s == 200 and ("还没有后台任务" in html or "jobs-table" in html)


def test_a_job_left_queued_by_a_process_that_is_gone_runs_again(app, browser, db):
    """In-process, a job still queued long after it was submitted was held by a process that
    stopped (a restart): it shows 已中断 and 重新运行 runs it."""
    import datetime as dt

    from app.engine.jobs import Job
    from models.base import AppUser

    user = db.scalar(select(AppUser).where(AppUser.username == "enterprise1"))
    long_ago = dt.datetime.now() - dt.timedelta(hours=1)
    job = Job(name="list_export", label="机电产品进口单证申请 导出", user_id=user.id,
              lang="zh_CN", args=json.dumps({"resource": "me_licence_application",
                                             "params": {}}),
              status="queued", created_at=long_ago, queued_at=long_ago)
    db.add(job)
    db.commit()
    b = browser("enterprise1")
    assert json.loads(b.get(f"/jobs/{job.id}/status").data)["status"] == "stale"
    s, html = b.text(f"/jobs/{job.id}")
    assert "已中断" in html and "重新运行" in html
    assert b.post(f"/jobs/{job.id}/rerun", data={"csrf_token": b.csrf()}).status_code == 302
    status = wait_job(b, b.text(f"/jobs/{job.id}")[1])
    assert status["status"] == "done" and status["result"], status
