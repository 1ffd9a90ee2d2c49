"""The workspace in Debian's Chromium: the left 功能栏 lists each role's systems and functions,
marks the current one, collapses to icons and remembers it, and its filter finds a function by
its Chinese name or by the pinyin initials of it.  Screenshots: tests/artifacts/workspace-*.png.
"""

from __future__ import annotations

import pytest

from .browser_support import no_page_errors, open_function

pytestmark = pytest.mark.browser


def visible_entries(page) -> list[str]:
    return page.eval_on_selector_all(
        "#sidebar .menu-group:not([hidden]) li:not([hidden]) > a.menu-entry",
        "els => els.filter(e => e.offsetParent !== null).map(e => e.textContent.trim())")


def test_left_menu_current_function_collapse_and_filter(user):
    cus = user("customs1")
    page = cus.page
    cus.goto("/")
    # every system customs work in, as sections of the menu, and no menu bar across the top
    systems = page.eval_on_selector_all("#sidebar .system-label .text",
                                        "els => els.map(e => e.textContent.trim())")
    assert {"进口旧机电产品装运前检验监督管理", "智慧云报关 进出口管理", "机电产品进口单证"} <= set(systems)
    assert page.locator(".navbar .dropdown-toggle:has-text('业务数据查询')").count() == 0
    height = page.evaluate("document.querySelector('.navbar').getBoundingClientRect().height")
    assert height < 60

    # a function opens from its group; on its page it is marked and its group is open
    open_function(page, "业务数据查询", "报关数据查询")
    assert page.url.endswith("/cd_declaration/")
    current = page.locator("#sidebar a.menu-entry.current")
    assert current.count() == 1 and current.inner_text().strip() == "报关数据查询"
    assert current.get_attribute("aria-current") == "page"
    # a record opened from the list keeps its function marked
    page.locator(".record-list tbody a").first.click()
    page.wait_for_load_state()
    assert page.locator("#sidebar a.menu-entry.current").inner_text().strip() == "报关数据查询"
    cus.shot("workspace-customs1")

    # 收起: icons only, the work area wider; remembered over a reload
    width = page.evaluate("document.querySelector('.work-area').getBoundingClientRect().width")
    page.click("#sidebar .sidebar-toggle")
    assert page.evaluate("document.querySelector('#sidebar').getBoundingClientRect().width") < 60
    page.reload()
    assert "sidebar-collapsed" in page.get_attribute(".workspace", "class")
    assert page.evaluate(
        "document.querySelector('.work-area').getBoundingClientRect().width") > width + 150
    # a collapsed group shows its functions beside it on hover
    group = page.locator("#sidebar .menu-group",
                         has=page.locator(".group-toggle", has_text="异常状态登记")).first
    group.hover()
    assert group.locator("a.menu-entry").first.is_visible()
    cus.shot("workspace-customs1-collapsed", full_page=False)
    page.click("#sidebar .sidebar-toggle")
    page.reload()
    assert "sidebar-collapsed" not in page.get_attribute(".workspace", "class")

    # the filter: by part of the Chinese name, by pinyin initials, by a group's name; none found
    page.fill("#sidebar .menu-filter", "核注")
    assert "核注清单" in visible_entries(page)
    assert all("核注" in e for e in visible_entries(page))
    page.fill("#sidebar .menu-filter", "jdcp")               # 机电产品进口单证 and its functions
    found = visible_entries(page)
    assert "机电产品进口单证列表" in found and "报关数据查询" not in found, found
    page.fill("#sidebar .menu-filter", "hzqd")               # 核注清单 (and its exceptions)
    assert set(visible_entries(page)) == {"核注清单", "核注清单异常", "核注清单异常统计"}
    page.fill("#sidebar .menu-filter", "ycztdj")               # 异常状态登记: the whole group
    assert set(visible_entries(page)) >= {"报关单异常", "核注清单异常"}
    page.fill("#sidebar .menu-filter", "zzzz")
    assert visible_entries(page) == [] and page.locator("#sidebar .menu-none").is_visible()
    # Enter opens the first function found
    page.fill("#sidebar .menu-filter", "bgsjcx")
    with page.expect_navigation():
        page.press("#sidebar .menu-filter", "Enter")
    assert page.url.endswith("/cd_declaration/")
    no_page_errors(user)


