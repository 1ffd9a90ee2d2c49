"""The live preview and the type-ahead picks are no directory of other companies: an
enterprise sees the 进口商名称 of its own codes and of codes its own records hold; commerce and
customs (who see every application) anything; and every user looks up at most LOOKUP_RATE
codes a minute."""

from __future__ import annotations

from sqlalchemy import select

from models.base import Organisation

from .helpers import HEAD, one

NEW = "/me_licence_application/new/computed"
OWN, OTHER = "6101930123", "6101960457"  # company_a (enterprise1), company_b (enterprise2)


def _name(db, code):
    return one(db, select(Organisation.name).where(Organisation.customs_code == code))


def _preview(client, code):
    resp = client.post(NEW, data={**HEAD, "importer_code": code})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json["values"]["importer_name"]


def test_an_enterprise_reads_its_own_importer_name_but_not_another_company_s(browser, db):
    ent = browser("enterprise1")
    assert _preview(ent, OWN) == _name(db, OWN)
    assert _preview(ent, OTHER) == ""
    # the other company, the other way round
    assert _preview(browser("enterprise2"), OWN) == ""
    assert _preview(browser("enterprise2"), OTHER) == _name(db, OTHER)


def test_commerce_and_customs_look_up_any_code(browser, db):
    for username in ("commerce1", "customs1"):
        client = browser(username)
        resp = client.post(NEW, data={**HEAD, "importer_code": OTHER})
        if resp.status_code == 200:
            assert resp.json["values"]["importer_name"] == _name(db, OTHER)
        else:  # a role that may not create applications gets no preview of a new one
            assert resp.status_code in (403, 404)


def test_saving_still_fills_the_name_of_another_importer(browser, db):
    """The rule is on looking up, not on entering: a company importing through another one
    saves its code and the record carries the name."""
    from models.me_licence import LicenceApplication

    ent = browser("enterprise1")
    resp = ent.post("/me_licence_application/new/do/save",
                    data={**HEAD, "importer_code": OTHER})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)
    pk = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    assert db.get(LicenceApplication, pk).importer_name == _name(db, OTHER)
    # … and from then on that code is one of its own records' codes
    assert _preview(ent, OTHER) == _name(db, OTHER)


def test_look_ups_are_limited_per_user(app, browser):
    app.config["LOOKUP_RATE"] = 3
    ent = browser("enterprise1")
    for _i in range(3):
        assert ent.post(NEW, data=HEAD).status_code == 200
    refused = ent.post(NEW, data=HEAD)
    assert refused.status_code == 429
    assert "查询过于频繁" in refused.json["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    picks = ent.get("/me_licence_application/pick/goods.hs_code?q=8458")
    assert picks.status_code == 429
    # another user has a count of its own
    assert browser("enterprise2").post(NEW, data=HEAD).status_code == 200
