"""异常统计 through HTTP: the statistics screen counts the rows of the list's scope (customs
every company's, an enterprise its own), narrowed by the list's own search fields; values show
by their labels; each bar links to the list showing exactly the rows it counts; the numbers
download as a workbook; bad filters are told, never a 500."""

from __future__ import annotations

import datetime as dt
import html as html_mod
import io
import json
import re
import urllib.parse

import openpyxl
import pytest
from sqlalchemy import func, select

from app.engine.listing import search_mode as _search_mode
from models.customs_exception import CdDeclarationException

from .helpers import today_for_a_while
from .test_customs_exceptions import API, _create

STATS = "/cd_declaration_exception/stats/"


def _today() -> dt.date:
    """Today by the app's clock when a test types it (not when the module was imported: a run
    going on past 北京时间 midnight at a month's end counted the new month's rows as the old)."""
    return today_for_a_while()


def _month_ago(n: int) -> dt.date:
    y, m = _today().year, _today().month - n
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


@pytest.fixture
def data(api):
    """enterprise1: three 查验 (one import), one 退单 of last month; enterprise2: two 查验."""
    e1, e2 = api("enterprise1"), api("enterprise2")
    this = _today().replace(day=1).isoformat()
    last = _month_ago(1).isoformat()
    for i, (kind, ie, day, post, pen) in enumerate([
            ("inspection", "E", this, "报关员", "Y"), ("inspection", "E", this, "报关员", "N"),
            ("inspection", "I", this, "制单员", "N"), ("returned", "E", last, "制单员", "N")]):
        _create(e1, number=f"90012026000010000{i}", kind=kind, ie_flag=ie, occurred_on=day,
                duty_post=post, penalised=pen, client_name="陕西秦川精密机械有限公司")
    for i in range(2):
        _create(e2, number=f"90012026000020000{i}", kind="inspection", occurred_on=this,
                duty_post="报关员", client_name="西安长安医疗设备进出口有限公司")


def _panel(html: str, chart: str) -> str:
    """One chart's panel: its heading, the chart and the table of its numbers."""
    panel = html[html.index(f'data-chart-name="{chart}"'):]
    return panel[:panel.index("</table>")]


def _table(html: str, chart: str) -> dict[str, int]:
    """The numbers under one chart: label -> count."""
    panel = _panel(html, chart)
    return {re.sub(r"<[^>]+>", "", a).strip(): int(b) for a, b in re.findall(
        r"<tr><td>(.*?)</td>\s*<td class=\"num\">(\d+)</td></tr>", panel, re.S)}


