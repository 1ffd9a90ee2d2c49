"""The permission matrix, generated from the declarations: for every record type
(app.engine.record.record_types()) and every demo user — the owner, another organisation of the
same role, every other role — each channel answers what ``Meta.scope`` and the workflow's
roles allow and nothing more.  A new record type is covered without a test of its own.

Channels: API list and count; per row outside the user's scope get, put, delete, each
transition, history, print, attachments and the form page; a batch with mixed ids and a batch
print with mixed ids; each transition the declarations refuse the user on a row it sees; the
computed preview, pickers, screens, export and the admin console.  Every refusal leaves the
row as it was (same version and state)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine import policy
from app.engine.record import record_types
from app.engine.workflow import transitions_of
from demo import MORE_ACCOUNTS, USERS
from models.base import AppUser

USERNAMES = [u[0] for u in USERS] + [u[0] for u in MORE_ACCOUNTS]
REFUSED = {400, 401, 403, 404, 405, 409, 422}
SAMPLE = 2  # rows outside the scope tried per user and type: enough to find a hole, fast


def _actor(db, username):
    return policy.actor_for_user(db.scalar(select(AppUser).where(AppUser.username == username)))


def _snapshot(db, model, pk):
    db.rollback()  # a fresh read: the app committed in its own session
    row = db.get(model, pk)
    return None if row is None else (row.version, getattr(row, "status", None))


@pytest.mark.parametrize("model", record_types(), ids=lambda m: m.meta().resource)
def test_each_channel_allows_what_the_declarations_allow(model, api, browser, db):
    meta = model.meta()
    res = meta.resource
    if not meta.api:  # no REST API: every /api/v1/<res>/ route is unknown
        assert api("admin").get(f"/api/v1/{res}/").status_code == 404
        return
    names = [t.name for t in transitions_of(model)]
    for username in USERNAMES:
        db.rollback()  # what the earlier users' (allowed) batch actions changed
        actor = _actor(db, username)
        typed = policy.can_access_type(actor, model)
        every = set(db.scalars(select(model.id)))
        visible = set(db.scalars(select(model.id).where(policy.scope(model, actor)))) \
            if typed else set()
        client = api(username)
        where = f"{username} on {res}"

        # list and count: exactly the rows of the scope
        resp = client.get(f"/api/v1/{res}/?q=(page:0,page_size:100)")
        if typed:
            assert resp.status_code == 200, where
            assert set(resp.json["ids"]) <= visible, where
            assert resp.json["count"] <= len(visible), where  # a list may narrow further
        else:
            assert resp.status_code in REFUSED or resp.json.get("count", 0) == 0, where

        foreign = sorted(every - visible)[:SAMPLE]
        for pk in foreign:
            before = _snapshot(db, model, pk)
            checks = [
                client.get(f"/api/v1/{res}/{pk}"),
                client.put(f"/api/v1/{res}/{pk}", json={"version": before[0]}),
                client.delete(f"/api/v1/{res}/{pk}"),
                client.get(f"/api/v1/{res}/{pk}/history"),
                client.get(f"/api/v1/{res}/{pk}/print"),
                client.get(f"/api/v1/{res}/{pk}/attachments"),
                client.get(f"/api/v1/{res}/{pk}/attachments/1"),
            ] + [client.post(f"/api/v1/{res}/{pk}/action/{n}", json={"opinion": "x"})
                 for n in names]
            for r in checks:
                assert r.status_code in REFUSED, f"{where} #{pk}: {r.request.method} " \
                    f"{r.request.path} answered {r.status_code}"
            assert _snapshot(db, model, pk) == before, f"{where} #{pk} changed"

        if foreign and visible:
            own, other = min(visible), foreign[0]
            before = _snapshot(db, model, other)
            for n in names:
                r = client.post(f"/api/v1/{res}/action/{n}", json={"ids": [own, other]})
                assert r.status_code < 500, where
                for result in (r.json or {}).get("results", []) if r.is_json else []:
                    if result.get("id") == other:
                        assert not result.get("ok", False), f"{where}: batch {n} on #{other}"
            assert _snapshot(db, model, other) == before, f"{where}: batch changed #{other}"
            if meta.print is not None:
                r = client.get(f"/api/v1/{res}/print?ids={own},{other}")
                assert r.status_code in REFUSED, f"{where}: batch print with #{other}"

        # transitions the declarations refuse this user on a row it sees
        for pk in sorted(visible)[:SAMPLE]:
            db.rollback()
            rec = db.get(model, pk)
            if rec is None:  # deleted by this user's own (allowed) batch 删除 above
                continue
            refused = [t.name for t in transitions_of(model)
                       if actor is not None and not policy.may_fire(actor, rec, t)
                       and t.name != "save"]
            before = _snapshot(db, model, pk)
            for n in refused:
                r = client.post(f"/api/v1/{res}/{pk}/action/{n}", json={"opinion": "x"})
                assert r.status_code in REFUSED, f"{where} #{pk}: {n} answered {r.status_code}"
            assert _snapshot(db, model, pk) == before, f"{where} #{pk} changed by a refusal"


@pytest.mark.parametrize("username", USERNAMES)
def test_pages_previews_and_pickers_stay_in_scope(username, browser, db):
    """The HTML side: the form page of a row outside the scope, the screens, export, the
    computed preview and the pickers of a type the user may not open, and the admin console."""
    b = browser(username)
    actor = _actor(db, username)
    for model in record_types():
        meta = model.meta()
        res = meta.resource
        typed = policy.can_access_type(actor, model)
        visible = set(db.scalars(select(model.id).where(policy.scope(model, actor)))) \
            if typed else set()
        foreign = sorted(set(db.scalars(select(model.id))) - visible)[:1]
        for pk in foreign:
            assert b.get(f"/{res}/{pk}").status_code in REFUSED | {302}, (username, res, pk)
            assert b.post(f"/{res}/{pk}/computed").status_code in REFUSED, (username, res)
        if not typed:
            for path in (f"/{res}/", f"/{res}/export"):
                assert b.get(path).status_code in REFUSED | {302}, (username, path)
            for name, spec in meta.fields.items():
                if spec.picker is not None:
                    r = b.get(f"/{res}/pick/{name}?q=0000")
                    assert r.status_code in REFUSED | {302} or not r.json["results"]
        for screen in meta.screens:
            r = b.get(f"/{res}/screen/{screen.name}/")
            allowed = policy.can_open_screen(actor, model, screen)
            assert (r.status_code == 200) == allowed or r.status_code == 302, \
                (username, res, screen.name, r.status_code)
    console = b.get("/admin/")
    assert (console.status_code == 200) == policy.may_administer(actor), username
