"""Demo of 进口旧机电产品装运前检验监督管理: every screen and every state, including an institution
under each kind of disposal.  Made through the engine as the demo users would."""

from __future__ import annotations

import datetime as dt

from app.engine import policy, validators
from app.engine import transitions as wf
from models.base import INSTITUTION, Organisation
from models.used_me import (
    NOT_RECOGNISED,
    RECTIFY,
    REVOKE,
    Regulation,
    UeAnnualReport,
    UeBusinessRule,
    UeDisposal,
    UeEntrustment,
    UeInstitutionFiling,
    UeQualityIssue,
    UeSupervisionCheck,
)

TODAY = dt.date.today()

# Institutions without demo users (their records are made as they would make them).
MORE_INSTITUTIONS = {
    "institution_3": dict(name="韩国产业技术检验院", name_en="Korea Industrial Testing Institute",
                          country="KOR", address="87 Digital-ro, Guro-gu, Seoul",
                          contact="Kim Min-jun", phone="+82 2 860 1234",
                          email="psi@kiti.example"),
    "institution_4": dict(name="新加坡环球检验有限公司", name_en="Global Inspection Singapore Pte Ltd",
                          country="SGP", address="10 Anson Road, Singapore 079903",
                          contact="Tan Wei Ling", phone="+65 6222 1188",
                          email="psi@globalinspect.example"),
    "institution_5": dict(name="意大利欧洲技术检验公司", name_en="EuroTech Ispezioni S.r.l.",
                          country="ITA", address="Via Larga 18, 20122 Milano",
                          contact="Marco Rossi", phone="+39 02 5555 0101",
                          email="psi@eurotech.example"),
    "institution_6": dict(name="美国太平洋检验服务公司", name_en="Pacific Inspection Services Inc.",
                          country="USA", address="1200 Harbor Blvd, Long Beach, CA 90802",
                          contact="Emily Carter", phone="+1 562 555 0142",
                          email="psi@pacific-inspect.example"),
}

# (hs_code, name, measure, basis) — categories of 质检总局公告2014年第145号《进口旧机电产品检验
# 监管措施清单》 (pre-shipment inspection) and 商务部 海关总署公告2018年第106号 (prohibited);
# the codes are indicative demo data, see data/codelists/SOURCES.md.
RULES = [
    ("8419", "化工生产设备（热交换、蒸馏、干燥等）", "pre_shipment", "质检总局公告2014年第145号"),
    ("8426", "起重机械", "pre_shipment", "质检总局公告2014年第145号"),
    ("8429", "工程机械（推土机、挖掘机等）", "pre_shipment", "质检总局公告2014年第145号"),
    ("8438", "食品加工机械", "pre_shipment", "质检总局公告2014年第145号"),
    ("8439", "造纸设备", "pre_shipment", "质检总局公告2014年第145号"),
    ("8443", "印刷设备", "pre_shipment", "质检总局公告2014年第145号"),
    ("8445", "纺织纤维预处理设备", "pre_shipment", "质检总局公告2014年第145号"),
    ("8454", "金属冶炼设备（转炉、连铸机等）", "pre_shipment", "质检总局公告2014年第145号"),
    ("8456", "特种加工机床", "pre_shipment", "质检总局公告2014年第145号"),
    ("8457", "加工中心", "pre_shipment", "质检总局公告2014年第145号"),
    ("8458", "金属切削车床", "pre_shipment", "质检总局公告2014年第145号"),
    ("8502", "发电机组", "pre_shipment", "质检总局公告2014年第145号"),
    ("9018", "医疗器械（诊断、治疗设备）", "pre_shipment", "质检总局公告2014年第145号"),
    ("9022", "X射线及其他射线设备", "pre_shipment", "质检总局公告2014年第145号"),
    ("8415", "旧空气调节器", "prohibited", "商务部 海关总署公告2018年第106号"),
    ("8418", "旧电冰箱、冷冻箱", "prohibited", "商务部 海关总署公告2018年第106号"),
    ("8528", "旧电视机、监视器", "prohibited", "商务部 海关总署公告2018年第106号"),
    ("8471", "自动数据处理设备", "general", "一般管理，按规定实施口岸查验及目的地检验"),
]

REGULATIONS = [
    ("进口旧机电产品检验监督管理办法", "国家质量监督检验检疫总局令第171号", "国家质量监督检验检疫总局",
     dt.date(2015, 11, 23),
     "规定进口旧机电产品的装运前检验、到货检验及监督管理；经海关总署令第238号、第240号、"
     "第243号修改。"),
    ("进口旧机电产品检验监管措施清单", "质检总局公告2014年第145号", "国家质量监督检验检疫总局",
     dt.date(2014, 12, 31), "列明需实施装运前检验的旧机电产品及相应监管措施。"),
    ("关于调整《禁止进口的旧机电产品目录》的公告", "商务部 海关总署公告2018年第106号",
     "商务部、海关总署", dt.date(2018, 12, 29), "调整禁止进口的旧机电产品目录。"),
    ("关于进口旧机电产品装运前检验监督管理有关事项的公告", "海关总署公告2020年第127号", "海关总署",
     dt.date(2020, 12, 10),
     "自2021年1月1日起，收货人可委托备案的装运前检验机构实施装运前检验；检验证书及报告应使用中文，"
     "具有唯一可追溯编号。"),
]

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def id_number(body17: str) -> str:
    total = sum(int(c) * w for c, w in zip(body17, validators.ID_WEIGHTS, strict=True))
    return body17 + validators.ID_CHECK[total % 11]


