"""Features: behaviour a record type declares in ``Meta.features`` that brings screens and
endpoints of its own — visual review (review_marks.VisualReview), an exchange message
(``Message``: the declaration's DecMessage XML), a second print (``ExtraPrint``: 通知书).

A feature is an object with two hooks the registration calls once per record type:
``views(model)`` and ``apis(model)`` return Flask-AppBuilder view / API classes to register;
access to them is the record type's (its scope's roles), and every route loads its record
through ``policy.get_scoped`` (a row outside the actor's scope answers 404).  Optional:
``reads_file(filename, data)`` and ``import_data(session, model, data, actor)`` let 导入 read
files other than the Excel template.
"""

from __future__ import annotations

import functools
import urllib.parse
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.security.decorators import permission_name, protect

from . import policy, service
from .i18n import gettext as _
from .rest_refusals import LocalRefusals


class Feature:
    def views(self, model) -> list[type]:
        return []

    def apis(self, model) -> list[type]:
        return []


def signed_in(f):
    """A feature's screen: login required, the record type visible to the actor, a record
    outside its scope a 404 page."""

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        actor = policy.current_actor()
        if actor is None:
            return redirect(url_for(current_app.appbuilder.sm.auth_view.__class__.__name__
                                    + ".login", next=request.url))
        if not policy.can_access_type(actor, self.model):
            return render_template("engine/error.html", message=_("您无权访问此页面"),
                                   appbuilder=current_app.appbuilder), 403
        try:
            return f(self, actor, *args, **kwargs)
        except policy.NotFound as e:
            current_app.appbuilder.session.rollback()
            return render_template("engine/error.html", message=str(e.message),
                                   appbuilder=current_app.appbuilder), 404

    return wrapper


def _api_load(api, pk):
    """(record, None) through the actor's scope, or (None, the refusal response)."""
    session = current_app.appbuilder.session
    try:
        return policy.get_scoped(session, api.model, pk, policy.current_actor()), None
    except policy.Refused as e:
        session.rollback()
        return None, api.response(e.status, message=str(e.message))


def _download(data: bytes, mimetype: str, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{urllib.parse.quote(filename)}"})


# --- an exchange message ------------------------------------------------------------------------
@dataclass
class Message(Feature):
    """A record's exchange message (the declaration's DecMessage).  ``codec`` provides
    ``mimetype``, ``accept`` (file suffix), ``filename(record)``, ``dump(session, record) ->
    bytes``, ``reads_file(filename, data)`` and ``import_data(session, model, data, actor) ->
    exporting.ImportReport``."""

    codec: Any

    def reads_file(self, filename: str, data: bytes) -> bool:
        return self.codec.reads_file(filename, data)

    def import_data(self, session, model, data, actor):
        return self.codec.import_data(session, model, data, actor)

    @property
    def accept(self) -> str:
        return self.codec.accept

    def views(self, model):
        codec = self.codec

        class MessageView(BaseView):
            route_base = f"/{model.meta().resource}"
            default_view = "message"

            @expose("/<int:pk>/message")
            @signed_in
            def message(self, actor, pk):
                session = current_app.appbuilder.session
                record = service.load(session, model, pk, actor, lines=True)
                return _download(codec.dump(session, record), codec.mimetype,
                                 codec.filename(record))

        MessageView.model = model
        return [type(f"{model.meta().resource}_message_view", (MessageView,), {})]

    def apis(self, model):
        codec = self.codec

        class MessageApi(LocalRefusals, BaseApi):
            resource_name = model.meta().resource
            openapi_spec_tag = model.meta().resource
            allow_browser_login = False

            @api_expose("/<int:pk>/message", methods=["GET"])
            @protect()
            @safe
            @permission_name("get")
            def message(self, pk):
                """The record as its exchange message (DecMessage XML).
                ---
                get:
                  parameters:
                  - {in: path, name: pk, required: true, schema: {type: integer}}
                  responses:
                    200: {description: The message, content: {application/xml: {}}}
                    404: {description: No such record in the user's scope}
                """
                record, refused = _api_load(self, pk)
                if refused is not None:
                    return refused
                return _download(codec.dump(current_app.appbuilder.session, record),
                                 codec.mimetype, codec.filename(record))

        MessageApi.model = model
        return [type(f"{model.meta().resource}_message_api", (MessageApi,), {})]


# --- a second print -----------------------------------------------------------------------------
@dataclass
class ExtraPrint(Feature):
    """Another print of a record besides Meta.print (通知书 of a declaration):
    ``/<resource>/<pk>/print/<name>`` and ``/api/v1/<resource>/<pk>/print/<name>``."""

    name: str
    template: str
    title: Any

    def _pdf(self, model, record):
        from app import headers

        from . import present, printing

        data = printing.render(self.template, [record], title=self.title, model=model,
                               present=present, session=current_app.appbuilder.session)
        return headers.framed_by_the_app(
            _download(data, "application/pdf", f"{self.title}-{record.caption()}.pdf",
                      inline=True))

    def views(self, model):
        feature = self

        class PrintView(BaseView):
            route_base = f"/{model.meta().resource}"
            default_view = "print_extra"

            @expose(f"/<int:pk>/print/{feature.name}")
            @signed_in
            def print_extra(self, actor, pk):
                record = service.load(current_app.appbuilder.session, model, pk, actor,
                                      lines=True)
                return feature._pdf(model, record)

        PrintView.model = model
        return [type(f"{model.meta().resource}_{self.name}_print_view", (PrintView,), {})]

    def apis(self, model):
        feature = self

        class PrintApi(LocalRefusals, BaseApi):
            resource_name = model.meta().resource
            openapi_spec_tag = model.meta().resource
            allow_browser_login = False

            @api_expose(f"/<int:pk>/print/{feature.name}", methods=["GET"])
            @protect()
            @safe
            @permission_name("get")
            def print_extra(self, pk):
                """A second print of the record as PDF.
                ---
                get:
                  parameters:
                  - {in: path, name: pk, required: true, schema: {type: integer}}
                  responses:
                    200: {description: PDF, content: {application/pdf: {}}}
                """
                record, refused = _api_load(self, pk)
                if refused is not None:
                    return refused
                return feature._pdf(model, record)

        PrintApi.model = model
        return [type(f"{model.meta().resource}_{self.name}_print_api", (PrintApi,), {})]
