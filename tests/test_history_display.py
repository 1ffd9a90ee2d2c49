"""How a record is named and how its history reads, in both languages:

- a saved record whose number is not given yet is named （未编号） / (unnumbered) after its type's
  name — in its form's and its history's headings and in the notices about it — not by its
  database id (#12);
- the history tabs (查询状态, 查看流程状态, 查看审批意见, 修改记录) show times to the minute, as the
  lists and forms do (present.display), never with seconds;
- what a step recorded is shown under its own label once: 退回原因：…, not 意见：退回原因：…
  (Opinion: Reason for return: …); a typed opinion under the step's label for it (审批意见：…).
Through HTTP, as the users do it."""

from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select

from app.engine.history import FlowEntry
from models.me_licence import MeClearance
from models.used_me import UeEntrustment

from .helpers import created_id, flashes, get
from .test_used_me import _entrust

SECONDS = re.compile(r"\b\d{2}:\d{2}:\d{2}\b")
MINUTES = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b")
HEADING = re.compile(r'<h3 class="page-title">(.*?)</h3>', re.S)


def _heading(page: str) -> str:
    m = HEADING.search(page)
    assert m, page[:2000]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def _tab(page: str) -> str:
    """The text of a history page's tab body (the part below the tabs)."""
    m = re.search(r'<div class="tab-body">(.*?)<a class="btn', page, re.S)
    assert m, page[:3000]
    return html.unescape(m.group(1))


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --- a record not numbered yet ---------------------------------------------------------------
def _unnumbered_clearance(customs) -> int:
    """customs1 暂存 a 结关数据 without its 报关单号 (the number it is known by)."""
    return created_id(customs.post("/me_clearance/new/do/save", data={
        "customs_code": "9001", "cleared_on": "2026-11-20"}))


def test_a_record_without_its_number_is_named_unnumbered_not_by_its_id(browser, db):
    customs = browser("customs1")
    pk = _unnumbered_clearance(customs)
    assert get(db, MeClearance, pk).entry_id is None
    for path in (f"/me_clearance/{pk}", f"/me_clearance/{pk}/history?tab=flow"):
        heading = _heading(customs.get(path).get_data(as_text=True))
        assert heading.startswith("结关数据 （未编号）"), (path, heading)
        assert f"#{pk}" not in heading
    # the notice of a step names it so too
    resp = customs.post(f"/me_clearance/{pk}/do/delete")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    told = html.unescape(flashes(customs))
    assert "结关数据 （未编号） 已删除" in told and f"#{pk}" not in told


def test_a_record_without_its_number_is_named_unnumbered_in_english(browser):
    customs = browser("customs1")
    pk = _unnumbered_clearance(customs)
    assert customs.get("/lang/en").status_code == 302
    for path in (f"/me_clearance/{pk}", f"/me_clearance/{pk}/history?tab=flow"):
        heading = _heading(customs.get(path).get_data(as_text=True))
        assert heading.startswith("Clearance data (unnumbered)"), (path, heading)
        assert "未编号" not in heading and f"#{pk}" not in heading
    customs.post(f"/me_clearance/{pk}/do/delete")
    told = html.unescape(flashes(customs))
    assert "Clearance data (unnumbered)" in told and f"#{pk}" not in told


def test_a_numbered_record_keeps_its_number(browser, db):
    customs = browser("customs1")
    pk = _unnumbered_clearance(customs)
    customs.post(f"/me_clearance/{pk}/do/save", data={
        "entry_id": "900120261100000777", "customs_code": "9001", "cleared_on": "2026-11-20"})
    assert get(db, MeClearance, pk).entry_id == "900120261100000777"
    heading = _heading(customs.get(f"/me_clearance/{pk}").get_data(as_text=True))
    assert heading.startswith("结关数据 900120261100000777") and "未编号" not in heading


# --- times to the minute ---------------------------------------------------------------------
def _returned_entrustment(browser, reason="请补充铭牌照片"):
    ent, inst = browser("enterprise1"), browser("institution1")
    pk = _entrust(ent)
    ent.post(f"/ue_entrustment/{pk}/do/submit")
    resp = inst.post(f"/ue_entrustment/{pk}/do/return", data={"input-reason": reason})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return ent, pk


def test_every_history_tab_shows_times_to_the_minute(browser, db):
    ent, pk = _returned_entrustment(browser)
    ent.post(f"/ue_entrustment/{pk}/do/save", data={"remark": "已补充照片"})
    db.rollback()
    stamps = [e.at for e in db.scalars(select(FlowEntry).where(
        FlowEntry.entity == "ue_entrustment", FlowEntry.record_id == pk))]
    assert stamps
    shown = {s.strftime("%Y-%m-%d %H:%M") for s in stamps}
    for tab in ("status", "flow", "opinions", "changes"):
        body = _tab(ent.get(f"/ue_entrustment/{pk}/history?tab={tab}").get_data(as_text=True))
        assert not SECONDS.search(body), (tab, SECONDS.findall(body))
        found = set(MINUTES.findall(body))
        assert found, (tab, body[:2000])
        if tab != "changes":
            assert found <= shown, (tab, found, shown)


