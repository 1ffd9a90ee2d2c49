"""Demo of 智慧云报关 进出口管理: the reviewer of enterprise1's company, the HS table subset and
declarations in every step of the review (a draft, one waiting for review with marks, one
returned with red boxes, one passed, declared ones at customs), an import declaration citing
the company's M&E licence, and 核注清单 (one pre-approved, ready for 生成报关单).  Made through
the engine as the demo users would make them."""

from __future__ import annotations

import os

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.engine import policy
from app.engine import transitions as wf
from app.engine.review_marks import set_marks
from models.base import AppUser
from models.customs_declaration import CdDeclaration, load_hs_table
from models.customs_inventory import CdInventory
from models.me_licence import LicenceApplication

HERE = os.path.dirname(os.path.abspath(__file__))
HS_FILE = os.path.join(os.path.dirname(HERE), "data", "hs", "hs_subset_商品综合分类表_部分.csv")

LATHE = {"code_ts": "8458110000", "g_name": "数控卧式车床",
         "g_model": "0|0|金属切削加工|车削|数控|秦川|CK6150", "g_qty": "2", "g_unit": "001",
         "qty1": "2", "qty2": "8600", "decl_price": "38500", "decl_total": "77000",
         "trade_curr": "USD", "origin_country": "CHN", "destination_country": "DEU",
         "district_code": "61013", "duty_mode": "1"}
PARTS = {"code_ts": "8466939000", "g_name": "其他机床用零件、附件",
         "g_model": "0|0|数控车床用|铸铁|秦川|CK6150-SP", "g_qty": "120", "g_unit": "011",
         "qty1": "1850", "decl_price": "95.5", "decl_total": "11460", "trade_curr": "USD",
         "origin_country": "CHN", "destination_country": "DEU", "district_code": "61013",
         "duty_mode": "1"}
GEARS = {"code_ts": "8483409000", "g_name": "其他齿轮及齿轮传动装置",
         "g_model": "0|0|机床用|齿轮箱|秦川|QJ-80", "g_qty": "40", "g_unit": "007",
         "qty1": "1200", "decl_price": "620", "decl_total": "24800", "trade_curr": "USD",
         "origin_country": "CHN", "destination_country": "DEU", "district_code": "61013",
         "duty_mode": "1"}

EXPORT_HEAD = {
    "kind": "E_DEC", "ie_port": "9001", "customs_master": "9001", "traf_mode": "3",
    "traf_name": "X8024", "voyage_no": "20261201", "bill_no": "XAHB2026120001",
    "enty_port_code": "610102", "distinate_port": "DEDUI", "trade_country": "DEU",
    "trade_area_code": "DEU", "overseas_code": "NO",
    "overseas_name": "MASCHINENHANDEL RUHR GMBH", "trade_mode": "0110", "cut_mode": "101",
    "contr_no": "QC-DE-2026-118", "trans_mode": "3", "wrap_type": "23", "pack_no": "5",
    "gross_wt": "12800", "net_wt": "11650", "mark_no": "N/M", "entry_type": "M",
    "decl_mode": "1",
}
CONTAINER = {"container_id": "TGHU1234567", "container_md": "11", "container_wt": "3800",
             "goods_no": "1,2,3", "lcl_flag": "0"}


def export_data(**overrides) -> dict:
    data = dict(EXPORT_HEAD)
    data.update({"goods": [dict(LATHE), dict(PARTS), dict(GEARS)],
                 "containers": [dict(CONTAINER)]})
    data.update(overrides)
    return data


def import_data(licence_no: str | None) -> dict:
    return {
        "kind": "I_DEC", "ie_port": "9002", "customs_master": "9002", "traf_mode": "5",
        "traf_name": "CA1048", "bill_no": "999-12345675", "enty_port_code": "610101",
        "distinate_port": "JPTYO", "trade_country": "JPN", "trade_area_code": "JPN",
        "overseas_code": "NO", "overseas_name": "OKAMOTO MACHINE TOOL WORKS LTD",
        "trade_mode": "0110", "cut_mode": "101", "contr_no": "QC-JP-2026-031",
        "license_no": licence_no or "", "trans_mode": "1", "wrap_type": "23", "pack_no": "1",
        "gross_wt": "3200", "net_wt": "2950", "mark_no": "N/M", "entry_type": "M",
        "goods": [{"code_ts": "8460121000", "g_name": "数控平面磨床",
                   "g_model": "0|3|金属磨削加工|平面磨削|数控|OKAMOTO|PSG-63DX",
                   "g_qty": "1", "g_unit": "001", "qty1": "1", "qty2": "2950",
                   "decl_price": "41000", "decl_total": "41000", "trade_curr": "USD",
                   "origin_country": "JPN", "destination_country": "CHN",
                   "district_code": "61013", "duty_mode": "1"}],
        "documents": [{"docu_code": "O", "cert_code": licence_no or "26-61-000001"}],
    }


INVENTORY = {
    "ie_flag": "I", "manual_no": "C61012600001", "list_type": "0", "customs_master": "9001",
    "ie_port": "9001", "trade_mode": "0615", "traf_mode": "3", "trade_country": "DEU",
    "dcl_flag": "1",
    "goods": [{"put_rec_seq": "1", "gds_mtno": "QC-M-0001", "code_ts": "8466939000",
               "g_name": "其他机床用零件、附件", "g_model": "0|3|数控车床用|铸铁|ROHM|RH-250",
               "dcl_qty": "300", "dcl_unit": "011", "qty1": "1500", "dcl_price": "42",
               "dcl_total": "12600", "trade_curr": "EUR", "origin_country": "DEU",
               "destination_country": "CHN", "duty_mode": "3", "gross_wt": "1650",
               "net_wt": "1500"}],
}