def _fire(session, record, name, actor, **kw):
    from demo import _fire as fire

    return fire(session, record, name, actor, **kw)


def _institution_actor(org) -> policy.Actor:
    return policy.Actor(None, f"demo-{org.id}", org.contact or org.name,
                        frozenset({policy.INSTITUTION}), org_id=org.id, org_kind=INSTITUTION,
                        org_name=org.name)


def load_used_me(session, orgs, actors) -> None:
    customs, ent1, ent2 = actors["customs1"], actors["enterprise1"], actors["enterprise2"]
    for key, data in MORE_INSTITUTIONS.items():
        org = Organisation(kind=INSTITUTION, **data)
        session.add(org)
        orgs[key] = org
    session.flush()
    for hs, name, measure, basis in RULES:
        session.add(UeBusinessRule(hs_code=hs, name=name, measure=measure, basis=basis))
    for title, no, issuer, day, content in REGULATIONS:
        session.add(Regulation(title=title, doc_no=no, issuer=issuer, published_on=day,
                               content=content))
    session.flush()

    inst_actor = {k: actors.get(k.replace("_", "")) or _institution_actor(orgs[k])
                  for k in ("institution_1", "institution_2", "institution_3", "institution_4",
                            "institution_5", "institution_6")}
    filings = {}
    for n, key in enumerate(inst_actor, start=1):
        org, actor = orgs[key], inst_actor[key]
        f = wf.new_record(session, UeInstitutionFiling, actor)
        _fire(session, f, "save", actor, data={
            "name_cn": org.name, "name_en": org.name_en, "country": org.country,
            "address": org.address, "established_on": f"{1990 + n * 3}-03-01",
            "legal_rep": org.contact, "scope_text": "旧机电产品装运前检验：机床、工程机械、医疗设备、"
            "印刷及造纸设备的外观、安全、环保及规格核验。", "staff_count": str(40 + n * 7),
            "inspector_count": str(12 + n), "contact": org.contact,
            "contact_id_no": id_number(f"31010119800101{n:03d}"), "phone": org.phone,
            "email": org.email})
        _fire(session, f, "save", actor, data={
            "departments": [{"dept_name": "检验部", "duty": "实施装运前检验", "head": org.contact,
                             "staff": "12"},
                            {"dept_name": "质量管理部", "duty": "质量体系与内部审核",
                             "staff": "4"}],
            "equipment": [{"name": "超声波测厚仪", "model": "UTG-3000", "serial_no": f"UT{n}0087",
                           "quantity": "2", "calibrated_until": f"{TODAY.year + 1}-06-30"},
                          {"name": "绝缘电阻测试仪", "model": "IR-5kV", "quantity": "1"}],
            "certifications": [{"standard": "ISO/IEC 17020", "cert_no": f"IB-{2200 + n}",
                                "issuer": "国家认可机构", "valid_until": f"{TODAY.year + 2}-12-31"}],
            "track_record": [{"year": str(TODAY.year - k), "batches": str(30 + 10 * k + n),
                              "value_usd": str(800 + 100 * k), "products": "机床、工程机械"}
                             for k in (1, 2, 3)],
        })
        _fire(session, f, "apply", actor)
        filings[key] = f
        if key != "institution_6":  # 6 waits for customs (待审核)
            _fire(session, f, "accept", customs, opinion="材料齐全，予以受理。")

    # A change request waiting for customs (变更审核中).
    f2 = filings["institution_2"]
    _fire(session, f2, "request_change", inst_actor["institution_2"],
          data={"phone": "+49 221 806 1999", "address": "Am Grauen Stein 33, 51105 Koeln"},
          opinion="办公地址搬迁，联系电话变更。")

    # One institution under each kind of disposal.
    for key, kind, end, text in [
        ("institution_3", NOT_RECOGNISED, TODAY + dt.timedelta(days=90),
         "装运前检验报告与到货检验结果严重不符，不予认可其装运前检验结果。"),
        ("institution_4", RECTIFY, TODAY + dt.timedelta(days=60),
         "检测设备校准过期、检验记录不完整，限期整改。"),
        ("institution_5", REVOKE, None, "以欺骗手段取得备案，撤销备案。"),
    ]:
        d = wf.new_record(session, UeDisposal, customs)
        _fire(session, d, "save", customs, data={
            "institution_id": str(orgs[key].id), "disposal_type": kind, "notice_content": text,
            "basis": "《进口旧机电产品检验监督管理办法》", "start_on": TODAY.isoformat(),
            "end_on": end.isoformat() if end else ""})
        _fire(session, d, "issue", customs)

    # 业务委托 of enterprise1 to institution1 in every state, and one of enterprise2.
    inst1 = str(orgs["institution_1"].id)
    goods = [{"hs_code": "8458110000", "name": "数控卧式车床", "model": "MAZAK QT-250",
              "manufacturer": "Yamazaki Mazak", "made_on": "2016-05", "qty": "2", "unit": "001",
              "unit_price": "46000"},
             {"hs_code": "8457101000", "name": "立式加工中心", "model": "OKUMA MB-46VA",
              "manufacturer": "Okuma", "made_on": "2015-09", "qty": "1", "unit": "001",
              "unit_price": "68000"}]
    head = {"consignee": "陕西秦川精密机械有限公司", "entry_customs": "9001", "destination": "610000",
            "destination_customs": "9000", "use": "02", "institution_id": inst1,
            "contact_name": "王建国", "contact_phone": "029-88451234",
            "contact_mobile": "13809181234", "contact_email": "trade@qinchuan-precision.example",
            "currency": "USD"}
    made = []
    for _i in range(5):
        e = wf.new_record(session, UeEntrustment, ent1)
        _fire(session, e, "save", ent1, data=head)
        _fire(session, e, "save", ent1, data={"goods": goods})
        made.append(e)
    i1 = inst_actor["institution_1"]
    _fire(session, made[1], "submit", ent1)
    _fire(session, made[2], "submit", ent1)
    _fire(session, made[2], "accept", i1)
    _fire(session, made[3], "submit", ent1)
    _fire(session, made[3], "accept", i1)
    _fire(session, made[3], "result", i1, inputs={
        "cert_no": "JMI-PSI-2026-0418", "valid_until": (TODAY + dt.timedelta(days=180))
        .isoformat()}, files={"result_file": ("装运前检验证书.pdf", PDF)})
    _fire(session, made[4], "submit", ent1)
    _fire(session, made[4], "return", i1,
          inputs={"reason": "请补充设备铭牌照片及购货合同，并核实制造年月。"})
    e = wf.new_record(session, UeEntrustment, ent2)
    _fire(session, e, "save", ent2, data=dict(
        head, consignee="西安长安医疗设备进出口有限公司", institution_id=str(
            orgs["institution_2"].id), contact_name="李敏", contact_phone="029-86523377",
        contact_mobile="13991234567", contact_email="import@changan-medical.example"))
    _fire(session, e, "save", ent2, data={"goods": [{
        "hs_code": "9022140090", "name": "医用X射线诊断设备", "model": "Siemens Luminos dRF",
        "manufacturer": "Siemens Healthineers", "made_on": "2014-11", "qty": "1", "unit": "001",
        "unit_price": "125000"}]})
    _fire(session, e, "submit", ent2)

    # Requests from customs.
    q = wf.new_record(session, UeQualityIssue, customs)
    _fire(session, q, "send", customs, data={
        "institution_id": inst1, "content": "贵机构出具的检验证书（JMI-PSI-2026-0211）未注明设备制造年月，"
        "与到货检验发现的制造日期不一致，请说明原因并提出整改措施。"})
    q2 = wf.new_record(session, UeQualityIssue, customs)
    _fire(session, q2, "send", customs, data={
        "institution_id": str(orgs["institution_2"].id),
        "content": "检验报告中文译本与原文不一致，请说明。"})
    _fire(session, q2, "reply", inst_actor["institution_2"], data={
        "reply": "经核查系翻译疏漏，已重新出具中文报告并加强译文复核。"})
    c = wf.new_record(session, UeSupervisionCheck, customs)
    _fire(session, c, "issue", customs, data={
        "institution_id": inst1, "check_type": "file",
        "requirement": "请提交近一年装运前检验业务台账、检验人员资质证明及检测设备校准证书。",
        "deadline": (TODAY + dt.timedelta(days=30)).isoformat()})
    c2 = wf.new_record(session, UeSupervisionCheck, customs)
    _fire(session, c2, "issue", customs, data={
        "institution_id": str(orgs["institution_2"].id), "check_type": "site",
        "requirement": "海关将对贵机构科隆检验现场实施实地检查。"})
    _fire(session, c2, "site_pass", customs, opinion="现场检查符合要求。")
    r = wf.new_record(session, UeAnnualReport, customs)
    _fire(session, r, "request", customs, data={
        "institution_id": inst1, "year": str(TODAY.year - 1),
        "request_note": "请于期限内提交上一年度装运前检验工作报告。",
        "deadline": (TODAY + dt.timedelta(days=45)).isoformat()})
    r2 = wf.new_record(session, UeAnnualReport, customs)
    _fire(session, r2, "request", customs, data={
        "institution_id": str(orgs["institution_2"].id), "year": str(TODAY.year - 2)})
    _fire(session, r2, "submit", inst_actor["institution_2"], data={
        "batches": "56", "goods_value": "1860", "certificates": "56",
        "problems": "个别证书未注明制造年月。", "changes_text": "新增检验人员 2 名。",
        "summary": "全年完成装运前检验 56 批，未发生重大质量问题。"})
