"""公告消息 for every role, 待办 (what waits for me), and the e-mail/SMS outbox."""

from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import null, select, update

from app.engine import notify
from app.engine.notify import Notice, OutboxMessage

from .helpers import created_id, get


def test_home_page_shows_notices_and_todo(browser):
    html = browser("commerce1").get("/").get_data(as_text=True)
    assert "关于启用“单一窗口”业务管理后台的公告" in html
    assert "待办事项" in html
    # 1 application under review (demo) waits for the commerce officer
    assert "/me_licence_application/?status=under_review" in html


def test_messages_to_one_company_are_not_shown_to_another(browser):
    own = browser("enterprise1").get("/").get_data(as_text=True)
    other = browser("enterprise2").get("/").get_data(as_text=True)
    assert "机电产品进口单证申请已审批通过" in own
    assert "机电产品进口单证申请已审批通过" not in other


def test_notice_list_search_and_detail(browser, db):
    b = browser("enterprise2")
    html = b.get("/notice/?_searched=1&title=有效期").get_data(as_text=True)
    assert "机电产品自动进口许可证有效期说明" in html and "启用" not in html
    n = db.scalar(select(Notice).where(Notice.title == "机电产品自动进口许可证有效期说明"))
    assert b.get(f"/notice/{n.id}").status_code == 200
    private = db.scalar(select(Notice).where(Notice.org_id.is_not(None)))
    assert b.get(f"/notice/{private.id}").status_code == 404


def test_only_administrators_and_customs_publish(browser, db):
    b = browser("enterprise1")
    assert b.post("/notice/new/do/save", data={"title": "x", "kind": "公告"}).status_code == 302
    db.rollback()
    assert db.scalar(select(Notice).where(Notice.title == "x")) is None
    admin = browser("admin")
    admin.post("/notice/new/do/save", data={"title": "系统维护通知", "kind": "公告",
                                            "content": "周六 22:00-24:00 维护"})
    db.rollback()
    n = db.scalar(select(Notice).where(Notice.title == "系统维护通知"))
    assert n is not None and n.publisher and n.published_at is not None
    assert "系统维护通知" in browser("enterprise2").get("/").get_data(as_text=True)


def test_a_decision_queues_an_email_to_the_company(browser, db):
    browser("commerce1").post("/me_licence_application/2/do/return", data={"opinion": "补充合同"})
    db.rollback()
    msg = db.scalar(select(OutboxMessage).where(OutboxMessage.body.contains("审批意见：补充合同")))
    assert msg is not None
    assert msg.recipient == "trade@qinchuan-precision.example" and msg.status == "pending"
    assert "补充合同" in msg.body


def test_outbox_retries_while_the_sender_is_down_and_then_delivers(app, db):
    sent = []

    class Flaky:
        down = True

        def send(self, msg):
            if Flaky.down:
                raise notify.SenderDown("connection refused")
            sent.append(msg.recipient)

    app.config["NOTIFY_SENDERS"] = {"email": "tests.test_notifications.FLAKY"}
    globals()["FLAKY"] = Flaky
    with app.app_context():
        from app import db as _db

        session = _db.session
        notify.queue(session, "email", "x@example.cn", "主题", "正文")
        session.commit()
        counts = notify.deliver_pending(session)
        assert counts["retry"] >= 1 and counts["sent"] == 0 and sent == []
        msg = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "x@example.cn"))
        assert msg.status == "pending" and msg.attempts == 1 and "refused" in msg.last_error
        assert msg.next_attempt_at > dt.datetime.now()
        # not due yet: nothing happens
        assert notify.deliver_pending(session) == {"sent": 0, "retry": 0, "failed": 0}
        msg.next_attempt_at = dt.datetime.now() - dt.timedelta(seconds=1)
        session.commit()
        Flaky.down = False
        assert notify.deliver_pending(session)["sent"] >= 1
        assert "x@example.cn" in sent
        assert session.get(OutboxMessage, msg.id).status == "sent"


__all__ = ["get"]


