"""Bad input answers 4xx with a clear message and changes nothing — never a 500.

Each case here was a 500 once (fuzzing the API and the forms): huge integers, broken rison, lone
surrogates, NUL bytes, malformed form keys, deeply nested JSON, far dates, crafted cursors and
oversized bodies.
"""

from __future__ import annotations

import json

import prison
import pytest
from sqlalchemy import select

from app.engine.record import REGISTRY
from models.me_licence import LicenceApplication

from .helpers import get

HUGE = 2**64 + 7
RESOURCES = sorted(r for r, m in REGISTRY.items() if m.meta().api)


def _ok(resp):
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    return resp


@pytest.mark.parametrize("resource", RESOURCES)
def test_huge_ids_are_records_that_do_not_exist(api, resource):
    c = api("admin")
    _ok(c.get(f"/api/v1/{resource}/{HUGE}"))
    _ok(c.get(f"/api/v1/{resource}/1/attachments/{HUGE}"))
    _ok(c.get(f"/api/v1/{resource}/print?ids={HUGE},1"))
    _ok(c.post(f"/api/v1/{resource}/{HUGE}/action/save", json={}))
    resp = c.post(f"/api/v1/{resource}/action/delete", json={"ids": [HUGE, -1, "x", None]})
    if resp.status_code == 200:
        assert not any(r["ok"] for r in resp.json["results"])
    else:
        _ok(resp)


def test_huge_ids_on_the_screens(browser):
    b = browser("enterprise1")
    assert b.get(f"/me_licence_application/{HUGE}").status_code == 404
    assert b.get(f"/me_licence_application/1/attachments/{HUGE}").status_code == 404
    assert b.get(f"/me_licence_application/print?ids={HUGE}").status_code == 404
    resp = b.post("/me_licence_application/batch/declare", data={"ids": [str(HUGE), "abc"]})
    assert resp.status_code == 302


def test_huge_numbers_in_fields_and_searches(api, browser, db):
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    resp = _ok(c.put("/api/v1/me_licence_application/1", json={"year": HUGE, "version": v}))
    assert "year" in resp.json["errors"]
    resp = _ok(c.put("/api/v1/me_licence_application/1", json={"goods": [{
        "hs_code": "8458110000", "name": "车床", "goods_state": "N", "unit": "001",
        "specs": [{"model": "X", "qty": "1e400", "unit_price": "1"}]}], "version": v}))
    assert resp.status_code == 422
    for q in ({"filters": [{"col": "year", "opr": "eq", "value": HUGE}]},
              {"filters": [{"col": "total_usd", "opr": "eq", "value": "1e999999"}]}):
        _ok(c.get("/api/v1/me_licence_application/?q=" + prison.dumps(q)))
    b = browser("enterprise1")
    status, html = b.text(f"/me_product/?year={HUGE}&_searched=1")
    assert status == 200 and "查询条件格式错误" in html


@pytest.mark.parametrize("q", ["1e+5", "(page:", "(filters:!((col:", "'", "!(", "(a:1e)",
                               "(" * 3000 + ")" * 3000, "(page:-1)", "(page_size:0)",
                               "(page_size:100000)", "(order_direction:up)", "(filters:1)",
                               "(filters:!(1))", "(filters:!((col:year,opr:eq,value:!(1))))"])
def test_broken_rison_is_a_bad_request(api, q):
    _ok(api("enterprise1").get(f"/api/v1/me_licence_application/?q={q}"))


def test_text_the_database_cannot_hold_is_refused(api, db):
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    before = get(db, LicenceApplication, 1).agent_name
    for bad in ("a\x00b", "\ud800", "x\udfffy"):
        body = json.dumps({"agent_name": bad, "version": v}, ensure_ascii=True)
        resp = _ok(c.put("/api/v1/me_licence_application/1", data=body,
                         content_type="application/json"))
        assert resp.json["message"]
    q = prison.dumps({"filters": [{"col": "goods_names", "opr": "ct", "value": "车\x00床"}]})
    _ok(c.get("/api/v1/me_licence_application/?q=" + q))
    assert get(db, LicenceApplication, 1).agent_name == before


def test_nul_bytes_in_forms_searches_and_login(app, browser):
    b = browser("enterprise1")
    resp = b.post("/me_licence_application/1/do/save", data={"agent_name": "王\x00五"})
    assert 400 <= resp.status_code < 500
    status, _html = b.text("/me_licence_application/?importer_name=a%00b&_searched=1")
    assert 400 <= status < 500
    anon = app.test_client()
    resp = anon.post("/login/", data={"username": "admin\x00", "password": "x"})
    assert 400 <= resp.status_code < 500
    resp = anon.post("/api/v1/security/login", json={"username": "admin\x00", "password": "x",
                                                     "provider": "db"})
    assert 400 <= resp.status_code < 500


