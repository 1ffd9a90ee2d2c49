"""智慧云报关 核注清单数据同步 through HTTP: the manual's screen (按票 / 按天 with 企业类型, 数据源,
进出口标志, 数据状态), InvtMessage files read from the exchange inbox — created with their
numbers and 数据状态, the same file twice changes nothing, a later status updates, an edit here is
a conflict — another company's message refused, each sync leaving the other's files alone."""

from __future__ import annotations

import os
import re

from sqlalchemy import select

from models.base import Organisation
from models.customs_declaration import CdDeclaration
from models.customs_inventory import CdInventory

from .helpers import created_id, wait_job

PRE_APPROVED, DRAFT = 1, 2
SEQ = "Q2026000000000777"
INV = "QD610126I000000777"


def _xml(api, pk=PRE_APPROVED, *, seq=SEQ, inv=INV, stat="5", when="20261203101500",
         scc=None, role="Bizop"):
    xml = api("enterprise1").get(f"/api/v1/cd_inventory/{pk}/message").get_data(as_text=True)
    assert "<InvtMessage" in xml, xml[:300]
    xml = re.sub(r"<SeqNo>[^<]*</SeqNo>", f"<SeqNo>{seq}</SeqNo>", xml)
    xml = re.sub(r"<BondInvtNo>[^<]*</BondInvtNo>|<BondInvtNo/>",
                 f"<BondInvtNo>{inv}</BondInvtNo>", xml)
    xml = re.sub(r"<ListStat>[^<]*</ListStat>", f"<ListStat>{stat}</ListStat>", xml)
    xml = re.sub(r"<InputTime>[^<]*</InputTime>", f"<InputTime>{when}</InputTime>", xml)
    if scc:  # the company of the given role
        xml = re.sub(rf"<{role}EtpsSccd>[^<]*</{role}EtpsSccd>",
                     f"<{role}EtpsSccd>{scc}</{role}EtpsSccd>", xml)
    return xml.encode("utf-8")


def _sync(b, **data):
    form = {"mode": "ticket", "ent_type": "1", "data_source": "Z7", "ie_flag": "I",
            "number": SEQ}
    form.update(data)
    pk = created_id(b.post("/cd_inv_sync/new/do/run", data=form))
    _s, html = b.text(f"/cd_inv_sync/{pk}")
    if form["mode"] == "day":
        assert wait_job(b, html)["status"] == "done"
        _s, html = b.text(f"/cd_inv_sync/{pk}")
    return html


def _synced(db, seq=SEQ):
    db.rollback()
    return db.scalar(select(CdInventory).where(CdInventory.seq_no == seq))


def test_the_screen_is_the_manuals_and_the_message_is_downloadable(api, browser):
    b = browser("enterprise1")
    s, html = b.text("/cd_inv_sync/new")
    assert s == 200
    for label in ("按票同步", "按天同步", "企业类型", "统一编号/清单编号", "数据源", "进出口标志",
                  "最近操作时间", "数据状态", "确定"):
        assert label in html, label
    assert "核注清单数据同步" in b.text("/")[1]
    xml = api("enterprise1").get(f"/api/v1/cd_inventory/{PRE_APPROVED}/message")
    assert xml.status_code == 200 and b"<BondInvtNo>QD" in xml.data
    assert api("enterprise2").get(f"/api/v1/cd_inventory/{PRE_APPROVED}/message").status_code \
        == 404
    assert browser("customs1").get("/cd_inv_sync/new").status_code in (302, 403, 404)