def test_a_notice_names_its_record_and_publisher_in_the_readers_language(browser, db):
    """关联单证类型 by the record type's name, 关联单证 by its number, 系统 translated — never
    the resource name, the id or the stored Chinese marker."""
    from models.coo import CooCoordination

    notice = db.scalars(select(Notice).where(Notice.entity == "coo_coordination")
                        .order_by(Notice.id)).first()
    coord = get(db, CooCoordination, notice.record_id)
    b = browser("enterprise1")
    html = b.get(f"/notice/{notice.id}").get_data(as_text=True)
    assert "享惠受阻协调申请" in html and coord.coord_no in html and ">系统<" in html
    assert b.get("/lang/en").status_code == 302
    html = b.get(f"/notice/{notice.id}").get_data(as_text=True)
    assert "Preference Obstruction Coordination Application" in html
    assert coord.coord_no in html and ">coo_coordination<" not in html and "系统" not in html
    assert ">System<" in html
    assert ">System<" in b.get("/notice/?_searched=1").get_data(as_text=True)


def test_customs_edit_and_delete_only_the_notices_their_office_published(browser, api, db):
    """Every customs officer sees the announcements to everybody; only the publishing office
    (and an administrator) may change or delete one — not the office it was sent to, nor
    another office."""
    announcement = db.scalar(select(Notice).where(Notice.title == "机电产品自动进口许可证有效期说明"))
    b = browser("customs1")
    form = b.get(f"/notice/{announcement.id}").get_data(as_text=True)
    assert 'data-transition="save"' not in form  # no buttons it may not press
    assert 'data-transition="delete"' not in form
    b.post(f"/notice/{announcement.id}/do/save", data={"title": "改", "kind": "公告"})
    b.post(f"/notice/{announcement.id}/do/delete")
    c = api("customs1")
    resp = c.put(f"/api/v1/notice/{announcement.id}", json={"title": "改", "version": 1})
    assert resp.status_code == 403 and "其他单位" in resp.json["message"]
    assert c.post(f"/api/v1/notice/{announcement.id}/action/delete").status_code == 403
    resp = c.post("/api/v1/notice/action/delete", json={"ids": [announcement.id]})
    assert not resp.json["results"][0]["ok"]
    db.expire_all()
    assert db.get(Notice, announcement.id).title == "机电产品自动进口许可证有效期说明"

    b.post("/notice/new/do/save", data={"title": "海关公告：节假日通关安排", "kind": "公告"})
    db.rollback()
    own = db.scalar(select(Notice).where(Notice.title == "海关公告：节假日通关安排"))
    assert own is not None and own.publisher_org_id is not None
    assert 'data-transition="delete"' in b.get(f"/notice/{own.id}").get_data(as_text=True)
    assert c.put(f"/api/v1/notice/{own.id}", json={"content": "五一 8:00-20:00", "version": 1}).status_code == 200
    # an administrator keeps every notice in hand
    assert api("admin").put(f"/api/v1/notice/{announcement.id}",
                            json={"content": "有效期 6 个月", "version": 1}).status_code == 200


# --- notices and e-mails in the reader's language ----------------------------------------------
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _row(page: str, pk: int) -> str:
    """One row of a generated list (its cells' text as the reader sees it)."""
    m = re.search(rf'<tr data-id="{pk}".*?</tr>', page, re.S)
    assert m, f"no row {pk}"
    return html.unescape(m.group(0))


def _english(b):
    assert b.get("/lang/en").status_code == 302
    return b


