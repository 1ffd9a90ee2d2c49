"""A wrong declaration is reported when the application starts — with the record type, the wrong
name and the closest right one — and the application refuses to start."""

from __future__ import annotations

import itertools

import pytest
from flask_appbuilder import Model
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import mapped_column

from app.engine import (
    ENTERPRISE,
    SAVE,
    Group,
    Numbering,
    Own,
    Print,
    Record,
    Search,
    Section,
    State,
    System,
    Transition,
    Workflow,
    checks,
    field,
    workflow_state,
)
from app.engine.record import REGISTRY

_n = itertools.count()
SYSTEM = System("checks_test", "测试系统", groups=[Group("main", "测试")])


@pytest.fixture
def declare():
    made = []

    def make(meta: dict, *, flow=None, **columns):
        n = next(_n)
        name = f"check_sample_{n}"
        attrs = {
            "__tablename__": name,
            "company_id": mapped_column(ForeignKey("organisation.id")),
            "sample_name": field(String(100), "样品名称", required=True, section="main"),
            "sample_no": field(String(20), "样品编号", system=True),
            "Meta": type("Meta", (), {
                "label": "样品", "resource": name, "scope": {ENTERPRISE: Own("company_id")},
                "create_roles": (ENTERPRISE,), "list_columns": ["sample_name"],
                "sections": [Section("main", "基本信息")], **meta}),
            **columns,
        }
        if flow is not None:
            attrs["status"] = workflow_state()
            attrs["Meta"].workflow = flow
        model = type(f"CheckSample{n}", (Record,), attrs)
        made.append(model)
        return model

    yield make
    for model in made:
        REGISTRY.pop(model.meta().resource, None)
        Model.metadata.remove(model.__table__)


def _flow(**kw):
    states = [State("draft", "暂存", initial=True), State("submitted", "已提交")]
    transitions = [Transition("save", "暂存", ["draft"], roles=[ENTERPRISE], kind=SAVE),
                   Transition("submit", "提交", ["draft"], "submitted", roles=[ENTERPRISE])]
    transitions += kw.get("extra", [])
    return Workflow(states=states, transitions=transitions)


def _problems(model, reports_dir=None):
    return checks.problems([model], reports_dir=reports_dir)


def test_a_correct_declaration_has_no_problem(declare):
    model = declare({"search": [Search("sample_name", "contains")],
                     "menu": SYSTEM.menu("main", "样品")}, flow=_flow())
    assert _problems(model) == []


def test_a_misspelt_meta_key(declare):
    model = declare({"list_colums": ["sample_name"]})
    assert _problems(model) == [
        f"{model.__name__}: unknown Meta key 'list_colums' (did you mean 'list_columns'?)"]


@pytest.mark.parametrize("meta, expected", [
    ({"list_columns": ["sample_nam"]}, "unknown list column 'sample_nam' (did you mean 'sample_name'?)"),
    ({"search": [Search("sample_nme", "contains")]}, "unknown search field 'sample_nme' (did you mean 'sample_name'?)"),
    ({"search": [Search("sample_name", "contain")]}, "unknown search mode of sample_name 'contain' (did you mean 'contains'?)"),
    ({"order_by": "-sample_nam"}, "unknown order_by field 'sample_nam' (did you mean 'sample_name'?)"),
    ({"title_field": "sampl_no"}, "unknown title_field 'sampl_no' (did you mean 'sample_no'?)"),
    ({"numbering": Numbering("sample_n", "YP{seq:05d}")}, "unknown numbering field 'sample_n' (did you mean 'sample_no'?)"),
    ({"sections": [Section("mian", "基本信息")]}, "unknown section of sample_name 'main' (did you mean 'mian'?)"),
    ({"scope": {"企 业": Own("company_id")}}, "unknown role in scope '企 业' (did you mean '企业'?)"),
    ({"create_roles": ("海 关",)}, "unknown role in create_roles '海 关' (did you mean '海关'?)"),
    ({"owner": "compny_id"}, "unknown owner column 'compny_id' (did you mean 'company_id'?)"),
    ({"menu": SYSTEM.menu("mian", "样品")}, "unknown menu group of system checks_test 'mian' (did you mean 'main'?)"),
])
def test_each_wrong_name_is_named_with_a_close_match(declare, meta, expected):
    model = declare(meta)
    assert _problems(model) == [f"{model.__name__}: {expected}"]


def test_wrong_states_roles_and_targets_of_a_workflow(declare):
    flow = _flow(extra=[Transition("approve", "通过", ["submited"], "aproved", roles=["海 关"])])
    model = declare({"editable": {"draf": (ENTERPRISE,), "draft": ("企 业",)}}, flow=flow)
    name = model.__name__
    assert sorted(_problems(model)) == sorted([
        f"{name}: unknown state in editable 'draf' (did you mean 'draft'?)",
        f"{name}: unknown role in editable '企 业' (did you mean '企业'?)",
        f"{name}: unknown target state of transition approve 'aproved'",
        f"{name}: unknown source state of transition approve 'submited' (did you mean 'submitted'?)",
        f"{name}: unknown role of transition approve '海 关' (did you mean '海关'?)",
    ])


def test_an_unknown_code_list_and_a_missing_print_template(app, declare):
    model = declare({"print": Print("sampel.html", "样品")},
                    currency=field(String(3), "币制", codelist="curency", section="main"))
    found = _problems(model, reports_dir=app.config["REPORTS_DIR"])
    name = model.__name__
    assert f"{name}: unknown code list of currency 'curency' (did you mean 'currency'?)" in found
    assert any(p.startswith(f"{name}: unknown print template 'sampel.html'") for p in found)


def test_the_app_refuses_to_start_with_a_wrong_declaration(db_url, declare):
    from app import create_app

    model = declare({"list_columns": ["sample_nam"]})
    with pytest.raises(checks.DeclarationError) as e:
        create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True})
    assert f"{model.__name__}: unknown list column 'sample_nam'" in str(e.value)
