"""docs/extending.md followed literally: its example module is written into a copy of the
project's models package, ruff checks it, `flask db migrate` autogenerates its migration on a
fresh database and `flask db upgrade` applies it, and the started app then gives the new record
type its list, search, form colours, workflow, scope, print, REST API, menu entry and admin view
— with no other file touched."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "extending.md")
MODULE_MARK = "<!-- the guide's module: models/export_licence.py -->"
COPIED = ("app", "models", "migrations", "i18n", "reports", "data", "demo", "views",
          "config.py", "run.py", "pyproject.toml")


def guide_module() -> str:
    """The first python block after the guide's marker, as a reader would copy it."""
    text = open(GUIDE, encoding="utf-8").read()
    after = text.split(MODULE_MARK, 1)[1]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def copy_project(dest) -> str:
    for name in COPIED:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(src, dest)
    os.makedirs(os.path.join(dest, "tests"))
    for name in ("__init__.py", "conftest.py", "url_rule_cache.py"):
        shutil.copy(os.path.join(ROOT, "tests", name), os.path.join(dest, "tests", name))
    return dest


def run(cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


# What a developer checks by hand after the guide, in the started app (run in the copy).
CHECK = r'''
import datetime as dt, json, re, sys
from app import create_app
from app.cli import setup_database
from tests.conftest import Api, Browser

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "TESTING": True,
                  "WTF_CSRF_ENABLED": True, "SERVER_NAME": "localhost"})
setup_database(app, demo=True)
seen = {}
ent, com = Browser(app, "enterprise1"), Browser(app, "commerce1")
home = ent.get("/").get_data(as_text=True)
seen["menu"] = "出口许可证申请" in home and 'href="/export_licence/' in home
form = ent.get("/export_licence/new").get_data(as_text=True)
seen["required"] = '<span class="req">*</span>出口商' in form
seen["yellow"] = 'name="contract_no"' in form and 'name="currency" value="USD"' in form
seen["grey"] = 'data-name="application_no"' in form and 'data-name="total"' in form
bad = ent.post("/export_licence/new/do/save", data={"exporter": "西安精机", "phone": "abc"})
seen["bad_input"] = [bad.status_code, "电话号码格式错误" in bad.get_data(as_text=True)]
resp = ent.post("/export_licence/new/do/save", data={
    "exporter": "西安精机进出口有限公司", "contract_no": "HT-2026-118", "country": "DEU",
    "valid_until": (dt.date.today() + dt.timedelta(days=200)).isoformat(),  # not past
    "phone": "029-88451234", "__tables": "goods",
    "goods-0-hs_code": "8457101000", "goods-0-name": "立式加工中心", "goods-0-amount": "52000.5",
    "goods-1-hs_code": "8466930000", "goods-1-name": "刀库", "goods-1-amount": "1000"})
pk = int(resp.headers["Location"].rsplit("/", 1)[1])
page = ent.get(f"/export_licence/{pk}").get_data(as_text=True)
no = re.search(r"CK\d{4}\d{6}", page).group(0)
listed = ent.get("/export_licence/?_searched=1&exporter=精机").get_data(as_text=True)
seen["search"] = no in listed
ent.post(f"/export_licence/{pk}/do/declare")
view = com.get(f"/export_licence/{pk}").get_data(as_text=True)
seen["reviewer_button"] = 'data-transition="approve"' in view
api = Api(app, "commerce1")
record = api.get(f"/api/v1/export_licence/{pk}").json["result"]
seen["api"] = [record["status"], record["total"], record["goods"][1]["name"]]
seen["approve"] = api.post(f"/api/v1/export_licence/{pk}/action/approve", json={}).json["status"]
seen["other_company"] = Api(app, "enterprise2").get(f"/api/v1/export_licence/{pk}").status_code
pdf = ent.get(f"/export_licence/{pk}/print")
seen["print"] = [pdf.status_code, pdf.data[:4].decode()]
admin = Browser(app, "admin").get("/admin/rec_export_licence/").get_data(as_text=True)
seen["admin"] = no in admin
print(json.dumps(seen, ensure_ascii=False))
'''


def test_the_guide_adds_a_record_type_with_one_module(tmp_path):
    project = copy_project(str(tmp_path / "project"))
    module = guide_module()
    assert len(module.splitlines()) <= 80, "the guide's example stays short"
    path = os.path.join(project, "models", "export_licence.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(module)
    ruff = os.path.join(os.path.dirname(sys.executable), "ruff")
    run([ruff, "check", "models/export_licence.py"], project, os.environ.copy())

    url = f"sqlite:///{tmp_path / 'guide.db'}"
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=project)
    flask = [sys.executable, "-m", "flask", "--app", "app:create_app"]
    run([*flask, "db", "upgrade"], project, env)
    run([*flask, "db", "migrate", "-m", "export licence"], project, env)
    made = [n for n in os.listdir(os.path.join(project, "migrations", "versions"))
            if n.endswith("_export_licence.py")]
    assert len(made) == 1
    migration = open(os.path.join(project, "migrations", "versions", made[0])).read()
    # only the new tables: the models and the migrations agree on everything else
    assert set(re.findall(r"op\.create_table\('(\w+)'", migration)) == {
        "export_licence", "export_licence_goods"}
    assert "drop_table('export_licence" in migration and "op.alter_column" not in migration
    run([*flask, "db", "upgrade"], project, env)

    seen = json.loads(run([sys.executable, "-c", CHECK, url], project, env).splitlines()[-1])
    assert seen == {
        "menu": True, "required": True, "yellow": True, "grey": True,
        "bad_input": [422, True], "search": True, "reviewer_button": True,
        "api": ["under_review", "53000.5", "刀库"], "approve": "approved",
        "other_company": 404, "print": [200, "%PDF"], "admin": True,
    }
