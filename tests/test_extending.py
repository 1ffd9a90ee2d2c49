"""A developer adds a record type with one declaration — no view code — and gets list, search,
forms, workflow buttons, REST API and print from the engine."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import mapped_column, relationship

from app.engine import (
    ALL,
    CUSTOMS,
    ENTERPRISE,
    SAVE,
    ChildRecord,
    Numbering,
    Own,
    Print,
    Record,
    Search,
    State,
    Transition,
    Workflow,
    children,
    field,
    numeric,
    validators,
    workflow_state,
)
from app.engine.i18n import lazy_gettext as _l
from app.engine.record import REGISTRY

RESOURCE = "test_sample_request"
_declared = {}


def declare():
    """The whole declaration of a new record type: 样品送检单 (a sample sent for testing)."""
    if _declared:
        return _declared["model"], _declared["line"]

    flow = Workflow(
        states=[State("draft", _l("暂存"), initial=True),
                State("submitted", "已提交", style="info"),
                State("accepted", "已受理", style="success")],
        transitions=[
            Transition("save", _l("暂存"), ["draft"], roles=[ENTERPRISE], kind=SAVE),
            Transition("submit", _l("提交"), ["draft"], "submitted", roles=[ENTERPRISE],
                       check_required=True, saves_form=True, batch=True),
            Transition("accept", "受理", ["submitted"], "accepted", roles=[CUSTOMS],
                       opinion="optional", todo=True),
        ],
    )

    class SampleRequest(Record):
        __tablename__ = RESOURCE

        company_id = mapped_column(ForeignKey("organisation.id"), nullable=False)
        request_no = field(String(20), "送检单号", system=True, unique=True, copy=False)
        status = workflow_state()
        sample_name = field(String(100), "样品名称", required=True)
        sent_on = field(Date, "送检日期", required=True)
        currency = field(String(3), "币制", codelist="currency", initial="CNY")
        phone = field(String(30), "联系电话", validators=(validators.phone,))
        total_qty = field(numeric(12, 2), "数量合计",
                          compute=lambda r: sum((ln.qty or 0) for ln in r.lines))
        lines = children("SampleLine", "样品明细", back_populates="request",
                         order_by="SampleLine.id")

        class Meta:
            label = "样品送检单"
            resource = RESOURCE
            owner = "company_id"
            scope = {ENTERPRISE: Own("company_id"), CUSTOMS: ALL}
            create_roles = (ENTERPRISE,)
            editable = {"draft": (ENTERPRISE,)}
            list_columns = ["request_no", "sample_name", "sent_on", "total_qty", "status"]
            search = [Search("request_no", "exact"), Search("sample_name", "contains"),
                      Search("status"), Search("sent_on", "range")]
            order_by = "-id"
            title_field = "request_no"
            numbering = Numbering("request_no", "YP{yyyy}{seq:05d}")
            workflow = flow
            print = Print("_generic.html", "样品送检单")

    class SampleLine(ChildRecord):
        __tablename__ = f"{RESOURCE}_line"
        __parent__ = "request"

        request_id = mapped_column(Integer, ForeignKey(f"{RESOURCE}.id"), nullable=False)
        request = relationship(SampleRequest, back_populates="lines")
        item = field(String(100), "样品", required=True)
        qty = field(numeric(12, 2), "数量", required=True, validators=(validators.positive,))

        class Meta:
            label = "样品明细"

    _declared.update(model=SampleRequest, line=SampleLine)
    return SampleRequest, SampleLine


@pytest.fixture
def new_type_app(db_url):
    from app import create_app

    model, line = declare()
    REGISTRY[RESOURCE] = model
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True})
        with app.app_context():
            from app import db

            model.__table__.create(db.engine)
            line.__table__.create(db.engine)
        yield app
        with app.app_context():
            from app import db

            db.session.remove()
            db.engine.dispose()
    finally:
        REGISTRY.pop(RESOURCE, None)


def test_a_declared_record_type_gets_every_screen_and_the_api(new_type_app):
    from .conftest import Api, Browser

    ent, cus = Browser(new_type_app, "enterprise1"), Browser(new_type_app, "customs1")
    base = f"/{RESOURCE}"

    # form: yellow inputs, grey number, red *, a child table
    html = ent.get(f"{base}/new").get_data(as_text=True)
    assert '<span class="req">*</span>样品名称' in html
    assert 'data-name="request_no"' in html and 'name="currency" value="CNY"' in html
    assert 'name="__tables" value="lines"' in html

    # bad input is refused inline, nothing stored
    resp = ent.post(f"{base}/new/do/save", data={"sample_name": "齿轮", "phone": "abc"})
    assert resp.status_code == 422 and "电话号码格式错误" in resp.get_data(as_text=True)

    resp = ent.post(f"{base}/new/do/save", data={
        "sample_name": "齿轮钢样", "sent_on": "2026-11-20", "phone": "029-88451234",
        "__tables": "lines", "lines-0-item": "20CrMnTi", "lines-0-qty": "3"})
    assert resp.status_code == 302
    pk = int(resp.headers["Location"].rsplit("/", 1)[1])
    html = ent.get(f"{base}/{pk}").get_data(as_text=True)
    no = re.search(r"YP\d{4}\d{5}", html).group(0)
    assert "提交" in html and "20CrMnTi" in html

    # list and search
    html = ent.get(f"{base}/?_searched=1&sample_name=钢样").get_data(as_text=True)
    assert no in html
    assert "没有符合条件的记录" in cus.get(f"{base}/?_searched=1&status=submitted").get_data(
        as_text=True)

    # workflow: the enterprise submits, customs sees its button and accepts
    ent.post(f"{base}/{pk}/do/submit")
    html = cus.get(f"{base}/{pk}").get_data(as_text=True)
    assert 'data-transition="accept"' in html and "已提交" in html
    assert 'data-transition="accept"' not in ent.get(f"{base}/{pk}").get_data(as_text=True)

    # REST API with status and nested lines; the action endpoint
    api = Api(new_type_app, "customs1")
    r = api.get(f"/api/v1/{RESOURCE}/{pk}").json["result"]
    assert (r["status"], r["status_label"], r["total_qty"]) == ("submitted", "已提交", "3")
    assert r["lines"][0]["item"] == "20CrMnTi"
    resp = api.post(f"/api/v1/{RESOURCE}/{pk}/action/accept", json={"opinion": "样品完好"})
    assert resp.status_code == 200 and resp.json["status"] == "accepted"
    assert Api(new_type_app, "enterprise2").get(f"/api/v1/{RESOURCE}/{pk}").status_code == 404

    # print with the generic layout, and the history
    pdf = ent.get(f"{base}/{pk}/print")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    flow = api.get(f"/api/v1/{RESOURCE}/{pk}/history").json["flow"]
    assert [f["transition"] for f in flow] == ["create", "submit", "accept"]