@pytest.mark.parametrize("form", [
    {"goods-0": "x", "goods-0-name": "y"},
    {"goods-abc-name": "y"},
    {"goods-0-specs": "x"},
    {"goods": "x", "goods-0-name": "y"},
    {"goods-0-specs-0-qty": "1", "goods-0-specs": "z"},
    {"__tables": "goods-0-specs-x"},
    {"goods-99999999999999999999-name": "y"},
    {"-": "x", "--": "y", "goods--name": "z"},
])
def test_malformed_form_keys_are_refused(browser, db, form):
    b = browser("enterprise1")
    before = get(db, LicenceApplication, 1).version
    resp = b.post("/me_licence_application/1/do/save", data=dict(form, __tables="goods"))
    assert resp.status_code in (302, 400, 403, 422), resp.status_code
    db.rollback()
    assert get(db, LicenceApplication, 1).version in (before, before + 1)


def test_json_nested_deep_is_a_bad_request(api):
    c = api("enterprise1")
    deep = "[" * 5000 + "]" * 5000
    for path in ("/api/v1/me_licence_application/", "/api/v1/me_licence_application/1",
                 "/api/v1/me_licence_application/action/declare"):
        method = c.put if path.endswith("/1") else c.post
        resp = _ok(method(path, data='{"goods": ' + deep + "}",
                          content_type="application/json"))
        assert resp.json["message"]


def test_far_dates_in_a_date_range(browser, api):
    b = browser("enterprise1")
    status, _html = b.text("/me_licence_application/?declared_at__from=0001-01-01"
                           "&declared_at__to=9999-12-31&_searched=1")
    assert status == 200
    q = prison.dumps({"filters": [{"col": "declared_at", "opr": "lt", "value": "9999-12-31"}]})
    assert api("enterprise1").get("/api/v1/me_licence_application/?q=" + q).status_code == 200


@pytest.mark.parametrize("cursor", ["WyJ4IiwxXQ", "WzEsMV0", "WyIxZTk5OTk5IiwxXQ",
                                    "WyJOYU4iLDFd", "W251bGwsIjEiXQ", "e30", "bnVsbA",
                                    "WzEuNSwxXQ", "%00"])
def test_crafted_cursors_go_back_to_the_first_page(browser, cursor):
    b = browser("enterprise1")
    for sort in ("total_usd", "declared_at", "application_no", "id"):
        status, html = b.text(f"/me_licence_application/?_sort={sort}&_after={cursor}")
        assert status in (200, 400), (sort, cursor, status)


def test_an_oversized_api_body_is_413_in_json(api):
    c = api("enterprise1")
    resp = c.post("/api/v1/me_licence_application/", data=b"{" + b" " * (17 * 1024 * 1024),
                  content_type="application/json")
    assert resp.status_code == 413
    assert resp.json["message"]


def test_nothing_was_written_by_any_of_it(api, db):
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    _ok(c.put("/api/v1/me_licence_application/1", json={"year": HUGE, "agent_name": "改",
                                                        "version": v}))
    db.rollback()
    assert db.scalar(select(LicenceApplication.agent_name).where(
        LicenceApplication.id == 1)) != "改"


def test_every_text_field_has_a_maximum(api, db):
    """A 10 MB 备注 was once stored (and copied into the history): a Text column without a
    length of its own holds 4,000 characters."""
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    resp = c.put("/api/v1/me_licence_application/1", json={"remark": "x" * (10 * 1024 * 1024),
                                                          "version": v})
    assert resp.status_code == 422
    assert resp.json["errors"]["remark"] == ["长度不能超过 4000 个字符"]
    resp = c.put("/api/v1/me_licence_application/1", json={"remark": "备" * 4000, "version": v})
    assert resp.status_code == 200


def test_rison_against_the_schema_is_refused_with_its_reason(api):
    """FAB's query schema still applies (each schema is checked once, then reused), and its
    refusals speak the caller's language."""
    c = api("enterprise1")
    for _ in range(2):
        resp = c.get("/api/v1/me_licence_application/?q=(order_direction:up)")
        assert resp.status_code == 400
        assert resp.json["message"].startswith("查询参数 q 不符合格式：'up' is not one of")
    resp = c.get("/api/v1/me_licence_application/?q=(order_direction:up)",
                 headers={"Accept-Language": "en"})
    assert resp.json["message"].startswith("The query argument q is not valid: 'up'")
    resp = c.get("/api/v1/me_licence_application/?q=(filters:(col:status")
    assert resp.status_code == 400 and resp.json["message"] == "查询参数格式错误"
    assert c.get("/api/v1/me_licence_application/?q=(page_size:5)").status_code == 200