def test_an_inventory_is_synced_with_its_status_once(api, browser, db, exchange):
    (exchange / "inbox" / "inv.xml").write_bytes(_xml(api))
    b = browser("enterprise1")
    html = _sync(b)
    assert f"新增核注清单 {SEQ}" in html
    inv = _synced(db)
    assert inv.status == "pre_approved" and inv.inv_no == INV and inv.goods
    assert inv.company_id == db.get(CdInventory, PRE_APPROVED).company_id
    assert (exchange / "done" / "inv.xml").exists()
    version = inv.version
    # 预审批通过 here too: the enterprise generates its declaration from it
    s, page = b.text(f"/cd_inventory/{inv.id}")
    assert "生成报关单" in page
    # the same file again changes nothing
    (exchange / "inbox" / "inv.xml").write_bytes(_xml(api))
    assert f"核注清单 {SEQ} 未变化" in _sync(b, number=INV)  # by its 清单编号 too
    assert _synced(db).version == version
    # a later status: updated (its content stays: no longer open to 暂存)
    (exchange / "inbox" / "inv.xml").write_bytes(_xml(api, stat="18"))
    assert f"更新核注清单 {SEQ}" in _sync(b)
    assert _synced(db).status == "confirmed"


def test_the_selection_leaves_other_files_in_the_inbox(api, browser, db, exchange):
    (exchange / "inbox" / "inv.xml").write_bytes(_xml(api))
    b = browser("enterprise1")
    _sync(b, ie_flag="E")
    _sync(b, data_source="Z8")
    _sync(b, ent_type="2", number=SEQ)  # enterprise1 is also the 加工企业 of the demo: matched
    assert not (exchange / "inbox" / "inv.xml").exists()
    (exchange / "inbox" / "inv2.xml").write_bytes(_xml(api, seq="Q2026000000000778",
                                                        inv="QD610126I000000778"))
    _sync(b, number="Q2026000000000999")
    assert (exchange / "inbox" / "inv2.xml").exists()
    # a declaration sync leaves an InvtMessage alone
    created_id(b.post("/cd_dec_sync/new/do/run", data={"mode": "ticket", "ent_category": "D",
                                                      "seq_no": "E20260000000000001"}))
    assert (exchange / "inbox" / "inv2.xml").exists()


def test_by_day_with_the_data_status_is_a_job(api, browser, db, exchange):
    (exchange / "inbox" / "a.xml").write_bytes(_xml(api, stat="5"))
    (exchange / "inbox" / "b.xml").write_bytes(_xml(api, seq="Q2026000000000778",
                                                     inv="QD610126I000000778", stat="1"))
    b = browser("enterprise1")
    html = _sync(b, mode="day", op_from="2026-12-01", op_to="2026-12-03", data_state="1",
                 number="")
    assert "新增核注清单 Q2026000000000778" in html and "已同步" in html
    assert _synced(db, "Q2026000000000778").status == "draft"
    assert (exchange / "inbox" / "a.xml").exists()
    _sync(b, mode="day", op_from="2026-12-04", op_to="2026-12-05", number="")
    assert (exchange / "inbox" / "a.xml").exists()
    html = _sync(b, mode="day", op_from="2026-12-03", op_to="2026-12-03", number="")
    assert f"新增核注清单 {SEQ}" in html
    # 按天 needs its dates, in order
    resp = b.post("/cd_inv_sync/new/do/run", data={
        "mode": "day", "ent_type": "1", "data_source": "Z7", "ie_flag": "I",
        "op_from": "2026-12-03", "op_to": "2026-12-01"})
    assert "结束日期不能早于开始日期" in resp.get_data(as_text=True)


