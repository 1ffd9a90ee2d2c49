"""The baseline: a stock Flask-AppBuilder ModelView over the same table, in the same app.

Registered only in the benchmark's app (never in the product).  Nothing is tuned: the columns
mirror the engine's ``Meta.list_columns``, the search columns include 申请单编号 and 商品名称, the
order and the page size are the engine's (newest first, 20 rows), so both list the same rows.

Stock FAB URLs (flask_appbuilder/urltools.py):
    /licencefabview/list/?page_LicenceFabView=N         N is 0-based
    /licencefabview/list/?_flt_<i>_<column>=value       i = index of the filter class in the
                                                         column's filter list; for strings
                                                         0 starts with, 2 contains, 3 equal
    /licencefabview/show/<pk>
"""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

VIEW_NAME = "LicenceFabView"
LIST_URL = "/licencefabview/list/"
SHOW_URL = "/licencefabview/show/{pk}"
PAGE_ARG = f"page_{VIEW_NAME}"
FLT_CONTAINS = 2  # FilterContains in FAB's string conversion table
FLT_EQUAL = 3  # FilterEqual


def make_view_class():
    from models.me_licence import LicenceApplication

    meta = LicenceApplication.meta()

    class LicenceFabView(ModelView):
        datamodel = SQLAInterface(LicenceApplication)
        list_columns = list(meta.list_columns)
        search_columns = ["application_no", "licence_no", "goods_names", "status",
                          "importer_name", "declared_at"]
        base_order = ("id", "desc")
        page_size = 20

    return LicenceFabView


def register(app) -> None:
    """Add the view before the first request and give role 管理员 its permissions."""
    from app.cli import sync_security

    view_class = make_view_class()
    with app.app_context():
        app.appbuilder.add_view_no_menu(view_class)
        # FAB_UPDATE_PERMS is off in this product: create the view's permissions explicitly;
        # sync_security also grants every permission-view to 管理员 (role of user admin).
        sync_security(app.appbuilder)
        app.appbuilder.session.remove() if hasattr(app.appbuilder.session, "remove") else None


def make_api_class():
    """FAB's stock ModelRestApi over the same table (offset paging, an exact count per page)."""
    from flask_appbuilder.api import ModelRestApi

    from models.me_licence import LicenceApplication

    meta = LicenceApplication.meta()

    class LicenceFabApi(ModelRestApi):
        resource_name = "licencefabapi"
        datamodel = SQLAInterface(LicenceApplication)
        list_columns = ["id", *meta.list_columns]
        base_order = ("id", "desc")
        page_size = 20

    return LicenceFabApi


def stock_app(database_url: str, view_class_factory=None, api_class_factory=None):
    """A plain Flask-AppBuilder application over the same database, with the stock view as its
    only view: FAB's own SecurityManager (permissions from its tables, per request), FAB's own
    layout and templates, FAB's default configuration.  Nothing of the product runs in it; it is
    what "a stock Flask-AppBuilder ModelView" costs when it is not inside this product.

    ``register(app)`` must have run on the product's app first: it created the view's
    permissions and granted them to 管理员 (admin's role), which this app reads.  The
    application writes nothing (FAB_CREATE_DB and FAB_UPDATE_PERMS off)."""
    import tempfile

    from flask import Flask
    from flask_appbuilder import AppBuilder
    from flask_appbuilder.security.manager import AUTH_DB
    from flask_sqlalchemy import SQLAlchemy

    # Its own root: no template of the product can shadow FAB's.
    app = Flask("stock_fab", root_path=tempfile.mkdtemp(prefix="stock-fab-"))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="benchmark-stock-fab",
        AUTH_TYPE=AUTH_DB,
        AUTH_ROLE_ADMIN="管理员",
        FAB_CREATE_DB=False,
        FAB_UPDATE_PERMS=False,
        FAB_ADD_SECURITY_API=api_class_factory is not None,
        WTF_CSRF_ENABLED=True,
    )
    db = SQLAlchemy()
    appbuilder = AppBuilder()
    with app.app_context():
        db.init_app(app)
        appbuilder.init_app(app, db.session)
        appbuilder.add_view_no_menu((view_class_factory or make_view_class)())
        if api_class_factory is not None:
            appbuilder.add_api(api_class_factory())
    return app, db