def test_a_duplicate_combination_is_named_in_the_callers_language(api):
    """A second 机电产品目录 entry of the same year and HS code: refused with both fields named,
    in English without the Chinese corner brackets."""
    from .helpers import HEAD

    com = api("commerce1")
    # an entry the demo's catalogue has: this year's (it holds this year's and next year's)
    row = {"year": int(HEAD["year"]), "hs_code": "8407341000", "name": "重复", "unit": "001",
           "category": "A"}
    resp = com.post("/api/v1/me_product/", json=row)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "「年度」、「商品编码」" in resp.json["message"] + str(resp.json.get("errors"))
    resp = com.post("/api/v1/me_product/?_l_=en", json=row)
    text = resp.json["message"] + str(resp.json.get("errors"))
    assert resp.status_code == 422 and "already exists" in text, text
    assert "「" not in text and "、" not in text, text


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_full_width_digits_are_not_digits_of_a_code(browser, api, db):
    """An input method types ８４５８１１００００: it looks like a code but is not one the customs
    or a telephone network know; it is refused like any other wrong character, not stored."""
    from .helpers import HEAD

    b = browser("enterprise1")
    resp = b.post("/me_licence_application/new/do/save",
                  data=dict(HEAD, agent_mobile="13809181234".translate(FULL_WIDTH)))
    assert resp.status_code == 422 and "手机号码格式错误" in resp.get_data(as_text=True)

    from demo.customs_declaration import export_data

    c = api("enterprise1")
    for field, value in (("code_ts", "8458110000"), ("ciq_code", "101")):
        data = export_data()
        data["goods"][0][field] = value.translate(FULL_WIDTH)
        resp = c.post("/api/v1/cd_declaration/", json=data)
        assert resp.status_code == 422, (field, resp.get_data(as_text=True)[:300])
        assert f"goods-0-{field}" in resp.json["errors"]


@pytest.mark.parametrize("opr", ["sw", "ct"])
def test_text_operators_on_dates_and_numbers_are_a_bad_request(api, opr):
    """开头是 / 包含 compare text: on a date or an amount they were a 500."""
    c = api("enterprise1")
    for col in ("declared_at", "total_usd"):
        q = prison.dumps({"filters": [{"col": col, "opr": opr, "value": "a"}]})
        resp = _ok(c.get("/api/v1/me_licence_application/?q=" + q))
        assert resp.status_code == 400 and "只能按" in resp.json["message"], resp.json


def test_a_cursor_beyond_its_columns_digits_is_a_bad_request(api):
    c = api("enterprise1")
    for cursor in ("WyIxZTk5OTk5IiwxXQ", "WyIxZTE4IiwxXQ"):  # ["1e99999",1], ["1e18",1]
        q = prison.dumps({"order_column": "total_usd", "after": cursor})
        resp = c.get("/api/v1/me_licence_application/?q=" + q)
        assert resp.status_code == 400, resp.get_data(as_text=True)[:300]


def test_an_api_login_without_its_provider_is_a_bad_request(app):
    resp = app.test_client().post("/api/v1/security/login",
                                  json={"username": "admin", "password": "Demo@12345"})
    assert resp.status_code == 400 and "provider" in resp.json["message"]


