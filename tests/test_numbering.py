"""Document numbers are unique under concurrency (run on PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from app.engine import policy
from app.engine import transitions as wf
from models.base import AppUser
from models.me_licence import LicenceApplication

from .conftest import PG_URL
from .helpers import HEAD

WORKERS = 6
PER_WORKER = 5


def _actor(session, username):
    return policy.actor_for_user(
        session.scalar(select(AppUser).where(AppUser.username == username)))


def _parallel(app, fn, args):
    barrier = threading.Barrier(len(args))
    errors = []

    def run(arg):
        from app import db

        with app.app_context():
            try:
                barrier.wait()
                fn(db.session, arg)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_application_numbers_from_parallel_workers_are_unique(app, db):
    def work(session, k):
        actor = _actor(session, "enterprise1")
        for i in range(PER_WORKER):
            rec = wf.new_record(session, LicenceApplication, actor)
            wf.fire(session, rec, "save", actor, data={"agent_name": f"并发{k}-{i}"})
            session.commit()

    _parallel(app, work, range(WORKERS))
    db.rollback()
    numbers = db.scalars(select(LicenceApplication.application_no).where(
        LicenceApplication.agent_name.like("并发%"))).all()
    assert len(numbers) == WORKERS * PER_WORKER
    assert len(set(numbers)) == len(numbers)
    seqs = sorted(int(n[-10:]) for n in numbers)
    # demo used 1..6; the workers took the next ones without gaps
    assert seqs == list(range(7, 7 + WORKERS * PER_WORKER)), seqs


def test_licence_numbers_from_parallel_approvals_are_unique(app, db):
    with app.app_context():
        from app import db as _db

        session = _db.session
        ent = _actor(session, "enterprise1")
        ids = []
        for i in range(WORKERS * 2):
            rec = wf.new_record(session, LicenceApplication, ent)
            wf.fire(session, rec, "save", ent, data=dict(HEAD, agent_name=f"审批{i}"))
            wf.fire(session, rec, "save", ent, data={"goods": [{
                "hs_code": "8458110000", "name": "数控卧式车床", "goods_state": "N",
                "unit": "001", "specs": [{"model": f"M{i}", "qty": "1", "unit_price": "100"}]}]})
            wf.fire(session, rec, "declare", ent)
            session.commit()
            ids.append(rec.id)
        _db.session.remove()

    def work(session, pair):
        actor = _actor(session, "commerce1")
        for pk in pair:
            rec = policy.get_scoped(session, LicenceApplication, pk, actor)
            wf.fire(session, rec, "approve", actor)
            session.commit()

    _parallel(app, work, [ids[i::WORKERS] for i in range(WORKERS)])
    db.rollback()
    numbers = db.scalars(select(LicenceApplication.licence_no).where(
        LicenceApplication.id.in_(ids))).all()
    assert all(re.fullmatch(r"\d{2}-61-\d{6}", n) for n in numbers), numbers
    assert len(set(numbers)) == len(ids)
    assert sorted(int(n[-6:]) for n in numbers) == list(range(3, 3 + len(ids)))


def test_the_database_in_use(app):
    """Says which database the concurrency tests above ran against."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("postgresql") if PG_URL else uri.startswith("sqlite")


def test_a_number_already_in_the_table_is_skipped(api, db):
    """A number the counter has not reached may already be in the table (a 数据同步 writes the
    numbers the single window gave): the next record gets the number after it, not a 409
    「统一编号」… 已存在 for every company until someone changes the counter by hand."""
    from sqlalchemy import text

    from demo.customs_declaration import export_data
    from models.customs_declaration import CdDeclaration

    def new():
        resp = api("enterprise1").post("/api/v1/cd_declaration/", json=export_data())
        assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
        return resp.json["result"]["seq_no"]

    last = new()
    following = [last[:-13] + f"{int(last[-13:]) + k:013d}" for k in (1, 2, 3)]
    db.rollback()
    with db.begin():  # the next two numbers arrive from elsewhere
        for pk, number in ((new_id, no) for new_id, no in zip(
                db.scalars(select(CdDeclaration.id).order_by(CdDeclaration.id).limit(2)),
                following[:2], strict=True)):
            db.execute(text("UPDATE cd_declaration SET seq_no = :no WHERE id = :pk"),
                       {"no": number, "pk": pk})
    assert new() == following[2]
