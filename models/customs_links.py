"""The single window's links: a declaration is checked against the records other systems keep
about the same company (enter once, use everywhere).

A declaration that cites an automatic import licence — 随附单证 监管证件代码 ``O`` with its 证件编号,
or the head's 许可证号 — is refused in its 逻辑校验 unless the licence (models/me_licence.py) is
审批通过, of the declaration's company, not expired, and — 一批一证 — not used by another
declaration at customs or cleared already.
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
