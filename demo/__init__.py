"""Demo data: realistic organisations, the demo accounts and records in every state.

Created only by the development start (run.py) on an empty database — never in production.
Records are made through the engine (workflow.fire as the demo users), so their numbers,
history and computed values are exactly what real use produces.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import os

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.engine import changes, policy, validators
from app.engine import transitions as wf
from app.engine.notify import Notice
from app.engine.record import now
from models.base import (
    COMMERCE_OFFICE,
    COMPANY,
    CUSTOMS_UNIT,
    INSTITUTION,
    AppUser,
    CurrencyRate,
    Organisation,
)
from models.me_licence import (
    LicenceApplication,
    MeAccount,
    MeClearance,
    MeEnterpriseFiling,
    MeProduct,
)

PASSWORD = "Demo@12345"
HERE = os.path.dirname(__file__)


def make_codes(body8: str, region: str = "610131") -> tuple[str, str]:
    """A valid (统一社会信用代码, 组织机构代码) pair from an 8-character body."""
    org9 = body8 + validators.org_code_check_char(body8)
    uscc17 = "91" + region + org9
    return uscc17 + validators.uscc_check_char(uscc17), f"{org9[:8]}-{org9[8]}"


ORGS = {
    "commerce": dict(kind=COMMERCE_OFFICE, name="陕西省商务厅机电产品进出口办公室",
                     name_en="Shaanxi M&E Import and Export Office", province="610000",
                     phone="029-63913000", email="jdb@commerce.shaanxi.example"),
    "customs": dict(kind=CUSTOMS_UNIT, name="西安海关", name_en="Xi'an Customs",
                    customs_district="9000,9001,9002", province="610000",
                    phone="029-12360", email="12360@xian.customs.example"),
    "company_a": dict(kind=COMPANY, name="陕西秦川精密机械有限公司",
                      name_en="Shaanxi Qinchuan Precision Machinery Co., Ltd.", body="MA6W2K3L",
                      customs_code="6101930123", province="610000",
                      address="西安市高新区锦业路69号", contact="王建国",
                      phone="029-88451234", email="trade@qinchuan-precision.example"),
    "company_b": dict(kind=COMPANY, name="西安长安医疗设备进出口有限公司",
                      name_en="Xi'an Chang'an Medical Equipment Import & Export Co., Ltd.",
                      body="MA6TX8Q1", customs_code="6101960457", province="610000",
                      address="西安市经济技术开发区凤城八路168号", contact="李敏",
                      phone="029-86523377", email="import@changan-medical.example"),
    "institution_1": dict(kind=INSTITUTION, name="日本机械检验株式会社",
                          name_en="Japan Machinery Inspection Co., Ltd.", country="JPN",
                          address="2-1-1 Shibaura, Minato-ku, Tokyo", contact="Sato Kenji",
                          phone="+81 3 5444 1234", email="pre-shipment@jmi.example"),
    "institution_2": dict(kind=INSTITUTION, name="德国莱茵装运前检验有限公司",
                          name_en="Rhein Pre-shipment Inspection GmbH", country="DEU",
                          address="Am Grauen Stein 29, 51105 Koeln", contact="Anna Weber",
                          phone="+49 221 806 0", email="psi@rhein-inspection.example"),
}

USERS = [
    ("admin", policy.ADMIN, None, "系统管理员", "", "admin@singlewindow.example"),
    ("commerce1", policy.COMMERCE, "commerce", "张华", "", "commerce1@example.cn"),
    ("customs1", policy.CUSTOMS, "customs", "陈刚", "", "customs1@example.cn"),
    ("enterprise1", policy.ENTERPRISE, "company_a", "王建国", "", "enterprise1@example.cn"),
    ("enterprise2", policy.ENTERPRISE, "company_b", "李敏", "", "enterprise2@example.cn"),
    ("institution1", policy.INSTITUTION, "institution_1", "Kenji", "Sato",
     "institution1@example.jp"),
    ("institution2", policy.INSTITUTION, "institution_2", "Anna", "Weber",
     "institution2@example.de"),
]

# Demo conversion rates to US dollars (illustrative, not official rates).
RATES = {"USD": "1", "EUR": "1.0850", "JPY": "0.0067", "GBP": "1.2700", "CHF": "1.1300",
         "HKD": "0.1280", "CNY": "0.1390", "KRW": "0.00073", "SGD": "0.7450", "SEK": "0.0950",
         "AUD": "0.6600", "CAD": "0.7300"}


# Users holding more than one role: the company's reviewer (审单) is also 企业.
MORE_ACCOUNTS = [("reviewer1", f"{policy.ENTERPRISE}+{policy.ENTERPRISE_REVIEWER}")]


def accounts(session) -> list[tuple[str, str, str]]:
    out = []
    for username, role, *_rest in USERS + MORE_ACCOUNTS:
        user = session.scalar(select(AppUser).where(AppUser.username == username))
        if user is not None:
            out.append((username, role, user.organisation.name if user.organisation else "-"))
    return out


def load_demo(session) -> list[tuple[str, str, str]]:
    if session.scalar(select(func.count()).select_from(Organisation)):
        return accounts(session)
    orgs = _organisations(session)
    actors = _users(session, orgs)
    _rates(session)
    _catalogue(session)
    _notices(session, orgs)
    session.commit()
    _licence_system(session, orgs, actors)
    session.commit()
    from demo.used_me import load_used_me

    load_used_me(session, orgs, actors)
    session.commit()
    from demo.customs_declaration import load_customs

    load_customs(session, orgs, actors)
    session.commit()
    from demo.coo import load_coo

    load_coo(session, orgs, actors)
    session.commit()
    from demo.customs_exception import load_exceptions

    load_exceptions(session, orgs, actors)
    session.commit()
    return accounts(session)


def _organisations(session) -> dict[str, Organisation]:
    orgs = {}
    for key, data in ORGS.items():
        data = dict(data)
        body = data.pop("body", None)
        org = Organisation(**data)
        if body:
            org.uscc, org.org_code = make_codes(body)
        org.check_codes_agree()
        session.add(org)
        orgs[key] = org
    session.flush()
    return orgs


def _users(session, orgs) -> dict[str, policy.Actor]:
    from flask import current_app

    sm = current_app.appbuilder.sm
    actors = {}
    for username, role_name, org_key, first, last, email in USERS:
        role = sm.find_role(role_name)
        org = orgs.get(org_key) if org_key else None
        user = AppUser(username=username, first_name=first, last_name=last, email=email,
                       active=True, password=generate_password_hash(PASSWORD),
                       roles=[role], organisation=org)
        session.add(user)
        session.flush()
        actors[username] = policy.actor_for_user(user)
    return actors


def _rates(session) -> None:
    start = dt.date(dt.date.today().year - 1, 1, 1)
    for cur, rate in RATES.items():
        session.add(CurrencyRate(currency=cur, valid_from=start,
                                 usd_rate=decimal.Decimal(rate), source="演示汇率 (demo)"))


def _catalogue(session) -> None:
    with open(os.path.join(HERE, "me_catalogue.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    this_year = dt.date.today().year
    for year in (this_year, this_year + 1):
        for r in rows:
            session.add(MeProduct(year=year, hs_code=r["hs_code"], name=r["name"],
                                  unit=r["unit"], category=r["category"]))


def _notices(session, orgs) -> None:
    today = now()
    items = [
        ("关于启用“单一窗口”业务管理后台的公告",
         "自即日起，机电产品进口单证申请、进口旧机电产品装运前检验监督管理等业务统一在本平台办理。"
         "企业首次使用请先完成企业信息备案。", None, "公告", 1),
        ("机电产品自动进口许可证有效期说明",
         "自动进口许可证在公历年度内有效，有效期为 6 个月。非一批一证的许可证在有效期内可多次报关，最多不超过 6 次。",
         None, "公告", 3),
        ("2026 年度机电产品进口管理目录已更新",
         "请在“商品列表”中查询本年度机电产品目录，申请时商品编码应在目录范围内。", None, "公告", 7),
    ]
    for title, content, org_key, kind, days in items:
        session.add(Notice(title=title, content=content, kind=kind,
                           org_id=orgs[org_key].id if org_key else None,
                           published_at=today - dt.timedelta(days=days),
                           publisher="陕西电子口岸"))


def _fire(session, record, name, actor, **kw):
    try:
        out = wf.fire(session, record, name, actor, **kw)
    except changes.ValidationErrors as e:  # a demo that does not validate is a bug
        raise RuntimeError(f"demo {record.meta().resource}.{name}: {e.errors}") from e
    session.flush()
    return out


def _new_application(session, actor, *, agent, mobile, country, origin, port, batch_mode,
                     currency, goods, remark=None, goods_kind="single", project=None):
    app = wf.new_record(session, LicenceApplication, actor)
    data = {
        "agent_name": agent, "agent_mobile": mobile, "trade_country": country,
        "origin_country": origin, "customs_port": port, "batch_mode": batch_mode,
        "currency": currency, "goods_kind": goods_kind, "remark": remark or "",
    }
    if project:
        data.update(project)
    _fire(session, app, "save", actor, data=data)
    _fire(session, app, "save", actor, data={"goods": goods})
    return app


def _licence_system(session, orgs, actors) -> None:
    ent1, ent2, com = actors["enterprise1"], actors["enterprise2"], actors["commerce1"]
    customs = actors["customs1"]

    # 企业信息备案: company A approved, company B still a draft; B holds a commerce-system
    # account registered before the single window (获取商务部备案信息 binds it).
    filing_a = wf.new_record(session, MeEnterpriseFiling, ent1)
    _fire(session, filing_a, "save", ent1, data={
        "supervisor_level": "02", "unit_nature": "03", "province": "610000",
        "address": "西安市高新区锦业路69号", "postcode": "710077", "legal_rep": "王建国",
        "phone": "029-88451234", "filing_date": (dt.date.today() - dt.timedelta(days=40))
        .isoformat(), "has_trading_rights": True, "me_password": PASSWORD,
        "contact_name": "王建国", "contact_mobile": "13809181234",
        "contact_email": "trade@qinchuan-precision.example", "me_office": "61",
    })
    _fire(session, filing_a, "declare", ent1)
    _fire(session, filing_a, "approve", com, opinion="材料齐全，同意备案。")

    filing_b = wf.new_record(session, MeEnterpriseFiling, ent2)
    _fire(session, filing_b, "save", ent2, data={
        "supervisor_level": "03", "unit_nature": "04", "province": "610000",
        "address": "西安市经济技术开发区凤城八路168号", "legal_rep": "李敏",
        "phone": "029-86523377", "contact_name": "李敏", "contact_mobile": "13991234567",
        "me_office": "61",
    })
    session.add(MeAccount(account="61201900088", password_hash=generate_password_hash(PASSWORD),
                          uscc=filing_b.uscc, company_name=filing_b.company_name, office="61",
                          registered_at=now() - dt.timedelta(days=900)))

    lathe = {"hs_code": "8458110000", "name": "数控卧式车床", "goods_state": "N", "unit": "001",
             "specs": [{"model": "CK6150×1000", "qty": "2", "unit_price": "38500"},
                       {"model": "CK6163×1500", "qty": "1", "unit_price": "52800"}]}
    centre = {"hs_code": "8457101000", "name": "立式加工中心", "goods_state": "N", "unit": "001",
              "specs": [{"model": "VMC850B", "qty": "3", "unit_price": "46000"}]}
    laser = {"hs_code": "8456110000", "name": "激光切割机", "goods_state": "N", "unit": "001",
             "specs": [{"model": "FLC3015-6kW", "qty": "1", "unit_price": "128000"}]}
    grinder = {"hs_code": "8460121000", "name": "数控平面磨床", "goods_state": "N", "unit": "001",
               "specs": [{"model": "PSG-63DX", "qty": "2", "unit_price": "41000"}]}

    # Company A: one of each state.
    _new_application(session, ent1, agent="王建国", mobile="13809181234", country="JPN",
                     origin="JPN", port="9001", batch_mode="1", currency="USD",
                     goods=[lathe], remark="生产线扩能改造")
    a2 = _new_application(session, ent1, agent="王建国", mobile="13809181234", country="DEU",
                          origin="DEU", port="9002", batch_mode="1", currency="EUR",
                          goods=[laser])
    _fire(session, a2, "declare", ent1)
    a3 = _new_application(session, ent1, agent="王建国", mobile="13809181234", country="JPN",
                          origin="JPN", port="9001", batch_mode="0", currency="USD",
                          goods=[centre, grinder])
    _fire(session, a3, "declare", ent1)
    _fire(session, a3, "approve", com, opinion="符合自动进口许可管理规定，同意。")
    a4 = _new_application(session, ent1, agent="赵磊", mobile="13709185566", country="CHE",
                          origin="CHE", port="9000", batch_mode="1", currency="CHF",
                          goods=[{"hs_code": "9031809090", "name": "三坐标测量机",
                                  "goods_state": "N", "unit": "001",
                                  "specs": [{"model": "CMM-Accura II", "qty": "1",
                                             "unit_price": "186000"}]}])
    _fire(session, a4, "declare", ent1)
    _fire(session, a4, "return", com, opinion="请补充进口合同及用户证明材料，商品用途应与合同一致。")
    a5 = _new_application(session, ent1, agent="王建国", mobile="13809181234", country="JPN",
                          origin="JPN", port="9001", batch_mode="1", currency="JPY",
                          goods=[{"hs_code": "8477101000", "name": "塑料注射成型机",
                                  "goods_state": "N", "unit": "001",
                                  "specs": [{"model": "SE180EV-A", "qty": "2",
                                             "unit_price": "9800000"}]}])
    _fire(session, a5, "declare", ent1)
    _fire(session, a5, "approve", com)

    # Company B: medical equipment.
    b1 = _new_application(session, ent2, agent="李敏", mobile="13991234567", country="DEU",
                          origin="DEU", port="9001", batch_mode="1", currency="EUR",
                          goods=[{"hs_code": "9018130000", "name": "磁共振成像装置",
                                  "goods_state": "N", "unit": "001",
                                  "specs": [{"model": "MAGNETOM Sola 1.5T", "qty": "1",
                                             "unit_price": "980000"}]}])
    del b1
    # Clearances against the non-one-batch licence a3 (quota consumed twice).
    spec_ids = [s.id for g in a3.goods for s in g.specs]
    for i, (qty, entry) in enumerate([("1", "900120261000012345"),
                                      ("1", "900120261000023456")]):
        c = wf.new_record(session, MeClearance, customs)
        _fire(session, c, "save", customs, data={
            "licence_no": a3.licence_no, "entry_id": entry, "customs_code": "9001",
            "cleared_on": (dt.date.today() - dt.timedelta(days=10 - i * 5)).isoformat()})
        _fire(session, c, "clear", customs, data={
            "lines": [{"spec_id": str(spec_ids[0]), "qty": qty, "amount": "46000"}]})
