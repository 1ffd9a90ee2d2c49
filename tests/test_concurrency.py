"""Rules that count or limit hold when several workers act at the same moment.

Run on PostgreSQL (TEST_DATABASE_URL, as CI does) they race for real: every request below runs in
its own thread, through HTTP, released together by a barrier.  The outcome is asserted exactly:
one winner where the rule allows one, the quota never overdrawn, and every loser answered with a
clear 4xx — never a 500.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from models.me_licence import LicenceApplication, MeClearance
from models.used_me import UeAnnualReport, UeInstitutionFiling

from .helpers import GOODS, HEAD, created_id, get, new_draft

N = 8


def race(calls):
    """Run the calls at the same moment; their results in order (an exception is a result)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:  # noqa: BLE001 - asserted by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    for r in results:
        assert not isinstance(r, BaseException), repr(r)
    return results


def _statuses(responses):
    return sorted(r.status_code for r in responses)


def _clearance_drafts(customs, licence_no, spec_id, qty, n, first_entry):
    """n clearances of ``licence_no`` by customs, each with one line of ``qty`` of ``spec_id``."""
    ids = []
    for i in range(n):
        pk = created_id(customs.post("/me_clearance/new/do/save", data={
            "licence_no": licence_no, "entry_id": str(first_entry + i), "customs_code": "9001",
            "cleared_on": "2026-11-20"}))
        resp = customs.post(f"/me_clearance/{pk}/do/save", data={
            "__tables": "lines", "lines-0-spec_id": str(spec_id), "lines-0-qty": str(qty)})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        ids.append(pk)
    return ids


def test_a_one_batch_licence_is_cleared_once_however_many_clear_it_at_once(api, db):
    lic = get(db, LicenceApplication, 5)
    assert lic.batch_mode == "1" and lic.clearance_count == 0
    spec = lic.goods[0].specs[0]
    clients = [api("customs1") for _ in range(N)]
    created = [c.post("/api/v1/me_clearance/", json={
        "licence_no": lic.licence_no, "entry_id": str(900120261100000000 + i),
        "customs_code": "9001", "cleared_on": "2026-11-20",
    }).json for i, c in enumerate(clients)]
    ids = [r["id"] for r in created]
    for c, r in zip(clients, created, strict=True):
        resp = c.put(f"/api/v1/me_clearance/{r['id']}", json={
            "lines": [{"spec_id": spec.id, "qty": "1"}], "version": r["result"]["version"]})
        assert resp.status_code == 200, resp.json

    answers = race([lambda c=c, pk=pk: c.post(f"/api/v1/me_clearance/{pk}/action/clear")
                    for c, pk in zip(clients, ids, strict=True)])

    assert _statuses(answers) == [200] + [422] * (N - 1), [a.json for a in answers]
    refused = [a.json["message"] for a in answers if a.status_code != 200]
    assert all(f"一批一证许可证 {lic.licence_no} 只能报关一次" in m for m in refused), refused
    db.rollback()
    lic = get(db, LicenceApplication, 5)
    assert lic.clearance_count == 1 and lic.cleared_qty == 1
    assert lic.goods[0].specs[0].cleared_qty == 1
    assert db.scalar(select(func.count()).select_from(MeClearance).where(
        MeClearance.id.in_(ids), MeClearance.status == "cleared")) == 1


def test_the_remaining_quantity_of_a_licence_is_never_overdrawn(browser, db):
    lic = get(db, LicenceApplication, 3)
    spec = lic.goods[1].specs[0]  # 2 units, none cleared yet
    assert spec.qty - (spec.cleared_qty or 0) == 2
    customs = [browser("customs1") for _ in range(4)]
    ids = _clearance_drafts(customs[0], lic.licence_no, spec.id, 1, 4, 900120261200000000)

    answers = race([lambda b=b, pk=pk: b.post(f"/me_clearance/{pk}/do/clear")
                    for b, pk in zip(customs, ids, strict=True)])

    # cleared (302) or refused with the form and the reason (余量不足: 422)
    assert all(a.status_code in (302, 422) for a in answers), [a.status_code for a in answers]
    db.rollback()
    cleared = db.scalars(select(MeClearance).where(MeClearance.id.in_(ids),
                                                   MeClearance.status == "cleared")).all()
    assert len(cleared) == 2
    lic = get(db, LicenceApplication, 3)
    spec = lic.goods[1].specs[0]
    assert spec.cleared_qty == spec.qty == 2
    assert lic.clearance_count == 4 and lic.cleared_qty == 4 and lic.remaining_qty == 1


