"""异常统计 in Debian's Chromium: customs1 and enterprise1 open the statistics from the left
menu, the charts draw (ECharts, served by the app, under the page's CSP), a click on a bar opens
the list of exactly the rows it counts.  Screenshots: tests/artifacts/stats-*.png."""

from __future__ import annotations

import re

import pytest

from .browser_support import no_page_errors, open_function

pytestmark = pytest.mark.browser


def click_bar(page, chart: str, index: int) -> None:
    """Click the middle of bar `index` of chart `chart` (its position from the chart itself)."""
    sel = f".stat-panel[data-chart-name={chart}] .stat-chart"
    page.wait_for_function(f"() => document.querySelector('{sel}').engineChart")
    x, y = page.eval_on_selector(sel, f"""el => {{
        const c = el.engineChart, o = c.getOption(), v = o.series[0].data[{index}];
        const top = c.convertToPixel({{seriesIndex: 0}}, [{index}, v]);
        const base = c.convertToPixel({{seriesIndex: 0}}, [{index}, 0]);
        const r = el.getBoundingClientRect();
        return [r.left + top[0], r.top + (top[1] + base[1]) / 2];
    }}""")
    with page.expect_navigation():
        page.mouse.click(x, y)


@pytest.mark.parametrize("username", ["customs1", "enterprise1"])
def test_statistics_click_through_to_the_list(user, username):
    tab = user(username)
    page = tab.page
    tab.goto("/")
    open_function(page, "异常状态登记", "报关单异常统计")
    assert page.locator("h3.page-title").inner_text().strip() == "报关单异常统计"
    assert page.locator(".stat-panel[data-chart-name=by_kind] canvas").count() == 1
    labels = page.locator(".stat-panel[data-chart-name=by_kind] .stat-numbers tbody td:first-child")
    counts = page.locator(".stat-panel[data-chart-name=by_kind] .stat-numbers tbody td.num")
    first_label, first_count = labels.first.inner_text().strip(), int(counts.first.inner_text())
    tab.shot(f"stats-{username}")
    click_bar(page, "by_kind", 0)
    assert "/cd_declaration_exception/?" in page.url
    total = re.search(r"共 ([\d,]+) 条", page.locator(".pager").inner_text())
    assert total and int(total.group(1)) == first_count
    kinds = {t.strip() for t in page.locator(
        ".record-list tbody td:nth-child(6)").all_inner_texts()}
    assert kinds == {first_label}, kinds
    no_page_errors(user)
