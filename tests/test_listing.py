"""List screens: the declared search form, keyset paging without COUNT(*), few SQL statements."""

from __future__ import annotations

import re

from app.engine.record import REGISTRY
from models.me_licence import LicenceApplication

from .helpers import get, new_draft, sql_statements, today_for_a_while

ROW = re.compile(r'<tr data-id="(\d+)" class="js-row">')


def ids(html):
    return [int(i) for i in ROW.findall(html)]


def test_list_opens_with_the_users_query_already_run(browser):
    html = browser("enterprise1").get("/me_licence_application/").get_data(as_text=True)
    assert ids(html) == [5, 4, 3, 2, 1]


def test_search_fields(browser, db):
    b = browser("enterprise1")
    no = get(db, LicenceApplication, 3).application_no

    def search(q):
        return ids(b.get(f"/me_licence_application/?_searched=1&{q}").get_data(as_text=True))

    assert search(f"application_no={no}") == [3]
    assert search("goods_names=车床") == [1]
    assert search("goods_names=加工中心") == [3]
    assert search("goods_names=立式加工") == [3]
    assert search("goods_names=床") == [3, 1]  # one character: plain contains
    assert search("goods_names=飞机") == []
    assert search("status=approved") == [5, 3]
    assert search("status=returned") == [4]
    assert search("declared_at__from=2000-01-01&declared_at__to=2099-12-31") == [5, 4, 3, 2]
    assert search("declared_at__from=2099-01-01") == []


def test_the_search_form_shows_what_was_searched_in_each_kind_of_field(browser):
    b = browser("enterprise1")
    html = b.get("/cd_declaration/?_searched=1&kind=E_TRN&status=draft&customs_master=5301"
                 "&seq_no=E20%22%3E%3Cb%3E&updated_at__from=2026-01-01&_after=9"
                 ).get_data(as_text=True)
    form = re.search(r'<form class="card search-form.*?</form>', html, re.S).group(0)
    # a choice and the status: their selects with the searched option chosen, 全部 first
    kind = re.search(r'<select class="form-select" name="kind">(.*?)</select>', form).group(1)
    assert kind.startswith('<option value="">全部</option>')
    assert re.findall(r'<option value="(\w+)" selected>', kind) == ["E_TRN"]
    status = re.search(r'<select class="form-select" name="status">(.*?)</select>',
                       form).group(1)
    assert re.findall(r'<option value="(\w+)" selected>', status) == ["draft"]
    assert '<option value="under_review">' in status
    # a code list: its type-ahead input; a number: the typed text, escaped; a date range
    assert re.search(r'<label class="form-label">申报地海关</label>\s*<input class="form-control" '
                     r'name="customs_master" value="5301" data-codelist="customs_district"', form)
    assert re.search(r'name="seq_no" value="E20(&#34;|&quot;)&gt;&lt;b&gt;"', form)
    assert "<b>" not in form
    assert 'name="updated_at__from" value="2026-01-01"' in form
    assert 'name="updated_at__to" value=""' in form
    assert 'name="goods_names" value="" placeholder="包含"' in form
    # the sort links keep the search and leave the page cursor behind
    sort = re.search(r'href="(/cd_declaration/\?[^"]*_sort=seq_no[^"]*)"', html).group(1)
    assert "kind=E_TRN" in sort and "seq_no=E20%22%3E%3Cb%3E" in sort and "_after" not in sort
    # the same form in English
    b.get("/lang/en")
    form = re.search(r'<form class="card search-form.*?</form>',
                     b.get("/cd_declaration/?_searched=1&kind=E_TRN").get_data(as_text=True),
                     re.S).group(0)
    assert ">Unified No.</label>" in form and '<option value="">All</option>' in form
    assert 'placeholder="Contains"' in form and ">to</span>" in form
    assert re.search(r'<option value="E_TRN" selected>', form)


def test_a_bad_date_in_the_search_is_reported(browser):
    html = browser("enterprise1").get(
        "/me_licence_application/?_searched=1&declared_at__from=yesterday").get_data(as_text=True)
    assert "「申报时间」的查询条件格式错误" in html
    # the record's own columns (最近操作时间 = updated_at) by their label too, never the name
    html = browser("enterprise1").get(
        "/cd_inventory/?_searched=1&updated_at__from=2026-13-45").get_data(as_text=True)
    assert "「最近操作时间」的查询条件格式错误" in html and "updated_at」" not in html