def test_an_edit_here_is_a_conflict_not_overwritten(api, browser, db, exchange):
    b = browser("enterprise1")
    (exchange / "inbox" / "d.xml").write_bytes(_xml(api, DRAFT, stat="1"))
    assert f"新增核注清单 {SEQ}" in _sync(b)
    inv = _synced(db)
    resp = b.post(f"/cd_inventory/{inv.id}/do/save", data={"note": "本平台修改"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    (exchange / "inbox" / "d.xml").write_bytes(_xml(api, DRAFT, stat="17"))
    assert "冲突" in _sync(b)
    inv = _synced(db)
    assert inv.note == "本平台修改" and inv.status == "draft"


def test_another_companys_message_is_left_and_a_bad_one_rejected(api, browser, db, exchange):
    """Another company's file, valid or not, is left in the shared inbox for its own sync and
    not named; a file of no company here, or not an InvtMessage, is rejected with its reason."""
    other = db.scalar(select(Organisation.uscc).where(
        Organisation.uscc.is_not(None), Organisation.uscc != _own_scc(db)).limit(1))
    xml = _xml(api)
    own = _own_scc(db).encode()
    (exchange / "inbox" / "other.xml").write_bytes(xml.replace(own, other.encode()))
    (exchange / "inbox" / "other-bad.xml").write_bytes(  # another company's, not valid
        xml.replace(own, other.encode()).replace(b"<ImpexpMarkcd>I<", b"<ImpexpMarkcd>X<"))
    (exchange / "inbox" / "unknown.xml").write_bytes(
        xml.replace(own, b"91110000000000000X"))
    (exchange / "inbox" / "bad.xml").write_bytes(b"<InvtMessage xmlns='http://www.chinaport."
                                                 b"gov.cn/invt'><nope/></InvtMessage>")
    (exchange / "inbox" / "junk.xml").write_bytes(b"<hello/>")
    html = _sync(browser("enterprise1"))
    assert "拒收" in html
    rejected = sorted(os.listdir(exchange / "rejected"))
    for name in ("unknown.xml", "bad.xml", "junk.xml"):
        assert name in rejected and f"{name}.reason.txt" in rejected, rejected
    assert sorted(os.listdir(exchange / "inbox")) == ["other-bad.xml", "other.xml"]
    assert "other.xml" not in html and "other-bad" not in html and other not in html
    assert "其他企业" not in html
    assert "未在本平台注册" in (exchange / "rejected" / "unknown.xml.reason.txt").read_text(
        "utf-8")
    assert "InvtHeadType" in (exchange / "rejected" / "bad.xml.reason.txt").read_text("utf-8")
    assert "InvtMessage" in (exchange / "rejected" / "junk.xml.reason.txt").read_text("utf-8")
    assert _synced(db) is None


def _own_scc(db):
    return db.get(Organisation, db.get(CdInventory, PRE_APPROVED).company_id).uscc


# --- the REST API starts a run as the screen does ---------------------------------------------
INV_SYNC_API = "/api/v1/cd_inv_sync/"


def test_the_api_starts_an_inventory_sync_run_as_the_screen_does(api, db, exchange):
    import time

    from models.customs_inventory_sync import CdInvSync

    (exchange / "inbox" / "inv.xml").write_bytes(_xml(api))
    e1 = api("enterprise1")
    form = {"mode": "ticket", "ent_type": "1", "data_source": "Z7", "ie_flag": "I",
            "number": SEQ}
    resp = e1.post(INV_SYNC_API, json=form)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.json
    assert body["status"] == "done" and body["status_label"] == "已同步"
    run = body["result"]
    assert (run["files"], run["created"], run["rejected"]) == (1, 1, 0)
    assert f"新增核注清单 {SEQ}" in run["report"]
    assert _synced(db).status == "pre_approved"
    assert e1.get(f"{INV_SYNC_API}{body['id']}").json["result"]["report"] == run["report"]
    assert api("enterprise2").get(f"{INV_SYNC_API}{body['id']}").status_code == 404
    # 按天: the job to follow
    (exchange / "inbox" / "b.xml").write_bytes(_xml(api, seq="Q2026000000000778",
                                                     inv="QD610126I000000778", stat="1"))
    resp = e1.post(INV_SYNC_API, json={**form, "mode": "day", "number": "",
                                       "op_from": "2026-12-01", "op_to": "2026-12-03"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    url = resp.json["job"]["status_url"]
    deadline = time.monotonic() + 60
    while not e1.get(url).json["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    run = e1.get(f"{INV_SYNC_API}{resp.json['id']}").json["result"]
    assert run["status"] == "done" and "新增核注清单 Q2026000000000778" in run["report"]
    # refused as on the screen: another role, a form to correct, not JSON — nothing stored
    db.rollback()
    before = db.query(CdInvSync).count()
    assert api("customs1").post(INV_SYNC_API, json=form).status_code == 403
    resp = e1.post(INV_SYNC_API, json={**form, "number": ""})
    assert resp.status_code == 422 and "number" in resp.json["errors"], resp.json
    resp = e1.post(INV_SYNC_API, json={**form, "ie_flag": "X"})
    assert resp.status_code == 422 and "ie_flag" in resp.json["errors"], resp.json
    resp = e1.post(INV_SYNC_API, json={**form, "mode": "day", "op_from": "2026-12-03",
                                       "op_to": "2026-12-01"},
                   headers={"Accept-Language": "en"})
    assert resp.status_code == 422, resp.json
    assert not re.search(r"[\u4e00-\u9fff]", resp.json["errors"]["op_to"][0])
    assert e1.post(INV_SYNC_API, data="[]", content_type="application/json").status_code == 400
    db.rollback()
    assert db.query(CdInvSync).count() == before


def test_a_number_of_another_companys_inventory_is_rejected_without_revealing_it(
        api, browser, db, exchange):
    """enterprise1's message whose 统一编号 or 清单编号 is another company's 核注清单's is rejected
    with a reason that does not say whose it is; the other company's 核注清单 is untouched."""
    other_scc = db.scalar(select(Organisation.uscc).join(
        CdDeclaration, CdDeclaration.company_id == Organisation.id).where(
        CdDeclaration.id == 7))  # enterprise2's
    db.rollback()
    seq2, inv2 = "Q2026000000000888", "QD610126I000000888"
    (exchange / "inbox" / "e2.xml").write_bytes(
        _xml(api, seq=seq2, inv=inv2, scc=other_scc))
    assert f"新增核注清单 {seq2}" in _sync(browser("enterprise2"), number=seq2)
    theirs = _synced(db, seq2)
    theirs_id, theirs_version = theirs.id, theirs.version
    inbox, rejected = exchange / "inbox", exchange / "rejected"
    inbox.joinpath("a-seq.xml").write_bytes(_xml(api, seq=seq2, inv=INV))
    inbox.joinpath("b-inv.xml").write_bytes(_xml(api, seq=SEQ, inv=inv2))
    b = browser("enterprise1")
    _sync(b, number=seq2)
    html = _sync(b, number=SEQ)
    for name, label in (("a-seq.xml", "预录入统一编号"), ("b-inv.xml", "清单编号")):
        assert (rejected / name).exists(), name
        reason = (rejected / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert label in reason and "无法对应本企业的核注清单" in reason, reason
        for leak in ("其他企业", "已存在", "已属于"):
            assert leak not in reason, reason
    assert "b-inv.xml: 拒收：" in html and other_scc not in html
    assert _synced(db) is None
    db.rollback()
    assert db.get(CdInventory, theirs_id).version == theirs_version
    assert db.get(CdInventory, theirs_id).company_id != db.get(CdInventory, DRAFT).company_id


def test_an_inventory_file_gone_before_it_is_read_is_skipped(api, browser, db, exchange,
                                                             monkeypatch):
    from app.engine import exchange as exchange_mod
    from models.customs_inventory_sync import CdInvSync

    inbox = exchange / "inbox"
    inbox.joinpath("a-gone.xml").write_bytes(_xml(api, seq="Q2026000000000778",
                                                   inv="QD610126I000000778"))
    inbox.joinpath("b-good.xml").write_bytes(_xml(api))
    read = exchange_mod.FolderSource.read

    def taken_meanwhile(self, name):
        if name == "a-gone.xml":
            (inbox / name).unlink()
        return read(self, name)

    monkeypatch.setattr(exchange_mod.FolderSource, "read", taken_meanwhile)
    html = _sync(browser("enterprise1"), mode="day", op_from="2026-12-01",
                 op_to="2026-12-31", number="")
    assert f"新增核注清单 {SEQ}" in html and "a-gone.xml" not in html
    db.rollback()
    run = db.scalar(select(CdInvSync).order_by(CdInvSync.id.desc()).limit(1))
    assert (run.status, run.files, run.created, run.rejected) == ("done", 1, 1, 0)
