"""Dates that must lie ahead of today, behind it, or after another date of the record are
checked wherever they are entered: an expired certificate is not an inspection result."""

from __future__ import annotations

import datetime as dt
import io

from models.used_me import UeEntrustment

from .helpers import get, today_for_a_while
from .test_used_me import INST1, PDF, _entrust


# Days relative to today are worked out when a test types them, not when the module was
# imported: a run going on past 北京时间 midnight made the module's "tomorrow" the app's today.
def _days_from_today(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def _accepted_entrustment(browser):
    ent, inst = browser("enterprise1"), browser("institution1")
    pk = _entrust(ent)
    ent.post(f"/ue_entrustment/{pk}/do/submit")
    inst.post(f"/ue_entrustment/{pk}/do/accept")
    return inst, pk


def test_an_expired_certificate_is_not_an_inspection_result(browser, db):
    inst, pk = _accepted_entrustment(browser)
    assert get(db, UeEntrustment, pk).status == "accepted"
    for expired in ("2020-01-01", _days_from_today(-1)):
        resp = inst.post(f"/ue_entrustment/{pk}/do/result", data={
            "input-cert_no": "JMI-1", "input-valid_until": expired,
            "input-result_file": (io.BytesIO(PDF), "证书.pdf")},
            content_type="multipart/form-data")
        assert resp.status_code == 422
        assert "不能早于今天" in resp.get_data(as_text=True)
        e = get(db, UeEntrustment, pk)
        assert e.status == "accepted" and e.inst_cert_no is None
    inst.post(f"/ue_entrustment/{pk}/do/result", data={
        "input-cert_no": "JMI-2", "input-valid_until": _days_from_today(365),
        "input-result_file": (io.BytesIO(PDF), "证书.pdf")}, content_type="multipart/form-data")
    assert get(db, UeEntrustment, pk).status == "done"


def test_a_disposal_does_not_end_before_it_starts(api):
    resp = api("customs1").post("/api/v1/ue_disposal/", json={
        "institution_id": INST1, "disposal_type": "rectify", "notice_content": "限期整改",
        "start_on": "2026-12-01", "end_on": "2026-11-30"})
    assert resp.status_code == 422
    assert resp.json["errors"]["end_on"] == ["不能早于「开始日期」（2026-12-01）"]


def test_deadlines_and_validities_entered_lie_ahead(api, db):
    c = api("customs1")
    resp = c.post("/api/v1/ue_supervision_check/", json={
        "institution_id": INST1, "check_type": "file", "requirement": "提交检验记录",
        "deadline": _days_from_today(-1)})
    assert resp.status_code == 422 and "不能早于今天" in resp.json["errors"]["deadline"][0]
    resp = c.post("/api/v1/ue_annual_report/", json={
        "institution_id": INST1, "year": 2021, "deadline": "2020-03-31"})
    assert resp.status_code == 422 and "deadline" in resp.json["errors"]


def test_a_date_of_manufacture_is_written_yyyy_mm_and_not_in_the_future(browser, db):
    ent = browser("enterprise1")
    pk = _entrust(ent)
    line = {"__tables": "goods", "goods-0-hs_code": "8458110000", "goods-0-name": "车床",
            "goods-0-model": "QT-250", "goods-0-qty": "1", "goods-0-unit": "001",
            "goods-0-unit_price": "1000"}
    next_year = today_for_a_while().year + 1  # not this year's January once midnight passes
    for bad, msg in (("2013/11", "格式应为 YYYY-MM"), ("2013-13", "格式应为 YYYY-MM"),
                     (f"{next_year}-01", "不能晚于本月")):
        resp = ent.post(f"/ue_entrustment/{pk}/do/save", data=dict(line, **{
            "goods-0-made_on": bad}))
        assert resp.status_code == 422, bad
        assert msg in resp.get_data(as_text=True), bad
    resp = ent.post(f"/ue_entrustment/{pk}/do/save", data=dict(line, **{
        "goods-0-made_on": "2013-11"}))
    assert resp.status_code == 302
    assert get(db, UeEntrustment, pk).goods[0].made_on == "2013-11"


def test_a_contract_is_not_signed_in_the_future(api, db):
    from models.me_licence import LicenceApplication

    c = api("enterprise1")
    lic = get(db, LicenceApplication, 1)
    tomorrow = (today_for_a_while() + dt.timedelta(days=1)).isoformat()
    resp = c.put("/api/v1/me_licence_application/1", json={"version": lic.version, "contracts": [
        {"contract_no": "HT-1", "signed_on": tomorrow}]})
    assert resp.status_code == 422
    assert "不能晚于今天" in resp.json["errors"]["contracts-0-signed_on"][0]


# --- the product's clock: 北京时间 whatever the server's zone (app/clock.py) ------------------
def _beijing_now() -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def _beijing_minutes(since: dt.datetime) -> set[str]:
    """Every minute (北京时间) from ``since`` to now — however long the requests in between
    took (a minute either side of the check failed a save answered over a minute late)."""
    now, minute = _beijing_now(), since.replace(second=0, microsecond=0)
    minutes = set()
    while minute <= now:
        minutes.add(minute.strftime("%Y-%m-%d %H:%M"))
        minute += dt.timedelta(minutes=1)
    return minutes


def test_a_saved_record_shows_the_time_in_beijing(browser, db):
    """A server on UTC showed 最近操作时间 eight hours early (13:43 for 21:43 北京时间)."""
    from models.me_licence import LicenceApplication

    from .helpers import new_draft

    b = browser("enterprise1")
    before = _beijing_now()
    pk = new_draft(b)
    db.rollback()
    stored = get(db, LicenceApplication, pk).updated_at.strftime("%Y-%m-%d %H:%M")
    assert stored in _beijing_minutes(before)
    html = b.get(f"/me_licence_application/{pk}/history").get_data(as_text=True)
    assert any(minute in html for minute in _beijing_minutes(before))


def test_the_clock_is_beijing_on_a_server_in_utc_and_an_unknown_zone_refuses_to_start(
        tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "TZ": "UTC",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    out = subprocess.run(
        [sys.executable, "-c", "import app, datetime as dt; "
         "print(round((dt.datetime.now() - dt.datetime.now(dt.timezone.utc)"
         ".replace(tzinfo=None)).total_seconds() / 3600))"],
        capture_output=True, text=True, timeout=120, cwd=root, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "8", out.stderr[-2000:]
    out = subprocess.run([sys.executable, "run.py", "--no-serve"], capture_output=True,
                         text=True, timeout=120, cwd=root, env={**env, "TIMEZONE": "Mars/Base"})
    assert out.returncode == 2, out.stderr[-2000:]
    assert "TIMEZONE='Mars/Base' is not a time zone this machine knows" in out.stderr
    assert "Traceback" not in out.stderr
