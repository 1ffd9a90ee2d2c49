"""Demo of 享惠受阻协调申请: certificates of origin of each kind for both demo companies (some
bound to export declarations, some not) and applications in the states customs handle.  Made
through the engine as the demo users would make them.

enterprise1's certificates: R266100000000101 (海关, RCEP, bound to the released export declaration
900120260000123456 of 智慧云报关), AE26610000000102 (经核准出口商, bound to 900120260000123789),
RD26610000000103 (裁定, not bound), CCPIT26610000104 (贸促会, not bound), R266100000000105 (海关,
bound to 900120260000123456).  enterprise2's: one of each kind, R266100000000201 bound.
"""

from __future__ import annotations

import datetime as dt

from app.engine import transitions as wf
from models.coo import CooCertificate, CooCoordination

ENTRY_RELEASED = "900120260000123456"  # enterprise1's export declaration, released
ENTRY_BILL = "900120260000123789"      # enterprise1's 出口备案清单, accepted
ENTRY_ELSEWHERE = "900120260000300001"  # not in 智慧云报关 (declared elsewhere)

CERTS = {
    # key: (company, kind, number, agreement, country, goods, days ago, bound to)
    "e1_customs": ("company_a", "customs", "R266100000000101", "22", "JPN",
                   "数控卧式车床 2 台", 40, ENTRY_RELEASED),
    "e1_approved": ("company_a", "approved", "AE26610000000102", "17", "CHE",
                    "机床用零件、附件 120 件", 30, ENTRY_BILL),
    "e1_ruling": ("company_a", "ruling", "RD26610000000103", "19", "KOR",
                  "齿轮传动装置 40 套", 20, None),
    "e1_ccpit": ("company_a", "ccpit", "CCPIT26610000104", "02", "SGP",
                 "数控平面磨床 1 台", 12, None),
    "e1_customs2": ("company_a", "customs", "R266100000000105", "18", "AUS",
                    "数控卧式车床 1 台", 35, ENTRY_RELEASED),
    "e2_customs": ("company_b", "customs", "R266100000000201", "19", "KOR",
                   "医用超声诊断设备 3 台", 25, ENTRY_ELSEWHERE),
    "e2_approved": ("company_b", "approved", "AE26610000000202", "22", "JPN",
                    "医用监护仪 10 台", 18, None),
    "e2_ruling": ("company_b", "ruling", "RD26610000000203", "02", "THA",
                  "输液泵 50 台", 15, None),
    "e2_ccpit": ("company_b", "ccpit", "CCPIT26610000204", "22", "VNM",
                 "医用口罩生产线 1 套", 10, None),
}


def application(cert_no: str, export_no: str, **overrides) -> dict:
    data = {"cert_no": cert_no, "agreement_code": "22", "export_entry_no": export_no,
            "import_entry_no": "JP2026-IMP-0045871", "contact": "王建国",
            "phone": "029-88451234", "import_country": "JPN", "import_port": "JPTYO",
            "reason": "进口方海关以原产地证书签发日期晚于货物出运日期为由拒绝给予 RCEP 协定税率，"
                      "请求海关协调。"}
    data.update(overrides)
    return data


def _fire(session, record, name, actor, **kw):
    from demo import _fire as fire

    return fire(session, record, name, actor, **kw)


def load_coo(session, orgs, actors) -> None:
    customs = actors["customs1"]
    ent1, ent2 = actors["enterprise1"], actors["enterprise2"]
    owner = {"company_a": ent1, "company_b": ent2}
    today = dt.date.today()
    for company, kind, number, agreement, country, goods, days, bound in CERTS.values():
        cert = wf.new_record(session, CooCertificate, customs)
        _fire(session, cert, "save", customs, data={
            "kind": kind, "cert_no": number, "company_id": str(orgs[company].id),
            "agreement_code": agreement, "issue_date": (today - dt.timedelta(days=days))
            .isoformat(), "import_country": country, "goods": goods})
        if bound:
            _fire(session, cert, "bind", owner[company], inputs={"export_entry_no": bound})
    session.commit()

    def new(actor, kind, data):
        app = wf.new_record(session, CooCoordination, actor)
        _fire(session, app, "save", actor, data={"kind": kind, **data})
        return app

    # enterprise1: a draft, one declared, one 待办 at customs, one 已办结
    new(ent1, "ruling", application("RD26610000000103", ENTRY_RELEASED, agreement_code="19",
                                    import_country="KOR", import_port="KRPUS"))
    a2 = new(ent1, "customs", application("R266100000000105", ENTRY_RELEASED,
                                          agreement_code="18", import_country="AUS",
                                          import_port="AUSYD"))
    _fire(session, a2, "submit", ent1)
    a3 = new(ent1, "approved", application("AE26610000000102", ENTRY_BILL, agreement_code="17",
                                           import_country="CHE", import_port=""))
    _fire(session, a3, "submit", ent1)
    _fire(session, a3, "receive", customs)
    a4 = new(ent1, "customs", application("R266100000000101", ENTRY_RELEASED))
    for name, kw in (("submit", {}), ("receive", {}),
                     ("close", {"inputs": {"result": "已与进口方海关磋商，确认证书有效，补予协定税率。"}})):
        _fire(session, a4, name, ent1 if name == "submit" else customs, **kw)
    # enterprise2: one returned by customs
    a5 = new(ent2, "customs", application("R266100000000201", ENTRY_ELSEWHERE,
                                          agreement_code="19", contact="李敏",
                                          phone="029-86523377", import_country="KOR",
                                          import_port="KRPUS",
                                          import_entry_no="KR2026-0778812"))
    for name, kw in (("submit", {}), ("receive", {}),
                     ("return", {"opinion": "请补充进口方海关的拒绝享惠书面通知。"})):
        _fire(session, a5, name, ent2 if name == "submit" else customs, **kw)
    session.commit()
