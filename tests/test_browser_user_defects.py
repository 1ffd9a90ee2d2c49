"""What a new user found not working in the licence and used-M&E systems, in Chromium: 备案变更
lost the edits, list actions asked twice (or before anything was checked) and took the 退回
opinion in a one-line prompt, and a refused submit left …/do/declare in the address bar.

    python -m pytest -q -m browser tests/test_browser_user_defects.py
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from .browser_support import no_page_errors

pytestmark = pytest.mark.browser


def _session(live):
    from app import db

    return live.app, db


def test_a_change_of_an_accepted_filing_reaches_customs_with_the_edits(user, live):
    inst = user("institution1")
    inst.goto("/ue_institution_filing/1")
    page = inst.page
    assert inst.state_label() == "已受理"
    page.fill("[name=address]", "东京都港区芝公园 4-2-8 变更后地址")
    page.fill("[name=inspector_count]", "57")
    page.click("[data-transition=request_change]")
    page.wait_for_selector("#dlg-request_change textarea[name=opinion]", state="visible")
    page.fill("#dlg-request_change textarea[name=opinion]", "办公地址搬迁，检验人员增加")
    inst.submit("#dlg-request_change button[type=submit]")
    assert "变更已提交，待海关审核" in inst.flash()
    assert "没有修改任何内容" not in inst.flash() and "_record:" not in page.content()
    diff = page.locator(".change-diff").inner_text()
    assert "东京都港区芝公园 4-2-8 变更后地址" in diff and "57" in diff
    inst.shot("defect-filing-change")

    app, db = _session(live)
    from app.engine.change_requests import ChangeRequest

    with app.app_context():
        cr = db.session.scalar(select(ChangeRequest).where(ChangeRequest.record_id == 1)
                               .order_by(ChangeRequest.id.desc()))
        assert cr.status == "pending"
        assert cr.values["address"]["new"] == "东京都港区芝公园 4-2-8 变更后地址"
        assert cr.values["inspector_count"]["new"] == 57
        db.session.remove()
    no_page_errors(user)


def test_a_list_action_asks_once_and_only_for_checked_rows(user, live):
    ent = user("enterprise1")
    ent.goto("/me_licence_application/")
    page = ent.page
    ent.dialogs.clear()
    page.click(".js-batch[data-action$='/batch/declare']")
    ent.answer_dialog()                     # the toolkit's dialog, not the browser's alert()
    assert ent.dialogs == ["请先勾选记录"]  # nothing checked: no "是否申报？" first
    ent.dialogs.clear()
    page.check(".record-list tr[data-id='1'] input[name=ids]")
    ent.submit(".js-batch[data-action$='/batch/declare']")
    assert len(ent.dialogs) == 1 and "是否申报" in ent.dialogs[0], ent.dialogs
    no_page_errors(user)


def test_the_list_return_takes_its_opinion_in_the_forms_dialog(user, live):
    com = user("commerce1")
    com.goto("/me_licence_application/")
    page = com.page
    page.check(".record-list tr[data-id='2'] input[name=ids]")
    com.dialogs.clear()
    page.click(".js-batch[data-action$='/batch/return']")
    page.wait_for_selector("#dlg-batch-return textarea", state="visible")
    assert com.dialogs == []  # no prompt()
    page.click("#dlg-batch-return .js-batch-send")
    assert "此项为必填项" in page.locator("#dlg-batch-return").inner_text()
    page.fill("#dlg-batch-return textarea", "请补充进口合同及设备技术参数")
    com.shot("defect-list-return-dialog", full_page=False)
    com.submit("#dlg-batch-return .js-batch-send")
    assert "已退回" in com.flash()
    com.goto("/me_licence_application/2/history?tab=opinions")
    assert "请补充进口合同及设备技术参数" in page.content()
    no_page_errors(user)


def test_a_refused_submit_leaves_the_forms_address_not_the_post(user, live):
    ent = user("enterprise1")
    ent.goto("/me_licence_application/1")
    page = ent.page
    page.fill("[name=agent_mobile]", "")
    ent.submit("[data-transition=declare]")
    assert page.locator(".field-error").count() >= 1
    here = page.evaluate("location.href")
    assert "/do/" not in here and here.endswith("/me_licence_application/1")
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.reload()
    assert requests[0][0] == "GET" and requests[0][1].endswith("/me_licence_application/1")
    no_page_errors(user)