def test_one_annual_report_per_institution_and_year_however_many_ask_at_once(api, db):
    institution = db.scalar(select(UeInstitutionFiling.institution_id).where(
        UeInstitutionFiling.status == "accepted").limit(1))
    clients = [api("customs1") for _ in range(N)]
    answers = race([lambda c=c: c.post("/api/v1/ue_annual_report/", json={
        "institution_id": institution, "year": 2019, "request_note": "并发"})
        for c in clients])
    # The losers saw the winner's report (422, on the field) or raced it to the database's
    # unique constraint (409): either way the same words.
    statuses = _statuses(answers)
    assert statuses[0] == 201 and set(statuses[1:]) <= {409, 422}, [a.json for a in answers]
    for a in answers:
        if a.status_code != 201:
            assert "2019" in a.json["errors"]["year"][0], a.json
    db.rollback()
    assert db.scalar(select(func.count()).select_from(UeAnnualReport).where(
        UeAnnualReport.institution_id == institution, UeAnnualReport.year == 2019)) == 1


def test_a_licence_is_approved_once_when_two_officers_click_together(browser, api, db):
    ent = browser("enterprise1")
    pk = new_draft(ent, **HEAD)
    assert ent.post(f"/me_licence_application/{pk}/do/save", data=GOODS).status_code == 302
    assert ent.post(f"/me_licence_application/{pk}/do/declare").status_code == 302
    assert get(db, LicenceApplication, pk).status == "under_review"
    officers = [api("commerce1") for _ in range(N)]

    answers = race([lambda c=c: c.post(f"/api/v1/me_licence_application/{pk}/action/approve")
                    for c in officers])

    assert _statuses(answers) == [200] + [409] * (N - 1), [a.json for a in answers]
    assert all("审批通过" in a.json["message"] for a in answers if a.status_code == 409)
    db.rollback()
    lic = get(db, LicenceApplication, pk)
    assert lic.status == "approved" and lic.licence_no
    approvals = [e for e in _flow(db, pk) if e == "approve"]
    assert len(approvals) == 1


def _flow(db, pk):
    from app.engine.history import FlowEntry

    return db.scalars(select(FlowEntry.transition).where(
        FlowEntry.entity == "me_licence_application", FlowEntry.record_id == pk)).all()


def test_two_people_saving_the_same_version_one_wins_the_other_is_told(api, db):
    lic = get(db, LicenceApplication, 1)
    assert lic.status == "draft"
    version = lic.version
    clients = [api("enterprise1") for _ in range(N)]
    answers = race([lambda c=c, i=i: c.put(f"/api/v1/me_licence_application/{lic.id}", json={
        "version": version, "agent_name": f"经办人{i}"}) for i, c in enumerate(clients)])
    assert _statuses(answers) == [200] + [409] * (N - 1), [a.json for a in answers]
    assert all("已被他人修改" in a.json["message"] for a in answers if a.status_code == 409)
    db.rollback()
    stored = get(db, LicenceApplication, lic.id)
    winner = next(a for a in answers if a.status_code == 200)
    assert stored.agent_name == winner.json["result"]["agent_name"]
    assert stored.version == version + 1


def test_a_new_form_sent_several_times_at_once_makes_one_record(browser, api, db):
    """A double click on 暂存 of a new form (or a POST resent after a timeout) made as many
    drafts as it was sent; the form's submission key makes one, and every copy is answered
    with it."""
    import re

    b = [browser("enterprise1") for _ in range(N)]
    html = b[0].get("/me_licence_application/new").get_data(as_text=True)
    key = re.search(r'name="_once" value="([^"]+)"', html).group(1)
    before = db.scalar(select(func.count()).select_from(LicenceApplication))
    answers = race([lambda c=c: c.post("/me_licence_application/new/do/save",
                                       data=dict(HEAD, _once=key)) for c in b])
    assert _statuses(answers) == [302] * N, [a.get_data(as_text=True)[:300] for a in answers]
    assert len({a.headers["Location"] for a in answers}) == 1
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LicenceApplication)) == before + 1

    # the REST API: the Idempotency-Key header
    clients = [api("enterprise1") for _ in range(N)]
    body = {"agent_mobile": "13809181234", "agent_name": "王建国", "importer_code": "6101930123",
            "year": int(HEAD["year"])}
    answers = race([lambda c=c: c.post("/api/v1/me_licence_application/", json=body,
                                       headers={"Idempotency-Key": "order-2026-12-07-0001"})
                    for c in clients])
    assert _statuses(answers) == [201] * N, [a.json for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == N - 1
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LicenceApplication)) == before + 2
