"""The REST API: FAB ModelRestApi conventions plus actions, batch, history and print —
under the same policy as the screens."""

from __future__ import annotations

import datetime as dt
import re

import prison
from sqlalchemy import select

from app.engine.history import FlowEntry
from models.me_licence import LicenceApplication

from .helpers import HEAD, get

BODY = {
    "agent_mobile": "13809181234", "agent_name": "王建国", "importer_code": "6101930123",
    "trade_country": "JPN", "origin_country": "JPN", "customs_port": "9001",
    "batch_mode": "0", "goods_kind": "single", "currency": "USD",
}


def _body(**more):
    """BODY with its 年度: this year as the app counts it (本年度 or 下一年度 only)."""
    return {**BODY, "year": int(HEAD["year"]), **more}


GOODS = [{"hs_code": "8458110000", "name": "数控卧式车床", "goods_state": "N", "unit": "001",
          "specs": [{"model": "CK6150", "qty": "2", "unit_price": "38500"},
                    {"model": "CK6163", "qty": 1, "unit_price": 52800}]}]


def test_login_with_wrong_password_is_refused(app):
    c = app.test_client()
    resp = c.post("/api/v1/security/login", json={"username": "enterprise1", "password": "x",
                                                  "provider": "db"})
    assert resp.status_code == 401


def test_requests_without_a_token_are_refused(app):
    resp = app.test_client().get("/api/v1/me_licence_application/")
    assert resp.status_code == 401


def test_get_one_record_with_nested_goods_status_and_label(api):
    resp = api("enterprise1").get("/api/v1/me_licence_application/3")
    assert resp.status_code == 200
    r = resp.json["result"]
    assert resp.json["id"] == 3
    assert r["status"] == "approved" and r["status_label"] == "审批通过"
    assert re.fullmatch(r"\d{2}-61-\d{6}", r["licence_no"])
    assert [g["name"] for g in r["goods"]] == ["立式加工中心", "数控平面磨床"]
    assert r["goods"][0]["specs"][0]["model"] == "VMC850B"
    assert r["total_qty"] == "5" and r["total_amount"] == "220000"
    assert "me_password" not in api("enterprise1").get(
        "/api/v1/me_enterprise_filing/1").json["result"]


def test_english_status_label(api):
    resp = api("enterprise1").get("/api/v1/me_licence_application/3?_l_=en")
    assert resp.json["result"]["status"] == "approved"


def test_list_filters_follow_fab_conventions(api, db):
    c = api("enterprise1")
    no = get(db, LicenceApplication, 3).application_no
    q = prison.dumps({"filters": [{"col": "application_no", "opr": "eq", "value": no}],
                      "count": True})
    resp = c.get(f"/api/v1/me_licence_application/?q={q}")
    assert resp.status_code == 200 and resp.json["ids"] == [3] and resp.json["count"] == 1
    q = prison.dumps({"filters": [{"col": "goods_names", "opr": "ct", "value": "车床"}]})
    assert resp.json["result"][0]["status_label"] == "审批通过"
    resp = c.get(f"/api/v1/me_licence_application/?q={q}")
    assert resp.json["ids"] == [1]
    q = prison.dumps({"filters": [{"col": "status", "opr": "eq", "value": "approved"}],
                      "order_column": "id", "order_direction": "asc", "page_size": 1,
                      "page": 1})
    resp = c.get(f"/api/v1/me_licence_application/?q={q}")
    assert resp.json["ids"] == [5] and resp.json["count"] == 2
    q = prison.dumps({"filters": [{"col": "company_id", "opr": "eq", "value": 3}]})
    assert c.get(f"/api/v1/me_licence_application/?q={q}").status_code == 400