def _fire(session, record, name, actor, **kw):
    from demo import _fire as fire

    return fire(session, record, name, actor, **kw)


def _reviewer(session, orgs) -> policy.Actor:
    from flask import current_app

    sm = current_app.appbuilder.sm
    user = AppUser(username="reviewer1", first_name="赵审", last_name="",
                   email="reviewer1@example.cn", active=True,
                   password=generate_password_hash("Demo@12345"),
                   roles=[sm.find_role(policy.ENTERPRISE), sm.find_role(policy.ENTERPRISE_REVIEWER)],
                   organisation=orgs["company_a"])
    session.add(user)
    session.flush()
    return policy.actor_for_user(user)


def _new(session, actor, data) -> CdDeclaration:
    dec = wf.new_record(session, CdDeclaration, actor)
    _fire(session, dec, "save", actor, data=data)
    return dec


def _mark(session, reviewer, dec, marks):
    answer = set_marks(session, CdDeclaration, reviewer, dec.id, {"marks": marks})
    if not answer.ok:  # a demo that does not work is a bug
        raise RuntimeError(f"demo review marks: {answer.message} {answer.errors}")


def load_customs(session, orgs, actors) -> None:
    load_hs_table(session, HS_FILE)
    session.commit()
    reviewer = actors["reviewer1"] = _reviewer(session, orgs)
    ent1, ent2, customs = actors["enterprise1"], actors["enterprise2"], actors["customs1"]

    # 1 a draft, 2 waiting for review (some boxes already checked), 3 returned with red boxes
    _new(session, ent1, export_data())
    d2 = _new(session, ent1, export_data(bill_no="XAHB2026120002", contr_no="QC-DE-2026-121"))
    _fire(session, d2, "submit", ent1)
    session.commit()
    _mark(session, reviewer, d2, {"trade_name": "green", "ie_port": "green",
                                  "goods.1.code_ts": "green"})
    d3 = _new(session, ent1, export_data(bill_no="XAHB2026120003", contr_no="QC-DE-2026-125",
                                         net_wt="11600"))
    _fire(session, d3, "submit", ent1)
    session.commit()
    _mark(session, reviewer, d3, {"trade_name": "green", "bill_no": "red",
                                  "goods.2.g_qty": "red"})
    _fire(session, d3, "review_return", reviewer,
          opinion="提运单号与运单不符；第2项零件的法定数量请按实际重量填报。")

    # 4 an import of the company's approved M&E licence, passed and ready to 申报
    licence = session.scalar(select(LicenceApplication).where(
        LicenceApplication.company_id == orgs["company_a"].id,
        LicenceApplication.status == "approved").order_by(LicenceApplication.id).limit(1))
    d4 = _new(session, ent1, import_data(licence.licence_no if licence else None))
    _fire(session, d4, "submit", ent1)
    _fire(session, d4, "review_pass", reviewer, opinion="单证齐全，同意申报。")

    # 5 declared and released by customs; 6 a 出口备案清单 in 概要申报, accepted
    d5 = _new(session, ent1, export_data(bill_no="XAHB2026110017", contr_no="QC-DE-2026-097"))
    for name, actor, kw in (("submit", ent1, {}), ("review_pass", reviewer, {}),
                            ("declare", ent1, {}),
                            ("cus_accept", customs, {"inputs": {"entry_id": "900120260000123456"}}),
                            ("conclude", customs, {}), ("release", customs, {})):
        _fire(session, d5, name, actor, **kw)
    d6 = _new(session, ent1, export_data(kind="E_BILL", bill_type="1", decl_mode="2",
                                         bill_no="XAHB2026120009", contr_no="QC-DE-2026-130"))
    for name, actor, kw in (("submit", ent1, {}), ("review_pass", reviewer, {}),
                            ("declare", ent1, {}),
                            ("cus_accept", customs, {"inputs": {"entry_id": "900120260000123789"}})):
        _fire(session, d6, name, actor, **kw)

    # enterprise2: a draft of its own
    _new(session, ent2, {**import_data(None), "contr_no": "CA-MED-2026-02",
                         "overseas_name": "SIEMENS HEALTHCARE GMBH", "trade_country": "DEU",
                         "trade_area_code": "DEU", "distinate_port": "DEHAM",
                         "documents": []})

    # 核注清单: one pre-approved by customs (生成报关单 from it), one draft
    inv = wf.new_record(session, CdInventory, ent1)
    _fire(session, inv, "save", ent1, data={**INVENTORY, "process_name": "陕西秦川精密机械有限公司"})
    _fire(session, inv, "declare", ent1)
    _fire(session, inv, "pre_approve", customs, opinion="核注清单预审批通过。")
    draft = wf.new_record(session, CdInventory, ent1)
    _fire(session, draft, "save", ent1, data={**INVENTORY, "manual_no": "C61012600002",
                                              "process_name": "陕西秦川精密机械有限公司"})
    session.commit()
