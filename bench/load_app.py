"""The stock Flask-AppBuilder application of the load test, for gunicorn:

    gunicorn 'bench.load_app:stock_application()'   (DATABASE_URL names the bench database)

Its ModelView and ModelRestApi over the licence table get their permissions (granted to
管理员) through the product's app first, as bench/stockfab.py describes."""

from __future__ import annotations

import os

from bench import stockfab


def stock_application():
    from app import create_app
    from app.cli import sync_security

    url = os.environ["DATABASE_URL"]
    product = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with product.app_context():
        product.appbuilder.add_view_no_menu(stockfab.make_view_class())
        product.appbuilder.add_api(stockfab.make_api_class())
        sync_security(product.appbuilder)
        from app import db

        db.session.remove()
        db.engine.dispose()
    app, _db = stockfab.stock_app(url, api_class_factory=stockfab.make_api_class)
    app.config["JWT_SECRET_KEY"] = app.config["SECRET_KEY"]
    return app