def test_gt_and_lt_are_strict_as_in_flask_appbuilder(api, db):
    """gt/lt were the screens' inclusive 起/止: an integrator asking for what came after the
    last day it fetched got that day's records again."""
    from sqlalchemy import select

    c = api("enterprise1")
    declared = db.scalars(select(LicenceApplication).where(
        LicenceApplication.company_id == get(db, LicenceApplication, 1).company_id,
        LicenceApplication.declared_at.is_not(None))).all()
    day = declared[0].declared_at.date()
    on_day = {r.id for r in declared if r.declared_at.date() == day}
    after = {r.id for r in declared if r.declared_at.date() > day}
    before = {r.id for r in declared if r.declared_at.date() < day}

    def ids(*filters):
        q = prison.dumps({"filters": [{"col": col, "opr": opr, "value": value}
                                      for col, opr, value in filters], "page_size": 100})
        resp = c.get(f"/api/v1/me_licence_application/?q={q}")
        assert resp.status_code == 200, resp.json
        return set(resp.json["ids"])

    assert ids(("declared_at", "gt", day.isoformat())) == after
    assert ids(("declared_at", "lt", day.isoformat())) == before
    assert not on_day & (ids(("declared_at", "gt", day.isoformat()))
                         | ids(("declared_at", "lt", day.isoformat())))
    span = (day - dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=1)).isoformat()
    assert ids(("declared_at", "gt", span[0]), ("declared_at", "lt", span[1])) == on_day
    # one value per condition: a second would have silently replaced the first
    for twice in ([("application_no", "eq", "A"), ("application_no", "ct", "B")],
                  [("declared_at", "gt", span[0]), ("declared_at", "gt", span[1])],
                  [("declared_at", "eq", span[0]), ("declared_at", "lt", span[1])]):
        q = prison.dumps({"filters": [{"col": col, "opr": opr, "value": value}
                                      for col, opr, value in twice]})
        resp = c.get(f"/api/v1/me_licence_application/?q={q}")
        assert resp.status_code == 400 and "重复" in resp.json["message"], twice


def test_create_save_declare_through_the_api(api, db):
    c = api("enterprise1")
    resp = c.post("/api/v1/me_licence_application/", json=_body())
    assert resp.status_code == 201, resp.json
    pk = resp.json["id"]
    assert resp.json["result"]["status"] == "draft"
    assert resp.json["result"]["application_no"].startswith("JD")
    # goods may only be entered after the first 暂存; now they may
    version = resp.json["result"]["version"]
    resp = c.put(f"/api/v1/me_licence_application/{pk}", json={"goods": GOODS,
                                                                 "version": version})
    assert resp.status_code == 200, resp.json
    assert resp.json["result"]["total_amount"] == "129800"
    resp = c.post(f"/api/v1/me_licence_application/{pk}/action/declare", json={})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "under_review" and resp.json["status_label"] == "审批中"
    assert resp.json["message"] == "申报成功"


def test_goods_in_the_first_post_are_refused(api):
    resp = api("enterprise1").post("/api/v1/me_licence_application/",
                                   json=_body(goods=GOODS))
    assert resp.status_code == 403
    assert "商品信息" in resp.json["message"]


def test_validation_errors_answer_422_with_field_paths(api):
    c = api("enterprise1")
    resp = c.post("/api/v1/me_licence_application/",
                  json=_body(agent_mobile="123", trade_country="ZZZZ"))
    assert resp.status_code == 422
    assert resp.json["errors"]["agent_mobile"] == ["手机号码格式错误，应为 11 位数字，以 1 开头"]
    assert "trade_country" in resp.json["errors"]
    resp = c.put("/api/v1/me_licence_application/1",
                 json={"goods": [dict(GOODS[0], specs=[{"model": "x", "qty": "abc",
                                                        "unit_price": "1"}])],
                       "version": _version(c, 1)})
    assert resp.status_code == 422
    assert resp.json["errors"] == {"goods-0-specs-0-qty": ["请输入数字"]}


def test_read_only_field_through_the_api_is_refused_and_nothing_changes(api, db):
    c = api("enterprise1")
    before = get(db, LicenceApplication, 1)
    v = before.version
    resp = c.put("/api/v1/me_licence_application/1",
                 json={"agent_name": "李四", "licence_no": "26-61-000999", "version": v})
    assert resp.status_code == 403
    assert resp.json["message"] == "以下字段在当前状态下不可修改：许可证号"
    after = get(db, LicenceApplication, 1)
    assert (after.agent_name, after.licence_no, after.version) == ("王建国", None, v)
    # posting back what GET returned (grey fields unchanged) is fine
    current = c.get("/api/v1/me_licence_application/1").json["result"]
    current["remark"] = "只改备注"
    resp = c.put("/api/v1/me_licence_application/1", json=current)
    assert resp.status_code == 200, resp.json
    assert get(db, LicenceApplication, 1).remark == "只改备注"


def test_status_cannot_be_set_directly(api, db):
    c = api("enterprise1")
    resp = c.put("/api/v1/me_licence_application/1",
                 json={"status": "approved", "version": _version(c, 1)})
    assert resp.status_code == 403
    assert get(db, LicenceApplication, 1).status == "draft"