def test_a_system_notice_reads_in_each_readers_language_and_mails_abroad_in_english(browser,
                                                                                      db):
    """Customs, working in Chinese, asks an overseas institution for its annual report: the
    institution's people read the notice in the language they chose, and its e-mail goes out
    in English — the institution is abroad."""
    from models.base import Organisation
    from models.used_me import UeAnnualReport

    inst = db.scalar(select(Organisation).where(Organisation.email == "pre-shipment@jmi.example"))
    assert inst.country == "JPN"
    customs = browser("customs1")
    pk = created_id(customs.post("/ue_annual_report/new/do/save", data={
        "institution_id": str(inst.id), "year": str(dt.date.today().year - 3)}))
    customs.post(f"/ue_annual_report/{pk}/do/request")
    db.rollback()
    report = get(db, UeAnnualReport, pk)
    assert report.status == "requested"
    notice = db.scalar(select(Notice).where(Notice.entity == "ue_annual_report",
                                            Notice.record_id == pk))
    chinese = f"年度报告 {report.report_no}，请及时处理"
    english = f"Annual report {report.report_no}: please deal with it promptly"

    # stored as the default language writes it, whoever acted
    assert (notice.title, notice.content) == ("年度报告", chinese)
    zh = browser("institution1")
    page = html.unescape(zh.get(f"/notice/{notice.id}").get_data(as_text=True))
    assert chinese in page and english not in page
    assert "年度报告" in _row(zh.get("/notice/?_searched=1").get_data(as_text=True), notice.id)

    en = _english(browser("institution1"))
    page = html.unescape(en.get(f"/notice/{notice.id}").get_data(as_text=True))
    assert english in page and "请及时处理" not in page
    assert "<small>Annual report</small>" in page  # the heading names it in English too
    row = _row(en.get("/notice/?_searched=1").get_data(as_text=True), notice.id)
    assert "Annual report" in row and not CJK.search(row), row

    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == inst.email,
                                                 OutboxMessage.body.contains(report.report_no)))
    assert (mail.subject, mail.body) == ("Annual report", english)


def test_a_company_in_china_is_mailed_in_chinese_and_read_in_english(browser, db):
    """A notice's parameters typed by a person (the opinion) stay as typed; the message around
    them follows the reader."""
    browser("commerce1").post("/me_licence_application/2/do/return", data={"opinion": "补充合同"})
    db.rollback()
    notice = db.scalar(select(Notice).where(Notice.content.contains("审批意见：补充合同")))
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.body == notice.content))
    assert mail.recipient == "trade@qinchuan-precision.example"
    assert mail.subject == "机电产品进口单证申请被退回"
    en = _english(browser("enterprise1"))
    page = html.unescape(en.get(f"/notice/{notice.id}").get_data(as_text=True))
    assert "M&E product import licence application returned" in page
    assert "review opinion: 补充合同" in page and "审批意见" not in page


def test_notices_written_by_hand_and_older_ones_read_as_written(browser, api, db):
    """An office's own notice is shown as it wrote it, in every language; an administrator's
    correction of a system notice likewise; a system notice made before its messages were kept
    shows its stored content (its title, a message of its own, translated)."""
    browser("admin").post("/notice/new/do/save", data={
        "title": "系统维护通知", "kind": "公告", "content": "周六 22:00-24:00 维护"})
    db.rollback()
    own = db.scalar(select(Notice).where(Notice.title == "系统维护通知"))
    en = _english(browser("enterprise1"))
    page = html.unescape(en.get(f"/notice/{own.id}").get_data(as_text=True))
    assert "系统维护通知" in page and "周六 22:00-24:00 维护" in page

    approved = db.scalars(select(Notice).where(Notice.title == "机电产品进口单证申请已审批通过")
                          .order_by(Notice.id)).all()
    assert len(approved) >= 2
    corrected, older = approved[0], approved[1]
    page = html.unescape(en.get(f"/notice/{corrected.id}").get_data(as_text=True))
    assert "M&E product import licence application approved" in page and "Licence No." in page
    resp = api("admin").put(f"/api/v1/notice/{corrected.id}", json={
        "content": "许可证有效期至年底（更正）", "version": corrected.version})
    assert resp.status_code == 200, resp.json
    page = html.unescape(en.get(f"/notice/{corrected.id}").get_data(as_text=True))
    assert "许可证有效期至年底（更正）" in page and "Licence No." not in page
    assert "M&E product import licence application approved" in page  # the title untouched

    db.rollback()
    db.execute(update(Notice).where(Notice.id == older.id).values(message=null()))
    db.commit()
    page = html.unescape(en.get(f"/notice/{older.id}").get_data(as_text=True))
    assert older.content in page
    assert "M&E product import licence application approved" in page


def test_home_shows_system_notices_in_the_readers_language(browser):
    b = browser("enterprise1")
    assert b.get("/lang/en").status_code == 302
    page = b.get("/").get_data(as_text=True)
    assert "M&amp;E product import licence application approved" in page
    assert "机电产品进口单证申请已审批通过" not in page