def test_keyset_paging_forward_backward_and_last(browser, app):
    b = browser("enterprise1")
    made = [new_draft(b) for _ in range(18)]  # 5 demo rows + 18 = 23 rows, 20 per page
    all_ids = sorted([1, 2, 3, 4, 5] + made, reverse=True)
    html = b.get("/me_licence_application/").get_data(as_text=True)
    assert ids(html) == all_ids[:20]
    assert "第 1 页" in html
    nxt = re.search(r'href="([^"]*_after=[^"]*)"', html).group(1).replace("&amp;", "&")
    html2 = b.get(nxt).get_data(as_text=True)
    assert ids(html2) == all_ids[20:] and "第 2 页" in html2
    prev = re.search(r'href="([^"]*_before=[^"]*)"', html2).group(1).replace("&amp;", "&")
    assert ids(b.get(prev).get_data(as_text=True)) == all_ids[:20]
    last = b.get("/me_licence_application/?_last=1").get_data(as_text=True)
    assert ids(last) == all_ids[-20:]
    # a tampered cursor falls back to the first page with a message
    html = b.get("/me_licence_application/?_after=garbage").get_data(as_text=True)
    assert "分页参数无效" in html and ids(html) == all_ids[:20]


def test_sort_by_a_column(browser):
    html = browser("enterprise1").get(
        "/me_licence_application/?_sort=total_usd&_dir=asc").get_data(as_text=True)
    assert ids(html) == [1, 5, 2, 4, 3]


def test_a_list_request_issues_few_sql_statements_and_a_bounded_count(browser, app):
    app.config["LIST_PAGE_SIZE"] = 2  # enterprise1's 5 applications fill more than a page
    b = browser("enterprise1")
    b.get("/me_licence_application/")  # warm the code-list cache
    statements, resp = sql_statements(app, lambda: b.get("/me_licence_application/"))
    assert resp.status_code == 200
    assert "共 5 条" in resp.get_data(as_text=True)
    assert len(statements) <= 7, statements
    # the pager's 共 N 条 counts at most 10,001 rows: a large table is not read whole
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 1 and "limit" in counts[0].lower(), statements
    # … and reads one column, not whole rows (SQLite would read every column of 10,001 rows)
    inner = re.search(r"\(\s*SELECT (.*?)\s+FROM", counts[0], re.S | re.I)
    assert inner and "," not in inner.group(1), counts[0]


def test_a_list_reads_the_columns_it_shows_and_no_row_costs_a_statement(browser, app):
    b = browser("admin")
    # a declaration has 81 columns; its list shows 9 and reads those (and the id, the status)
    b.get("/cd_declaration/")
    statements, resp = sql_statements(app, lambda: b.get("/cd_declaration/"))
    html = resp.get_data(as_text=True)
    assert len(ids(html)) >= 5
    rows = next(s for s in statements if s.lstrip().startswith("SELECT cd_declaration."))
    assert "cd_declaration.seq_no" in rows and "cd_declaration.customs_master" in rows
    assert "cd_declaration.gross_wt" not in rows and "cd_declaration.note_s" not in rows
    # every record type's list, as the administrator sees it: the same few statements whatever
    # it shows (a shown value read from an unloaded column would cost one per row)
    for resource in sorted(REGISTRY):
        b.get(f"/{resource}/")
        statements, resp = sql_statements(app, lambda r=resource: b.get(f"/{r}/"))
        if resp.status_code != 200:
            continue
        assert len(statements) <= 7, (resource, len(ids(resp.get_data(as_text=True))),
                                      statements)


def test_a_lists_buttons_are_those_of_the_users_roles_and_language(browser):
    """The list's batch buttons and their dialogs are rendered once per record type, screen,
    set of roles and language: each user still sees only the steps of its own roles."""
    def buttons(b, path="/cd_declaration/"):
        html = b.get(path).get_data(as_text=True)
        return set(re.findall(r'class="[^"]*js-batch" [^>]*data-name="(\w+)"', html)), html

    preparer, reviewer = browser("enterprise1"), browser("reviewer1")
    names, html = buttons(preparer)
    assert {"submit", "declare", "copy"} <= names and "review_pass" not in names
    assert "dlg-batch-review_return" not in html and ">提交审核</button>" in html
    names, html = buttons(reviewer)
    assert {"review_pass", "review_return"} <= names
    assert 'id="dlg-batch-review_return"' in html
    names, html = buttons(preparer)
    assert "review_pass" not in names and "dlg-batch-review_return" not in html
    # the review screen names its own buttons (发送 = declare), for the same role
    names, html = buttons(reviewer, "/cd_declaration/screen/review/")
    assert names == {"declare"} and 'data-label="发送"' in html
    preparer.get("/lang/en")
    names, html = buttons(preparer)
    assert ">Submit for review</button>" in html and ">提交审核<" not in html


