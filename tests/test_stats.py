"""异常统计 through HTTP: the statistics screen counts the rows of the list's scope (customs
every company's, an enterprise its own), narrowed by the list's own search fields; values show
by their labels; each bar links to the list showing exactly the rows it counts; the numbers
download as a workbook; bad filters are told, never a 500."""

from __future__ import annotations

import datetime as dt
import io
import re
import urllib.parse

import openpyxl
import pytest
from sqlalchemy import func, select

from models.customs_exception import CdDeclarationException

from .test_customs_exceptions import API, _create

STATS = "/cd_declaration_exception/stats/"
TODAY = dt.date.today()


def _month_ago(n: int) -> dt.date:
    y, m = TODAY.year, TODAY.month - n
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


@pytest.fixture
def data(api):
    """enterprise1: three 查验 (one import), one 退单 of last month; enterprise2: two 查验."""
    e1, e2 = api("enterprise1"), api("enterprise2")
    this = TODAY.replace(day=1).isoformat()
    last = _month_ago(1).isoformat()
    for i, (kind, ie, day, post, pen) in enumerate([
            ("inspection", "E", this, "报关员", "Y"), ("inspection", "E", this, "报关员", "N"),
            ("inspection", "I", this, "制单员", "N"), ("returned", "E", last, "制单员", "N")]):
        _create(e1, number=f"90012026000010000{i}", kind=kind, ie_flag=ie, occurred_on=day,
                duty_post=post, penalised=pen, client_name="陕西秦川精密机械有限公司")
    for i in range(2):
        _create(e2, number=f"90012026000020000{i}", kind="inspection", occurred_on=this,
                duty_post="报关员", client_name="西安长安医疗设备进出口有限公司")


def _table(html: str, chart: str) -> dict[str, int]:
    """The numbers under one chart: label -> count."""
    panel = html[html.index(f'data-chart-name="{chart}"'):]
    panel = panel[:panel.index("</table>")]
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
    assert months[TODAY.strftime("%Y-%m")] == mine_count(
        db, company, since=TODAY.replace(day=1))


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
    since = TODAY.replace(day=1).isoformat()
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
            assert {k: v for k, v in rows[1:-1] if v} == _table(html, chart.name), chart.name
            assert rows[-1] == ("合计", sum(v for _k, v in rows[1:-1]))


def _listed(b, href) -> int:
    total = re.search(r'class="page-total">共 ([\d,]+) 条<', b.get(href).get_data(as_text=True))
    return int(total.group(1).replace(",", "")) if total else 0


def test_the_first_and_last_days_of_the_calendar_are_counted_never_a_500(app, browser, db):
    """止 9999-12-31 (\"no end\") or a range in year 1: every statistics screen and its
    workbook answer; the month chart shows the months that exist (up to 9999-12; from 0001-01,
    told when that cuts it short), each counting the rows of its month as its list does."""
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
            for query, shown in ((f"?{name}__from=0001-01-01&{name}__to=0001-02-01",
                                  ["0001-01", "0001-02"]),
                                 (f"?{name}__to=0001-01-01", ["0001-01"])):
                resp = b.get(base + query)
                assert resp.status_code == 200, (meta.resource, query, resp.status_code)
                html = resp.get_data(as_text=True)
                assert f"「{chart.label}」只能从 0001-01 起统计" in html, meta.resource
                months = _month_sheet(b.get(base + "xlsx" + query), chart)
                assert list(months) == shown
                assert months["0001-01"] == _table(html, chart.name)["0001-01"] == _listed(
                    b, f"/{meta.resource}/?_searched=1&{name}__to=0001-01-31") >= 1