def _version(client, pk):
    return client.get(f"/api/v1/me_licence_application/{pk}").json["result"]["version"]


def test_a_save_without_the_version_it_was_made_from_is_refused(api, db):
    c = api("enterprise1")
    before = get(db, LicenceApplication, 1)
    resp = c.put("/api/v1/me_licence_application/1", json={"remark": "盲改"})
    assert resp.status_code == 428 and "版本号" in resp.json["message"]
    assert get(db, LicenceApplication, 1).remark == before.remark
    # If-Match carries it as well as the body does
    resp = c.put("/api/v1/me_licence_application/1", json={"remark": "按版本改"},
                 headers={"If-Match": f'W/"{before.version}"'})
    assert resp.status_code == 200, resp.json
    assert get(db, LicenceApplication, 1).remark == "按版本改"


def test_stale_version_is_refused_with_409(api, db):
    c = api("enterprise1")
    v = get(db, LicenceApplication, 1).version
    assert c.put("/api/v1/me_licence_application/1",
                 json={"remark": "a", "version": v}).status_code == 200
    resp = c.put("/api/v1/me_licence_application/1", json={"remark": "b", "version": v})
    assert resp.status_code == 409
    assert get(db, LicenceApplication, 1).remark == "a"


def test_actions_answer_the_new_state_or_the_reason(api, db):
    ent, com = api("enterprise1"), api("commerce1")
    resp = ent.post("/api/v1/me_licence_application/3/action/declare", json={})
    assert resp.status_code == 409
    assert resp.json["message"] == "当前状态「审批通过」不能执行「申报」"
    resp = ent.post("/api/v1/me_licence_application/2/action/approve", json={})
    assert resp.status_code == 403
    assert resp.json["message"] == "您的角色无权执行「审批通过」"
    resp = com.post("/api/v1/me_licence_application/2/action/return", json={})
    assert resp.status_code == 422 and resp.json["errors"] == {"opinion": ["请填写审批意见"]}
    for wrong in ({"a": 1}, ["同意"], True):  # an opinion is text, not its repr
        resp = com.post("/api/v1/me_licence_application/2/action/return",
                        json={"opinion": wrong})
        assert resp.status_code == 422 and resp.json["errors"]["opinion"] == ["格式错误"]
    resp = com.post("/api/v1/me_licence_application/2/action/nonsense", json={})
    assert resp.status_code == 400
    resp = com.post("/api/v1/me_licence_application/2/action/approve",
                    json={"opinion": "同意进口"})
    assert resp.status_code == 200
    assert resp.json["status"] == "approved"
    assert re.fullmatch(r"\d{2}-61-\d{6}", resp.json["result"]["licence_no"])
    entry = db.scalars(select(FlowEntry).where(FlowEntry.record_id == 2,
                                               FlowEntry.entity == "me_licence_application")
                       .order_by(FlowEntry.id.desc())).first()
    assert (entry.transition, entry.opinion, entry.role, entry.actor_name) == (
        "approve", "同意进口", "商务", "张华")


def test_copy_answers_the_new_records_id(api, db):
    resp = api("enterprise1").post("/api/v1/me_licence_application/3/action/copy", json={})
    assert resp.status_code == 200
    new_id = resp.json["id"]
    assert new_id != 3 and resp.json["source_id"] == 3 and resp.json["status"] == "draft"
    assert get(db, LicenceApplication, new_id).licence_no is None


def test_batch_declare_gives_a_result_per_id(api, db):
    c = api("enterprise1")
    empty = c.post("/api/v1/me_licence_application/", json=_body()).json["id"]
    full = c.post("/api/v1/me_licence_application/", json=_body()).json["id"]
    c.put(f"/api/v1/me_licence_application/{full}",
          json={"goods": GOODS, "version": _version(c, full)})
    resp = c.post("/api/v1/me_licence_application/action/declare",
                  json={"ids": [full, empty, 3, 999999]})
    assert resp.status_code == 200
    res = {r["id"]: r for r in resp.json["results"]}
    assert res[full]["ok"] and res[full]["status"] == "under_review"
    assert not res[empty]["ok"] and "缺少商品信息" in res[empty]["message"]
    assert not res[3]["ok"] and "不能执行「申报」" in res[3]["message"]
    assert not res[999999]["ok"] and res[999999]["message"] == "记录不存在或无权访问"
    assert resp.json["message"].startswith("申报成功 1 条；申报失败 3 条：")
    assert c.post("/api/v1/me_licence_application/action/withdraw",
                  json={"ids": [2]}).status_code == 400
    assert c.post("/api/v1/me_licence_application/action/declare",
                  json={"ids": []}).status_code == 400
    # in English, a refused record's line speaks English punctuation too
    resp = c.post("/api/v1/me_licence_application/action/declare?_l_=en",
                  json={"ids": [empty, 3]})
    text = resp.json["message"] + "".join(r["message"] for r in resp.json["results"])
    assert "Declare" in text and not set(text) & set("：；「」"), text


