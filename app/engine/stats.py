"""Statistics screens (统计分析): counts of a record type's rows as charts, declared in its Meta.

    Meta.features = [Statistics(_l("异常统计"), charts=[
        Chart("by_kind", _l("按异常类型"), group_by="kind"),
        Chart("by_month", _l("按月份（最近 12 个月）"), month_of="occurred_on", kind="line"),
    ], filters=["occurred_on", "ie_flag", "client_name"], menu=SYSTEM.menu("exception", ...))]

The screen (``/<resource>/stats/``) counts the rows the user may see — the list's own scope —
narrowed by the filters, which are the list's search fields (the same names in the address, the
same matching), so each bar, slice or point links to the list showing exactly the rows it counts
(where the list can search by the grouped field).  Only the inputs of the screen's own form are
read (``name``, and ``name__from`` / ``name__to`` of a date range); any other parameter is
dropped — it neither counts nor travels into the links, 查看明细 or 导出统计表.  Values are shown
by their labels (code lists, choices, states), never as codes.  ``/<resource>/stats/xlsx`` gives
the numbers as a workbook: the same rows as the table under each chart (and the chart itself).
A filter the search cannot read is told on the screen (as on the list); the workbook refuses it
(400, the same message) rather than counting every record as if unfiltered.  Each chart saves
itself as PNG in the browser (static/stats.js, ECharts served by the app).
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
from .i18n import pgettext
from .menus import MenuItem

FIRST_MONTH = dt.MINYEAR * 12  # January of year 1, as a month number (year * 12 + month - 1)


@dataclass
class Chart:
    """One chart: the rows counted by the values of ``group_by`` (one bar / slice each, the
    largest first), or by the month of the date ``month_of``: at most ``months`` months, empty
    months included, ending with the filter's end date or this month (see
    ``Statistics._months`` for a range open to the end of the calendar)."""

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

    def inputs(self, model, args) -> dict:
        """The filters of a request: the inputs of the screen's own search form (a date range
        by its 起 / 止), nothing else — what the screen does not offer, it neither applies nor
        passes on to the lists it links to, so each count and its link stay the same rows."""
        names = set()
        for s in self.searches(model):
            if listing.search_mode(model, s) == "range":
                names.update((f"{s.field}__from", f"{s.field}__to"))
            else:
                names.add(s.field)
        return {k: v for k, v in args.items() if k in names}

    def errors(self, model, filters: dict) -> list[str]:
        """The filters the search cannot read (「…」的查询条件格式错误), as the list tells them."""
        return listing.criteria(model, self.searches(model), filters)[2]

    # -- the numbers -------------------------------------------------------------------------
    def compute(self, session, model, actor, filters: dict) -> tuple[list[ChartData], list[str]]:
        """The charts' numbers, and what the user is told: the filters that cannot be read
        (not applied, as on the list) and a month chart cut short by the calendar."""
        searches = self.searches(model)
        crits, _joins, errors = listing.criteria(model, searches, filters)
        where = [policy.scope(model, actor), *crits]
        linkable = {s.field: listing.search_mode(model, s) for s in model.meta().search}
        out = []
        for chart in self.charts:
            if chart.month_of:
                items, cut = self._by_month(session, model, chart, where, filters, linkable)
                if cut:  # the calendar begins in January of year 1
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

    def _months(self, session, model, chart, where, lo, hi) -> tuple[list[int], bool]:
        """The months a month chart shows (as month numbers, oldest first) and whether the
        calendar cut them short.

        - It ends with the month of the filter's end date (止) — a range the user closed shows
          its months, empty ones included.  With no end, or an end after this month (止
          9999-12-31 is the usual "no end", and means the same as none), it ends this month, or
          with the month of the latest record counted if that is later, never after 止: months
          in the future hold nothing unless a record is dated then, so 止 9999-12-31 shows the
          last 12 months up to now, not the 12 empty months of year 9999.
        - It holds at most ``chart.months`` months back from its end, none before the filter's
          start date (起) — 起 0001-01-01 is "no start", a recent 起 a shorter chart — and none
          before January of year 1 (then ``cut`` is true: the user is told, unless 起 is what
          cuts it).
        - A range without such a month (起 after 止, or a future range holding no record) shows
          no month.  Every date from 0001-01-01 to 9999-12-31 is a valid bound, as on the list.
        """
        if lo and hi and lo > hi:
            return [], False
        this = _month(dt.date.today())
        end = _month(hi) if hi else None
        if end is None or end > this:
            col = getattr(model, chart.month_of)
            after = _month_last(this)
            if isinstance(model.meta().column_type(chart.month_of), DateTime):
                after = dt.datetime.combine(after, dt.time.max)
            # the latest record counted that is dated after this month (``where`` holds 止):
            # a range of the column's index, empty in the usual case
            latest = session.scalar(select(func.max(col)).where(*where, col > after))
            latest = this if latest is None else _month(_as_date(latest))
            end = latest if end is None else min(end, latest)
        start = end - chart.months + 1
        cut = start < FIRST_MONTH and lo is None
        start = max(start, FIRST_MONTH, _month(lo) if lo else FIRST_MONTH)
        return list(range(start, end + 1)), cut

    def _by_month(self, session, model, chart, where, filters, linkable
                  ) -> tuple[list[Item], bool]:
        """Each month of ``_months`` with its count (and whether the calendar cut them)."""
        name = chart.month_of
        col = getattr(model, name)
        lo, hi = _day(model, name, filters.get(f"{name}__from")), _day(
            model, name, filters.get(f"{name}__to"))
        months, cut = self._months(session, model, chart, where, lo, hi)
        if not months:
            return [], False
        first = max(_month_first(months[0]), lo) if lo else _month_first(months[0])
        last = min(_month_last(months[-1]), hi) if hi else _month_last(months[-1])
        # the end day included: the day after 9999-12-31 does not exist
        if isinstance(model.meta().column_type(name), DateTime):
            bounds = [col >= dt.datetime.combine(first, dt.time.min),
                      col <= dt.datetime.combine(last, dt.time.max)]
        else:
            bounds = [col >= first, col <= last]
        # counted by day through the column's index (a few hundred groups), then by month here:
        # cheaper than a year/month expression on every row
        day = func.date(col) if isinstance(model.meta().column_type(name), DateTime) else col
        counts: dict[int, int] = {}
        for d, c in session.execute(select(day, func.count()).where(*where, *bounds)
                                    .group_by(day)).all():
            m = _month(_as_date(d))
            counts[m] = counts.get(m, 0) + c
        ranged = linkable.get(name) == "range"
        items = []
        for m in months:
            frm, to = max(_month_first(m), first), min(_month_last(m), last)
            link = _list_url(model, filters, {f"{name}__from": frm.isoformat(),
                                              f"{name}__to": to.isoformat()}) \
                if ranged and frm <= to else None
            y, mm = divmod(m, 12)
            items.append(Item(f"{y:04d}-{mm + 1:02d}", counts.get(m, 0), link))
        return items, cut

    # -- the screens -------------------------------------------------------------------------
    def views(self, model):
        feature = self
        meta = model.meta()

        class StatsView(BaseView):
            route_base = f"/{meta.resource}"
            default_view = "stats"

            def _filters(self):
                return feature.inputs(model, request.args)

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
                filters = self._filters()
                errors = feature.errors(model, filters)
                if errors:  # told on the screen; a workbook cannot tell, so it is refused
                    return render_template("engine/error.html", message=_("；").join(errors),
                                           appbuilder=current_app.appbuilder), 400
                charts, _notes = feature.compute(session, model, actor, filters)
                return _download(_workbook(charts), "application/vnd.openxmlformats-"
                                 "officedocument.spreadsheetml.sheet", f"{feature.label}.xlsx")

        StatsView.model = model
        return [type(f"{meta.resource}_stats_view", (StatsView,), {})]


def _day(model, name: str, raw) -> dt.date | None:
    """A date bound as the search reads it (None when absent or unreadable: the search tells
    that error and does not apply the bound)."""
    if not raw:
        return None
    try:
        return listing.parse_value(model, name, raw)
    except (ValueError, ArithmeticError):
        return None


def _as_date(value) -> dt.date:
    """A date or date-time read from the database (SQLite may give its text)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _month(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_first(month: int) -> dt.date:
    y, m = divmod(month, 12)
    return dt.date(y, m + 1, 1)


def _month_last(month: int) -> dt.date:
    y, m = divmod(month, 12)
    return dt.date(y, m + 1, calendar.monthrange(y, m + 1)[1])


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
        ws.append([str(data.chart.label), pgettext("统计", "数量")])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for item in data.items:
            ws.append([item.label, item.count])
        ws.append([pgettext("统计", "合计"), data.total])
        ws.column_dimensions["A"].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["Chart", "Statistics"]