def test_each_role_sees_its_own_systems(user):
    seen = {}
    for name in ("enterprise1", "institution1", "commerce1", "admin"):
        tab = user(name)
        tab.goto("/")
        seen[name] = set(tab.page.eval_on_selector_all(
            "#sidebar .system-label .text", "els => els.map(e => e.textContent.trim())"))
        tab.page.set_viewport_size({"width": 1280, "height": 800})
        # no horizontal scrolling of the page at 1,280 px
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1280
        tab.shot(f"workspace-{name}", full_page=False)
    assert "系统管理" in seen["admin"] and "系统管理" not in seen["enterprise1"]
    assert "智慧云报关 进出口管理" not in seen["institution1"]
    assert "进口旧机电产品装运前检验监督管理" in seen["institution1"]
    no_page_errors(user)


def test_a_list_step_that_asks_for_values_opens_the_record_with_its_dialog(user):
    """报关单异常 list: tick a record, 变更状态 → its form opens with the dialog, which offers the
    states the record may go to in a select; 确定 changes it."""
    ent = user("enterprise1")
    page = ent.page
    ent.goto("/cd_declaration_exception/")
    row = page.locator("table.record-list tbody tr", has_text="待处理").first
    row.locator("input[name=ids]").check()
    with page.expect_navigation():
        page.click(".js-batch[data-name=change_status]")
    assert page.url.endswith("#dlg-change_status")
    dialog = page.locator("#dlg-change_status")
    dialog.wait_for(state="visible")
    assert dialog.locator("select[name=input-new_status] option").all_inner_texts() == \
        ["请选择", "处理中"]
    dialog.locator("select[name=input-new_status]").select_option(label="处理中")
    page.wait_for_function("() => document.getElementById('dlg-change_status')"
                           ".classList.contains('show')")
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()
    assert "处理状态已变更" in ent.flash()
    assert ent.state_label() == "处理中"
    no_page_errors(user)


