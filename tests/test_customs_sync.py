"""智慧云报关 数据同步 through HTTP: 报关单同步 按票 / 按天 over the exchange folder (申报's
messages sent to the outbox, DecMessage files read from the inbox, the same sync twice changes
nothing, a declaration edited here is a conflict), the customs receipts (out of order, unknown
declaration, another company's) with their history and 打印通知书, and the hostile files moved
to rejected/ with their reason — another company's files left in the shared inbox for it, a
receipt with a malformed or taken 海关编号 rejected alone."""

from __future__ import annotations

import io
import json
import os
import re
import threading

import pdfplumber
import pytest
from sqlalchemy import func, select

from models.base import Organisation
from models.customs_declaration import CdDeclaration
from models.customs_sync import CdReceipt

from .conftest import PG_URL
from .helpers import created_id, wait_job

DRAFT, UNDER_REVIEW, RETURNED, PASSED, RELEASED, BILL_ACCEPTED, OTHER_DRAFT = range(1, 8)
API = "/api/v1/cd_declaration"
OWN_SCC = "91610131MA6W2K3L3A"


def _sync(b, **data):
    form = {"mode": "ticket", "ent_category": "D"}
    form.update(data)
    pk = created_id(b.post("/cd_dec_sync/new/do/run", data=form))
    _s, html = b.text(f"/cd_dec_sync/{pk}")
    return pk, html


def _sync_day(b, **data):
    """按天: a background job; the run's page shows its progress until it ends."""
    pk, html = _sync(b, mode="day", **data)
    assert "job-progress" in html  # 同步中, or 已同步 when the job was quicker than the page
    status = wait_job(b, html)
    assert status["status"] == "done", status
    _s, html = b.text(f"/cd_dec_sync/{pk}")
    assert "已同步" in html
    return pk, html


def _message(api, pk, seq_no=None, scc=None):
    xml = api("enterprise1").get(f"{API}/{pk}/message").get_data(as_text=True)
    if seq_no:  # another declaration of the single window: its own numbers
        xml = re.sub(r"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>{seq_no}</SeqNo>", xml)
        xml = re.sub(r"<PreEntryId>[^<]*</PreEntryId>",
                     f"<PreEntryId>61012026{seq_no[-10:]}</PreEntryId>", xml)
        xml = re.sub(r"<EntryId>[^<]*</EntryId>", f"<EntryId>90012026{seq_no[-10:]}</EntryId>",
                     xml)
    if scc:
        xml = xml.replace(OWN_SCC, scc)
    return xml.encode("utf-8")


def _receipt(seq_no, channel, at, note="", entry_id="", scc=OWN_SCC):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<DecReceipt xmlns="http://www.chinaport.gov.cn/dec"><SeqNo>{seq_no}</SeqNo>'
            f"<EntryId>{entry_id}</EntryId><TradeCodeScc>{scc}</TradeCodeScc>"
            f"<Channel>{channel}</Channel><NoticeDate>{at}</NoticeDate><Note>{note}</Note>"
            f"</DecReceipt>").encode()


def _count(db, model=CdDeclaration):
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def _pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def test_the_sync_screen_is_the_manuals(browser, exchange):
    b = browser("enterprise1")
    s, html = b.text("/cd_dec_sync/new")
    assert s == 200
    for label in ("按票同步", "按天同步", "统一编号", "企业类别", "报关单类型", "最近操作时间",
                  "境内收发货人", "确定"):
        assert label in html, label
    s, home = b.text("/")
    assert "数据同步" in home and "报关单同步" in home


def test_a_ticket_is_synced_once_and_the_same_sync_twice_changes_nothing(api, browser, db,
                                                                        exchange):
    (exchange / "inbox" / "a.xml").write_bytes(_message(api, RELEASED, "E20269999999999991"))
    before = _count(db)
    b = browser("enterprise1")
    _pk, html = _sync(b, seq_no="E20269999999999991")
    assert "新增报关单 E20269999999999991" in html
    assert _count(db) == before + 1
    assert (exchange / "done" / "a.xml").exists() and not (exchange / "inbox" / "a.xml").exists()
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == "E20269999999999991"))
    assert dec.status == "draft" and dec.company_id == db.get(CdDeclaration, RELEASED).company_id
    version = dec.version
    # the same message again (sent again, its signature time later): nothing changes
    (exchange / "inbox" / "a.xml").write_bytes(_message(api, RELEASED, "E20269999999999991"))
    _pk, html = _sync(b, seq_no="E20269999999999991")
    assert "报关单 E20269999999999991 未变化" in html
    assert _count(db) == before + 1
    db.rollback()
    assert db.get(CdDeclaration, dec.id).version == version
    # a ticket not asked for stays in the inbox
    (exchange / "inbox" / "b.xml").write_bytes(_message(api, RELEASED, "E20269999999999992"))
    _sync(b, seq_no="E20269999999999993")
    assert (exchange / "inbox" / "b.xml").exists()