def test_json_values_that_are_no_text_and_dates_with_a_tail_are_refused(api, db):
    """true, 1e309 (inf), NaN were stored as "True", "inf", "nan"; 2020-01-01garbage as
    2020-01-01."""
    c = api("enterprise1")
    record = get(db, LicenceApplication, 1)
    v, name = record.version, record.agent_name
    for raw in ('true', '1e309', 'NaN', '-Infinity'):
        resp = _ok(c.put("/api/v1/me_licence_application/1", data='{"version": %d, '
                         '"agent_name": %s}' % (v, raw), content_type="application/json"))
        assert resp.json["errors"]["agent_name"] == ["格式错误"], raw
    exc = c.get("/api/v1/cd_inventory_exception/1").json["result"]
    for raw in ("2026-11-02garbage", "2026-11-02 junk"):
        resp = _ok(c.put("/api/v1/cd_inventory_exception/1",
                         json={"version": exc["version"], "occurred_on": raw}))
        assert "日期格式" in resp.json["errors"]["occurred_on"][0], raw
    resp = c.put("/api/v1/cd_inventory_exception/1",
                 json={"version": exc["version"], "occurred_on": "2026-11-02T00:00:00"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    db.expire_all()
    assert get(db, LicenceApplication, 1).agent_name == name
    assert get(db, LicenceApplication, 1).version == v


@pytest.mark.parametrize("user, url", [("commerce1", "/api/v1/me_product/2"),
                                       ("customs1", "/api/v1/ue_annual_report/{pk}")])
def test_a_year_is_a_calendar_year(api, db, user, url):
    """机电产品目录 and 年度报告 took −2026, 0 and 2147483647 as their year."""
    from models.used_me import UeAnnualReport

    c = api(user)
    if "{pk}" in url:
        inst = db.scalars(select(UeAnnualReport.institution_id)).first()
        _ok(c.post("/api/v1/ue_annual_report/", json={"institution_id": inst, "year": -1}))
        resp = c.post("/api/v1/ue_annual_report/", json={"institution_id": inst, "year": 2001})
        assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
        url = url.format(pk=resp.json["id"])
    current = c.get(url).json["result"]
    for year in (-2026, 0, 1999, 2147483647):
        resp = _ok(c.put(url, json={"version": current["version"], "year": year}))
        assert "年份应在" in resp.json["errors"]["year"][0], year
    assert c.get(url).json["result"]["year"] == current["year"]


def test_a_version_is_a_whole_number(api, db):
    """27.9 was taken for 27 and true for 1: a save went through on a version nobody sent."""
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    for wrong in (v + 0.9, True, "1e1", "٣", [v], {"v": v}):
        resp = _ok(c.put("/api/v1/me_licence_application/1",
                         json={"agent_name": "赵六", "version": wrong}))
        assert resp.status_code == 400 and "版本号无效" in resp.json["message"], (wrong, resp.json)
    resp = c.put("/api/v1/me_licence_application/1", json={"agent_name": "赵六"},
                 headers={"If-Match": "*"})
    assert resp.status_code == 428
    db.expire_all()
    assert get(db, LicenceApplication, 1).agent_name != "赵六"
    # a line's id likewise: true was line 1 (another line's, when the record had one)
    for wrong in (True, 1.5, "٣"):
        resp = _ok(c.put("/api/v1/me_licence_application/1", json={
            "goods": [{"id": wrong, "name": "车床"}], "version": v}))
        assert resp.status_code == 422 and "明细行不存在" in str(resp.json["errors"]), resp.json
    resp = c.put("/api/v1/me_licence_application/1", json={"agent_name": "赵六"},
                 headers={"If-Match": f'W/"{v}"'})
    assert resp.status_code == 200, resp.json


@pytest.mark.parametrize("data", ["x", 1, ["agent_name", "赵六"], True])
def test_a_steps_data_is_an_object(api, db, data):
    """{"data": "x"} fired 暂存 without the data, and answered 200."""
    v = get(db, LicenceApplication, 1).version
    resp = _ok(api("enterprise1").post("/api/v1/me_licence_application/1/action/save",
                                       json={"data": data, "version": v}))
    assert resp.status_code == 400 and "data" in resp.json["message"]
    db.expire_all()
    assert get(db, LicenceApplication, 1).version == v


def test_batch_ids_are_whole_numbers(api, db):
    """["1", true, null] answered one result each, their ids echoed as 'True' and 'None'."""
    resp = _ok(api("enterprise1").post("/api/v1/me_licence_application/action/declare",
                                       json={"ids": ["1", True, None, 1.0]}))
    assert resp.status_code == 400 and '["1", true, null, 1.0]' in resp.json["message"]
    assert get(db, LicenceApplication, 1).status == "draft"


def test_a_system_column_is_refused_by_what_it_is(api, db):
    from models.me_licence import MeClearance

    c = api("customs1")
    pk, v = db.execute(select(MeClearance.id, MeClearance.version).limit(1)).one()
    resp = c.put(f"/api/v1/me_clearance/{pk}", json={"licence_id": 9, "version": v})
    assert resp.status_code == 403
    assert resp.json["message"] == "以下字段在当前状态下不可修改：licence_id（系统字段）"


def test_a_unique_number_refused_without_its_value_is_named_cleanly(app):
    """A write refused by a unique number the failed statement held but the record no longer
    shows (a number given during the write) named the field with a gap: 「统一编号」 已存在."""
    from app.engine.constraints import integrity_message
    from models.customs_declaration import CdDeclaration

    with app.test_request_context():
        message, errors = integrity_message((CdDeclaration(), ("seq_no",), {"seq_no": None}))
        assert message == "「统一编号」已存在" and errors == {"seq_no": [message]}
        message, _errors = integrity_message(
            (CdDeclaration(), ("seq_no",), {"seq_no": "E20260000000000009"}))
        assert message == "「统一编号」E20260000000000009 已存在"