def _links(html: str, chart: str) -> dict[str, str]:
    panel = html[html.index(f'data-chart-name="{chart}"'):]
    panel = panel[:panel.index("</table>")]
    return {label: href.replace("&amp;", "&")
            for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', panel)}


def test_customs_count_every_company_and_an_enterprise_its_own(browser, db, data):
    db.rollback()
    every = dict(db.execute(select(CdDeclarationException.kind, func.count())
                            .group_by(CdDeclarationException.kind)).all())
    html = browser("customs1").get(STATS).get_data(as_text=True)
    assert _table(html, "by_kind")["查验"] == every["inspection"]
    assert _table(html, "by_kind")["退单"] == every["returned"]
    assert "inspection" not in _table(html, "by_kind")   # labels, never codes
    own = browser("enterprise1").get(STATS).get_data(as_text=True)
    company = db.scalar(select(CdDeclarationException.company_id).where(
        CdDeclarationException.number == "900120260000100000"))
    mine = dict(db.execute(select(CdDeclarationException.kind, func.count()).where(
        CdDeclarationException.company_id == company).group_by(
        CdDeclarationException.kind)).all())
    assert _table(own, "by_kind")["查验"] == mine["inspection"] < every["inspection"]
    assert "西安长安医疗设备" not in own
    assert _table(own, "by_penalty") == {"否": mine_count(db, company, penalised="N"),
                                         "是": mine_count(db, company, penalised="Y")}
    assert _table(own, "by_post")["报关员"] == mine_count(db, company, duty_post="报关员")
    months = _table(own, "by_month")
    assert months[_today().strftime("%Y-%m")] == mine_count(
        db, company, since=_today().replace(day=1))


def mine_count(db, company, since=None, **where) -> int:
    q = select(func.count()).select_from(CdDeclarationException).where(
        CdDeclarationException.company_id == company)
    for k, v in where.items():
        q = q.where(getattr(CdDeclarationException, k) == v)
    if since:
        q = q.where(CdDeclarationException.occurred_on >= since)
    return db.scalar(q)


def test_each_bar_opens_the_list_of_exactly_its_rows(browser, data):
    b = browser("enterprise1")
    html = b.get(STATS + "?ie_flag=E").get_data(as_text=True)
    for chart in ("by_kind", "by_month", "by_post", "by_penalty"):
        counts, links = _table(html, chart), _links(html, chart)
        assert links, chart
        for label, href in links.items():
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["ie_flag"] == ["E"]
            listed = b.get(href).get_data(as_text=True)
            total = re.search(r'class="page-total">共 ([\d,]+) 条<', listed)
            assert total and int(total.group(1)) == counts[label], (chart, label, href)


def test_filters_narrow_the_counts_and_bad_ones_are_told(browser, data):
    b = browser("enterprise1")
    all_ = _table(b.get(STATS).get_data(as_text=True), "by_kind")
    imports = _table(b.get(STATS + "?ie_flag=I").get_data(as_text=True), "by_kind")
    assert imports == {"查验": 1}
    since = _today().replace(day=1).isoformat()
    recent = _table(b.get(STATS + f"?occurred_on__from={since}").get_data(as_text=True),
                    "by_kind")
    assert recent.get("退单", 0) < all_["退单"]
    by_client = _table(b.get(STATS + "?client_name=秦川").get_data(as_text=True), "by_kind")
    assert sum(by_client.values()) == 4
    resp = b.get(STATS + "?occurred_on__from=2026-13-45&ie_flag=X&bogus=1&_x=1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "「发生日期」的查询条件格式错误" in html and "没有符合条件的记录" in html
    assert b.get(STATS + "?ie_flag=%00").status_code == 400


def test_the_numbers_download_as_a_workbook(browser, data):
    b = browser("customs1")
    resp = b.get("/cd_declaration_exception/stats/xlsx?ie_flag=E")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["按异常类型", "按月份（最近 12 个月）", "按责任岗位", "海关是否处罚"]
    rows = list(wb["按异常类型"].iter_rows(values_only=True))
    assert rows[0] == ("按异常类型", "数量")
    html = b.get(STATS + "?ie_flag=E").get_data(as_text=True)
    assert dict(rows[1:-1]) == _table(html, "by_kind")
    assert rows[-1] == ("合计", sum(_table(html, "by_kind").values()))
    assert len(list(wb["按月份（最近 12 个月）"].iter_rows())) == 1 + 12 + 1


def test_who_sees_the_screen(browser):
    for user in ("enterprise1", "customs1"):
        home = browser(user).get("/").get_data(as_text=True)
        assert f'href="{STATS}"' in home and "报关单异常统计" in home
    assert browser("institution1").get(STATS).status_code == 403
    assert 'href="/cd_declaration_exception/stats/"' not in \
        browser("institution1").get("/").get_data(as_text=True)
    assert browser(None).get(STATS).status_code in (302, 401)
    assert API  # the records counted are the REST API's too


def test_customs_statistics_of_the_coordination_applications(browser, db):
    """享惠受阻协调统计: customs count every submitted application (drafts are the companies'
    own), by type, month, agreement, country and state; each linked group lists its rows."""
    from models.coo import CooCoordination

    db.rollback()
    submitted = dict(db.execute(select(CooCoordination.kind, func.count()).where(
        CooCoordination.status != "draft").group_by(CooCoordination.kind)).all())
    b = browser("customs1")
    home = b.get("/").get_data(as_text=True)
    assert 'href="/coo_coordination/stats/"' in home and "享惠受阻协调统计" in home
    html = b.get("/coo_coordination/stats/").get_data(as_text=True)
    assert sum(_table(html, "by_kind").values()) == sum(submitted.values())
    assert "ccpit" not in _table(html, "by_kind") and "draft" not in html
    for chart in ("by_kind", "by_status", "by_agreement"):
        counts = _table(html, chart)
        for label, href in _links(html, chart).items():
            listed = b.get(href).get_data(as_text=True)
            total = re.search(r'class="page-total">共 ([\d,]+) 条<', listed)
            assert total and int(total.group(1)) == counts[label], (chart, label)
    # the countries show by name (a code list), not linked: the list has no such search
    assert all(" " in label for label in _table(html, "by_country"))
    assert 'href="/coo_coordination/stats/"' not in \
        browser("enterprise1").get("/").get_data(as_text=True)


# --- the calendar's edges: every record type that declares statistics -----------------------
def _demo_user(roles) -> str:
    """A demo account of one of these roles."""
    from app.engine.policy import COMMERCE, CUSTOMS, ENTERPRISE, INSTITUTION

    return next(user for role, user in ((CUSTOMS, "customs1"), (ENTERPRISE, "enterprise1"),
                                        (COMMERCE, "commerce1"), (INSTITUTION, "institution1"))
                if role in roles)


def _statistics():
    """(model, its Statistics feature, a demo user who sees it) for every record type that
    declares statistics — found, not named."""
    from app.engine.record import REGISTRY
    from app.engine.stats import Statistics

    found = []
    for model in REGISTRY.values():
        for feature in model.meta().features:
            if isinstance(feature, Statistics):
                found.append((model, feature, _demo_user(model.meta().roles)))
    return found


def _sheets(resp) -> dict[str, list[tuple]]:
    """The workbook's sheets by the chart label heading each."""
    assert resp.status_code == 200 and resp.data[:2] == b"PK", resp.status_code
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    return {ws.cell(1, 1).value: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def _month_sheet(resp, chart) -> dict[str, int]:
    return dict(_sheets(resp)[str(chart.label)][1:-1])


def test_every_statistics_workbook_downloads_a_sheet_per_chart(browser):
    """导出统计表 of every record type that declares statistics: one sheet per chart, whatever
    its label holds (按进口国家/地区: a sheet's title cannot hold "/"), the numbers of the screen."""
    for model, feature, user in _statistics():
        b = browser(user)
        base = f"/{model.meta().resource}/{feature.path}/"
        resp = b.get(base + "xlsx")
        assert resp.status_code == 200, (base, resp.status_code)
        sheets = _sheets(resp)
        assert list(sheets) == [str(c.label) for c in feature.charts], base
        html = b.get(base).get_data(as_text=True)
        for chart in feature.charts:
            rows = sheets[str(chart.label)]
            assert rows[0] == (str(chart.label), "数量")
            assert dict(rows[1:-1]) == _table(html, chart.name), chart.name
            assert rows[-1] == ("合计", sum(v for _k, v in rows[1:-1]))


def _listed(b, href) -> int:
    total = re.search(r'class="page-total">共 ([\d,]+) 条<', b.get(href).get_data(as_text=True))
    return int(total.group(1).replace(",", "")) if total else 0


def test_the_first_and_last_days_of_the_calendar_are_counted_never_a_500(app, browser, db):
    """止 9999-12-31 (\"no end\") or a range in year 1: every statistics screen and its
    workbook answer; the month chart shows the months that exist (up to 9999-12 when a record
    is dated then; from 0001-01, told when the calendar — not the user's 起 — cuts it short),
    each counting the rows of its month as its list does."""
    from sqlalchemy import DateTime, update

    from app.engine.listing import search_mode

    walked = _statistics()
    assert {m.meta().resource for m, _f, _u in walked} >= {
        "cd_declaration_exception", "cd_inventory_exception", "coo_coordination"}
    for model, feature, user in walked:
        meta, b = model.meta(), browser(user)
        base = f"/{meta.resource}/{feature.path}/"
        # every date range among its filters, open to both ends of the calendar
        for s in feature.searches(model):
            if search_mode(model, s) == "range":
                query = f"?{s.field}__from=0001-01-01&{s.field}__to=9999-12-31"
                for path in (base, base + "xlsx"):
                    resp = b.get(path + query)
                    assert resp.status_code == 200, (path + query, resp.status_code)
        for chart in (c for c in feature.charts if c.month_of):
            name, col = chart.month_of, getattr(model, chart.month_of)
            timed = isinstance(meta.column_type(name), DateTime)
            # one row the user sees, moved to the last moment of the calendar
            ids = re.findall(rf'href="/{meta.resource}/(\d+)"',
                             b.get(f"/{meta.resource}/?_searched=1").get_data(as_text=True))
            assert ids, meta.resource
            last = dt.datetime(9999, 12, 31, 23, 59, 59) if timed else dt.date(9999, 12, 31)
            db.execute(update(model).where(model.id == int(ids[0])).values({col: last}))
            db.commit()
            # no 止 is the same as 止 9999-12-31: the chart ends with the latest record
            assert list(_month_sheet(b.get(base + "xlsx"), chart)) == [
                f"9999-{m:02d}" for m in range(1, 13)]
            query = f"?{name}__to=9999-12-31"
            resp = b.get(base + query)
            assert resp.status_code == 200, (meta.resource, query, resp.status_code)
            months = _month_sheet(b.get(base + "xlsx" + query), chart)
            assert list(months) == [f"9999-{m:02d}" for m in range(1, 13)]
            december = _listed(b, f"/{meta.resource}/?_searched=1&{name}__from=9999-12-01"
                                  f"&{name}__to=9999-12-31")
            assert months["9999-12"] == december >= 1, meta.resource
            html = resp.get_data(as_text=True)
            assert _table(html, chart.name)["9999-12"] == december
            assert _listed(b, _links(html, chart.name)["9999-12"]) == december
            # … and to the first: January of year 1 begins the calendar and the chart
            first = dt.datetime(1, 1, 1, 0, 0) if timed else dt.date(1, 1, 1)
            db.execute(update(model).where(model.id == int(ids[0])).values({col: first}))
            db.commit()
            for query, shown, cut in ((f"?{name}__from=0001-01-01&{name}__to=0001-02-01",
                                       ["0001-01", "0001-02"], False),
                                      (f"?{name}__to=0001-01-01", ["0001-01"], True)):
                resp = b.get(base + query)
                assert resp.status_code == 200, (meta.resource, query, resp.status_code)
                html = resp.get_data(as_text=True)
                # told only when the calendar cuts the 12 months short, not the user's 起
                assert (f"「{chart.label}」只能从 0001-01 起统计" in html) is cut, query
                months = _month_sheet(b.get(base + "xlsx" + query), chart)
                assert list(months) == shown
                assert months["0001-01"] == _table(html, chart.name)["0001-01"] == _listed(
                    b, f"/{meta.resource}/?_searched=1&{name}__to=0001-01-31") >= 1


# --- the months a chart shows; the same numbers on the screen, in the chart and the workbook --
def _drawn(html: str, chart: str) -> dict[str, int]:
    """What the chart itself draws (its data-chart numbers): label -> count; {} when it draws
    nothing (no record counted)."""
    m = re.search(r'data-chart="([^"]*)"', _panel(html, chart))
    if not m:
        return {}
    d = json.loads(html_mod.unescape(m.group(1)))
    return dict(zip(d["labels"], d["values"], strict=True))


def _last_months(n: int) -> list[str]:
    return [_month_ago(i).strftime("%Y-%m") for i in reversed(range(n))]


def _nothing_after_this_month(db, model, name) -> None:
    """The demo data: no record of ``model`` dated after this month (what the charts assume)."""
    db.rollback()
    latest = db.scalar(select(func.max(getattr(model, name))))
    assert latest is None or (latest.year, latest.month) <= (_today().year, _today().month)


def test_a_range_open_to_the_end_of_the_calendar_shows_months_with_data_never_empty_years(
        browser, db):
    """止 9999-12-31 is "no end" (and 起 0001-01-01 "no start"): the month chart ends this month
    (or with the latest record counted, if later), not in December of year 9999; it begins with
    the user's 起 when that is later than 12 months back; a range that holds no month with data
    to show (in the future, or 起 after 止) shows none — on the screen and in the workbook, never
    a 500, never more than the chart's 12 months."""
    for model, feature, user in _statistics():
        meta, b = model.meta(), browser(user)
        base = f"/{meta.resource}/{feature.path}/"
        for chart in (c for c in feature.charts if c.month_of):
            name = chart.month_of
            _nothing_after_this_month(db, model, name)
            last12 = _last_months(12)
            since = _month_ago(2).isoformat()
            yesterday = (_today() - dt.timedelta(days=1)).isoformat()
            for query, shown in (
                    (f"?{name}__to=9999-12-31", last12),
                    (f"?{name}__from=0001-01-01&{name}__to=9999-12-31", last12),
                    (f"?{name}__from=0001-01-01", last12),
                    (f"?{name}__from={since}&{name}__to=9999-12-31", last12[-3:]),
                    (f"?{name}__from={since}", last12[-3:]),
                    # a range the user closed in the past: its months, empty ones included
                    (f"?{name}__from=2020-01-15&{name}__to=2020-03-31",
                     ["2020-01", "2020-02", "2020-03"]),
                    (f"?{name}__to=2020-03-31", [f"{y}-{m:02d}" for y, m in
                                                 [(2019, m) for m in range(4, 13)]
                                                 + [(2020, m) for m in range(1, 4)]]),
                    (f"?{name}__from=9999-01-01", []),
                    (f"?{name}__from=9999-01-01&{name}__to=9999-12-31", []),
                    (f"?{name}__from={_today().isoformat()}&{name}__to={yesterday}", [])):
                resp = b.get(base + query)
                assert resp.status_code == 200, (meta.resource, query, resp.status_code)
                html = resp.get_data(as_text=True)
                assert list(_table(html, chart.name)) == shown, (meta.resource, query)
                months = _month_sheet(b.get(base + "xlsx" + query), chart)
                assert list(months) == shown, (meta.resource, query)
                assert "只能从" not in html, (meta.resource, query)
                if not shown:
                    assert "没有符合条件的记录" in _panel(html, chart.name)


def test_every_chart_lists_under_it_what_it_draws_and_the_workbook_holds(browser, db):
    """享惠受阻协调统计 as 异常统计 (the engine, for every declaration): the table under a month
    chart lists every month of its span, empty months included — the months the chart draws
    and the workbook lists; the other charts the same values in all three."""
    for model, feature, user in _statistics():
        meta, b = model.meta(), browser(user)
        base = f"/{meta.resource}/{feature.path}/"
        html = b.get(base).get_data(as_text=True)
        sheets = _sheets(b.get(base + "xlsx"))
        for chart in feature.charts:
            table = _table(html, chart.name)
            assert list(dict(sheets[str(chart.label)][1:-1]).items()) == list(table.items()), \
                (meta.resource, chart.name)
            if sum(table.values()):
                assert list(_drawn(html, chart.name).items()) == list(table.items()), \
                    (meta.resource, chart.name)
            if chart.month_of:
                _nothing_after_this_month(db, model, chart.month_of)
                assert list(table) == _last_months(12), (meta.resource, chart.name)


# --- what the user reads -----------------------------------------------------------------------
def test_a_count_reads_as_a_count_and_goods_quantity_stays_quantity(browser, data):
    """数量 over the counts is a number of records ("Count" in English), not the goods'
    数量 ("Quantity"), on the screen and in the workbook; its last row is the "Total"."""
    b = browser("customs1")
    html = b.get(STATS).get_data(as_text=True)
    assert '<th class="num">数量</th>' in html
    assert _sheets(b.get(STATS + "xlsx"))["按异常类型"][0] == ("按异常类型", "数量")
    b.get("/lang/en")
    html = b.get(STATS).get_data(as_text=True)
    assert '<th class="num">Count</th>' in html and "Quantity" not in html
    for rows in _sheets(b.get(STATS + "xlsx")).values():
        assert rows[0][1] == "Count" and rows[-1][0] == "Total", rows
    goods = browser("enterprise1")
    goods.get("/lang/en")
    form = goods.get("/me_licence_application/1").get_data(as_text=True)
    assert ">Quantity<" in form and ">Count<" not in form


# --- the same inputs accepted or refused the same way by the screen and its workbook ----------
def test_the_workbook_refuses_the_filter_the_screen_refuses_in_the_user_s_language(browser):
    """A date the search cannot read (2026-13-45, 31.12.2026): the screen tells which field to
    correct; its workbook answers 400 with the same message (not every record as if unfiltered),
    in the user's language; text no database holds (NUL) is 400 for both."""
    for model, feature, user in _statistics():
        meta, b = model.meta(), browser(user)
        base = f"/{meta.resource}/{feature.path}/"
        ranges = [s.field for s in feature.searches(model)
                  if _search_mode(model, s) == "range"]
        assert ranges, meta.resource
        for f in ranges:
            for query in (f"?{f}__from=2026-13-45", f"?{f}__to=31.12.2026",
                          f"?{f}__from=2026-01-01&{f}__to=9999-99-99"):
                screen = b.get(base + query)
                assert screen.status_code == 200
                told = re.search(r"「[^」]+」的查询条件格式错误", screen.get_data(as_text=True))
                assert told, (meta.resource, query)
                resp = b.get(base + "xlsx" + query)
                assert resp.status_code == 400, (meta.resource, query, resp.status_code)
                assert resp.data[:2] != b"PK" and told.group(0) in resp.get_data(as_text=True)
            for path in (base, base + "xlsx"):
                assert b.get(path + f"?{f}__from=2026-01-01%00").status_code == 400
        b.get("/lang/en")
        resp = b.get(base + f"xlsx?{ranges[0]}__from=2026-13-45")
        text = resp.get_data(as_text=True)
        assert resp.status_code == 400 and "has an invalid format" in text, meta.resource
        assert "查询条件格式错误" not in text


def test_a_filter_the_screen_does_not_offer_neither_counts_nor_leaks_into_its_links(
        browser, data):
    """The list searches by 异常类型 (and 享惠受阻 by 处理状态), the statistics screen does not:
    such a parameter in its address changes nothing — neither its numbers nor the lists its
    bars, 查看明细 and 导出统计表 open (each bar still lists exactly the rows it counts)."""
    for b, base, query, charts in (
            (browser("enterprise1"), STATS, "?kind=returned",
             ("by_kind", "by_month", "by_post", "by_penalty")),
            (browser("customs1"), "/coo_coordination/stats/", "?status=declared",
             ("by_kind", "by_agreement", "by_status", "by_month"))):
        plain = b.get(base).get_data(as_text=True)
        html = b.get(base + query).get_data(as_text=True)
        toolbar = html[html.index('class="btn-toolbar list-toolbar"'):]
        toolbar = toolbar[:toolbar.index("</div>")].replace("&amp;", "&")
        assert "导出统计表" in toolbar and query[1:] not in toolbar, base
        for chart in charts:
            assert _table(html, chart) == _table(plain, chart), (base, chart)
            for label, href in _links(html, chart).items():
                assert _listed(b, href) == _table(html, chart)[label], (base, chart, label)
