"""The start command's set-up: migrations, roles, code lists, demo only in development."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, inspect, select

from models.base import AppUser, Organisation

from .conftest import PASSWORD

DEMO_USERS = ["admin", "commerce1", "customs1", "enterprise1", "enterprise2", "institution1",
              "institution2"]


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_demo_account_signs_in(browser, username):
    browser(username)


def test_demo_users_belong_to_organisations(db):
    users = {u.username: u for u in db.scalars(select(AppUser))}
    assert set(DEMO_USERS) <= set(users)
    for name in DEMO_USERS:
        u = users[name]
        if name == "admin":
            assert [r.name for r in u.roles] == ["管理员"]
        else:
            assert u.organisation is not None
    a, b = users["enterprise1"].organisation, users["enterprise2"].organisation
    assert a.id != b.id and a.kind == b.kind == "company"
    a.check_codes_agree()
    b.check_codes_agree()


def test_production_set_up_creates_no_demo_data(scratch_pg):
    from app import create_app
    from app.cli import setup_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_pg, "APP_ENV": "production",
                      "SECRET_KEY": "k" * 40})
    assert setup_database(app, demo=False) == []
    with app.app_context():
        from app import db

        session = db.session
        assert session.scalar(select(func.count()).select_from(AppUser)) == 0
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
        roles = {r.name for r in app.appbuilder.sm.get_all_roles()}
        assert {"企业", "检验机构", "海关", "商务", "管理员"} <= roles
        session.rollback()
        tables = set(inspect(db.engine).get_table_names())
        assert {"me_licence_application", "flow_entry", "alembic_version"} <= tables
        from app.engine.codelists import CodeItem

        assert session.scalar(select(func.count()).select_from(CodeItem)) > 500
        session.remove()
        db.engine.dispose()


def test_run_py_refuses_demo_in_production(scratch_pg):
    env = {"DATABASE_URL": scratch_pg, "APP_ENV": "production",
           "SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "run.py", "--no-serve"], env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Demo accounts" not in out.stdout and PASSWORD not in out.stdout


def test_an_app_no_longer_used_is_freed(db_url):
    """Nothing module-wide keeps an app alive once it is dropped (the console's blueprints were
    added to a module-wide CSRF guard: every app the test suite created stayed in memory, 13 GB
    by the end of a run, and two runs side by side ran out of memory)."""
    import gc
    import weakref

    from app import create_app
    from app import db as _db

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True})
    app.test_client().get("/login/")
    with app.app_context():
        _db.engine.dispose()
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None
