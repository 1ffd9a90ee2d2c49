"""Demo of 异常状态登记: enterprise1's exceptions of a declaration (one on its released export
declaration, linked; one 已处理) and of a 核注清单, made as enterprise1 would make them."""

from __future__ import annotations

import datetime as dt

from app.engine import transitions as wf
from demo.coo import ENTRY_ELSEWHERE, ENTRY_RELEASED
from models.customs_exception import CdDeclarationException, CdInventoryException


def _fire(session, record, name, actor, **kw):
    from demo import _fire as fire

    return fire(session, record, name, actor, **kw)


def load_exceptions(session, orgs, actors) -> None:
    ent1 = actors["enterprise1"]
    today = dt.date.today()

    def new(model, number, kind, days, **data):
        exc = wf.new_record(session, model, ent1)
        _fire(session, exc, "save", ent1, data={
            "number": number, "kind": kind, "occurred_on": (today - dt.timedelta(days=days))
            .isoformat(), "consignee": "西安精工机床进出口有限公司", **data})
        return exc

    new(CdDeclarationException, ENTRY_RELEASED, "inspection", 6, ie_flag="E",
        duty_post="报关员", duty_person="王建国", penalised="N",
        reason="海关布控查验，核对数控车床型号与申报一致。")
    done = new(CdDeclarationException, ENTRY_ELSEWHERE, "returned", 12, ie_flag="E",
               client_name="西安华远贸易有限公司", duty_post="制单员", duty_person="李娜",
               penalised="N", reason="申报要素中品牌类型填报错误，海关退单。")
    _fire(session, done, "change_status", ent1, inputs={"new_status": "processing"})
    _fire(session, done, "change_status", ent1, inputs={
        "new_status": "done", "done_on": (today - dt.timedelta(days=10)).isoformat()})
    new(CdInventoryException, "QD610126I000001", "mismatch", 3, ie_flag="I",
        duty_post="关务主管", duty_person="王建国", penalised="N",
        reason="核注清单表体数量与报关单不一致。")
    session.commit()
