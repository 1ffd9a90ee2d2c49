"""Lists page, sort and search in place (htmx) in Debian's Chromium: the list is swapped without
a page load, the address and the page tab follow, and the same addresses still answer as plain
pages; an answer that is not a list is shown as a page of its own."""

from __future__ import annotations

import re

import pytest

from .browser_support import no_page_errors

pytestmark = pytest.mark.browser


def _same_page(page) -> bool:
    return page.evaluate("() => window.__listPage === 1")


def test_paging_sorting_and_search_swap_the_list_in_place(user, live):
    live.app.config["LIST_PAGE_SIZE"] = 2
    tab = user("enterprise1")
    page = tab.page
    tab.goto("/me_licence_application/")
    page.evaluate("() => { window.__listPage = 1; }")
    total = int(re.search(r"共 ([\d,]+) 条", page.locator(".pager").inner_text())
                .group(1).replace(",", ""))
    assert total > 2, "more than one page"
    # 下一页: page 2 in place, the address and the tab follow
    with page.expect_navigation():
        page.click(".pager a:has-text('下一页')")
    page.wait_for_function("() => document.querySelector('.pager .page-no')"
                           ".textContent.includes('第 2 页')")
    assert _same_page(page), "the list was fetched in place, not the page loaded again"
    assert "_page=2" in page.url
    active = page.locator("#page-tabs .page-tab.active > a")
    assert "_page=2" in (active.get_attribute("href") or ""), active.get_attribute("href")
    # sorting by a column header, in place
    header = page.locator(".record-list thead th a").nth(1)
    with page.expect_navigation():
        header.click()
    page.wait_for_function("() => location.search.includes('_sort=')")
    page.wait_for_selector(".record-list thead th a i.fa")
    assert _same_page(page)
    # 查询 in place: by the status of the first row
    state = page.locator(".record-list tbody tr.js-row .badge").first.inner_text().strip()
    page.select_option(".search-form select[name=status]", label=state)
    with page.expect_navigation():
        page.click(".search-form button[type=submit]")
    page.wait_for_function("() => location.search.includes('status=')")
    assert _same_page(page)
    filtered = int(re.search(r"共 ([\d,]+) 条", page.locator(".pager").inner_text())
                   .group(1).replace(",", ""))
    assert 0 < filtered < total
    states = {t.strip() for t in page.locator(".record-list tbody tr.js-row .badge")
              .all_inner_texts()}
    assert states == {state}, states
    tab.shot("list-inplace-search", full_page=False)
    # the address it shows is a page of its own
    here = page.url
    tab.goto(here.replace(live.url, ""))
    assert not _same_page(page)
    assert f"共 {filtered:,} 条" in page.locator(".pager").inner_text()
    no_page_errors(user)


def test_an_answer_that_is_not_a_list_is_shown_as_a_page(user, live):
    live.app.config["LIST_PAGE_SIZE"] = 2
    tab = user("enterprise1")
    page = tab.page
    tab.goto("/me_licence_application/")
    page.evaluate("() => { window.__listPage = 1; }")
    # the session ends meanwhile: the next page of the list is the sign-in page, shown whole
    page.context.clear_cookies()
    with page.expect_navigation(url=re.compile(r"/login/")):
        page.click(".pager a:has-text('下一页')")
    assert not _same_page(page)
    assert page.locator("input[name=password]").count() == 1
