"""海关状态查询, 报关余量查询 (非一批一证) and 结关数据查询 with clearance records by customs."""

from __future__ import annotations

from sqlalchemy import select

from models.me_licence import LicenceApplication, MeClearance

from .helpers import created_id, flashes, get, today_for_a_while


def _licence(db, pk):
    return get(db, LicenceApplication, pk)


def _new_clearance(b, licence_no, entry_id, cleared_on="2026-11-20"):
    return created_id(b.post("/me_clearance/new/do/save", data={
        "licence_no": licence_no, "entry_id": entry_id, "customs_code": "9001",
        "cleared_on": cleared_on}))


def test_customs_status_lists_only_approved_licences(browser, db):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/screen/customs_status/")
    assert status == 200 and "海关状态查询" in html
    assert _licence(db, 3).licence_no in html and _licence(db, 5).licence_no in html
    assert _licence(db, 2).application_no not in html
    assert "已发送海关" in html


def test_quota_lists_non_one_batch_licences_with_what_is_left(browser, db):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/screen/quota/")
    assert status == 200
    lic3, lic5 = _licence(db, 3), _licence(db, 5)
    assert lic3.licence_no in html and lic5.licence_no not in html
    assert (lic3.total_qty, lic3.cleared_qty, lic3.remaining_qty, lic3.clearance_count) == (
        5, 2, 3, 2)
    status, html = b.text("/me_licence_application/3")
    assert "结关数据" in html and "900120261000012345" in html


def test_customs_records_a_clearance_that_consumes_the_quota(browser, db):
    c = browser("customs1")
    lic = _licence(db, 3)
    pk = _new_clearance(c, lic.licence_no, "900120261000034567")
    spec = lic.goods[1].specs[0]  # 数控平面磨床 PSG-63DX, 2 units
    resp = c.post(f"/me_clearance/{pk}/do/clear", data={
        "__tables": "lines", "lines-0-spec_id": str(spec.id), "lines-0-qty": "3",
        "lines-0-amount": "123000"})
    assert "余量不足：余量 2，本次 3" in resp.get_data(as_text=True)
    assert get(db, MeClearance, pk).status == "draft"
    c.post(f"/me_clearance/{pk}/do/clear", data={
        "__tables": "lines", "lines-0-spec_id": str(spec.id), "lines-0-qty": "2",
        "lines-0-amount": "82000"})
    clearance = get(db, MeClearance, pk)
    assert clearance.status == "cleared" and clearance.company_id == lic.company_id
    assert clearance.lines[0].model == "PSG-63DX" and clearance.lines[0].hs_code == "8460121000"
    lic = _licence(db, 3)
    assert (lic.cleared_qty, lic.remaining_qty, lic.clearance_count) == (4, 1, 3)


def test_a_one_batch_licence_is_cleared_once(browser, db):
    c = browser("customs1")
    lic = _licence(db, 5)
    spec = lic.goods[0].specs[0]
    first = _new_clearance(c, lic.licence_no, "900120261000045678")
    c.post(f"/me_clearance/{first}/do/clear", data={
        "__tables": "lines", "lines-0-spec_id": str(spec.id), "lines-0-qty": "1"})
    assert get(db, MeClearance, first).status == "cleared"
    second = _new_clearance(c, lic.licence_no, "900120261000056789")
    resp = c.post(f"/me_clearance/{second}/do/clear", data={
        "__tables": "lines", "lines-0-spec_id": str(spec.id), "lines-0-qty": "1"})
    assert f"一批一证许可证 {lic.licence_no} 只能报关一次" in resp.get_data(as_text=True)


def test_unknown_licence_and_duplicate_entry_are_refused(browser, db):
    c = browser("customs1")
    resp = c.post("/me_clearance/new/do/save", data={
        "licence_no": "26-61-999999", "entry_id": "900120261000099999", "customs_code": "9001",
        "cleared_on": "2026-11-20"})
    assert resp.status_code == 422 and "许可证号不存在或未审批通过" in resp.get_data(as_text=True)
    resp = c.post("/me_clearance/new/do/save", data={
        "licence_no": _licence(db, 3).licence_no, "entry_id": "900120261000012345",
        "customs_code": "9001", "cleared_on": "2026-11-20"})
    assert resp.status_code == 422
    # once: a unique=True column is also a UniqueConstraint of its table, and was said twice
    assert resp.get_data(as_text=True).count("「报关单号」900120261000012345 已存在") == 1
    resp = c.post("/me_clearance/new/do/save", data={
        "licence_no": _licence(db, 3).licence_no, "entry_id": "12345", "customs_code": "9001",
        "cleared_on": "2026-11-20"})
    assert "报关单号应为 18 位数字" in resp.get_data(as_text=True)


def test_clearance_data_query_by_licence_number(browser, db):
    lic = _licence(db, 3)
    b = browser("enterprise1")
    status, html = b.text(f"/me_clearance/?licence_no={lic.licence_no}&_searched=1")
    assert status == 200
    assert "900120261000012345" in html and "900120261000023456" in html
    assert "900120261000012345" not in browser("enterprise2").get("/me_clearance/").get_data(
        as_text=True)
    # enterprises read clearances; only customs record them
    assert b.post("/me_clearance/new/do/save", data={"licence_no": lic.licence_no}
                  ).status_code == 302
    assert "您的角色无权新增「结关数据」" in flashes(b)
    assert db.scalar(select(MeClearance).where(MeClearance.entry_id.is_(None))) is None


def test_a_clearance_is_neither_declared_nor_cleared_in_the_future(browser, db):
    """申报日期 2030-01-01 was accepted (and the clearance drew on the quota)."""
    import datetime as dt

    c = browser("customs1")
    lic = _licence(db, 3)
    tomorrow = (today_for_a_while() + dt.timedelta(days=1)).isoformat()
    data = {"licence_no": lic.licence_no, "entry_id": "900120261000077777",
            "customs_code": "9001", "declared_on": "2026-11-02", "cleared_on": "2026-11-20"}
    for wrong in ({"declared_on": tomorrow}, {"cleared_on": tomorrow}):
        resp = c.post("/me_clearance/new/do/save", data=dict(data, **wrong))
        assert resp.status_code == 422 and "不能晚于今天" in resp.get_data(as_text=True)
    # nor cleared before it was declared
    resp = c.post("/me_clearance/new/do/save", data=dict(data, cleared_on="2026-11-01"))
    assert resp.status_code == 422 and "不能早于「申报日期」" in resp.get_data(as_text=True)
    assert db.scalar(select(MeClearance.id).where(
        MeClearance.entry_id == "900120261000077777")) is None
