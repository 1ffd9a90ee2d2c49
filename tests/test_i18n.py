"""The English locale is complete, and the screens and the REST API really switch to it.

Chinese is the default (the msgid is the manual's wording); ``en`` must translate every msgid.
Refresh the catalogues with ``i18n/update.sh`` (see i18n/README.md).
"""

from __future__ import annotations

import html
import os
import re

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
I18N = os.path.join(ROOT, "i18n")
EN_PO = os.path.join(I18N, "translations", "en", "LC_MESSAGES", "messages.po")
EN_MO = os.path.join(I18N, "translations", "en", "LC_MESSAGES", "messages.mo")

# printf-style placeholders: %(name)s, %(n)d, %s … (a literal %% is not one)
PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[-+ #0]*\d*(?:\.\d+)?[sdifreEgGxXoc]")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

LIST_URL = "/me_licence_application/"
# Demo data (demo/__init__.py, _licence_system): enterprise1's applications are ids 1-5
# (1 draft, 2 under review, 3 approved, 4 returned, 5 approved); id 6 is enterprise2's draft.
ENTERPRISE1_DRAFT = 1
ENTERPRISE1_APPROVED = 3


def _catalogue():
    with open(EN_PO, "rb") as fh:
        return read_po(fh, locale="en")


def _messages(catalog):
    return [m for m in catalog if m.id]


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def _text(page: str) -> str:
    """The page's HTML with entities decoded (M&amp;E → M&E)."""
    return html.unescape(page)


# --- the catalogue ----------------------------------------------------------------------------
def test_english_catalogue_is_complete():
    catalog = _catalogue()
    messages = _messages(catalog)
    assert len(messages) > 300, "the en catalogue looks truncated"
    empty = [m.id for m in messages if not all(s.strip() for s in _strings(m))]
    fuzzy = [m.id for m in messages if "fuzzy" in m.flags]
    assert not empty, f"untranslated in en (run i18n/update.sh, then translate): {empty}"
    assert not fuzzy, f"fuzzy translations in en: {fuzzy}"


def test_english_keeps_every_placeholder():
    bad = []
    for m in _messages(_catalogue()):
        wanted = _placeholders(_ids(m)[0])
        for s in _strings(m):
            if _placeholders(s) != wanted:
                bad.append((m.id, s))
    assert not bad, f"placeholders differ between msgid and msgstr: {bad}"


def test_english_has_no_chinese_left():
    leftovers = [(m.id, s) for m in _messages(_catalogue()) for s in _strings(m)
                 if CJK.search(s)]
    assert not leftovers, f"Chinese text in English msgstrs: {leftovers}"


def test_catalogue_covers_the_current_code(tmp_path):
    """Every string the code wraps today has an English entry (run i18n/update.sh if not)."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", os.path.join(I18N, "babel.cfg"),
        "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", ROOT,
    ])
    with open(pot, "rb") as fh:
        extracted = {m.id for m in read_po(fh) if m.id}
    translated = {m.id for m in _messages(_catalogue()) if all(_strings(m))}
    missing = sorted(extracted - translated, key=str)
    assert not missing, f"msgids without an English translation (run i18n/update.sh): {missing}"


def test_compiled_catalogue_is_current():
    assert os.path.exists(EN_MO), "en messages.mo missing: run i18n/update.sh (or bin/start)"
    assert os.path.getmtime(EN_MO) >= os.path.getmtime(EN_PO), \
        "en messages.mo is older than messages.po: run i18n/update.sh"


# --- the screens ------------------------------------------------------------------------------
def _menu_label(page: str, href: str) -> str:
    m = re.search(r'<a[^>]*href="' + re.escape(href) + r'"[^>]*>(.*?)</a>', page, re.S)
    assert m, f"no menu entry for {href}"
    return _text(re.sub(r"<[^>]+>", "", m.group(1))).strip()


def test_default_language_is_chinese(browser):
    b = browser("enterprise1")
    status, page = b.text(LIST_URL)
    assert status == 200
    page = _text(page)
    assert "机电产品进口单证列表" in page
    assert "申请单编号" in page
    assert "Application No." not in page
    assert _menu_label(page, LIST_URL) == "机电产品进口单证列表"


def test_switching_to_english_translates_the_list(browser):
    b = browser("enterprise1")
    resp = b.get("/lang/en")
    assert resp.status_code == 302
    status, page = b.text(LIST_URL)
    assert status == 200
    page = _text(page)
    # menu entry, page title, search labels, column headers, buttons, states
    assert _menu_label(page, LIST_URL) == "M&E product import licence list"
    assert '<h3 class="page-title">M&E product import licence list</h3>' in page
    for label in ("Application No.", "Licence No.", "Document status", "Search",
                  "Batch print", "View workflow status", "View review opinions", "Declare",
                  "Withdraw", "Copy", "Under review", "Approved"):
        assert label in page, f"{label!r} missing from the English list page"
    for chinese in ("机电产品进口单证列表", "申请单编号", "许可证号", "单证状态", "批量打印",
                    "查看流程状态", "审批中"):
        assert chinese not in page, f"{chinese!r} still shown in English"


def test_switching_back_to_chinese(browser):
    b = browser("enterprise1")
    b.get("/lang/en")
    assert "Application No." in _text(b.text(LIST_URL)[1])
    b.get("/lang/zh_CN")
    page = _text(b.text(LIST_URL)[1])
    assert "申请单编号" in page
    assert "Application No." not in page


def test_english_form_and_refusal_flash(browser):
    """The detail form and a refusal message of the engine, in English."""
    b = browser("enterprise1")
    b.get("/lang/en")
    status, page = b.text(f"{LIST_URL}{ENTERPRISE1_APPROVED}")
    assert status == 200
    page = _text(page)
    for label in ("Application details", "Goods information", "Review information",
                  "Importer code", "Currency", "Copy", "Print", "Back to list"):
        assert label in page, f"{label!r} missing from the English form"
    assert "申请详细信息" not in page and "进口商编码" not in page
    # code-list values in English too: 监管方式, 关区, 计量单位 of the demo application
    for value in ("0110 General trade", "9001 Guanzhong Customs", "001 set"):
        assert value in page, f"{value!r} missing from the English form"
    for chinese in ("一般贸易", "关中海关"):
        assert chinese not in page, f"{chinese!r} still shown in English"
    # 申报 of an approved application: refused with the reason, in English.
    resp = b.post(f"{LIST_URL}{ENTERPRISE1_APPROVED}/do/declare")
    assert resp.status_code == 409
    page = _text(resp.get_data(as_text=True))
    assert "“Declare” is not possible in the current status “Approved”" in page


# --- the REST API -----------------------------------------------------------------------------
ENGLISH_WAYS = {
    "query": {"query_string": {"_l_": "en"}},
    "header": {"headers": {"Accept-Language": "en"}},
}


def _message(resp) -> str:
    body = resp.get_json()
    assert isinstance(body, dict) and "message" in body, resp.get_data(as_text=True)
    return body["message"]


def test_api_refusals_default_to_chinese(api):
    c = api("enterprise2")
    resp = c.get(f"/api/v1/me_licence_application/{ENTERPRISE1_DRAFT}")
    assert resp.status_code == 404
    assert _message(resp) == "记录不存在或无权访问"
    resp = api("enterprise1").post(
        f"/api/v1/me_licence_application/{ENTERPRISE1_APPROVED}/action/declare", json={})
    assert resp.status_code == 409
    assert _message(resp) == "当前状态「审批通过」不能执行「申报」"


@pytest.mark.parametrize("way", sorted(ENGLISH_WAYS))
def test_api_not_found_in_english(api, way):
    # enterprise2 asks for an application of enterprise1: outside its scope, so 404.
    resp = api("enterprise2").get(f"/api/v1/me_licence_application/{ENTERPRISE1_DRAFT}",
                                  **ENGLISH_WAYS[way])
    assert resp.status_code == 404
    message = _message(resp)
    assert message == "The record does not exist or you are not allowed to access it"
    assert not CJK.search(message)


@pytest.mark.parametrize("way", sorted(ENGLISH_WAYS))
def test_api_wrong_state_in_english(api, way):
    # 申报 of an approved application: 409 with the reason.
    resp = api("enterprise1").post(
        f"/api/v1/me_licence_application/{ENTERPRISE1_APPROVED}/action/declare", json={},
        **ENGLISH_WAYS[way])
    assert resp.status_code == 409
    message = _message(resp)
    assert message == "“Declare” is not possible in the current status “Approved”"
    assert not CJK.search(message)


def test_api_record_labels_in_english(api):
    resp = api("enterprise1").get(f"/api/v1/me_licence_application/{ENTERPRISE1_APPROVED}",
                                  headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    assert resp.get_json()["result"]["status_label"] == "Approved"
