"""While typing, the form posts to …/computed: the answer carries the format errors of what
was typed (shown under the field in place of a stale 此项为必填项), a malformed 进口商编码 looks
nothing up (the name of the code typed before goes)."""

from __future__ import annotations

import pytest

from .helpers import HEAD

NEW = "/me_licence_application/new/computed"


def test_a_malformed_mobile_number_answers_its_format_error(browser):
    resp = browser("enterprise1").post(NEW, data={**HEAD, "agent_mobile": "1380918"})
    assert resp.status_code == 200
    errors = resp.json["errors"]
    assert errors["agent_mobile"] and "必填" not in errors["agent_mobile"][0]
    assert "agent_name" not in errors


def test_a_well_formed_form_answers_no_errors(browser):
    assert browser("enterprise1").post(NEW, data=HEAD).json["errors"] == {}


def test_a_malformed_importer_code_clears_the_importer_name(browser):
    ent = browser("enterprise1")
    assert ent.post(NEW, data=HEAD).json["values"]["importer_name"]
    assert ent.post(NEW, data={**HEAD, "importer_code": "61019"}).json["values"][
        "importer_name"] == ""
    # too long to be set: the code typed before must not answer its name
    resp = ent.post(NEW, data={**HEAD, "importer_code": "61019301234"}).json
    assert resp["errors"]["importer_code"]
    assert resp["values"]["importer_name"] == ""


def test_an_entrustment_hs_code_of_a_mobile_number_answers_its_format_error(browser):
    resp = browser("enterprise1").post("/ue_entrustment/1/computed", data={  # the demo draft
        "__tables": "goods", "goods-0-hs_code": "1380918", "goods-0-qty": "1",
        "goods-0-unit_price": "2"})
    assert resp.status_code == 200
    assert resp.json["errors"].get("goods-0-hs_code"), resp.json
    assert resp.json["values"]["goods-0-amount"] == "2.00"


@pytest.mark.browser
def test_the_hint_under_a_field_follows_the_typing(user):
    ent = user("enterprise1")
    page = ent.page
    page.goto(ent.base + "/me_licence_application/new")
    # a refused 申报 without 经办人手机号 marks it as required …
    page.fill("[name=agent_mobile]", "")
    with page.expect_navigation():
        page.click("button[data-transition=save]")
    ent.submit("button[data-transition=declare]")     # 是否申报？ 确定
    box = page.locator(".form-group[data-field=agent_mobile]")
    assert "此项为必填项" in box.inner_text()
    # … typing a 7-digit number replaces that hint with the format error
    page.fill("[name=agent_mobile]", "1380918")
    # (each wait as long as the context's own: a loaded machine answers the typing's …/computed
    # later than the 5 seconds these waits had)
    page.wait_for_function("""() => !document.querySelector('.form-group[data-field=agent_mobile]')
        .innerText.includes('此项为必填项')""")
    assert box.locator(".field-error").count() == 1
    # an invalid 进口商编码 clears the 进口商名称 shown for the one before
    name = page.locator('.field-ro.computed[data-name="importer_name"]')
    page.fill("[name=importer_code]", "6101930123")
    page.wait_for_function("""() => document.querySelector(
        '.field-ro.computed[data-name="importer_name"]').innerText.trim() !== ''""")
    page.fill("[name=importer_code]", "61019301234")
    page.wait_for_function("""() => document.querySelector(
        '.field-ro.computed[data-name="importer_name"]').innerText.trim() === ''""")
    assert name.inner_text().strip() == ""