def test_a_first_page_holding_the_whole_selection_is_not_counted_again(browser, api, app):
    b = browser("enterprise1")
    b.get("/me_licence_application/")  # warm the code-list cache
    # all 5 of enterprise1's applications fit on the first page: their number is known
    statements, resp = sql_statements(app, lambda: b.get("/me_licence_application/"))
    assert "共 5 条" in resp.get_data(as_text=True)
    assert not [s for s in statements if "count(" in s.lower()], statements
    # an exact search finds one
    client = api("enterprise1")
    number = next(r["application_no"] for r in client.get(
        "/api/v1/me_licence_application/").json["result"] if r["application_no"])
    statements, resp = sql_statements(app, lambda: b.get(
        "/me_licence_application/?_searched=1&application_no=" + number))
    html = resp.get_data(as_text=True)
    assert "共 1 条" in html and len(ids(html)) == 1
    assert not [s for s in statements if "count(" in s.lower()], statements
    # a later page is counted: the first page no longer tells the total
    app.config["LIST_PAGE_SIZE"] = 2
    first = b.get("/me_licence_application/").get_data(as_text=True)
    nxt = re.search(r'href="([^"]*_after=[^"]*)"', first).group(1).replace("&amp;", "&")
    statements, resp = sql_statements(app, lambda: b.get(nxt))
    assert "共 5 条" in resp.get_data(as_text=True)
    assert len([s for s in statements if "count(" in s.lower()]) == 1, statements
    # the REST list answers no count unless asked (count=1)
    statements, resp = sql_statements(app, lambda: client.get("/api/v1/me_licence_application/"))
    assert resp.status_code == 200 and "count" not in resp.json
    assert not [s for s in statements if "count(" in s.lower()], statements
    resp = client.get("/api/v1/me_licence_application/?count=1")
    assert resp.json["count"] == 5


def test_a_list_statement_is_built_once_per_form_of_request_and_answers_each_user_and_value(
        browser, db, app):
    """A list keeps the statement of each form of request (record type, user, filled search
    fields, order, kind of cursor) for the next one; the values are parameters: another
    value, another user and another page each get their own rows."""
    from app.engine import listing

    a, b = browser("enterprise1"), browser("enterprise2")
    nos = {pk: get(db, LicenceApplication, pk).application_no for pk in (3, 5)}

    def search(who, q):
        return ids(who.get(f"/me_licence_application/?_searched=1&{q}").get_data(as_text=True))

    listing._STATEMENTS.clear()
    assert search(a, f"application_no={nos[3]}") == [3]
    kept = len(listing._STATEMENTS)
    assert search(a, f"application_no={nos[5]}") == [5]  # another value, the same statement
    assert search(a, "status=draft") == [1]
    assert len(listing._STATEMENTS) == kept + 1          # another field filled: its own
    # enterprise2 fills the same fields: its own scope, never enterprise1's rows
    assert search(b, "status=draft") == [6]
    assert search(b, f"application_no={nos[3]}") == []
    assert search(a, "status=draft") == [1]
    # pages: the cursor's values are parameters too, by id and by a sorted column
    app.config["LIST_PAGE_SIZE"] = 2
    for order, expected in (("", [5, 4, 3, 2, 1]), ("&_sort=total_usd&_dir=asc", [1, 5, 2, 4, 3])):
        seen, url = [], f"/me_licence_application/?_searched=1{order}"
        while url:
            html = a.get(url).get_data(as_text=True)
            seen += ids(html)
            m = re.search(r'href="([^"]*_after=[^"]*)">下一页', html)
            url = m.group(1).replace("&amp;", "&") if m else None
        assert seen == expected, order


def test_catalogue_defaults_to_the_current_year(browser):
    year = today_for_a_while().year  # the app's, when it answers: the same day still
    html = browser("enterprise1").get("/me_product/").get_data(as_text=True)
    assert f'name="year" value="{year}"' in html and "8407341000" in html
    html = browser("enterprise1").get("/me_product/?_searched=1&hs_code=8471").get_data(
        as_text=True)
    assert "便携式自动数据处理设备" in html and "8458110000" not in html


def test_export_to_excel(browser):
    import io

    import openpyxl

    resp = browser("enterprise1").get("/me_licence_application/export?status=approved")
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("申请单编号", "许可证号", "进口商名称")
    assert len(rows) == 3 and all(r[5] == "审批通过" for r in rows[1:])


def test_an_export_refuses_the_search_the_list_cannot_read(browser):
    """The list tells a filter it cannot read and does not apply it; an export cannot tell,
    so it refuses rather than export every record as if unfiltered."""
    b = browser("enterprise1")
    resp = b.get("/me_licence_application/export?declared_at__from=yesterday")
    assert resp.status_code == 400
    assert "「申报时间」的查询条件格式错误" in resp.get_data(as_text=True)
    b.get("/lang/en")
    resp = b.get("/me_licence_application/export?declared_at__from=yesterday")
    assert resp.status_code == 400 and "申报时间" not in resp.get_data(as_text=True)
    assert b.get("/me_licence_application/export?declared_at__from=2026-01-01").status_code == 200