def test_a_changed_message_updates_unless_edited_here(api, browser, db, exchange):
    b = browser("enterprise1")
    (exchange / "inbox" / "a.xml").write_bytes(_message(api, RELEASED, "E20269999999999991"))
    _sync(b, seq_no="E20269999999999991")
    changed = _message(api, RELEASED, "E20269999999999991").replace(
        b"<BillNo>", b"<BillNo>NEW")
    (exchange / "inbox" / "a.xml").write_bytes(changed)
    _pk, html = _sync(b, seq_no="E20269999999999991")
    assert "更新报关单" in html
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == "E20269999999999991"))
    assert dec.bill_no.startswith("NEW")
    # edited here since: the next change is a conflict, not an overwrite
    resp = b.post(f"/cd_declaration/{dec.id}/do/save", data={"bill_no": "EDITED-HERE"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    (exchange / "inbox" / "a.xml").write_bytes(changed.replace(b"<BillNo>NEW", b"<BillNo>N2"))
    _pk, html = _sync(b, seq_no="E20269999999999991")
    assert "冲突" in html
    db.rollback()
    assert db.get(CdDeclaration, dec.id).bill_no == "EDITED-HERE"


def test_by_day_selects_the_sign_date_and_the_consignor(api, browser, db, exchange):
    xml = _message(api, RELEASED, "E20269999999999991")
    xml = re.sub(rb"<SignDate>\d+</SignDate>", b"<SignDate>2026120310000000</SignDate>", xml)
    (exchange / "inbox" / "a.xml").write_bytes(xml)
    b = browser("enterprise1")
    _pk, html = _sync_day(b, op_from="2026-12-04", op_to="2026-12-05")
    assert (exchange / "inbox" / "a.xml").exists()
    _pk, html = _sync_day(b, op_from="2026-12-01", op_to="2026-12-03", trade_code="0000000000")
    assert (exchange / "inbox" / "a.xml").exists()
    _pk, html = _sync_day(b, op_from="2026-12-01", op_to="2026-12-03")
    assert "新增报关单" in html and not (exchange / "inbox" / "a.xml").exists()
    # 按天 needs its dates, in order
    resp = b.post("/cd_dec_sync/new/do/run", data={"mode": "day", "ent_category": "D",
                                                   "op_from": "2026-12-03",
                                                   "op_to": "2026-12-01"})
    assert resp.status_code in (200, 422) and "结束日期不能早于开始日期" in resp.get_data(
        as_text=True)


def test_declare_sends_the_message_to_the_outbox(api, browser, exchange):
    resp = api("enterprise1").post(f"{API}/{PASSED}/action/declare", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    _pk, html = _sync(browser("enterprise1"), seq_no="X")
    files = sorted(os.listdir(exchange / "outbox"))
    sys_no = api("enterprise1").get(f"{API}/{PASSED}").json["result"]["sys_no"]
    mine = [f for f in files if f.startswith(f"DecMessage-{sys_no}-")]
    assert len(mine) == 1
    assert b"<DecMessage" in (exchange / "outbox" / mine[0]).read_bytes()
    _sync(browser("enterprise1"), seq_no="X")
    assert sorted(os.listdir(exchange / "outbox")) == files  # sent once


def _declared_seq_no(api, db):
    resp = api("enterprise1").post(f"{API}/{PASSED}/action/declare", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.rollback()
    return db.get(CdDeclaration, PASSED).seq_no


def test_receipts_move_the_declaration_even_out_of_order(api, browser, db, exchange):
    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    inbox.joinpath("r1.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                  "900120260000999001"))
    inbox.joinpath("r2.xml").write_bytes(_receipt(seq, "K", "20261203150000", "放行"))
    inbox.joinpath("r3.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    b = browser("enterprise1")
    _pk, html = _sync(b, seq_no="X")
    db.rollback()
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "released" and dec.entry_id == "900120260000999001"
    assert _count(db, CdReceipt) == 3
    # the same receipt again: nothing new
    inbox.joinpath("r2.xml").write_bytes(_receipt(seq, "K", "20261203150000", "放行"))
    _pk, html = _sync(b, seq_no="X")
    assert "回执已接收过" in html and _count(db, CdReceipt) == 3
    inbox.joinpath("r4.xml").write_bytes(_receipt(seq, "J", "20261204090000", "结关"))
    _sync(b, seq_no="X")
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "closed"
    # the history and 打印通知书
    hist = json.dumps(api("enterprise1").get(f"{API}/{PASSED}/history").json,
                      ensure_ascii=False)
    assert "单证审结" in hist and "放行" in hist
    txt = _pdf_text(b.get(f"/cd_declaration/{PASSED}/print/notices").data)
    for word in ("海关入库成功", "审结", "放行", "结关", "2026-12-03"):
        assert word in txt, word


def test_bad_receipts_are_rejected_with_their_reason(api, browser, db, exchange):
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    inbox.joinpath("unknown.xml").write_bytes(_receipt("E20260000000009999", "K",
                                                       "20261203150000"))
    other = db.get(CdDeclaration, OTHER_DRAFT)
    other_scc = db.get(Organisation, other.company_id).uscc
    db.rollback()
    inbox.joinpath("foreign.xml").write_bytes(_receipt(other.seq_no, "K", "20261203150000",
                                                       scc=other_scc))
    inbox.joinpath("foreign-seq.xml").write_bytes(_receipt(other.seq_no, "K",
                                                           "20261203150000"))
    inbox.joinpath("channel.xml").write_bytes(_receipt("E20260000000000005", "Z",
                                                       "20261203150000"))
    _pk, html = _sync(browser("enterprise1"), seq_no="X")
    for name in ("unknown.xml", "foreign-seq.xml", "channel.xml"):
        assert (rejected / name).exists() and (rejected / f"{name}.reason.txt").exists(), name
        assert name in html
    # another company's receipt is that company's: left in the shared inbox, not named
    assert (inbox / "foreign.xml").exists() and not (rejected / "foreign.xml").exists()
    assert "foreign.xml" not in html and other_scc not in html
    for name in ("unknown.xml", "foreign-seq.xml"):  # another's declaration: as unknown
        assert "不存在" in (rejected / f"{name}.reason.txt").read_text(encoding="utf-8")
    assert _count(db, CdReceipt) == 0


def test_hostile_files_are_rejected_and_nothing_is_half_written(api, browser, db, exchange):
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    other = db.get(CdDeclaration, OTHER_DRAFT)
    other_scc = db.get(Organisation, other.company_id).uscc
    db.rollback()
    inbox.joinpath("broken.xml").write_bytes(b"<DecMessage><DecHead>")
    inbox.joinpath("entities.xml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<DecMessage>&x;</DecMessage>")
    inbox.joinpath("unknown-company.xml").write_bytes(
        _message(api, RELEASED, "E20269999999999991", scc="91000000000000000X"))
    inbox.joinpath("foreign-company.xml").write_bytes(
        _message(api, RELEASED, "E20269999999999992", scc=other_scc))
    # a file the size of 1 GB (sparse): refused by its size, never read
    with open(inbox / "huge.xml", "wb") as f:
        f.truncate(1024 * 1024 * 1024)
    before = _count(db)
    _pk, html = _sync(browser("enterprise1"), seq_no="E20269999999999991")
    for name in ("broken.xml", "entities.xml", "unknown-company.xml", "huge.xml"):
        assert (rejected / name).exists(), name
        assert (rejected / f"{name}.reason.txt").read_text(encoding="utf-8").strip(), name
    assert "未读取" in (rejected / "huge.xml.reason.txt").read_text(encoding="utf-8")
    assert "DOCTYPE" in (rejected / "entities.xml.reason.txt").read_text(encoding="utf-8")
    assert "未在本平台注册" in (rejected / "unknown-company.xml.reason.txt").read_text(
        encoding="utf-8")
    # another company's message is left in the shared inbox for it, not named
    assert (inbox / "foreign-company.xml").exists()
    assert not (rejected / "foreign-company.xml").exists()
    assert "foreign-company.xml" not in html and other_scc not in html
    assert _count(db) == before


# --- the shared inbox: another company's files are not this run's ------------------------------
def _inventory_xml(api, seq="Q2026000000000777"):
    xml = api("enterprise1").get("/api/v1/cd_inventory/1/message").get_data(as_text=True)
    assert "<InvtMessage" in xml, xml[:300]
    xml = re.sub(r"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>{seq}</SeqNo>", xml)
    xml = re.sub(r"<BondInvtNo>[^<]*</BondInvtNo>|<BondInvtNo/>",
                 f"<BondInvtNo>QD610126I{seq[-9:]}</BondInvtNo>", xml)
    return xml.encode("utf-8")


def test_another_companys_files_are_left_in_the_inbox_for_it(api, browser, db, exchange):
    """enterprise2's syncs (按票, 按天, 核注清单) skip enterprise1's files — never rejected, never
    named, enterprise1 never revealed — and enterprise1's own sync then reads them."""
    from models.customs_sync import CdDecSync

    seq = _declared_seq_no(api, db)  # enterprise1's declaration, 已申报
    own_seq = db.get(CdDeclaration, OTHER_DRAFT).seq_no  # one of enterprise2's
    db.rollback()
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    message = _message(api, RELEASED, "E20269999999999991")
    files = {
        "e1-receipt.xml": _receipt(seq, "P", "20261203100000", "单证审结"),
        # enterprise1's, though not usable: its own sync says why, not enterprise2's
        "e1-channel.xml": _receipt(seq, "Z", "20261203110000"),
        "e1-date.xml": _receipt(seq, "K", "not-a-date"),
        "e1-message.xml": re.sub(rb"<SignDate>\d+</SignDate>",
                                 b"<SignDate>2026120310000000</SignDate>", message),
        "e1-invalid.xml": message.replace(b"<DecHead>", b"<DecHead><Bogus/>", 1),
        "e1-inventory.xml": _inventory_xml(api),
    }
    for name, data in files.items():
        inbox.joinpath(name).write_bytes(data)
    b2 = browser("enterprise2")
    runs = [_sync(b2, seq_no=own_seq),
            _sync_day(b2, op_from="2026-12-01", op_to="2026-12-31")]
    inv_pk = created_id(b2.post("/cd_inv_sync/new/do/run", data={
        "mode": "ticket", "ent_type": "1", "data_source": "Z7", "ie_flag": "I",
        "number": "Q2026000000000777"}))
    runs.append((None, b2.text(f"/cd_inv_sync/{inv_pk}")[1]))
    assert sorted(os.listdir(inbox)) == sorted(files)
    assert os.listdir(rejected) == []
    for _pk, html in runs:
        assert "拒收：" not in html and "其他企业" not in html and OWN_SCC not in html
        for name in files:
            assert name not in html, name
    db.rollback()
    for pk, _html in runs[:2]:
        run = db.get(CdDecSync, pk)
        assert (run.files, run.rejected, run.receipts) == (0, 0, 0)
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "declared"
    # enterprise1's own syncs find them all
    b1 = browser("enterprise1")
    _pk, html = _sync_day(b1, op_from="2026-12-01", op_to="2026-12-31")
    assert "新增报关单 E20269999999999991" in html and "回执：报关单" in html
    assert "e1-inventory.xml" not in html  # a declaration sync leaves the 核注清单 alone
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "concluded"
    for name in ("e1-channel.xml", "e1-date.xml", "e1-invalid.xml"):
        assert (rejected / name).exists() and name in html, name
    html = _inv_sync_html(b1)
    assert "新增核注清单 Q2026000000000777" in html
    assert os.listdir(inbox) == []


def _inv_sync_html(b):
    pk = created_id(b.post("/cd_inv_sync/new/do/run", data={
        "mode": "ticket", "ent_type": "1", "data_source": "Z7", "ie_flag": "I",
        "number": "Q2026000000000777"}))
    return b.text(f"/cd_inv_sync/{pk}")[1]


# --- one bad receipt is rejected, the others sync -----------------------------------------------
def test_a_receipt_with_a_taken_or_malformed_entry_id_is_rejected_alone(api, browser, db,
                                                                      exchange):
    from models.customs_sync import CdDecSync

    seq = _declared_seq_no(api, db)
    taken = db.get(CdDeclaration, RELEASED).entry_id
    db.rollback()
    assert taken == "900120260000123456"
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    inbox.joinpath("a-taken.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                       taken))
    inbox.joinpath("b-format.xml").write_bytes(_receipt(seq, "L", "20261203091000", "入库成功",
                                                        "NOT-AN-ENTRY-ID-1234567890"))
    inbox.joinpath("c-good.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    b = browser("enterprise1")
    pk, html = _sync(b, seq_no="X")  # the run is recorded (a 302 to it)
    assert (rejected / "a-taken.xml").exists() and (rejected / "b-format.xml").exists()
    reason = (rejected / "a-taken.xml.reason.txt").read_text(encoding="utf-8")
    assert f"海关编号 {taken} 已属于其他报关单" in reason, reason
    reason = (rejected / "b-format.xml.reason.txt").read_text(encoding="utf-8")
    assert "海关编号格式不正确" in reason, reason
    assert (exchange / "done" / "c-good.xml").exists() and os.listdir(inbox) == []
    assert "a-taken.xml: 拒收：" in html and "b-format.xml: 拒收：" in html
    db.rollback()
    run = db.get(CdDecSync, pk)
    assert (run.files, run.receipts, run.rejected) == (3, 1, 2)
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "concluded" and dec.entry_id is None
    assert db.get(CdDeclaration, RELEASED).entry_id == taken
    assert _count(db, CdReceipt) == 1
    # the next receipt of the declaration syncs as usual
    inbox.joinpath("d-next.xml").write_bytes(_receipt(seq, "K", "20261203150000", "放行"))
    _sync(b, seq_no="X")
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "released"


def test_a_file_the_database_refuses_is_rejected_and_the_run_goes_on(api, browser, db,
                                                                     exchange, monkeypatch):
    """Another run may take the 海关编号 between the check and the write: the database's
    refusal rolls back that file's savepoint only (on PostgreSQL too, where an error aborts the
    transaction unless its savepoint is rolled back), and the file is rejected."""
    from models import customs_sync

    monkeypatch.setattr(customs_sync, "_entry_id_taken", lambda session, dec, entry_id: False,
                        raising=False)
    seq = _declared_seq_no(api, db)
    taken = db.get(CdDeclaration, RELEASED).entry_id
    db.rollback()
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    inbox.joinpath("a-taken.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                       taken))
    inbox.joinpath("b-good.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    pk, html = _sync(browser("enterprise1"), seq_no="X")
    assert (rejected / "a-taken.xml").exists() and (exchange / "done" / "b-good.xml").exists()
    assert "未同步" in (rejected / "a-taken.xml.reason.txt").read_text(encoding="utf-8")
    assert "a-taken.xml: 拒收：" in html
    db.rollback()
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "concluded" and dec.entry_id is None
    assert _count(db, CdReceipt) == 1  # the refused file's receipt row was rolled back
    hist = json.dumps(api("enterprise1").get(f"{API}/{PASSED}/history").json,
                      ensure_ascii=False)
    assert "单证审结" in hist and "入库成功" not in hist


# --- the REST API starts a run as the screen does ---------------------------------------------
SYNC_API = "/api/v1/cd_dec_sync/"


def _follow_job(client, url, timeout=60):
    import time

    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(url)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        if resp.json["finished"]:
            return resp.json
        assert time.monotonic() < deadline, resp.json
        time.sleep(0.2)


def test_the_api_starts_a_sync_run_as_the_screen_does(api, db, exchange):
    """POST /api/v1/cd_dec_sync/ is the screen's 确定: the run is made and run, the answer is
    the run as stored (201, its status and report); 按天 answers with the job to follow."""
    from models.customs_sync import CdDecSync

    (exchange / "inbox" / "a.xml").write_bytes(_message(api, RELEASED, "E20269999999999991"))
    e1 = api("enterprise1")
    resp = e1.post(SYNC_API, json={"mode": "ticket", "ent_category": "D",
                                   "seq_no": "E20269999999999991"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.json
    assert body["status"] == "done" and body["status_label"] == "已同步"
    assert body["message"] == "同步完成"
    run = body["result"]
    assert run["id"] == body["id"] and run["status"] == "done" and run["mode"] == "ticket"
    assert (run["files"], run["created"], run["rejected"]) == (1, 1, 0)
    assert "新增报关单 E20269999999999991" in run["report"]
    assert (exchange / "done" / "a.xml").exists()
    shown = e1.get(f"{SYNC_API}{body['id']}")
    assert shown.status_code == 200 and shown.json["result"]["report"] == run["report"]
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == "E20269999999999991"))
    assert dec is not None and dec.company_id == db.get(CdDecSync, body["id"]).company_id
    # 按天: a background job, as on the screen — the answer names it
    xml = re.sub(rb"<SignDate>\d+</SignDate>", b"<SignDate>2026120310000000</SignDate>",
                 _message(api, RELEASED, "E20269999999999992"))
    (exchange / "inbox" / "b.xml").write_bytes(xml)
    resp = e1.post(SYNC_API, json={"mode": "day", "ent_category": "D",
                                   "op_from": "2026-12-01", "op_to": "2026-12-31"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.json
    assert body["status"] in ("syncing", "done") and body["job"]["status_url"]
    assert _follow_job(e1, body["job"]["status_url"])["status"] == "done"
    run = e1.get(f"{SYNC_API}{body['id']}").json["result"]
    assert run["status"] == "done" and "新增报关单 E20269999999999992" in run["report"]
    # another company does not see the runs
    assert api("enterprise2").get(f"{SYNC_API}{body['id']}").status_code == 404


def test_the_api_refuses_a_sync_run_as_the_screen_does(api, db, exchange):
    from models.customs_sync import CdDecSync

    before = _count(db, CdDecSync)
    (exchange / "inbox" / "a.xml").write_bytes(_message(api, RELEASED, "E20269999999999991"))
    for user in ("customs1", "admin"):  # the screen offers them no 报关单同步 either
        resp = api(user).post(SYNC_API, json={"mode": "ticket", "ent_category": "D",
                                              "seq_no": "E20269999999999991"})
        assert resp.status_code == 403, (user, resp.get_data(as_text=True))
    e1 = api("enterprise1")
    resp = e1.post(SYNC_API, json={"mode": "ticket", "ent_category": "D"})
    assert resp.status_code == 422 and "seq_no" in resp.json["errors"], resp.json
    resp = e1.post(SYNC_API, json={"mode": "day", "ent_category": "D",
                                   "op_from": "2026-12-03", "op_to": "2026-12-01"})
    assert resp.status_code == 422
    assert resp.json["errors"]["op_to"] == ["结束日期不能早于开始日期"]
    resp = e1.post(SYNC_API, json={"mode": "weekly", "ent_category": "D"})
    assert resp.status_code == 422 and "mode" in resp.json["errors"], resp.json
    resp = e1.post(SYNC_API, json={"mode": "day", "ent_category": "D",
                                   "op_from": "not-a-date", "op_to": "2026-12-01"})
    assert resp.status_code == 422 and "op_from" in resp.json["errors"], resp.json
    resp = e1.post(SYNC_API, data="mode=ticket", content_type="text/plain")
    assert resp.status_code == 400 and resp.json["message"] == "请求内容必须是 JSON 对象"
    resp = e1.post(SYNC_API, json={"mode": "day", "ent_category": "D",
                                   "op_from": "2026-12-03", "op_to": "2026-12-01"},
                   headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and not re.search(r"[\u4e00-\u9fff]", resp.json["message"])
    assert not re.search(r"[\u4e00-\u9fff]", resp.json["errors"]["op_to"][0])
    assert _count(db, CdDecSync) == before  # nothing refused is stored, nothing read
    assert (exchange / "inbox" / "a.xml").exists()
    # sent twice with the same Idempotency-Key: one run
    key = {"Idempotency-Key": "sync-run-0001"}
    first = e1.post(SYNC_API, json={"mode": "ticket", "ent_category": "D",
                                    "seq_no": "E20269999999999991"}, headers=key)
    again = e1.post(SYNC_API, json={"mode": "ticket", "ent_category": "D",
                                    "seq_no": "E20269999999999991"}, headers=key)
    assert first.status_code == 201 and again.status_code == 201, again.get_data(as_text=True)
    assert again.json["id"] == first.json["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _count(db, CdDecSync) == before + 1


# --- another company's numbers are never revealed ----------------------------------------------
def _other_company_declaration(api, browser, db, exchange):
    """enterprise2 syncs a declaration of its own carrying customs' numbers (统一编号,
    预录入编号, 海关编号): (its id, the numbers)."""
    other_scc = db.get(Organisation, db.get(CdDeclaration, OTHER_DRAFT).company_id).uscc
    db.rollback()
    seq = "E20268888888888881"
    (exchange / "inbox" / "e2.xml").write_bytes(_message(api, RELEASED, seq, scc=other_scc))
    _pk, html = _sync(browser("enterprise2"), seq_no=seq)
    assert f"新增报关单 {seq}" in html, html
    db.rollback()
    dec = db.scalar(select(CdDeclaration).where(CdDeclaration.seq_no == seq))
    assert dec.entry_id and dec.pre_entry_no
    return dec.id, {"seq": seq, "entry_id": dec.entry_id, "pre_entry_no": dec.pre_entry_no}


def test_a_number_of_another_company_is_rejected_without_revealing_it(api, browser, db,
                                                                      exchange):
    """enterprise1's file naming a 统一编号 / 预录入编号 / 海关编号 that is another company's
    declaration's is rejected with a reason that does not say whose it is, and nothing of the
    other company's declaration changes."""
    other_id, nums = _other_company_declaration(api, browser, db, exchange)
    other_version = db.get(CdDeclaration, other_id).version
    draft_seq = db.get(CdDeclaration, OTHER_DRAFT).seq_no
    db.rollback()
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    # its 统一编号 another company's (the draft of enterprise2, the synced one)
    inbox.joinpath("a-seq.xml").write_bytes(_message(api, RELEASED, draft_seq))
    inbox.joinpath("b-seq.xml").write_bytes(_message(api, RELEASED, nums["seq"]))
    # a 统一编号 of its own, the other numbers another company's
    own = re.sub(rb"<EntryId>[^<]*</EntryId>",
                 b"<EntryId>" + nums["entry_id"].encode() + b"</EntryId>",
                 _message(api, RELEASED, "E20269999999999991"))
    inbox.joinpath("c-entry.xml").write_bytes(own)
    b = browser("enterprise1")
    before = _count(db)
    for seq in (draft_seq, nums["seq"], "E20269999999999991"):
        _pk, html = _sync(b, seq_no=seq)
    for name in ("a-seq.xml", "b-seq.xml", "c-entry.xml"):
        assert (rejected / name).exists(), name
        reason = (rejected / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert "不是本企业" in reason or "无法对应" in reason, (name, reason)
        for leak in ("其他企业", "其他报关单", "已存在", "已属于"):
            assert leak not in reason, (name, reason)
    assert _count(db) == before
    assert db.get(CdDeclaration, other_id).version == other_version
    # the run's page says as little
    _pk, html = _sync(b, seq_no=draft_seq)
    assert "其他企业" not in html


def test_a_receipt_naming_another_companys_entry_id_is_rejected_without_revealing_it(
        api, browser, db, exchange):
    _other_id, nums = _other_company_declaration(api, browser, db, exchange)
    seq = _declared_seq_no(api, db)
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    inbox.joinpath("r.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 nums["entry_id"]))
    _pk, html = _sync(browser("enterprise1"), seq_no="X")
    reason = (rejected / "r.xml.reason.txt").read_text(encoding="utf-8")
    assert nums["entry_id"] in reason and "无法对应" in reason, reason
    assert "其他" not in reason and "已属于" not in reason, reason
    assert "r.xml: 拒收：" in html
    db.rollback()
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "declared" and dec.entry_id is None
    assert _count(db, CdReceipt) == 0


# --- the 海关编号 of a receipt --------------------------------------------------------------------
def _history(api):
    return json.dumps(api("enterprise1").get(f"{API}/{PASSED}/history").json, ensure_ascii=False)


def test_a_late_receipt_stores_the_entry_id_the_declaration_has_not_yet(api, browser, db,
                                                                       exchange):
    """The 入库成功 receipt arriving after 审结 (or after 放行) still gives the declaration its
    海关编号; the same receipt received before without it gives it now."""
    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    b = browser("enterprise1")
    inbox.joinpath("a.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    _sync(b, seq_no="X")
    inbox.joinpath("b.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 "900120260000999001"))
    _pk, html = _sync(b, seq_no="X")
    assert "b.xml: " in html and "拒收：" not in html
    db.rollback()
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "concluded" and dec.entry_id == "900120260000999001"
    assert _count(db, CdReceipt) == 2 and "入库成功" in _history(api)
    assert api("enterprise1").get(f"{API}/{PASSED}").json["result"]["entry_id"] == \
        "900120260000999001"


def test_an_entry_id_after_release_and_from_a_receipt_seen_before(api, browser, db, exchange):
    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    b = browser("enterprise1")
    # 入库成功 first without its number, then 放行
    inbox.joinpath("a.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功"))
    inbox.joinpath("b.xml").write_bytes(_receipt(seq, "K", "20261203150000", "放行"))
    _sync(b, seq_no="X")
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "released"
    assert db.get(CdDeclaration, PASSED).entry_id is None
    # the same 入库成功 receipt sent again, now with the number: the number is kept
    inbox.joinpath("c.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 "900120260000999002"))
    _pk, html = _sync(b, seq_no="X")
    assert "900120260000999002" in html and "拒收：" not in html
    db.rollback()
    dec = db.get(CdDeclaration, PASSED)
    assert dec.status == "released" and dec.entry_id == "900120260000999002"
    assert _count(db, CdReceipt) == 2  # still one row per receipt


def test_a_receipt_with_another_entry_id_than_stored_is_rejected(api, browser, db, exchange):
    from models.customs_sync import CdDecSync

    seq = _declared_seq_no(api, db)
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    b = browser("enterprise1")
    inbox.joinpath("a.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 "900120260000999001"))
    _sync(b, seq_no="X")
    db.rollback()
    version = db.get(CdDeclaration, PASSED).version
    inbox.joinpath("b.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结",
                                                 "900120260000999009"))
    # the receipt seen before, now with another number: rejected too, not "unchanged"
    inbox.joinpath("c.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功",
                                                 "900120260000999008"))
    pk, html = _sync(b, seq_no="X")
    for name, number in (("b.xml", "900120260000999009"), ("c.xml", "900120260000999008")):
        assert (rejected / name).exists(), name
        reason = (rejected / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert number in reason and "900120260000999001" in reason and "不一致" in reason, reason
        assert f"{name}: 拒收：" in html
    db.rollback()
    run = db.get(CdDecSync, pk)
    assert (run.files, run.receipts, run.rejected, run.unchanged) == (2, 0, 2, 0)
    dec = db.get(CdDeclaration, PASSED)
    assert (dec.status, dec.entry_id, dec.version) == ("cus_accepted", "900120260000999001",
                                                      version)
    assert _count(db, CdReceipt) == 1 and "单证审结" not in _history(api)
    # the same receipt with the declaration's own number is received
    inbox.joinpath("d.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结",
                                                 "900120260000999001"))
    _sync(b, seq_no="X")
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "concluded"


# --- the shared inbox: a file gone between listing and reading -----------------------------------
def test_a_file_gone_between_listing_and_reading_is_skipped(api, browser, db, exchange,
                                                            monkeypatch):
    """Another company's run moved the file after this run listed the inbox: it was not this
    run's — skipped, not counted, not named; the run goes on with the others."""
    from app.engine import exchange as exchange_mod
    from models.customs_sync import CdDecSync

    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    inbox.joinpath("a-gone.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功"))
    inbox.joinpath("b-good.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    read = exchange_mod.FolderSource.read

    def taken_meanwhile(self, name):
        if name == "a-gone.xml":  # the other run moves it away at this very moment
            os.replace(inbox / name, exchange / "done" / name)
        return read(self, name)

    monkeypatch.setattr(exchange_mod.FolderSource, "read", taken_meanwhile)
    pk, html = _sync(browser("enterprise1"), seq_no="X")
    assert "b-good.xml" in html and "a-gone.xml" not in html
    assert (exchange / "done" / "b-good.xml").exists()
    assert not (exchange / "rejected" / "a-gone.xml").exists()
    db.rollback()
    run = db.get(CdDecSync, pk)
    assert (run.status, run.files, run.receipts, run.rejected) == ("done", 1, 1, 0)
    assert db.get(CdDeclaration, PASSED).status == "concluded"


def test_a_file_gone_while_the_inbox_is_listed_does_not_fail_the_run(api, browser, db,
                                                                     exchange, monkeypatch):
    """The listing itself reads each file's size: a file moved away between the directory's
    entries and its size is not this run's either (按天 too, the background job)."""
    from app.engine import exchange as exchange_mod

    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    inbox.joinpath("a-gone.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功"))
    inbox.joinpath("b-good.xml").write_bytes(_receipt(seq, "P", "20261203100000", "单证审结"))
    real_scandir = os.scandir
    gone = []

    class Entries:
        def __init__(self, path):
            self.it = real_scandir(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            for e in self.it:
                if e.name == "a-gone.xml" and not gone:  # moved away between entry and stat
                    gone.append(e.name)
                    os.replace(inbox / e.name, exchange / "done" / e.name)
                yield e

    monkeypatch.setattr(exchange_mod.os, "scandir", Entries)
    pk, html = _sync(browser("enterprise1"), seq_no="X")
    assert gone and "b-good.xml" in html and "a-gone.xml" not in html
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "concluded"


def test_an_inbox_that_keeps_changing_is_a_clear_refusal(api, browser, db, exchange,
                                                         monkeypatch):
    from app.engine import exchange as exchange_mod
    from models.customs_sync import CdDecSync

    def never_still(self):
        raise FileNotFoundError("moved while listed")

    monkeypatch.setattr(exchange_mod.FolderSource, "incoming", never_still)
    before = _count(db, CdDecSync)
    form = {"mode": "ticket", "ent_category": "D", "seq_no": "E20269999999999991"}
    resp = api("enterprise1").post(SYNC_API, json=form)
    assert resp.status_code == 409, resp.get_data(as_text=True)
    assert resp.json["message"] == "收件箱正在被其他同步处理，请稍后重新同步"
    resp = browser("enterprise1").post("/cd_dec_sync/new/do/run", data=form)
    assert resp.status_code == 409 and "收件箱正在被其他同步处理" in resp.get_data(as_text=True)
    assert _count(db, CdDecSync) == before



@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL only (SQLite has one writer)")
def test_a_message_another_run_is_sending_is_left_to_it(api, browser, db, exchange):
    """Two runs of the company at once: the message the first is sending (its row locked) is
    not written to the outbox by the second too — the second goes on without waiting."""
    from models.customs_message import CdMessage

    resp = api("enterprise1").post(f"{API}/{PASSED}/action/declare", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.rollback()
    held = db.scalars(select(CdMessage).where(CdMessage.sent_at.is_(None))
                      .with_for_update()).all()
    sys_no = api("enterprise1").get(f"{API}/{PASSED}").json["result"]["sys_no"]
    assert any(m.client_seq_no.startswith(sys_no) for m in held)
    b = browser("enterprise1")
    second = threading.Thread(target=_sync, args=(b,), kwargs={"seq_no": "X"})
    second.start()
    second.join(15)
    waited = second.is_alive()
    sent_meanwhile = os.listdir(exchange / "outbox")
    db.rollback()  # the first run is done with them (here: it never sent them)
    second.join(60)
    assert not waited, "the second run waited for the messages the first one is sending"
    assert sent_meanwhile == [] and os.listdir(exchange / "outbox") == []
    _sync(b, seq_no="X")  # the next run sends them, once
    assert len(os.listdir(exchange / "outbox")) == len(held)


def test_a_file_moved_by_another_run_after_this_ones_commit_is_no_error(api, browser, db,
                                                                       exchange, monkeypatch):
    """Files are moved after the commit; another run may move one in the moment between
    seeing it there and moving it (forced here): the data is saved, the page says so — no
    500 for a file that is already out of the inbox."""
    from app.engine import exchange as exchange_mod

    seq = _declared_seq_no(api, db)
    inbox = exchange / "inbox"
    inbox.joinpath("a.xml").write_bytes(_receipt(seq, "L", "20261203090000", "入库成功"))
    real_replace = os.replace

    def other_run_first(src, dst):
        if str(src).endswith("a.xml") and os.path.exists(src):
            real_replace(src, exchange / "done" / "a.xml")  # the other run was quicker
        return real_replace(src, dst)

    monkeypatch.setattr(exchange_mod.os, "replace", other_run_first)
    b = browser("enterprise1")
    resp = b.post("/cd_dec_sync/new/do/run", data={"mode": "ticket", "ent_category": "D",
                                                   "seq_no": "X"})
    assert resp.status_code == 302, resp.status_code
    db.rollback()
    assert db.get(CdDeclaration, PASSED).status == "cus_accepted"
    assert (exchange / "done" / "a.xml").exists() and not (inbox / "a.xml").exists()


def test_two_runs_sending_the_same_message_never_mix_their_halves(exchange):
    """The outbox file is written through a temporary file of its own for each writer."""
    from app.engine.exchange import FolderSource

    src = FolderSource(str(exchange))
    src.send("DecMessage-1.xml", b"<a/>")
    src.send("DecMessage-1.xml", b"<b/>")
    assert (exchange / "outbox" / "DecMessage-1.xml").read_bytes() == b"<b/>"
    assert not [p for p in exchange.iterdir() if p.name.endswith(".part")]
