"""Browser journey of 享惠受阻协调申请 in Debian's Chromium: enterprise1 picks 贸促会原产地证书 in
the left menu, fills the manual's form, 暂存, uploads a PDF, 提交 with its certificate not yet
bound (the manual's message shows), binds it in 证书申请 › 关联, 提交 → 申报成功; customs1
receives and returns it; enterprise1 edits and submits again; customs1 closes it (办结).

Screenshots go to tests/artifacts/ (coo-*.png).

    python -m pytest -q -m browser tests/test_browser_coo.py
"""

from __future__ import annotations

import re

import pytest

from .browser_support import ARTIFACTS, no_page_errors, open_function
from .test_browser_used_me import one_line_navbar

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CERT = "CCPIT26610000104"  # enterprise1's 贸促会 certificate, not bound in the demo
ENTRY = "900120260000123456"  # enterprise1's released export declaration


def stored(live, pk):
    from app import db
    from models.coo import CooCoordination

    with live.app.app_context():
        try:
            r = db.session.get(CooCoordination, pk)
            return {"status": r.status, "reason": r.reason, "result": r.result,
                    "customs_reply": r.customs_reply}
        finally:
            db.session.remove()


def menu(tab, entry, group="享惠受阻协调申请"):
    """The menu 享惠受阻协调申请 (the manual's left menu): open it, click `entry`."""
    open_function(tab.page, group, entry)


def dialog(tab, name: str, field: str, value: str):
    page = tab.page
    page.click(f"button[data-transition={name}]")
    page.wait_for_selector(f"#dlg-{name}.show")
    page.fill(f"#dlg-{name} [name={field}]", value)
    with page.expect_navigation():
        page.click(f"#dlg-{name} button[type=submit]")


def test_coordination_journey(user, live, tmp_path):
    # 1. enterprise1: the left menu → 贸促会原产地证书享惠受阻协调申请 → the new form
    ent = user("enterprise1")
    page = ent.page
    ent.goto("/")
    one_line_navbar(ent)
    menu(ent, "贸促会原产地证书享惠受阻协调申请")
    assert page.input_value("[name=kind]") == "ccpit"
    assert page.get_attribute("[name=cert_no]", "placeholder") == "原产地证书号必填"
    page.fill("[name=cert_no]", CERT)
    page.focus("[name=agreement_code]")
    ent.type_code("东盟", "02")
    page.fill("[name=export_entry_no]", ENTRY)
    page.fill("[name=import_entry_no]", "SG2026-IMP-77812")
    page.fill("[name=contact]", "王建国")
    page.fill("[name=phone]", "029-88451234")
    page.focus("[name=import_country]")
    ent.type_code("新加坡", "SGP")
    page.fill("[name=reason]", "新加坡海关以证书签章不清晰为由拒绝给予中国-东盟自贸协定税率。")
    ent.shot("coo-01-new-form")
    ent.submit("button[data-transition=save]")
    assert "暂存成功" in ent.flash(), ent.flash()
    pk = int(re.search(r"/coo_coordination/(\d+)$", page.url).group(1))
    assert page.locator(".attachment-hint").inner_text().startswith("提示：每个pdf大小不超过300K")

    # 2. a PDF into 原产地证明
    pdf = tmp_path / "原产地证书.pdf"
    pdf.write_bytes(PDF)
    form = page.locator("form.upload-form", has=page.locator("input[value=origin_proof]"))
    form.locator("input[type=file]").set_input_files(str(pdf))
    with page.expect_navigation():
        form.locator("button").click()
    assert "原产地证书.pdf" in page.locator("#attachments").inner_text()

    # 3. 提交 with the certificate not bound: the manual's message, still 暂存
    ent.submit("button[data-transition=submit]")
    assert "提交失败，请进入证书申请系统进行关联操作" in ent.flash(), ent.flash()
    ent.shot("coo-02-not-bound", full_page=False)
    assert stored(live, pk)["status"] == "draft"

    # 4. 证书申请 › 关联: bind the certificate to the export declaration
    menu(ent, "证书申请 › 关联")
    with page.expect_navigation():
        page.locator("tr.js-row", has_text=CERT).locator("a").first.click()
    dialog(ent, "bind", "input-export_entry_no", ENTRY)
    assert "关联成功" in ent.flash(), ent.flash()
    ent.shot("coo-03-bound", full_page=False)

    # 5. 提交 → 申报成功
    ent.goto(f"/coo_coordination/{pk}")
    ent.submit("button[data-transition=submit]")
    assert "申报成功" in ent.flash(), ent.flash()
    assert ent.state_label() == "已申报"

    # 6. customs1: 享惠受阻协调处理 → 接收, then 退回 with an opinion
    cus = user("customs1")
    cp = cus.page
    cus.goto("/coo_coordination/screen/handle/")
    one_line_navbar(cus)  # the handling list sits in 业务数据查询
    coord_no = cp.locator("tr.js-row").first.inner_text()
    assert CERT in cp.locator("table").inner_text(), coord_no
    cus.goto(f"/coo_coordination/{pk}")
    assert ENTRY in cp.locator("body").inner_text()  # the declaration beside the application
    cus.submit("button[data-transition=receive]")
    assert cus.state_label() == "待办"
    dialog(cus, "return", "opinion", "请补充新加坡海关的拒绝享惠书面通知。")
    assert "已退回" in cus.flash(), cus.flash()
    cus.shot("coo-04-returned", full_page=False)

    # 7. enterprise1 edits and submits again
    ent.goto(f"/coo_coordination/{pk}")
    assert ent.state_label() == "退回"
    page.fill("[name=reason]", "新加坡海关拒绝享惠，书面通知已作为其他1上传。")
    ent.submit("button[data-transition=submit]")
    assert "申报成功" in ent.flash(), ent.flash()

    # 8. customs1 receives and closes it with the result
    cus.goto(f"/coo_coordination/{pk}")
    cus.submit("button[data-transition=receive]")
    dialog(cus, "close", "input-result", "已与新加坡海关磋商，证书有效，补予协定税率。")
    assert "已办结" in cus.flash(), cus.flash()
    cus.shot("coo-05-closed")
    s = stored(live, pk)
    assert s["status"] == "closed" and s["result"].startswith("已与新加坡海关磋商")
    assert s["reason"].startswith("新加坡海关拒绝享惠")

    # 9. enterprise1 sees it 已办结, read only, the PDF still downloadable
    ent.goto(f"/coo_coordination/{pk}")
    assert ent.state_label() == "已办结"
    assert page.locator("button[data-transition=save]").count() == 0
    href = page.locator("#attachments a", has_text="原产地证书.pdf").get_attribute("href")
    assert page.request.get(live.url + href).body() == PDF
    ent.shot("coo-06-enterprise-closed")
    assert (ARTIFACTS / "coo-06-enterprise-closed.png").exists()
    no_page_errors(user)