def test_history_returns_flow_opinions_and_changes(api):
    c = api("enterprise1")
    c.put("/api/v1/me_licence_application/1", json={"agent_name": "赵六",
                                                    "version": _version(c, 1)})
    resp = c.get("/api/v1/me_licence_application/4/history")
    assert resp.status_code == 200
    flow = resp.json["flow"]
    assert [f["transition"] for f in flow] == ["create", "declare", "return"]
    ret = flow[-1]
    assert (ret["from"], ret["to"], ret["to_label"], ret["role"], ret["who"]) == (
        "under_review", "returned", "退回", "商务", "张华")
    assert ret["opinion"].startswith("请补充进口合同")
    assert resp.json["opinions"] == [ret]
    changes = c.get("/api/v1/me_licence_application/1/history").json["changes"]
    assert {"field": "agent_name", "label": "经办人", "old": "王建国", "new": "赵六"}.items() \
        <= changes[-1].items()


def test_delete_through_the_api(api, db):
    c = api("enterprise1")
    assert c.delete("/api/v1/me_licence_application/3").status_code == 409
    resp = c.delete("/api/v1/me_licence_application/1")
    assert resp.status_code == 200
    assert get(db, LicenceApplication, 1) is None


def test_openapi_document_is_served(api):
    resp = api("enterprise1").get("/api/v1/_openapi")
    assert resp.status_code == 200
    paths = resp.json["paths"]
    for p in ("/me_licence_application/", "/me_licence_application/{pk}/action/{name}",
              "/me_licence_application/action/{name}", "/me_licence_application/{pk}/history",
              "/me_licence_application/{pk}/print", "/me_enterprise_filing/", "/me_product/",
              "/me_clearance/"):
        assert "/api/v1" + p in paths, p


def test_catalogue_is_readable_by_enterprises_and_maintained_by_commerce(api):
    ent, com = api("enterprise1"), api("commerce1")
    q = prison.dumps({"filters": [{"col": "hs_code", "opr": "sw", "value": "8458"}]})
    resp = ent.get(f"/api/v1/me_product/?q={q}&count=1")
    assert resp.status_code == 200 and resp.json["count"] == 4 == len(resp.json["ids"])
    body = {"year": int(HEAD["year"]), "hs_code": "8460290000", "name": "其他磨床",
            "unit": "001", "category": "A"}
    assert ent.post("/api/v1/me_product/", json=body).status_code == 403
    resp = com.post("/api/v1/me_product/", json=body)
    assert resp.status_code == 201, resp.json


def test_a_declared_search_on_the_last_change_is_a_rest_filter(api, db):
    """最近操作时间 is a declared search (and a column) of 报关单: the screen filters by it, the
    REST list refused it (不能按「updated_at」查询) because it is bookkeeping, not a field."""
    from sqlalchemy import func

    from models.customs_declaration import CdDeclaration

    c = api("enterprise1")

    def ids(opr, day):
        q = prison.dumps({"filters": [{"col": "updated_at", "opr": opr,
                                       "value": day.isoformat()}]})
        resp = c.get(f"/api/v1/cd_declaration/?q={q}")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        return set(resp.json["ids"])

    everything = set(c.get("/api/v1/cd_declaration/").json["ids"])
    # the day the demo's declarations were last touched (the day the run began: not today once
    # the run has gone on past 北京时间 midnight)
    first = db.scalar(select(func.min(CdDeclaration.updated_at)).where(
        CdDeclaration.id.in_(everything))).date()
    assert everything and ids("gt", first - dt.timedelta(days=1)) == everything
    assert ids("lt", first) == set()
    # bookkeeping that is no declared search or column stays closed
    q = prison.dumps({"filters": [{"col": "updated_by_id", "opr": "eq", "value": 1}]})
    assert c.get(f"/api/v1/cd_declaration/?q={q}").status_code == 400
