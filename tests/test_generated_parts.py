"""生成报关单 again after a generated draft was deleted: an inventory of more than 50 goods makes
one declaration per 50 lines (its parts); when the user deletes one of those drafts, generating
again makes only the missing part(s) — the drafts still there are not duplicated — and when no
part is missing it is refused as before.  Two clicks at once make a missing part once.  Through
HTTP, as enterprise1 does it."""

from __future__ import annotations

import decimal

from sqlalchemy import select

from app.engine.history import FlowEntry
from models.customs_declaration import MAX_GOODS

from .helpers import flashes
from .test_inventory_declaration import API, _generated, _pre_approved_inventory

D = decimal.Decimal


def _lines(dec) -> list[int]:
    """The inventory lines a declaration carries (each line's 备案序号 is its position)."""
    return [g.contr_item for g in dec.goods]


def _delete(b, dec) -> None:
    resp = b.post(f"/cd_declaration/{dec.id}/do/delete")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def _note(db, dec) -> str:
    db.rollback()
    return db.scalar(select(FlowEntry.opinion).where(
        FlowEntry.entity == "cd_declaration", FlowEntry.record_id == dec.id,
        FlowEntry.transition == "create"))


def test_a_deleted_part_is_generated_again_and_only_it(browser, api, db):
    """101 goods: 50 + 50 + 1.  The user deletes part 2; 生成报关单 makes part 2 again (lines
    51–100, weighing what they weigh), leaves parts 1 and 3 alone, and says what it did; a
    further 生成报关单 is refused, as nothing is missing any more."""
    pk = _pre_approved_inventory(api, 101)
    b = browser("enterprise1")
    assert b.post(f"/cd_inventory/{pk}/do/make_declaration").status_code == 302
    first, second, third = _generated(db, pk)
    deleted_no = second.seq_no
    _delete(b, second)
    assert [d.id for d in _generated(db, pk)] == [first.id, third.id]

    resp = b.post(f"/cd_inventory/{pk}/do/make_declaration")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    decs = _generated(db, pk)
    assert len(decs) == 3, [_lines(d) for d in decs]
    kept = [d for d in decs if d.id in (first.id, third.id)]
    (again,) = [d for d in decs if d.id not in (first.id, third.id)]
    assert [_lines(d) for d in kept] == [list(range(1, 51)), [101]]
    assert _lines(again) == list(range(51, 101)) and len(again.goods) == MAX_GOODS
    assert again.gross_wt == sum(D("1.5") * i for i in range(51, 101))
    assert (again.status, again.seq_no != deleted_no) == ("draft", True)
    # its history says which part it is, as the first generation wrote it
    assert "第 2 份，共 3 份：清单商品第 51 至 100 项" in _note(db, again)
    # the user is taken to it and told that only the missing part was made
    assert resp.headers["Location"].endswith(f"/cd_declaration/{again.id}")
    told = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已重新生成缺少的第 2 份报关单" in told and again.seq_no in told
    assert first.seq_no in told and third.seq_no in told  # named as the ones kept
    # nothing is missing now: refused, as before, and nothing made
    refused = api("enterprise1").post(f"{API}/{pk}/action/make_declaration", json={})
    assert refused.status_code == 422 and "该核注清单已生成报关单" in refused.json["message"]
    assert len(_generated(db, pk)) == 3


def test_several_deleted_parts_are_generated_again_in_their_order(browser, api, db):
    """Parts 1 and 3 deleted of 101 goods: both come back, part 1 first (the user is taken to
    it), part 2 is not duplicated."""
    pk = _pre_approved_inventory(api, 101)
    b = browser("enterprise1")
    b.post(f"/cd_inventory/{pk}/do/make_declaration")
    first, second, third = _generated(db, pk)
    _delete(b, first)
    _delete(b, third)
    resp = b.post(f"/cd_inventory/{pk}/do/make_declaration")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    decs = _generated(db, pk)
    assert sorted(_lines(d) for d in decs) == sorted(
        [list(range(1, 51)), list(range(51, 101)), [101]])
    assert [d.id for d in decs].count(second.id) == 1
    new = [d for d in decs if d.id != second.id]
    assert [_lines(d)[0] for d in new] == [1, 101]
    assert resp.headers["Location"].endswith(f"/cd_declaration/{new[0].id}")
    told = flashes(b)
    assert "已重新生成缺少的第 1、3 份报关单" in told, told[:3000]


def test_the_api_generates_a_deleted_part_again(api, browser, db):
    """The same through the REST action; the generated part that is left is not touched."""
    pk = _pre_approved_inventory(api, 55)
    c = api("enterprise1")
    assert c.post(f"{API}/{pk}/action/make_declaration", json={}).status_code == 200
    first, second = _generated(db, pk)
    _delete(browser("enterprise1"), first)
    resp = c.post(f"{API}/{pk}/action/make_declaration", json={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    decs = _generated(db, pk)
    assert [d.id for d in decs][0] == second.id and len(decs) == 2
    assert [_lines(d) for d in decs] == [list(range(51, 56)), list(range(1, 51))]
    assert decs[1].seq_no in resp.json["message"]
    assert "已重新生成缺少的第 1 份报关单" in resp.json["message"]


def test_generating_a_missing_part_at_the_same_moment_makes_it_once(api, browser, db):
    """Part 2 of a 55-goods inventory deleted, then several 生成报关单 released together
    (PostgreSQL races them for real): one makes part 2 again, every other is refused with a
    clear 4xx, and no line is carried twice."""
    from .test_concurrency import race

    pk = _pre_approved_inventory(api, 55)
    b = browser("enterprise1")
    b.post(f"/cd_inventory/{pk}/do/make_declaration")
    first, second = _generated(db, pk)
    _delete(b, second)
    clients = [api("enterprise1") for _ in range(4)]
    answers = race([lambda c=c: c.post(f"{API}/{pk}/action/make_declaration", json={})
                    for c in clients])
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 1 and all(c in (409, 422) for c in codes[1:]), codes
    decs = _generated(db, pk)
    assert decs[0].id == first.id
    assert [_lines(d) for d in decs] == [list(range(1, 51)), list(range(51, 56))]


def test_declarations_generated_before_parts_were_kept_are_told_by_their_note(
        browser, api, db):
    """Declarations generated before their 新增 entry kept the part (as an English reader
    generated them, so their note is in English) are told apart by the note they were written
    with: the deleted part is made again, the others are not."""
    pk = _pre_approved_inventory(api, 101)
    b = browser("enterprise1")
    assert b.get("/lang/en").status_code == 302
    b.post(f"/cd_inventory/{pk}/do/make_declaration")
    first, second, third = _generated(db, pk)
    assert _note(db, third).startswith("Generated from bonded inventory")
    # as they were stored before: the note, and no part
    for entry in db.scalars(select(FlowEntry).where(
            FlowEntry.entity == "cd_declaration", FlowEntry.transition == "create",
            FlowEntry.record_id.in_([first.id, second.id, third.id]))):
        entry.inputs = None
    db.commit()
    _delete(b, second)
    assert b.post(f"/cd_inventory/{pk}/do/make_declaration").status_code == 302
    decs = _generated(db, pk)
    assert [_lines(d) for d in decs] == [list(range(1, 51)), [101], list(range(51, 101))]
    refused = api("enterprise1").post(f"{API}/{pk}/action/make_declaration", json={})
    assert refused.status_code == 422 and len(_generated(db, pk)) == 3
