"""A record whose 保存 is final — a record type without a workflow (法规, 公告, 商品综合分类表 …)
or one whose every step leaves it in its first state (the customs' 原产地证书, 已签发 from the
start) — has no draft to complete later: saving it with a required field empty is refused with
the field's error (422) and stores nothing.  Types with a draft (暂存, then 提交) keep saving
incomplete drafts.  Walked from the declarations, so a type added later is covered."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import models  # noqa: F401 - every record type registers itself
from app.engine import policy, workflow
from app.engine.record import REGISTRY

USER_OF_ROLE = {policy.ADMIN: "admin", policy.CUSTOMS: "customs1", policy.COMMERCE: "commerce1",
                policy.ENTERPRISE: "enterprise1", policy.INSTITUTION: "institution1"}


def _final_save_types() -> list[str]:
    out = []
    for resource, model in sorted(REGISTRY.items()):
        meta = model.meta()
        if not meta.create_roles or not any(r in USER_OF_ROLE for r in meta.create_roles):
            continue
        if not any(s.required for s in meta.fields.values()):
            continue
        wf = meta.workflow
        if wf is not None:
            first = wf.initial
            if any(t.target not in (None, first) and t.name != "delete"
                   for t in wf.transitions):
                continue  # a draft: 暂存 may leave it incomplete until it is submitted
        out.append(resource)
    return out


def test_the_final_save_types_are_found():
    found = _final_save_types()
    assert {"coo_certificate", "regulation", "notice", "cd_hs_code"} <= set(found), found
    assert "me_licence_application" not in found and "cd_declaration" not in found


@pytest.mark.parametrize("resource", _final_save_types())
def test_an_empty_final_save_is_refused_and_stores_nothing(browser, db, resource):
    model = REGISTRY[resource]
    meta = model.meta()
    role = next(r for r in meta.create_roles if r in USER_OF_ROLE)
    save = next(t for t in workflow.transitions_of(model) if t.kind == workflow.SAVE)
    before = db.scalar(select(func.count()).select_from(model))
    b = browser(USER_OF_ROLE[role])
    resp = b.post(f"/{resource}/new/do/{save.name}", data={})
    assert resp.status_code == 422, (resp.status_code, resp.headers.get("Location"))
    assert "此项为必填项" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(model)) == before
