"""The admin console (/admin): administrators only, CSRF on, validated organisations, export."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from app.engine import validators
from models.base import Organisation

from .conftest import CSRF_RE as _ANY_CSRF
from .helpers import HEAD

# The console's own (SecureForm) token: the input with id="csrf_token".
CSRF_RE = re.compile(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"')
assert _ANY_CSRF

VALID_USCC = "91350100M000100Y43"  # GB 32100 example (FIELD_NOTES §1)


def test_check_digit_algorithms():
    assert validators.is_uscc(VALID_USCC)
    assert not validators.is_uscc("91350100M000100Y44")
    assert not validators.is_uscc("91350100M000100Y4")
    assert validators.is_org_code("M000100Y-4")  # 主体标识码 of the example USCC
    assert not validators.is_org_code("M000100Y-5")
    body = "MA6W2K3L"
    assert validators.is_org_code(body + validators.org_code_check_char(body))
    assert validators.is_id_number("11010519491231002X")
    assert not validators.is_id_number("110105194912310021")
    assert not validators.is_id_number("110105194902310028")  # 31 February
    with pytest.raises(ValueError):
        validators.mobile("2380918123")
    validators.phone("029-88451234")
    with pytest.raises(ValueError):
        validators.email("a@b")


@pytest.mark.parametrize("username", ["enterprise1", "commerce1", "customs1", "institution1"])
def test_only_administrators_enter(browser, username):
    b = browser(username)
    for path in ("/admin/", "/admin/org_admin/", "/admin/user_admin/", "/admin/code_admin/"):
        resp = b.get(path)
        assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


def test_admin_lists_and_exports_organisations(browser):
    b = browser("admin")
    status, html = b.text("/admin/org_admin/")
    assert status == 200 and "陕西秦川精密机械有限公司" in html
    resp = b.get("/admin/org_admin/export/xlsx/")
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    names = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "西安长安医疗设备进出口有限公司" in names


def _create_org(b, **fields):
    html = b.get("/admin/org_admin/new/").get_data(as_text=True)
    token = CSRF_RE.search(html)
    assert token, "the admin form carries a CSRF token"
    data = {"csrf_token": token.group(1), "kind": "company", "name": "测试企业",
            "active": "y", **fields}
    return b.client.post("/admin/org_admin/new/", data=data)


def test_organisation_with_wrong_uscc_check_digit_is_refused(browser, db):
    b = browser("admin")
    resp = _create_org(b, uscc="91350100M000100Y44")
    assert resp.status_code == 200
    assert "统一社会信用代码格式或校验位错误" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(Organisation).where(Organisation.name == "测试企业")) is None


def test_organisation_codes_must_agree(browser, db):
    b = browser("admin")
    resp = _create_org(b, uscc=VALID_USCC, org_code="MA6W2K3L-3")
    assert "组织机构代码与统一社会信用代码第 9-17 位不一致" in resp.get_data(as_text=True)
    resp = _create_org(b, uscc=VALID_USCC, org_code="M000100Y-4")
    assert resp.status_code == 302
    db.rollback()
    org = db.scalar(select(Organisation).where(Organisation.name == "测试企业"))
    assert org.uscc == VALID_USCC


def test_admin_forms_refuse_posts_without_csrf_token(browser, db):
    b = browser("admin")
    resp = b.client.post("/admin/org_admin/new/", data={"kind": "company", "name": "无令牌"})
    assert resp.status_code in (200, 400)
    db.rollback()
    assert db.scalar(select(Organisation).where(Organisation.name == "无令牌")) is None


def test_code_list_edit_reaches_the_type_ahead(browser, db):
    from app.engine.codelists import CodeItem

    admin, ent = browser("admin"), browser("enterprise1")
    item = db.scalar(select(CodeItem).where(CodeItem.list_name == "me_goods_use",
                                            CodeItem.code == "04"))
    html = admin.get(f"/admin/code_admin/edit/?id={item.id}").get_data(as_text=True)
    token = CSRF_RE.search(html).group(1)
    resp = admin.client.post(f"/admin/code_admin/edit/?id={item.id}", data={
        "csrf_token": token, "list_name": "me_goods_use", "code": "04", "name": "科研开发用",
        "name_en": "Research and development", "active": "y", "sort": "3"})
    assert resp.status_code == 302
    data = ent.get("/engine/codelist/me_goods_use?q=科研").get_json()
    assert {"code": "04", "label": "科研开发用"} in data["results"]


def test_type_ahead_narrows_by_code_letters_or_chinese(browser):
    b = browser("enterprise1")
    codes = [r["code"] for r in b.get("/engine/codelist/country?q=JP").get_json()["results"]]
    assert codes[0] == "JPN"
    labels = [r["label"] for r in b.get("/engine/codelist/country?q=日本").get_json()["results"]]
    assert labels == ["日本"]
    codes = [r["code"] for r in b.get("/engine/codelist/customs_district?q=90").get_json()[
        "results"]]
    assert codes[:3] == ["9000", "9001", "9002"]
    assert b.get("/engine/codelist/nonexistent?q=1").status_code == 404


def test_hs_picker_needs_four_digits_and_fills_name_and_unit(browser):
    b = browser("enterprise1")
    resp = b.get("/me_licence_application/pick/goods.hs_code?q=845").get_json()
    assert resp["results"] == [] and "4" in resp["message"]
    year = HEAD["year"]  # this year's catalogue (the demo loads this year's and next year's)
    resp = b.get(f"/me_licence_application/pick/goods.hs_code?q=8458&ctx_year={year}").get_json()
    values = [r["value"] for r in resp["results"]]
    assert values == ["8458110000", "8458910000"]
    assert resp["results"][0]["fills"] == {"name": "数控卧式车床", "unit": "001"}


def test_user_admin_sets_password_hash(browser, db):
    b = browser("admin")
    html = b.get("/admin/user_admin/new/").get_data(as_text=True)
    token = CSRF_RE.search(html).group(1)
    org_id = db.scalar(select(Organisation.id).where(Organisation.name == "西安海关"))
    role_id = re.search(r'<option value="(\d+)">海关</option>', html)
    assert role_id
    resp = b.client.post("/admin/user_admin/new/", data={
        "csrf_token": token, "username": "customs2", "first_name": "洋", "last_name": "刘",
        "email": "customs2@example.cn", "organisation": str(org_id),
        "roles": role_id.group(1), "active": "y", "new_password": "Another@2026"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    from .conftest import Browser

    new_user = Browser(b.app, None)
    new_user.login("customs2", "Another@2026")
    assert new_user.get("/me_licence_application/3").status_code == 200


def test_the_console_in_english_names_its_home_page_home(browser):
    """首页 of a menu is "Home" (the pager's 首页 is "First"); the console sits in the workspace,
    its menu the first section of the 功能栏, its name leading to its home page."""
    b = browser("admin")
    b.get("/lang/en")
    html = b.get("/admin/rate_admin/").get_data(as_text=True)
    assert re.search(r'<a class="navbar-brand" href="/admin/?">Admin console</a>', html)
    assert re.search(r'<span class="text">Parameters</span>', html)
    assert 'href="/admin/rate_admin/" data-py="' in html
    assert ">First<" not in html and ">首页<" not in html
    assert 'id="sidebar"' in html and 'id="page-tabs"' in html


def test_batch_actions_take_the_rows_ids_as_numbers(browser, db):
    """The action form posts the row ids as text: on PostgreSQL ``id IN ('3', '5')`` was an
    error (integer = character varying) and every batch action of the console answered 500."""
    from sqlalchemy import func

    from app.engine.codelists import CodeItem
    from models.base import CurrencyRate

    b = browser("admin")
    rates = db.scalars(select(CurrencyRate.id).order_by(CurrencyRate.id)).all()
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
                      b.get("/admin/rate_admin/").get_data(as_text=True)).group(1)
    resp = b.client.post("/admin/rate_admin/action/", data={
        "csrf_token": token, "action": "delete", "url": "/admin/rate_admin/",
        "rowid": [str(rates[-1]), str(rates[-2]), "x"]})
    assert resp.status_code == 302
    db.rollback()  # a new snapshot (SQLite keeps the transaction's)
    assert db.scalar(select(func.count()).select_from(CurrencyRate)) == len(rates) - 2
    # the console's own actions too (代码表 停用)
    code = db.scalar(select(CodeItem).where(CodeItem.active.is_(True)).limit(1))
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
                      b.get("/admin/code_admin/").get_data(as_text=True)).group(1)
    resp = b.client.post("/admin/code_admin/action/", data={
        "csrf_token": token, "action": "deactivate", "url": "/admin/code_admin/",
        "rowid": [str(code.id)]})
    assert resp.status_code == 302
    db.rollback()  # a new snapshot (SQLite keeps the transaction's)
    assert db.get(CodeItem, code.id).active is False
    # and 立即重试 of the outbox
    from app.engine.notify import OutboxMessage

    msg_id = db.scalar(select(OutboxMessage.id).limit(1))
    db.get(OutboxMessage, msg_id).status = "failed"
    db.commit()   # and no transaction of this session left open (SQLite: the writer waits)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
                      b.get("/admin/outbox_admin/").get_data(as_text=True)).group(1)
    resp = b.client.post("/admin/outbox_admin/action/", data={
        "csrf_token": token, "action": "retry", "url": "/admin/outbox_admin/",
        "rowid": [str(msg_id)]})
    assert resp.status_code == 302
    db.rollback()
    m2 = db.get(OutboxMessage, msg_id)
    assert m2.status == "pending"


def _cells(html: str, column: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(
        rf'<td class="col-{column}">(.*?)</td>', html, re.S)]


def _headers(html: str) -> list[str]:
    return [h.strip() for h in re.findall(
        r'<th class="column-header col-\w+">\s*(?:<a [^>]*>)?([^<]+)<', html)]


def test_the_outbox_is_listed_in_the_readers_language(browser):
    """消息发送队列: its column names and the labels of its codes (邮件, 待发送), not the
    columns' and codes' English names in the program."""
    b = browser("admin")
    html = b.get("/admin/outbox_admin/").get_data(as_text=True)
    assert _headers(html) == ["发送方式", "接收人", "主题", "状态", "发送次数", "下次发送时间",
                              "错误信息", "创建时间", "发送时间"]
    assert set(_cells(html, "channel")) == {"邮件"}
    assert set(_cells(html, "status")) == {"待发送"}
    assert b.get("/lang/en").status_code == 302
    html = b.get("/admin/outbox_admin/").get_data(as_text=True)
    assert _headers(html) == ["Channel", "Recipient", "Subject", "Status", "Attempts",
                              "Next attempt at", "Last error", "Created at", "Sent at"]
    assert set(_cells(html, "channel")) == {"Email"}
    assert set(_cells(html, "status")) == {"Pending"}
    export = b.get("/admin/outbox_admin/export/csv/").get_data(as_text=True)
    assert export.splitlines()[1].startswith("Email,")


def test_organisations_show_their_codes_labels(browser):
    """单位: 类型, 省市, 国别 and 关区 as the screens show code-list values ("code name", the
    name in the reader's language), not the stored codes."""
    b = browser("admin")
    html = b.get("/admin/org_admin/").get_data(as_text=True)
    kinds = _cells(html, "kind")
    assert {"企业", "检验机构", "海关", "商务主管部门"} == set(kinds)
    assert "610000 陕西省" in _cells(html, "province")
    assert "JPN 日本" in _cells(html, "country")
    districts = [c for c in _cells(html, "customs_district") if c]
    assert districts and districts[0].startswith("9000 ") and "、9001 关中海关、9002 " in districts[0]
    assert b.get("/lang/en").status_code == 302
    html = b.get("/admin/org_admin/").get_data(as_text=True)
    assert {"Enterprise", "Customs", "Inspection institution"} <= set(_cells(html, "kind"))
    assert "610000 Shaanxi" in _cells(html, "province")
    assert "JPN Japan" in _cells(html, "country")
    assert ", 9001 Guanzhong Customs, 9002 " in [c for c in _cells(
        html, "customs_district") if c][0]
    ws = openpyxl.load_workbook(io.BytesIO(b.get("/admin/org_admin/export/xlsx/").data)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert ("Customs", "610000 Shaanxi") in {(r[0], r[7]) for r in rows}


MINUTE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")


def test_the_console_shows_times_and_numbers_as_the_screens_do(browser, db):
    """Every console view: times to the minute (2026-12-07 14:08, no seconds nor microseconds),
    numbers as the screens write them (a rate 1.085, not 1.08500000), yes / no as 是 / 否 in
    details and exports, and role names in the reader's language."""
    b = browser("admin")
    html = b.get("/admin/user_admin/").get_data(as_text=True)
    logins = [c for c in _cells(html, "last_login") if c]
    assert logins and all(MINUTE.match(c) for c in logins), logins
    html = b.get("/admin/rec_me_licence_application/").get_data(as_text=True)
    for column in ("declared_at", "updated_at"):
        shown = [c for c in _cells(html, column) if c]
        assert shown and all(MINUTE.match(c) for c in shown), (column, shown)
    html = b.get("/admin/rec_me_licence_application/details/?id=5").get_data(as_text=True)
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?:\.\d+)?", html)
    assert times and all(MINUTE.match(t) for t in times), times
    html = b.get("/admin/rate_admin/").get_data(as_text=True)
    rates = _cells(html, "usd_rate")
    assert "1" in rates and "1.085" in rates and not [r for r in rates if r.endswith("0")]
    export = b.get("/admin/rate_admin/export/csv/").get_data(as_text=True)
    from models.base import CurrencyRate

    since = db.scalar(select(CurrencyRate.valid_from).where(CurrencyRate.currency == "EUR"))
    assert f"EUR,{since:%Y-%m-%d},1.085," in export  # the demo's rate: from 1 January last year
    export = b.get("/admin/org_admin/export/csv/").get_data(as_text=True)
    assert export.splitlines()[1].endswith(",是")
    roles = _cells(b.get("/admin/user_admin/").get_data(as_text=True), "roles")
    assert "管理员" in roles and {"企业", "企业审单"} in [set(r.split("、")) for r in roles]
    assert b.get("/lang/en").status_code == 302
    html = b.get("/admin/user_admin/").get_data(as_text=True)
    roles = _cells(html, "roles")
    assert {"Administrator", "Customs", "Commerce"} <= set(roles), roles
    assert {"Enterprise", "Enterprise reviewer"} in [set(r.split(", ")) for r in roles]
    assert not [r for r in roles if re.search(r"[\u4e00-\u9fff]", r)], roles
    assert "Japan Machinery Inspection Co., Ltd." in _cells(html, "organisation")
