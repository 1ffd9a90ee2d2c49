"""The single window's links: a declaration is checked against the records other systems keep
about the same company (enter once, use everywhere).

A declaration that cites an automatic import licence — 随附单证 监管证件代码 ``O`` with its 证件编号,
or the head's 许可证号 — is refused in its 逻辑校验 unless the licence (models/me_licence.py) is
审批通过, of the declaration's company, not expired, and — 一批一证 — not used by another
declaration at customs or cleared already.

An import declaration whose used goods (商品状态 旧) fall under a 旧机电业务规则 of
models/used_me.py is refused unless — 需实施装运前检验 — it cites, in 装运前检验证书编号, the
certificate of one of the company's own 业务委托 (检验完成, certificate not expired, covering the
goods' HS codes) issued by an institution that is filed and under no restricting disposal today;
and always when the rule says 禁止进口.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from app.engine.i18n import gettext as _

LICENCE_DOC = "O"
# A declaration at customs uses its licence unless customs refused or deleted it.
USING_STATES = ("declared", "cus_accepted", "concluded", "inspection", "released", "closed")


def cited_licences(dec) -> list[tuple[str, str]]:
    """(field path, licence number) of every licence the declaration cites."""
    out = []
    if dec.license_no:
        out.append(("license_no", dec.license_no.strip()))
    for i, d in enumerate(dec.documents):
        if d.docu_code == LICENCE_DOC and d.cert_code:
            out.append((f"documents-{i}-cert_code", d.cert_code.strip()))
    return out


def cited_batch_licences(dec) -> list:
    """The approved 一批一证 licences of the declaration's company that it cites, by id: 申报
    locks them before its checks, so two declarations citing one licence are declared one after
    the other and the second sees the first (licence_errors)."""
    from app.engine.record import session_for
    from models.me_licence import LicenceApplication

    numbers = {no for _path, no in cited_licences(dec)}
    if not numbers:
        return []
    return list(session_for(dec).scalars(select(LicenceApplication).where(
        LicenceApplication.licence_no.in_(numbers),
        LicenceApplication.company_id == dec.company_id,
        LicenceApplication.batch_mode == "1").order_by(LicenceApplication.id)))


def licence_errors(session, dec, add) -> None:
    from models.customs_declaration import CdDeclaration, CdDocument
    from models.me_licence import LicenceApplication

    today = dt.date.today()
    for path, no in cited_licences(dec):
        lic = session.scalar(select(LicenceApplication).where(
            LicenceApplication.licence_no == no))
        # another company's licence is answered as one that does not exist
        if lic is None or lic.status != "approved" or lic.company_id != dec.company_id:
            add(path, _("许可证 %(no)s 不存在、未审批通过或不是本企业的许可证", no=no))
            continue
        if lic.valid_until and lic.valid_until < today:
            add(path, _("许可证 %(no)s 已过有效截止日期 %(d)s", no=no, d=lic.valid_until))
            continue
        if lic.batch_mode != "1":
            continue
        if (lic.clearance_count or 0) >= 1:
            add(path, _("一批一证许可证 %(no)s 只能报关一次", no=no))
            continue
        other = session.scalar(
            select(CdDeclaration.seq_no).outerjoin(
                CdDocument, CdDocument.declaration_id == CdDeclaration.id).where(
                CdDeclaration.company_id == dec.company_id, CdDeclaration.id != dec.id,
                CdDeclaration.status.in_(USING_STATES),
                or_(CdDeclaration.license_no == no,
                    (CdDocument.docu_code == LICENCE_DOC) & (CdDocument.cert_code == no)))
            .limit(1))
        if other:
            add(path, _("一批一证许可证 %(no)s 已被报关单 %(other)s 使用", no=no, other=other))


def clear_licences(session, dec, cleared_on: dt.date) -> list[str]:
    """结关 of a declaration that cites automatic import licences consumes their 报关余量: one
    clearance record per licence (数据来源 报关单结关回执), its lines matched to the licence's 规格型号
    by 商品编码 and 规格型号, confirmed through the licence's own 结关确认 — which locks the
    licence row and refuses to clear past what is left.  Once per declaration (a unique column);
    returns what could not be cleared, for the sync report."""
    from app.engine import policy
    from app.engine import transitions as wf
    from app.engine.changes import ValidationErrors
    from app.engine.guard import system
    from models.me_licence import LicenceApplication, MeClearance

    problems = []
    if session.scalar(select(MeClearance.id).where(MeClearance.declaration_id == dec.id)):
        return problems
    for no in dict.fromkeys(no for _path, no in cited_licences(dec)):
        # The licence row is locked before the clearance refers to it: its foreign key takes a
        # share lock, and two 结关 holding it while each asks for the update lock would deadlock.
        lic = session.scalar(select(LicenceApplication).where(
            LicenceApplication.licence_no == no, LicenceApplication.company_id == dec.company_id)
            .with_for_update().execution_options(populate_existing=True))
        if lic is None:
            problems.append(_("许可证 %(no)s 不存在或不是本企业的许可证", no=no))
            continue
        lines = _lines_for(lic, dec)
        if not lines:
            problems.append(_("报关单商品与许可证 %(no)s 的规格型号对应不上", no=no))
            continue
        clearance = wf.new_record(session, MeClearance, policy.SYSTEM)
        # Customs' receipt states when the goods were cleared; a declaration cannot have been
        # declared later than that (a receipt dated before this system's 申报 time: clocks
        # apart), so the 申报日期 is at most the 结关日期 and the licence is still consumed.
        declared_on = min((dec.declared_at or dt.datetime.now()).date(), cleared_on)
        data = {"licence_no": no, "entry_id": dec.entry_id or "",
                "customs_code": dec.customs_master or "", "cleared_on": cleared_on.isoformat(),
                "declared_on": declared_on.isoformat()}
        try:
            with session.begin_nested():
                wf.fire(session, clearance, "save", policy.SYSTEM, data=data)
                with system():
                    clearance.source, clearance.declaration_id = "declaration", dec.id
                wf.fire(session, clearance, "save", policy.SYSTEM, data={"lines": lines})
                wf.fire(session, clearance, "clear", policy.SYSTEM)
        except (policy.Refused, ValidationErrors) as e:
            errors = getattr(e, "errors", None) or {}
            detail = "；".join(str(m) for msgs in errors.values() for m in msgs) \
                or str(getattr(e, "message", e))
            problems.append(_("许可证 %(no)s 未能结关：%(why)s", no=no, why=detail))
    return problems


def _lines_for(lic, dec) -> list[dict]:
    """The declaration's goods as clearance lines of the licence's 规格型号 (by 商品编码 and
    规格型号, or by 商品编码 alone when the licence has one 规格型号 of it)."""
    specs = [(g.hs_code, s) for g in lic.goods for s in g.specs]
    out = []
    for goods in dec.goods:
        same_hs = [s for hs, s in specs if hs == goods.code_ts]
        match = [s for s in same_hs if (s.model or "").strip() == (goods.g_model or "").strip()]
        spec = (match or (same_hs if len(same_hs) == 1 else [None]))[0]
        if spec is None:
            return []
        qty = goods.qty1 or goods.g_qty
        out.append({"spec_id": str(spec.id), "qty": format(qty.normalize(), "f") if qty else "",
                    "amount": str(goods.decl_total or "")})
    return out


def _rules_for(session, code: str) -> list:
    """The 旧机电业务规则 a 10-digit HS code falls under (a rule's code is 4 to 10 digits)."""
    from models.used_me import UeBusinessRule

    if not code:
        return []
    prefixes = [code[:n] for n in range(4, len(code) + 1)]
    return list(session.scalars(select(UeBusinessRule).where(
        UeBusinessRule.hs_code.in_(prefixes)).order_by(UeBusinessRule.hs_code)))


def pre_shipment_errors(session, dec, add) -> None:
    from models.used_me import NEEDS_PSI, PROHIBITED, UeEntrustment, entrustment_refusal

    if (dec.kind or "E")[0] != "I":
        return
    needing = []
    for i, g in enumerate(dec.goods):
        if g.goods_state != "U":
            continue
        rules = _rules_for(session, g.code_ts)
        if any(r.measure == PROHIBITED for r in rules):
            add(f"goods-{i}-code_ts", _("第 %(n)s 项商品 %(code)s 属禁止进口的旧机电产品",
                                        n=i + 1, code=g.code_ts))
        elif any(r.measure == NEEDS_PSI for r in rules):
            needing.append((i, g))
    if not needing:
        return
    no = (dec.psi_cert_no or "").strip()
    if not no:
        for i, g in needing:
            add("psi_cert_no", _("第 %(n)s 项商品 %(code)s 为需实施装运前检验的旧机电产品，"
                                 "请填报装运前检验证书编号", n=i + 1, code=g.code_ts))
        return
    # another company's certificate is answered as one that does not exist
    ent = session.scalar(select(UeEntrustment).where(
        UeEntrustment.inst_cert_no == no, UeEntrustment.company_id == dec.company_id,
        UeEntrustment.status == "done").order_by(UeEntrustment.id.desc()).limit(1))
    if ent is None:
        add("psi_cert_no", _("装运前检验证书 %(no)s 不存在或不是本企业业务委托的检验证书", no=no))
        return
    if ent.cert_valid_until and ent.cert_valid_until < dt.date.today():
        add("psi_cert_no", _("装运前检验证书 %(no)s 已过有效期 %(d)s", no=no,
                             d=ent.cert_valid_until))
    refusal = entrustment_refusal(session, ent.institution_id)
    if refusal:
        add("psi_cert_no", _("装运前检验证书 %(no)s 不予认可：%(why)s", no=no, why=refusal))
    covered = {g.hs_code for g in ent.goods}
    for i, g in needing:
        if g.code_ts not in covered:
            add(f"goods-{i}-code_ts", _("装运前检验证书 %(no)s 未包括第 %(n)s 项商品 %(code)s",
                                        no=no, n=i + 1, code=g.code_ts))
