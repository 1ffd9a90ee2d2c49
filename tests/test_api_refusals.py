"""Flask-AppBuilder's own refusals of the REST API (no permission on the resource, an unknown
address under it) speak the caller's language like the engine's: they said "Forbidden" and
"Not found" in English to every caller."""

from __future__ import annotations


def test_a_resource_the_role_may_not_use_is_refused_in_the_callers_language(api):
    customs = api("customs1")  # 数据同步 is the enterprises' own
    resp = customs.post("/api/v1/cd_dec_sync/", json={"mode": "ticket", "ent_category": "D"})
    assert resp.status_code == 403
    assert resp.json["message"] == "您无权访问此页面"
    resp = customs.get("/api/v1/cd_dec_sync/?_l_=en")
    assert resp.status_code == 403
    assert resp.json["message"] == "You may not open this page"


def test_an_unknown_record_under_a_resource_is_not_found_in_the_callers_language(api):
    ent = api("enterprise1")
    resp = ent.get("/api/v1/me_licence_application/99999999")
    assert resp.status_code == 404 and resp.json["message"] == "记录不存在或无权访问"
    resp = ent.get("/api/v1/me_licence_application/99999999/history")
    assert resp.status_code == 404 and resp.json["message"] == "记录不存在或无权访问"
