"""Lists, pager and menus read cleanly (issue: lists and language): numbers do not wrap and
are flush right, text is flush left and a long one is cut with … and a tooltip, the pager shows
the total, amounts and quantities carry thousands separators by their declared precision, the
legend shows only where something is editable, the menus speak one language."""

from __future__ import annotations

import decimal
import re

from app.engine import present


def test_amounts_and_quantities_are_grouped_by_their_precision():
    assert present.fmt_decimal(decimal.Decimal("52000.5"), 2) == "52,000.50"
    assert present.display(None, None, decimal.Decimal("442001.500")) == "442,001.5"


def test_a_list_shows_its_total_and_marks_text_and_number_cells(browser):
    html = browser("commerce1").get("/me_licence_application/").get_data(as_text=True)
    assert re.search(r'class="page-total">共 [\d,]+ 条<', html)
    assert '<td class="txt key"' in html
    assert re.search(r'<td class="num">[\d,.]+</td>', html)


def test_a_long_text_cell_has_its_whole_value_as_tooltip(browser, db):
    from sqlalchemy import update

    from models.me_licence import LicenceApplication

    names = "数控卧式车床、立式加工中心、五轴联动龙门加工中心、精密坐标磨床"
    db.execute(update(LicenceApplication).values(goods_names=names))
    db.commit()
    html = browser("commerce1").get("/me_licence_application/").get_data(as_text=True)
    assert f'<td class="txt" title="{names}">{names}</td>' in html


def test_the_legend_shows_only_where_something_is_editable(browser):
    ent = browser("enterprise1")
    assert "可录入" in ent.get("/me_licence_application/new").get_data(as_text=True)
    # commerce reads an application it may not change
    com = browser("commerce1")
    html = com.get("/me_licence_application/").get_data(as_text=True)
    pk = re.search(r'href="/me_licence_application/(\d+)"', html).group(1)
    page = com.get(f"/me_licence_application/{pk}").get_data(as_text=True)
    if 'id="record-form"' in page and "field-edit" not in page:
        assert "不可录入" not in page


def test_the_menus_speak_chinese(browser):
    html = browser("admin").get("/").get_data(as_text=True)
    assert "List Groups" not in html
    assert "- English" not in html


def test_a_reference_or_a_code_shown_by_its_label_is_text_not_a_number(browser):
    """处置反馈: 检验机构 is stored as the institution's id and 处置类型 as a code; both show their
    names, flush left like text — only numbers are flush right."""
    html = browser("customs1").get("/ue_disposal/").get_data(as_text=True)
    assert '<td class="txt">新加坡环球检验有限公司</td>' in html
    assert '<td class="txt">限期整改</td>' in html
    assert not re.search(r'<td class="num">[^<\d]', html)


def test_a_search_by_a_word_counts_its_matches_up_to_a_thousand(browser, db):
    """Each match of a word search is a row read (a plain list counts from an index alone), so
    its pager counts 1,000 of them, not 10,000: above that it says 超过 1,000 条."""
    from sqlalchemy import func, insert, select

    from app.engine import listing, textindex
    from models.me_licence import LicenceApplication

    table = LicenceApplication.__table__
    row = dict(db.execute(select(table).where(table.c.id == 3)).mappings().one())
    row.pop("id")
    company = row["company_id"]
    db.execute(insert(table), [dict(row, application_no=f"WORD{i:06d}", licence_no=None,
                                    goods_names="龙门铣床") for i in range(1_001)])
    textindex.rebuild(db, LicenceApplication)
    db.commit()
    matches = db.scalar(select(func.count()).select_from(table).where(
        table.c.company_id == company, table.c.goods_names.like("%龙门铣床%")))
    assert matches == 1_001 > listing.WORD_COUNT_LIMIT

    ent = browser("enterprise1")
    html = ent.get("/me_licence_application/?_searched=1&goods_names=龙门铣").get_data(as_text=True)
    assert 'class="page-total">超过 1,000 条<' in html
    # a narrower word counts exactly; a plain list still counts up to 10,000
    html = ent.get("/me_licence_application/?_searched=1&goods_names=加工中心").get_data(as_text=True)
    assert re.search(r'class="page-total">共 \d+ 条<', html)
    html = ent.get("/me_licence_application/").get_data(as_text=True)
    assert re.search(r'class="page-total">共 1,0\d\d 条<', html)
