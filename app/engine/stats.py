"""Statistics screens (统计分析): counts of a record type's rows as charts, declared in its Meta.

    Meta.features = [Statistics(_l("异常统计"), charts=[
        Chart("by_kind", _l("按异常类型"), group_by="kind"),
        Chart("by_month", _l("按月份（最近 12 个月）"), month_of="occurred_on", kind="line"),
    ], filters=["occurred_on", "ie_flag", "client_name"], menu=SYSTEM.menu("exception", ...))]

The screen (``/<resource>/stats/``) counts the rows the user may see — the list's own scope —
narrowed by the filters, which are the list's search fields (the same names in the address, the
same matching), so each bar, slice or point links to the list showing exactly the rows it counts
(where the list can search by the grouped field).  Values are shown by their labels (code lists,
choices, states), never as codes.  ``/<resource>/stats/xlsx`` gives the numbers as a workbook;
each chart saves itself as PNG in the browser (static/stats.js, ECharts served by the app).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, flash, render_template, request
from flask_appbuilder import BaseView, expose
from sqlalchemy import DateTime, func, select

from . import listing, policy, present
from .features import Feature, _download, signed_in
from .i18n import gettext as _
from .menus import MenuItem


@dataclass
class Chart:
    """One chart: the rows counted by the values of ``group_by`` (one bar / slice each, the
    largest first), or by the month of the date ``month_of`` (the last ``months`` months up to
    the filter's end date or today, empty months included)."""

    name: str
    label: Any
    group_by: str | None = None
    month_of: str | None = None
    months: int = 12
    kind: str = "bar"  # bar | pie | line


@dataclass
class Item:
    label: str
    count: int
    link: str | None


@dataclass
class ChartData:
    chart: Chart
    items: list[Item]

    @property
    def total(self) -> int:
        return sum(i.count for i in self.items)

    def as_json(self) -> str:
        return json.dumps({"kind": self.chart.kind, "name": str(self.chart.label),
                           "labels": [i.label for i in self.items],
                           "values": [i.count for i in self.items],
                           "links": [i.link for i in self.items]}, ensure_ascii=False)


@dataclass
class Statistics(Feature):
    label: Any
    charts: list[Chart]
    # the list's search fields offered as filters (their order); all of them when empty
    filters: list[str] = field(default_factory=list)
    menu: MenuItem | None = None
    path = "stats"

    def searches(self, model) -> list:
        by_field = {s.field: s for s in model.meta().search}
        names = self.filters or list(by_field)
        return [by_field[n] for n in names if n in by_field]

    # -- the numbers -------------------------------------------------------------------------
    def compute(self, session, model, actor, filters: dict) -> tuple[list[ChartData], list[str]]:
        searches = self.searches(model)
        crits, _joins, errors = listing.criteria(model, searches, filters)
        where = [policy.scope(model, actor), *crits]
        linkable = {s.field: listing.search_mode(model, s) for s in model.meta().search}
        out = []
        for chart in self.charts:
            if chart.month_of:
                items = self._by_month(session, model, chart, where, filters, linkable)
                if len(items) < chart.months:  # the calendar begins in January of year 1
                    errors.append(_("「%(chart)s」只能从 %(first)s 起统计：更早的月份超出了日期范围",
                                    chart=chart.label, first=items[0].label))
            else:
                items = self._by_value(session, model, chart, where, filters, linkable)
            out.append(ChartData(chart, items))
        return out, errors

    def _by_value(self, session, model, chart, where, filters, linkable) -> list[Item]:
        meta = model.meta()
        col = getattr(model, chart.group_by)
        n = func.count()
        rows = session.execute(select(col, n).where(*where).group_by(col)
                               .order_by(n.desc(), col)).all()
        spec = meta.fields.get(chart.group_by)
        coltype = meta.column_type(chart.group_by)
        exact = linkable.get(chart.group_by) == "exact"
        items = []
        for value, count in rows:
            if value in (None, ""):
                items.append(Item(_("（未填）"), count, None))
                continue
            if chart.group_by == "status" and meta.workflow:
                label = str(meta.workflow.state_label(value))
            else:
                label = present.display(session, spec, value, None, coltype)
            link = _list_url(model, filters, {chart.group_by: str(value)}) if exact else None
            items.append(Item(label, count, link))
        return items

    def _by_month(self, session, model, chart, where, filters, linkable) -> list[Item]:
        """The last ``chart.months`` months up to the end date (fewer when the calendar
        begins sooner: no month before January of year 1), each with its count.  Every date
        from 0001-01-01 to 9999-12-31 is a valid bound, as it is for the list."""
        name = chart.month_of
        col = getattr(model, name)
        end = _day(filters.get(f"{name}__to")) or dt.date.today()
        lo = _day(filters.get(f"{name}__from"))
        months = []
        y, m = end.year, end.month
        while len(months) < chart.months and y >= dt.MINYEAR:
            months.append((y, m))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        months.reverse()
        start = dt.date(*months[0], 1)
        # the end day included: the day after 9999-12-31 does not exist
        if isinstance(model.meta().column_type(name), DateTime):
            bounds = [col >= dt.datetime.combine(start, dt.time.min),
                      col <= dt.datetime.combine(end, dt.time.max)]
        else:
            bounds = [col >= start, col <= end]
        # counted by day through the column's index (a few hundred groups), then by month here:
        # cheaper than a year/month expression on every row
        day = func.date(col) if isinstance(model.meta().column_type(name), DateTime) else col
        counts: dict[tuple[int, int], int] = {}
        for d, c in session.execute(select(day, func.count()).where(*where, *bounds)
                                    .group_by(day)).all():
            d = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])
            counts[(d.year, d.month)] = counts.get((d.year, d.month), 0) + c
        ranged = linkable.get(name) == "range"
        items = []
        for y, m in months:
            first = dt.date(y, m, 1)
            last = dt.date(y, m, calendar.monthrange(y, m)[1])
            frm, to = max(first, lo) if lo else first, min(last, end)
            link = _list_url(model, filters, {f"{name}__from": frm.isoformat(),
                                              f"{name}__to": to.isoformat()}) \
                if ranged and frm <= to else None
            items.append(Item(f"{y:04d}-{m:02d}", counts.get((y, m), 0), link))
        return items

    # -- the screens -------------------------------------------------------------------------
    def views(self, model):
        feature = self
        meta = model.meta()

        class StatsView(BaseView):
            route_base = f"/{meta.resource}"
            default_view = "stats"

            def _filters(self):
                return {k: v for k, v in request.args.items() if not k.startswith("_")}

            @expose(f"/{feature.path}/")
            @signed_in
            def stats(self, actor):
                session = current_app.appbuilder.session
                filters = self._filters()
                charts, errors = feature.compute(session, model, actor, filters)
                for e in errors:
                    flash(e, "warning")
                query = listing.Query(filters=filters)
                return render_template(
                    "engine/stats.html", appbuilder=current_app.appbuilder, view=self,
                    meta=meta, model=model, present=present, feature=feature, charts=charts,
                    query=query, searches=feature.searches(model),
                    list_url=_list_url(model, filters, {}),
                    xlsx_url=f"/{meta.resource}/{feature.path}/xlsx?"
                             + urllib.parse.urlencode(filters))

            @expose(f"/{feature.path}/xlsx")
            @signed_in
            def stats_xlsx(self, actor):
                session = current_app.appbuilder.session
                charts, _errors = feature.compute(session, model, actor, self._filters())
                return _download(_workbook(charts), "application/vnd.openxmlformats-"
                                 "officedocument.spreadsheetml.sheet", f"{feature.label}.xlsx")

        StatsView.model = model
        return [type(f"{meta.resource}_stats_view", (StatsView,), {})]


def _day(raw) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw).strip()[:10]) if raw else None
    except ValueError:
        return None


def _list_url(model, filters: dict, extra: dict) -> str:
    args = {"_searched": "1", **{k: v for k, v in filters.items() if v}, **extra}
    return f"/{model.meta().resource}/?" + urllib.parse.urlencode(args)


_SHEET_TITLE = str.maketrans({"/": "／", "\\": "＼", "?": "？", "*": "＊", "[": "【",
                              "]": "】", ":": "："})


def _workbook(charts: list[ChartData]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for data in charts:
        # a sheet's title is at most 31 characters, without \ / ? * [ ] : (按进口国家/地区)
        title = str(data.chart.label).translate(_SHEET_TITLE)[:28] or data.chart.name
        while title in used:
            title += "_"
        used.add(title)
        ws = wb.create_sheet(title)
        ws.append([str(data.chart.label), _("数量")])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for item in data.items:
            ws.append([item.label, item.count])
        ws.append([_("合计"), data.total])
        ws.column_dimensions["A"].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["Chart", "Statistics"]