# --- a label once ----------------------------------------------------------------------------
def test_what_a_step_asked_for_is_labelled_once(browser):
    """退回 asks for 退回原因: the timeline reads 退回原因：…, not 意见：退回原因：…; the 查询状态
    tab shows it under 退回原因."""
    ent, pk = _returned_entrustment(browser)
    flow = _tab(ent.get(f"/ue_entrustment/{pk}/history?tab=flow").get_data(as_text=True))
    assert "退回原因：请补充铭牌照片" in flow
    assert "意见：退回原因" not in flow and flow.count("退回原因") == 1
    status = _text(_tab(ent.get(f"/ue_entrustment/{pk}/history?tab=status")
                        .get_data(as_text=True)))
    assert "退回原因 请补充铭牌照片" in status and "意见" not in status


def test_what_a_step_asked_for_is_labelled_once_in_english(browser):
    ent, pk = _returned_entrustment(browser)
    assert ent.get("/lang/en").status_code == 302
    flow = _tab(ent.get(f"/ue_entrustment/{pk}/history?tab=flow").get_data(as_text=True))
    assert "Reason for return: 请补充铭牌照片" in flow
    assert "Opinion: Reason for return" not in flow and "Opinion" not in flow
    status = _text(_tab(ent.get(f"/ue_entrustment/{pk}/history?tab=status")
                        .get_data(as_text=True)))
    assert "Reason for return 请补充铭牌照片" in status and "Opinion" not in status


def test_a_typed_opinion_is_labelled_once_by_its_steps_label(browser):
    """退回 of a licence application asks for 审批意见: the timeline reads 审批意见：…, in English
    Review opinion: …"""
    from .helpers import GOODS, HEAD, new_draft

    ent, com = browser("enterprise1"), browser("commerce1")
    pk = new_draft(ent, **HEAD)
    ent.post(f"/me_licence_application/{pk}/do/save", data=GOODS)
    ent.post(f"/me_licence_application/{pk}/do/declare")
    resp = com.post(f"/me_licence_application/{pk}/do/return", data={"opinion": "请补充合同"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    flow = _tab(ent.get(f"/me_licence_application/{pk}/history?tab=flow")
                .get_data(as_text=True))
    assert "审批意见：请补充合同" in flow and "意见：审批意见" not in flow
    ent.get("/lang/en")
    flow = _tab(ent.get(f"/me_licence_application/{pk}/history?tab=flow")
                .get_data(as_text=True))
    assert "Review opinion: 请补充合同" in flow and "Opinion: Review opinion" not in flow


def test_an_older_entry_written_with_its_label_shows_it_once(browser, db):
    """Entries written before the inputs were kept by name stored 'Reason for return: …' (in
    the language of whoever returned it) as their opinion: shown under that label once, in
    the reader's language."""
    ent, pk = _returned_entrustment(browser)
    db.rollback()
    entry = db.scalar(select(FlowEntry).where(
        FlowEntry.entity == "ue_entrustment", FlowEntry.record_id == pk,
        FlowEntry.transition == "return"))
    entry.opinion, entry.inputs = "Reason for return: nameplate photo missing", None
    db.commit()
    assert get(db, UeEntrustment, pk).status == "supplement"
    flow = _tab(ent.get(f"/ue_entrustment/{pk}/history?tab=flow").get_data(as_text=True))
    assert "退回原因：nameplate photo missing" in flow
    assert "意见：" not in flow and "Reason for return" not in flow
    status = _text(_tab(ent.get(f"/ue_entrustment/{pk}/history?tab=status")
                        .get_data(as_text=True)))
    assert "退回原因 nameplate photo missing" in status and "意见" not in status
    opinions = _tab(ent.get(f"/ue_entrustment/{pk}/history?tab=opinions")
                    .get_data(as_text=True))
    assert "退回原因：nameplate photo missing" in opinions and "Reason for return" not in opinions


def test_the_time_shown_is_the_stored_minute(browser, db):
    """The 操作时间 of the 查询状态 tab is the last step's time to the minute."""
    ent, pk = _returned_entrustment(browser)
    db.rollback()
    last = db.scalars(select(FlowEntry).where(
        FlowEntry.entity == "ue_entrustment", FlowEntry.record_id == pk)
        .order_by(FlowEntry.id.desc())).first()
    status = _text(_tab(ent.get(f"/ue_entrustment/{pk}/history?tab=status")
                        .get_data(as_text=True)))
    assert f"操作时间 {last.at.strftime('%Y-%m-%d %H:%M')} " in status + " "
    assert last.at.strftime("%Y-%m-%d %H:%M:%S") not in status
    assert isinstance(last.at, dt.datetime)
