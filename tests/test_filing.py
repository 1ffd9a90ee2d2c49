"""企业信息备案: 暂存, 申报, the commerce officer's approval (机电系统账户), 获取商务部备案信息,
查询注册状态, 打印 企业注册信息表."""

from __future__ import annotations

import re

from sqlalchemy import select

from models.me_licence import MeAccount, MeEnterpriseFiling

from .helpers import HEAD, flashes, get

FILING = {
    "supervisor_level": "03", "unit_nature": "04", "province": "610000",
    "address": "西安市经济技术开发区凤城八路168号", "postcode": "710018", "legal_rep": "李敏",
    "phone": "029-86523377", "filing_date": "2026-11-01", "has_trading_rights": "y",
    "me_password": "Secret#2026", "contact_name": "李敏", "contact_mobile": "13991234567",
    "contact_email": "import@changan-medical.example", "me_office": "61",
}


def test_basic_data_come_from_the_company_and_are_grey(browser):
    status, html = browser("enterprise2").text("/me_enterprise_filing/2")
    assert status == 200
    assert 'data-name="uscc"' in html and 'data-name="org_code"' in html
    assert 'data-name="me_account"' in html
    assert "西安长安医疗设备进出口有限公司" in html
    assert not re.search(r'<input[^>]*\sname="uscc"', html)
    # 查询注册状态 cannot be clicked before the data were submitted
    assert re.search(r'class="btn btn-outline-secondary disabled"[^>]*>查询注册状态', html)


def test_declare_requires_the_yellow_fields(browser, db):
    b = browser("enterprise2")
    resp = b.post("/me_enterprise_filing/2/do/declare", data={"address": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for name in ("address", "me_password"):
        assert "此项为必填项" in html.split(f'data-field="{name}"')[1].split("</div>\n  </div>")[0]
    assert get(db, MeEnterpriseFiling, 2).status == "draft"


def test_applications_wait_for_an_approved_filing(browser, db):
    b = browser("enterprise2")
    from .helpers import add_goods

    add_goods(b, 6, {
        "__tables": ["goods", "goods-0-specs"], "goods-0-hs_code": "9018130000",
        "goods-0-name": "磁共振成像装置", "goods-0-goods_state": "N", "goods-0-unit": "001",
        "goods-0-specs-0-model": "1.5T", "goods-0-specs-0-qty": "1",
        "goods-0-specs-0-unit_price": "900000"})
    resp = b.post("/me_licence_application/6/do/declare")
    assert "企业信息备案尚未审批通过，不能申报" in resp.get_data(as_text=True)


def test_filing_declared_approved_fills_the_account(browser, db):
    b, com = browser("enterprise2"), browser("commerce1")
    assert b.post("/me_enterprise_filing/2/do/declare", data=FILING).status_code == 302
    filing = get(db, MeEnterpriseFiling, 2)
    assert filing.status == "under_review"
    assert filing.me_password.startswith(("scrypt:", "pbkdf2:")) and "Secret" not in filing.me_password
    html = b.get("/me_enterprise_filing/2").get_data(as_text=True)
    assert "Secret#2026" not in html and filing.me_password not in html
    assert "待审批" in html
    com.post("/me_enterprise_filing/2/do/approve", data={"opinion": "同意备案"})
    filing = get(db, MeEnterpriseFiling, 2)
    assert filing.status == "approved"
    assert re.fullmatch(r"61\d{4}\d{5}", filing.me_account)
    account = db.scalar(select(MeAccount).where(MeAccount.account == filing.me_account))
    assert account is not None and account.uscc == filing.uscc
    html = b.get("/me_enterprise_filing/2").get_data(as_text=True)
    assert filing.me_account in html and "已备案" in html
    assert "企业信息备案已审批通过" in b.get("/").get_data(as_text=True)


def test_bind_an_existing_commerce_account(browser, db):
    b = browser("enterprise2")
    b.post("/me_enterprise_filing/2/do/bind",
           data={"input-account": "61201900088", "input-password": "wrong"})
    assert "机电系统账户或密码错误，绑定失败" in flashes(b)
    assert get(db, MeEnterpriseFiling, 2).status == "draft"
    resp = b.post("/me_enterprise_filing/2/do/bind", data={"input-account": "", "input-password": ""})
    assert resp.status_code == 422
    b.post("/me_enterprise_filing/2/do/bind",
           data={"input-account": "61201900088", "input-password": "Demo@12345"})
    assert "绑定成功" in flashes(b)
    filing = get(db, MeEnterpriseFiling, 2)
    assert (filing.status, filing.me_account) == ("approved", "61201900088")


def test_another_companys_account_cannot_be_bound(browser, db):
    b = browser("enterprise2")
    b.post("/me_enterprise_filing/2/do/bind",
           data={"input-account": get(db, MeEnterpriseFiling, 1).me_account,
                 "input-password": "Demo@12345"})
    assert "该机电系统账户不属于本企业，绑定失败" in flashes(b)


def test_registration_status_and_print(browser):
    b = browser("enterprise1")
    status, html = b.text("/me_enterprise_filing/1/history?tab=status")
    assert status == 200 and "已备案" in html and "张华" in html
    resp = b.get("/me_enterprise_filing/1/print")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")


def test_commerce_lists_filings_but_not_drafts(browser):
    html = browser("commerce1").get("/me_enterprise_filing/").get_data(as_text=True)
    assert "陕西秦川精密机械有限公司" in html and "西安长安医疗设备进出口有限公司" not in html


def test_a_company_has_one_filing(browser, db):
    b = browser("enterprise1")
    resp = b.post("/me_enterprise_filing/new/do/save", data=FILING)
    assert resp.status_code == 302
    assert "本单位已有「企业信息备案」，不能重复新增" in flashes(b)
    db.rollback()
    assert len(db.scalars(select(MeEnterpriseFiling).where(
        MeEnterpriseFiling.company_id == get(db, MeEnterpriseFiling, 1).company_id)).all()) == 1


__all__ = ["HEAD"]
