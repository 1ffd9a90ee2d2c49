"""A date typed is a date of this era: 0202-12-08 (a slip for 2026) or 9999-12-31 is refused
where it is entered — the form, the REST API, a line — with the span it must lie in; a stored
date that is not changed is never checked again."""

from __future__ import annotations

from sqlalchemy import update

from .helpers import get
from .test_used_me import INST1


def test_a_date_out_of_the_era_is_refused_through_the_api(api):
    c = api("customs1")
    for start, end in (("0202-12-01", "2026-12-31"), ("2026-12-01", "9999-12-31")):
        resp = c.post("/api/v1/ue_disposal/", json={
            "institution_id": INST1, "disposal_type": "rectify", "notice_content": "限期整改",
            "start_on": start, "end_on": end})
        assert resp.status_code == 422, resp.json
        bad = "start_on" if start.startswith("0") else "end_on"
        assert resp.json["errors"][bad] == ["日期应在 1900-01-01 至 2099-12-31 之间"]
    resp = c.post("/api/v1/ue_disposal/?_l_=en", json={
        "institution_id": INST1, "disposal_type": "rectify", "notice_content": "限期整改",
        "start_on": "2026-12-01", "end_on": "3026-12-31"})
    assert resp.status_code == 422
    assert resp.json["errors"]["end_on"] == ["The date must lie between 1900-01-01 and 2099-12-31"]


def test_a_line_date_out_of_the_era_is_refused_on_the_form(browser, db):
    from models.me_licence import LicenceApplication

    b = browser("enterprise1")
    resp = b.post("/me_licence_application/1/do/save", data={
        "__tables": "contracts", "contracts-0-contract_no": "HT-1",
        "contracts-0-signed_on": "0202-12-08"})
    assert resp.status_code == 422
    assert "日期应在 1900-01-01 至 2099-12-31 之间" in resp.get_data(as_text=True)
    db.rollback()
    assert [c.contract_no for c in get(db, LicenceApplication, 1).contracts] != ["HT-1"]


def test_a_stored_date_of_another_era_does_not_block_saving_other_fields(api, db):
    import datetime as dt

    from models.used_me import UeDisposal

    c = api("customs1")
    made = c.post("/api/v1/ue_disposal/", json={
        "institution_id": INST1, "disposal_type": "rectify", "notice_content": "限期整改",
        "start_on": "2026-12-01", "end_on": "2026-12-31"})
    assert made.status_code == 201, made.json
    pk = made.json["id"]
    db.execute(update(UeDisposal).where(UeDisposal.id == pk).values(
        end_on=dt.date(2199, 12, 31)))
    db.commit()
    resp = c.put(f"/api/v1/ue_disposal/{pk}", json={
        "version": get(db, UeDisposal, pk).version, "notice_content": "限期整改（补充）"})
    assert resp.status_code == 200, resp.json
