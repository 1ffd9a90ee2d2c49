"""The history (修改记录) shows every value as its label, in the reader's language — never the
stored code ("sent" for 已发送海关, "0110" without 一般贸易)."""

from __future__ import annotations

from .helpers import GOODS, HEAD, new_draft


def _approved_licence(browser):
    ent, com = browser("enterprise1"), browser("commerce1")
    pk = new_draft(ent, **HEAD)
    ent.post(f"/me_licence_application/{pk}/do/save", data=GOODS)
    ent.post(f"/me_licence_application/{pk}/do/save", data=dict(HEAD, trade_mode="0214",
                                                                 batch_mode="0"))
    ent.post(f"/me_licence_application/{pk}/do/declare")
    com.post(f"/me_licence_application/{pk}/do/approve")
    return ent, pk


def test_the_history_shows_labels_not_codes(browser, api):
    ent, pk = _approved_licence(browser)
    status, html = ent.text(f"/me_licence_application/{pk}/history?tab=changes")
    assert status == 200
    assert "已发送海关" in html and ">sent<" not in html
    assert "来料加工" in html  # 0214's name beside its code
    assert "非一批一证" in html
    changes = api("enterprise1").get(f"/api/v1/me_licence_application/{pk}/history").json[
        "changes"]
    by_field = {c["field"]: c for c in changes}
    assert by_field["customs_status"]["new"] == "已发送海关"
    assert by_field["batch_mode"]["old"] == "一批一证" and by_field["batch_mode"]["new"] == "非一批一证"
    assert by_field["trade_mode"]["new"].startswith("0214 ")


def test_the_history_speaks_the_readers_language(browser, api):
    _ent, pk = _approved_licence(browser)
    changes = api("enterprise1").get(
        f"/api/v1/me_licence_application/{pk}/history?_l_=en").json["changes"]
    by_field = {c["field"]: c for c in changes}
    assert by_field["customs_status"]["new"] == "Sent to Customs"
    assert by_field["batch_mode"]["new"] == "Multiple shipments"
