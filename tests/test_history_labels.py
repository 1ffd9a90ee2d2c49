"""The history (修改记录) shows every value as its label, in the reader's language — never the
stored code ("sent" for 已发送海关, "0110" without 一般贸易)."""

from __future__ import annotations

import html
import re

from flask_babel import force_locale

from .helpers import GOODS, HEAD, new_draft


def _approved_licence(browser):
    ent, com = browser("enterprise1"), browser("commerce1")
    pk = new_draft(ent, **HEAD)
    ent.post(f"/me_licence_application/{pk}/do/save", data=GOODS)
    ent.post(f"/me_licence_application/{pk}/do/save", data=dict(HEAD, trade_mode="0214",
                                                                 batch_mode="0"))
    ent.post(f"/me_licence_application/{pk}/do/declare")
    com.post(f"/me_licence_application/{pk}/do/approve")
    return ent, pk


def test_the_history_shows_labels_not_codes(browser, api):
    ent, pk = _approved_licence(browser)
    status, html = ent.text(f"/me_licence_application/{pk}/history?tab=changes")
    assert status == 200
    assert "已发送海关" in html and ">sent<" not in html
    assert "来料加工" in html  # 0214's name beside its code
    assert "非一批一证" in html
    changes = api("enterprise1").get(f"/api/v1/me_licence_application/{pk}/history").json[
        "changes"]
    by_field = {c["field"]: c for c in changes}
    assert by_field["customs_status"]["new"] == "已发送海关"
    assert by_field["batch_mode"]["old"] == "一批一证" and by_field["batch_mode"]["new"] == "非一批一证"
    assert by_field["trade_mode"]["new"].startswith("0214 ")


def test_the_history_speaks_the_readers_language(browser, api):
    _ent, pk = _approved_licence(browser)
    changes = api("enterprise1").get(
        f"/api/v1/me_licence_application/{pk}/history?_l_=en").json["changes"]
    by_field = {c["field"]: c for c in changes}
    assert by_field["customs_status"]["new"] == "Sent to Customs"
    assert by_field["batch_mode"]["new"] == "Multiple shipments"


# --- child tables and line fields, values formatted as the screens show them ------------------
CELLS = re.compile(r'<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>\s*'
                   r'<td class="old">([^<]*)</td><td class="new">([^<]*)</td></tr>')
CJK = re.compile(r"[\u4e00-\u9fff]")


def _changes(b, path):
    """(field, old, new) of each row of a record's 修改记录 tab."""
    status, page = b.text(f"{path}/history?tab=changes")
    assert status == 200, path
    return [tuple(html.unescape(x) for x in row) for row in CELLS.findall(page)]


def _in(app, locale, text) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(text)


def _tables(model):
    """(name, ChildSpec, line model) of every child table of a record type, lines' lines too."""
    out, todo = [], [model]
    while todo:
        m = todo.pop(0)
        for name, cspec in m.meta().children.items():
            cmodel = m.meta().child_model(name)
            out.append((name, cspec, cmodel))
            todo.append(cmodel)
    return out


def _line_field(cmodel):
    return next(s for s in cmodel.meta().fields.values() if s.track and not s.readonly)


def test_the_history_names_child_tables_in_the_readers_language(app, browser):
    """主要部门情况, 商品信息, 规格型号 … in English for an English reader (they were shown as
    written, in Chinese, since only a record's own fields were translated again)."""
    from app.engine.record import REGISTRY

    for user, resource, pk, names in (
            ("customs1", "ue_institution_filing", 2,
             ("departments", "equipment", "certifications", "track_record")),
            ("admin", "me_licence_application", 3, ("goods", "specs"))):
        model, path = REGISTRY[resource], f"/{resource}/{pk}"
        b = browser(user)
        b.get("/lang/en")
        fields = [f for f, _old, _new in _changes(b, path)]
        labels = {name: cspec.label for name, cspec, _m in _tables(model)}
        for name in names:
            assert _in(app, "en", labels[name]) in fields, (path, name, fields)
            assert _in(app, "zh_CN", labels[name]) not in fields, (path, name, fields)
        assert not [f for f in fields if CJK.search(f)], (path, fields)
        assert {"Main departments", "Goods information"} & set(fields)


def test_a_line_fields_change_is_labelled_in_the_readers_language(app, browser):
    """商品信息[数控卧式车床].商品名称 reads Goods information[…].Goods name in English, the line
    named as it was (a line's own lines too: 规格型号[CK6150].数量)."""
    from app.engine.record import REGISTRY

    ent = browser("enterprise1")
    pk = new_draft(ent, **HEAD)
    ent.post(f"/me_licence_application/{pk}/do/save", data=GOODS)
    page = ent.get(f"/me_licence_application/{pk}").get_data(as_text=True)
    ids = dict(re.findall(r'name="(goods-\d+(?:-specs-\d+)?-id)"[^>]*value="(\d+)"', page))
    assert len(ids) == 5, ids
    resp = ent.post(f"/me_licence_application/{pk}/do/save", data=dict(
        GOODS, **ids, **{"goods-0-name": "数控车床", "goods-0-specs-0-qty": "5"}))
    assert resp.status_code == 302
    meta = REGISTRY["me_licence_application"].meta()
    goods = meta.children["goods"].label
    gmeta = meta.child_model("goods").meta()
    specs, smeta = gmeta.children["specs"].label, gmeta.child_model("specs").meta()
    for lang in ("en", "zh_CN"):
        ent.get(f"/lang/{lang}")
        rows = _changes(ent, f"/me_licence_application/{pk}")
        name = (f"{_in(app, lang, goods)}[8458110000].{_in(app, lang, gmeta.fields['name'].label)}",
                "数控卧式车床", "数控车床")
        qty = (f"{_in(app, lang, specs)}[CK6150].{_in(app, lang, smeta.fields['qty'].label)}",
               "2", "5")
        assert name in rows and qty in rows, (lang, rows)
        if lang == "en":
            assert name[0] == "Goods information[8458110000].Goods name"