def test_a_wide_grid_of_lines_keeps_its_boxes_usable_at_1280(user):
    """报关单 商品信息 has 25 columns: at 1,280 px every box of a line stays wide enough to type in
    (it was squeezed to a few pixels beside the 申报要素 text), the grid scrolls sideways inside
    its own box, and the page itself does not scroll sideways."""
    ent = user("enterprise1")
    page = ent.page
    page.set_viewport_size({"width": 1280, "height": 800})
    ent.goto("/cd_declaration/1")
    widths = page.eval_on_selector_all(
        ".child-table[data-path=goods] tr.child-row td input.form-control:not([type=hidden])",
        "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and min(widths) >= 60, widths
    assert page.eval_on_selector(".child-table[data-path=goods]",
                                 "g => g.scrollWidth > g.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    no_page_errors(user)


def tabs(page) -> list[str]:
    return [t.strip() for t in page.locator("#page-tabs .page-tab > a").all_inner_texts()]


def active_tab(page) -> str:
    return page.locator("#page-tabs .page-tab.active > a").inner_text().strip()


def test_page_tabs_open_move_close_and_come_back(user):
    cus = user("customs1")
    page = cus.page
    cus.goto("/")
    assert tabs(page) == ["首页"]
    # three functions and two records, each in a tab
    open_function(page, "业务数据查询", "报关数据查询")
    open_function(page, "异常状态登记", "报关单异常")
    open_function(page, "处置反馈", "处置反馈")
    cus.goto("/cd_declaration/")
    with page.expect_navigation():
        page.locator(".record-list tbody a.record-link").first.click()
    first = page.locator(".page-title").first.inner_text()
    with page.expect_navigation():
        page.click("#page-tabs .page-tab:has-text('报关数据查询') > a")
    with page.expect_navigation():
        page.locator(".record-list tbody a.record-link").nth(1).click()
    names = tabs(page)
    assert names[:4] == ["首页", "报关数据查询", "报关单异常", "处置反馈"], names
    assert len(names) == 6 and all(n.startswith("报关单 ") for n in names[4:]), names
    assert names[4].split()[1] in first
    # a page already open is focused, not opened twice
    open_function(page, "业务数据查询", "报关数据查询")
    assert len(tabs(page)) == 6 and active_tab(page) == "报关数据查询"
    cus.shot("workspace-tabs", full_page=False)

    # move 处置反馈 in front of 报关数据查询; the order survives a reload
    page.drag_and_drop("#page-tabs .page-tab:has-text('处置反馈')",
                       "#page-tabs .page-tab:has-text('报关数据查询')",
                       target_position={"x": 5, "y": 10})
    assert tabs(page)[1:4] == ["处置反馈", "报关数据查询", "报关单异常"], tabs(page)
    page.reload()
    assert tabs(page)[1:4] == ["处置反馈", "报关数据查询", "报关单异常"], tabs(page)

    # keyboard: Ctrl+Alt+← / → switch, Ctrl+Alt+W closes the current tab
    with page.expect_navigation():
        page.keyboard.press("Control+Alt+ArrowLeft")
    assert active_tab(page) == "处置反馈" and page.url.endswith("/ue_disposal/")
    with page.expect_navigation():
        page.keyboard.press("Control+Alt+ArrowRight")
    assert active_tab(page) == "报关数据查询"
    with page.expect_navigation():
        page.keyboard.press("Control+Alt+w")
    assert "报关数据查询" not in tabs(page) and len(tabs(page)) == 5
    # ? lists the shortcuts
    page.keyboard.press("?")
    help_ = page.locator("#workspace-keys")
    help_.wait_for(state="visible")
    assert "Ctrl" in help_.inner_text() and "关闭当前选项卡" in help_.inner_text()
    page.wait_for_function("() => document.activeElement.id === 'workspace-keys'")
    page.keyboard.press("Escape")
    help_.wait_for(state="hidden")

    # 关闭其他选项卡 keeps 首页 and the current one; a new login finds the tabs as they were
    page.click("#page-tabs .page-tabs-menu .dropdown-toggle")
    page.click("#page-tabs .js-close-others")
    kept = tabs(page)
    assert len(kept) == 2 and kept[0] == "首页"
    with page.expect_navigation():
        page.goto(cus.base + "/logout/")
    cus.login()
    assert tabs(page)[:2] == kept
    no_page_errors(user)


def test_the_tabs_of_functions_speak_the_language_switched_to(user):
    """Tabs opened in Chinese are titled in English once the user switches: a function's tab
    by its name in the menu; 首页 too."""
    cus = user("customs1")
    page = cus.page
    cus.goto("/")
    open_function(page, "业务数据查询", "报关数据查询")
    open_function(page, "异常状态登记", "报关单异常")
    assert tabs(page) == ["首页", "报关数据查询", "报关单异常"]
    # the top bar's language menu, on a page of the product (Bootstrap 5) …
    top_menu(page, 0, "English")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert tabs(page) == ["Home", "Declaration data query", "Declaration exceptions"], tabs(page)
    # … and on one of Flask-AppBuilder's own screens (Bootstrap 3): the user's Profile
    top_menu(page, 1, "Profile")
    assert page.evaluate("document.documentElement.className") == "toolkit-bs3"
    top_menu(page, 0, "中文")
    cus.goto("/")
    assert tabs(page) == ["首页", "报关数据查询", "报关单异常"], tabs(page)
    no_page_errors(user)


def top_menu(page, n: int, item: str) -> None:
    """Open the top bar's n-th drop-down (0: language, 1: the user's) and follow ``item``."""
    page.locator(".top-menu > li.dropdown > .dropdown-toggle").nth(n).click()
    link = page.locator(".top-menu .dropdown-menu a", has_text=item)
    link.wait_for(state="visible")
    with page.expect_navigation():
        link.click()


def test_closing_a_tab_with_unsaved_edits_asks_first(user):
    ent = user("enterprise1")
    page = ent.page
    open_function(page, "异常状态登记", "报关单异常")
    with page.expect_navigation():
        page.click(".list-toolbar a:has-text('新增')")
    new_tab = active_tab(page)
    page.fill("[name=number]", "900120260000123456")
    confirm = page.locator("#ui-dialog")
    # 取消 clicked while the question is still fading in closes it all the same
    page.evaluate("() => { document.querySelector('#page-tabs .page-tab.active .tab-close')"
                  ".click(); document.querySelector('#ui-dialog .js-ui-cancel').click(); }")
    page.wait_for_function("() => !document.querySelector('.modal-backdrop') &&"
                           " !document.getElementById('ui-dialog').classList.contains('show')")
    assert active_tab(page) == new_tab and page.input_value("[name=number]")
    page.click("#page-tabs .page-tab.active .tab-close")
    confirm.wait_for(state="visible")
    assert "未保存的修改" in confirm.inner_text()
    confirm.locator("button:has-text('取消')").click()
    confirm.wait_for(state="hidden")
    assert active_tab(page) == new_tab and page.input_value("[name=number]")
    # another function from the menu asks too; 确定 leaves and the tab closes
    page.click("#page-tabs .page-tab.active .tab-close")
    confirm.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('ui-dialog')"
                           ".classList.contains('show')")
    with page.expect_navigation():
        confirm.locator(".js-ui-ok").click()
    assert new_tab not in tabs(page) and active_tab(page) == "报关单异常"
    no_page_errors(user)


def test_a_refused_save_stays_in_the_tab_of_its_form(user):
    """A refused save answered at …/do/save: the strip opened a second tab for that address,
    which answered 405 when it was opened again."""
    ent = user("enterprise1")
    page = ent.page
    open_function(page, "异常状态登记", "报关单异常")
    with page.expect_navigation():
        page.click(".list-toolbar a:has-text('新增')")
    before = tabs(page)
    page.fill("[name=number]", "900120260000999999")  # no declaration of the company's
    ent.submit("button[data-transition=save]")
    assert page.locator(".has-error").count() >= 1
    assert "/do/" not in page.url and page.url.endswith("/cd_declaration_exception/new"), page.url
    assert tabs(page) == before, tabs(page)
    stored = page.evaluate("() => Object.keys(localStorage).map(k => localStorage[k]).join()")
    assert "/do/" not in stored
    # the tab opens the form again
    page.reload()
    assert page.locator("[name=number]").count() == 1 and tabs(page) == before
    no_page_errors(user)


def test_the_administrators_console_is_in_the_shell_and_asks_in_its_dialogs(user, live):
    adm = user("admin")
    page = adm.page
    adm.goto("/")
    open_function(page, "用户权限", "管理控制台")
    assert page.url.endswith("/admin/")
    # the same 功能栏 and page tabs as every other screen, its function marked
    assert page.locator("#sidebar a.menu-entry.current").inner_text().strip() == "管理控制台"
    assert tabs(page) == ["首页", "管理控制台"]
    # the console's own menu is the first section of the 功能栏; its top bar is one line
    assert page.locator("#sidebar .system-label .text").first.inner_text() == "管理控制台"
    open_function(page, "参数", "汇率")
    assert page.url.endswith("/admin/rate_admin/")
    assert page.locator("#sidebar a.menu-entry.current").inner_text().strip() == "汇率"
    assert tabs(page) == ["首页", "管理控制台", "汇率"] and active_tab(page) == "汇率"
    assert page.evaluate("document.querySelector('.console-top').offsetHeight") < 60
    adm.shot("workspace-admin-console", full_page=False)

    def gone():
        page.wait_for_function("() => !document.getElementById('ui-dialog').classList.contains('show')")

    # a batch action with nothing selected is told so
    page.click("a.dropdown-toggle:has-text('选中的')")
    page.click(".dropdown-menu a:has-text('删除')")
    assert "选择" in adm.answer_dialog()
    gone()
    # a row's 删除 asks; 取消 keeps the row, 确定 deletes it
    row = page.locator("tr", has=page.locator("td", has_text="CAD"))
    row.locator("form button").click()
    assert "删除" in adm.answer_dialog(ok=False)
    gone()
    assert row.count() == 1
    row.locator("form button").click()
    with page.expect_navigation():
        adm.answer_dialog()
    assert page.locator("td", has_text="CAD").count() == 0
    # the batch 删除 of two selected rows asks once, then deletes both
    for code in ("SEK", "AUD"):
        page.locator("tr", has=page.locator("td", has_text=code)).locator(
            "input.action-checkbox").check()
    page.click("a.dropdown-toggle:has-text('选中的')")
    page.click(".dropdown-menu a:has-text('删除')")
    with page.expect_navigation():
        assert "删除" in adm.answer_dialog()
    assert page.locator("td", has_text="SEK").count() == 0
    assert page.locator("td", has_text="AUD").count() == 0

    from app import db
    from models.base import CurrencyRate
    with live.app.app_context():
        left = {r.currency for r in db.session.query(CurrencyRate)}
    assert not left & {"CAD", "SEK", "AUD"} and "USD" in left
    # in English, 1,280 px wide, the top bar is still one line
    page.set_viewport_size({"width": 1280, "height": 800})
    adm.goto("/lang/en")
    adm.goto("/admin/rate_admin/")
    assert page.locator("#sidebar .system-label .text").first.inner_text() == "Admin console"
    assert page.evaluate("document.querySelector('.console-top').offsetHeight") < 60
    no_page_errors(user)


def test_a_print_opens_in_a_tab_of_the_workspace(user):
    ent = user("enterprise1")
    page = ent.page
    ent.goto("/me_licence_application/3")
    record_tab = active_tab(page)
    with page.expect_response(lambda r: r.url.endswith("/me_licence_application/3/print")) as pdf:
        with page.expect_navigation():
            page.click(".form-toolbar a:has-text('打印'), a.btn:has-text('打印')")
    assert pdf.value.status == 200 and pdf.value.headers["content-type"] == "application/pdf"
    assert page.url.endswith("/me_licence_application/3/print/view")
    assert active_tab(page).startswith("打印") and record_tab in tabs(page)
    assert page.locator("iframe.print-frame").bounding_box()["height"] > 400
    ent.shot("workspace-print", full_page=False)
    # 返回 goes back to the record's tab
    with page.expect_navigation():
        page.click(".print-toolbar a:has-text('返回')")
    assert active_tab(page) == record_tab
    no_page_errors(user)
