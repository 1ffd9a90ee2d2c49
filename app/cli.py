"""Setting a database up, and the `flask app …` commands.

    flask db upgrade            Alembic migrations (Flask-Migrate)
    flask app sync-security     roles and FAB permissions
    flask app load-codelists    code lists from data/codelists/
    flask app demo              demo organisations, users and records (refused in production)
    flask app setup             migrations, roles, code lists (the production set-up; no demo)
    flask app worker            the job worker: delivers queued e-mail / SMS until stopped
    flask app deliver           send queued e-mail / SMS notifications once
    flask app reindex           rebuild the contains-search index
    flask app set-password USER set a user's password (asked twice, checked by the policy)
    flask app load-hs FILE      the 商品综合分类表 behind 商品编号 (models/customs_declaration.py)
"""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup
from flask_appbuilder.security.sqla.models import PermissionView

from app.engine import codelists
from app.engine.policy import ADMIN, ROLES

CODELIST_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "codelists")

# FAB views every signed-in user needs (own profile, own password, API documentation).
SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
    ("can_get", "MenuApi"),
]


def sync_security(appbuilder) -> None:
    """Roles of the product; 管理员 gets every FAB permission, the others self-service."""
    sm = appbuilder.sm
    session = appbuilder.session
    for name in ROLES:
        if sm.find_role(name) is None:
            sm.add_role(name)
    appbuilder.add_permissions(update_perms=True)
    admin = sm.find_role(ADMIN)
    everything = session.query(PermissionView).all()
    have = set(admin.permissions)
    admin.permissions.extend(pv for pv in everything if pv not in have)
    for name in ROLES:
        if name == ADMIN:
            continue
        role = sm.find_role(name)
        for perm, view in SELF_SERVICE:
            pv = sm.find_permission_view_menu(perm, view)
            if pv is not None and pv not in role.permissions:
                role.permissions.append(pv)
    session.commit()


def load_codelists(session) -> dict[str, int]:
    counts = codelists.load_all(session, CODELIST_DIR)
    session.commit()
    return counts


def setup_database(app, *, demo: bool) -> list[tuple[str, str, str]]:
    """Migrate, sync security, load code lists and (optionally) the demo. Returns accounts."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                       "migrations"))
        appbuilder = app.appbuilder
        sync_security(appbuilder)
        load_codelists(appbuilder.session)
        if demo:
            from demo import load_demo

            return load_demo(appbuilder.session)
    return []


def register_cli(app) -> None:
    group = AppGroup("app", help="Backoffice set-up and maintenance.")

    @group.command("sync-security")
    def _sync():
        sync_security(current_app.appbuilder)
        click.echo("roles and permissions synchronised")

    @group.command("load-codelists")
    def _codelists():
        for name, n in load_codelists(current_app.appbuilder.session).items():
            click.echo(f"{name}: {n}")

    @group.command("demo")
    def _demo():
        if current_app.config.get("APP_ENV") == "production":
            raise click.ClickException("demo data are never created in production")
        from demo import load_demo

        for username, role, org in load_demo(current_app.appbuilder.session):
            click.echo(f"{username:14} {role:6} {org}")

    @group.command("setup")
    def _setup():
        """Migrate, synchronise roles and load code lists (never the demo)."""
        setup_database(current_app._get_current_object(), demo=False)
        click.echo("database set up")

    @group.command("worker")
    @click.option("--once", is_flag=True, help="one pass over the tasks, then exit")
    def _worker(once):
        """The job worker (notification outbox); stops on SIGTERM or Ctrl-C."""
        from app import worker

        failures = worker.run(current_app._get_current_object(), once=once)
        if once and failures:
            raise SystemExit(1)

    @group.command("deliver")
    def _deliver():
        from app.engine.notify import deliver_pending

        click.echo(deliver_pending(current_app.appbuilder.session))

    @group.command("reindex")
    def _reindex():
        from app.engine import textindex
        from app.engine.record import REGISTRY

        session = current_app.appbuilder.session
        for model in REGISTRY.values():
            if textindex.indexed_fields(model):
                click.echo(f"{model.meta().resource}: {textindex.rebuild(session, model)}")
        session.commit()

    @group.command("set-password")
    @click.argument("username")
    @click.password_option(prompt=True)
    def _set_password(username, password):
        from app.engine.i18n import gettext as _
        from app.passwords import PasswordRejected

        sm = current_app.appbuilder.sm
        user = sm.find_user(username=username)
        if user is None:
            raise click.ClickException(_("用户「%(name)s」不存在", name=username))
        try:
            sm.reset_password(user.id, password)
        except PasswordRejected as e:
            raise click.ClickException(str(e)) from None
        click.echo(_("已设置用户「%(name)s」的密码，其已有的会话和令牌随即失效", name=username))

    # Commands a system declares next to its records (models/<system>.py: CLI_COMMANDS),
    # e.g. load-hs of 智慧云报关.
    import sys

    import models

    for name in models.__all__:
        for command in getattr(sys.modules.get(f"models.{name}"), "CLI_COMMANDS", ()):
            group.add_command(command)

    app.cli.add_command(group)