def test_every_record_types_tables_are_labelled_in_the_readers_language(app, browser, db):
    """Each child table (and a field of its lines) of every record type, as the history
    writes them, reads in English for an English reader."""
    from flask_babel import force_locale as forced
    from sqlalchemy import select

    from app.engine.history import FieldChange, _ChildLabel
    from app.engine.record import REGISTRY

    expected = {}
    for resource, model in REGISTRY.items():
        tables = _tables(model)
        if not tables:
            continue
        rid = db.scalar(select(model.id).order_by(model.id).limit(1))
        assert rid is not None, resource
        want = []
        with app.test_request_context(), forced("zh_CN"):
            for name, cspec, cmodel in tables:
                spec = _line_field(cmodel)
                db.add(FieldChange(entity=resource, record_id=rid, field=name,
                                   label=str(cspec.label), new_value="+ 第一行",
                                   actor_name="王建国"))
                db.add(FieldChange(entity=resource, record_id=rid, field=f"{name}.{spec.name}",
                                   label=str(_ChildLabel(cspec.label, "第一行", spec.label)),
                                   old_value="甲", new_value="乙", actor_name="王建国"))
                want.append((cspec, spec))
        expected[f"/{resource}/{rid}"] = want
    db.commit()
    assert {"/ue_institution_filing/1", "/me_licence_application/1", "/cd_declaration/1"} <= {
        p.rsplit("/", 1)[0] + "/1" for p in expected}
    b = browser("admin")
    b.get("/lang/en")
    for path, want in expected.items():
        fields = [f for f, _old, _new in _changes(b, path)]
        for cspec, spec in want:
            table = _in(app, "en", cspec.label)
            assert table != _in(app, "zh_CN", cspec.label), table
            assert table in fields, (path, table, fields)
            assert f"{table}[第一行].{_in(app, 'en', spec.label)}" in fields, (path, fields)


MINUTE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?")


def test_the_history_formats_values_as_the_screens_do(app, browser):
    """Amounts with their decimals and thousands separators (220,000.00, never 220000) and
    times to the minute (never 13:43:26), in both languages, as the form shows them."""
    b = browser("admin")
    form = b.get("/me_licence_application/3").get_data(as_text=True)
    for lang in ("zh_CN", "en"):
        b.get(f"/lang/{lang}")
        rows = _changes(b, "/me_licence_application/3")
        amounts = [(old, new) for f, old, new in rows if f in (
            "原币总值", "折美元总值", "Total value in original currency", "Total value in USD")]
        assert amounts == [("0.00", "220,000.00")] * 2, rows
        assert 'value="220,000.00"' in form or ">220,000.00<" in form
        times = [v for _f, old, new in rows for v in (old, new) if TIME.fullmatch(v)]
        assert len(times) >= 3 and all(MINUTE.fullmatch(t) for t in times), (lang, times)


def test_every_record_types_history_values_read_as_on_the_screens(app, api, db):
    """Every change in the demo's history, of every record type: an amount shows its
    decimals and groups, a quantity its groups, a time the minute, 是/否 the reader's word."""
    from sqlalchemy import Boolean, DateTime, Numeric, select

    from app.engine.history import FieldChange
    from app.engine.record import REGISTRY

    c = api("admin")
    seen = {"amount": 0, "time": 0}
    pairs = db.execute(select(FieldChange.entity, FieldChange.record_id).distinct()).all()
    assert len({e for e, _r in pairs}) >= 10
    for entity, rid in pairs:
        model = REGISTRY[entity]
        resp = c.get(f"/api/v1/{entity}/{rid}/history?_l_=en")
        assert resp.status_code == 200, (entity, rid)
        specs = {n: (s, model.meta().column_type(n)) for n, s in model.meta().fields.items()}
        for ch in resp.json["changes"]:
            spec, coltype = specs.get(ch["field"], (None, None))
            if spec is None or spec.codelist or spec.choices is not None:
                continue
            for v in (ch["old"], ch["new"]):
                if not v:
                    continue
                if isinstance(coltype, Numeric) and (coltype.scale or 0) <= 2 and coltype.scale:
                    seen["amount"] += 1
                    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d{%d}" % coltype.scale, v), (
                        entity, ch)
                elif isinstance(coltype, Numeric):
                    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*(\.\d+)?", v), (entity, ch)
                elif isinstance(coltype, DateTime):
                    seen["time"] += 1
                    assert MINUTE.fullmatch(v), (entity, ch)
                elif isinstance(coltype, Boolean):
                    assert v in ("Yes", "No"), (entity, ch)
    assert seen["amount"] and seen["time"], seen
