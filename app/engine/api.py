"""The REST API of every record type, following Flask-AppBuilder's ModelRestApi conventions.

    POST /api/v1/security/login                      → JWT (FAB)
    GET  /api/v1/<resource>/?q=(filters:!(…),page:0,page_size:20)   {"count","ids","result"}
    GET  /api/v1/<resource>/<pk>                     {"id","result"}  (child lines nested)
    POST /api/v1/<resource>/                         201 {"id","result"}  (= 暂存 of a new one)
    PUT  /api/v1/<resource>/<pk>                     200 {"result"}       (= 暂存)
    DELETE /api/v1/<resource>/<pk>                   200 {"message"}      (= 删除)
    POST /api/v1/<resource>/<pk>/action/<name>       {"opinion": …} → 200 {"id","status",…}
    POST /api/v1/<resource>/action/<name>            {"ids": […]}   → 200 {"results": […]}
    GET  /api/v1/<resource>/<pk>/history             flow entries, opinions, field changes
    GET  /api/v1/<resource>/<pk>/print               PDF
    GET  /api/v1/<resource>/print?ids=1,2,3          one PDF
    GET|POST /api/v1/<resource>/<pk>/attachments     list / upload;  GET|DELETE …/<aid>

Every endpoint loads rows through the actor's scope and writes through workflow.fire(), so
the API obeys exactly the rules the screens obey.  Refusals answer 4xx with the reason in the
user's language (``?_l_=en`` or Accept-Language selects English).
"""

from __future__ import annotations

import io
import urllib.parse

from flask import Response, current_app, request, send_file
from flask_appbuilder.api import ModelRestApi, expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric

from . import attachments, changes, history, listing, policy, present, printing
from . import workflow as wf_mod
from .fields import Search
from .guard import PolicyViolation
from .i18n import gettext as _
from .policy import ROLE_LABELS
from .views import load_many

OPERATORS = {"eq": "exact", "sw": "prefix", "ct": "contains"}


def _ma_field(spec, coltype, **kw):
    meta = {"description": str(spec.label)}
    if isinstance(coltype, Boolean):
        return fields.Boolean(metadata=meta, **kw)
    if isinstance(coltype, Integer):
        return fields.Integer(allow_none=True, metadata=meta, **kw)
    if isinstance(coltype, Numeric):
        return fields.Decimal(as_string=True, allow_none=True, metadata=meta, **kw)
    if isinstance(coltype, DateTime):
        return fields.DateTime(allow_none=True, metadata=meta, **kw)
    if isinstance(coltype, Date):
        return fields.Date(allow_none=True, metadata=meta, **kw)
    return fields.String(allow_none=True, metadata=meta, **kw)


def schema_class(model, suffix: str = ""):
    """A marshmallow schema of the declaration (documents the API in the OpenAPI spec)."""
    meta = model.meta()
    attrs = {"id": fields.Integer(dump_only=True)}
    for name, spec in meta.fields.items():
        kw = {"load_only": True} if spec.secret else {}
        if spec.readonly:
            kw["dump_only"] = True
        attrs[name] = _ma_field(spec, meta.column_type(name), **kw)
    for cname in meta.children:
        child = schema_class(meta.child_model(cname), suffix)
        attrs[cname] = fields.List(fields.Nested(child), metadata={
            "description": str(meta.children[cname].label)})
    if hasattr(meta, "workflow"):
        if meta.workflow is not None:
            attrs["status"] = fields.String(dump_only=True, metadata={
                "description": "state code: " + ", ".join(meta.workflow.states)})
            attrs["status_label"] = fields.String(dump_only=True)
        attrs["version"] = fields.Integer(metadata={"description": "optimistic lock"})
    return type(f"{model.__name__}{suffix}Schema", (Schema,), attrs)


def _error(status: int, message, errors=None) -> Response:
    body = {"message": str(message)}
    if errors:
        body["errors"] = errors
    resp = current_app.response_class(
        response=current_app.json.dumps(body), status=status, mimetype="application/json")
    return resp


def _refusal(e) -> Response:
    current_app.appbuilder.session.rollback()
    if isinstance(e, changes.ValidationErrors):
        return _error(422, e.message, e.errors)
    return _error(getattr(e, "status", 403), e.message)


class RecordApi(ModelRestApi):
    """Bound to one record type by :func:`api_for`."""

    model = None
    allow_browser_login = False
    page_size = 20
    max_page_size = 100

    @property
    def meta(self):
        return self.model.meta()

    @staticmethod
    def _actor():
        actor = policy.current_actor()
        if actor is None:  # pragma: no cover - protect() guarantees a user
            raise policy.Refused(_("请先登录"), status=401)
        return actor

    def _session(self):
        return current_app.appbuilder.session

    def _load(self, pk, actor):
        return policy.get_scoped(self._session(), self.model, pk, actor,
                                 options=wf_mod.eager_children(self.model))

    # -- read -----------------------------------------------------------------------------
    def get_headless(self, pk, **kwargs):
        from . import change_requests

        try:
            rec = self._load(pk, self._actor())
        except policy.Refused as e:
            return _refusal(e)
        result = present.to_json(rec)
        pending = change_requests.pending(self._session(), rec)
        if pending is not None:
            result["pending_change"] = pending.values
        return self.response(200, id=rec.id, result=result)

    def get_list_headless(self, **kwargs):
        args = kwargs.get("rison", {})
        actor = self._actor()
        session = self._session()
        searches, filters = [], {}
        for f in args.get("filters", []):
            col, opr, value = f.get("col"), f.get("opr", "eq"), f.get("value")
            if col not in self.meta.fields and col != "status":
                return _error(400, _("不能按「%(col)s」查询", col=col))
            if opr in ("gt", "lt"):
                key = f"{col}__from" if opr == "gt" else f"{col}__to"
                searches.append(Search(col, "range"))
                filters[key] = str(value)
                continue
            mode = OPERATORS.get(opr)
            if mode is None:
                return _error(400, _("不支持的查询运算符：%(opr)s", opr=opr))
            indexed = any(s.field == col and s.indexed for s in self.meta.search)
            searches.append(Search(col, mode, indexed=indexed))
            filters[col] = "" if value is None else str(value)
        order_col = args.get("order_column") or self.meta.order_by.lstrip("-")
        desc = args.get("order_direction", "desc" if self.meta.order_by.startswith("-")
                        else "asc") == "desc"
        if order_col not in self.meta.fields and order_col != "id":
            return _error(400, _("不能按「%(col)s」排序", col=order_col))
        q, errors = listing.select_all(self.model, actor, searches, filters, sort=order_col,
                                       desc=desc, session=session)
        if errors:
            return _error(400, "; ".join(errors))
        page = max(0, int(args.get("page", 0)))
        size = min(self.max_page_size, max(1, int(args.get("page_size", self.page_size))))
        total = listing.count(session, q)
        rows = session.scalars(q.offset(page * size).limit(size)).all()
        return self.response(200, count=total, ids=[r.id for r in rows],
                             result=[present.to_json(r, children=False) for r in rows])

    # -- write ----------------------------------------------------------------------------
    def post_headless(self):
        if not request.is_json or not isinstance(request.json, dict):
            return _error(400, _("请求内容必须是 JSON 对象"))
        actor = self._actor()
        session = self._session()
        try:
            rec = wf_mod.new_record(session, self.model, actor)
            wf_mod.fire(session, rec, "save", actor, data=dict(request.json))
            session.commit()
        except (policy.Refused, changes.ValidationErrors, PolicyViolation) as e:
            return _refusal(e)
        return self.response(201, id=rec.id, result=present.to_json(rec))

    def put_headless(self, pk):
        if not request.is_json or not isinstance(request.json, dict):
            return _error(400, _("请求内容必须是 JSON 对象"))
        actor = self._actor()
        session = self._session()
        try:
            rec = self._load(pk, actor)
            data = dict(request.json)
            save = wf_mod.find_transition(self.model, "save")
            if save is None or policy.transition_refusal(actor, rec, save):
                # Nothing may be edited now: any change is refused, an unchanged body is fine.
                changes.apply(session, rec, data, actor, readonly=True)
            else:
                wf_mod.fire(session, rec, "save", actor, data=data)
            session.commit()
        except (policy.Refused, changes.ValidationErrors, PolicyViolation) as e:
            return _refusal(e)
        return self.response(200, id=rec.id, result=present.to_json(rec))

    def delete_headless(self, pk):
        actor = self._actor()
        session = self._session()
        try:
            rec = self._load(pk, actor)
            out = wf_mod.fire(session, rec, "delete", actor)
            session.commit()
        except (policy.Refused, changes.ValidationErrors, PolicyViolation) as e:
            return _refusal(e)
        return self.response(200, message=out.message)

    # -- workflow -------------------------------------------------------------------------
    @expose("/<int:pk>/action/<name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def action(self, pk, name):
        """Fire a transition on one record.
        ---
        post:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          - {in: path, name: name, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema: {type: object, properties: {opinion: {type: string}}}
          responses:
            200: {description: The new state}
            403: {description: Not allowed for this user}
            404: {description: No such record in the user's scope}
            409: {description: Not allowed in the record's current state}
            422: {description: Validation failed or a condition is not met}
        """
        actor = self._actor()
        session = self._session()
        files = {}
        if request.files or request.form:
            # multipart/form-data: inputs as form fields, files for file inputs
            body = request.form.to_dict()
            files = {k: (f.filename, f.read()) for k, f in request.files.items() if f.filename}
        else:
            body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return _error(400, _("请求内容必须是 JSON 对象"))
        try:
            rec = self._load(pk, actor)
            t = wf_mod.find_transition(self.model, name)
            inputs = {i.name: body.get(i.name) for i in t.inputs} if t else None
            data = body.get("data") if t is not None and t.saves_form else None
            out = wf_mod.fire(session, rec, name, actor, opinion=body.get("opinion"),
                              inputs=inputs, files=files,
                              data=data if isinstance(data, dict) else None)
            session.commit()
        except (policy.Refused, changes.ValidationErrors, PolicyViolation) as e:
            return _refusal(e)
        if out.deleted:
            return self.response(200, id=pk, deleted=True, message=out.message)
        target = out.new_record or out.record
        payload = {"id": target.id, "message": out.message, "result": present.to_json(target)}
        if self.meta.workflow is not None:
            payload["status"] = target.status
            payload["status_label"] = target.status_label
        if out.new_record is not None:
            payload["source_id"] = pk
        return self.response(200, **payload)

    @expose("/action/<name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def batch_action(self, name):
        """Fire a batch transition on several records; one result per id.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    ids: {type: array, items: {type: integer}}
                    opinion: {type: string}
          responses:
            200: {description: A result per id}
        """
        actor = self._actor()
        session = self._session()
        body = request.get_json(silent=True) or {}
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return _error(400, _("请提供要操作的记录 ids"))
        try:
            results = wf_mod.fire_batch(session, self.model, ids, name, actor,
                                        opinion=body.get("opinion"))
            session.commit()
        except policy.Refused as e:
            return _refusal(e)
        t = wf_mod.find_transition(self.model, name)
        return self.response(200, message=wf_mod.batch_summary(t, results), results=[
            {"id": r.id, "ok": r.ok, "message": r.message, "status": r.status,
             "status_label": r.status_label, "new_id": r.new_id} for r in results])

    @expose("/<int:pk>/history", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def history(self, pk):
        """查看流程状态 / 查看审批意见: flow entries and field changes of one record.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: flow, opinions and changes}
        """
        actor = self._actor()
        session = self._session()
        try:
            rec = self._load(pk, actor)
        except policy.Refused as e:
            return _refusal(e)
        wf = self.meta.workflow

        def label(code):
            return str(wf.state_label(code)) if wf and code else None

        def tlabel(name):
            t = wf_mod.find_transition(self.model, name)
            return str(t.label) if t else (_("新增") if name == "create" else name)

        flow = [{
            "transition": e.transition, "transition_label": tlabel(e.transition),
            "from": e.from_state, "from_label": label(e.from_state),
            "to": e.to_state, "to_label": label(e.to_state),
            "who": e.actor_name, "role": e.role,
            "role_label": str(ROLE_LABELS.get(e.role, e.role)), "org": e.org_name,
            "when": e.at.isoformat(), "opinion": e.opinion,
        } for e in history.flow_of(session, rec)]
        field_changes = [{
            "field": c.field, "label": history.change_label(self.model, c), "old": c.old_value,
            "new": c.new_value,
            "who": c.actor_name, "when": c.at.isoformat(),
        } for c in history.changes_of(session, rec)]
        return self.response(200, id=rec.id, status=getattr(rec, "status", None),
                             status_label=rec.status_label, flow=flow,
                             opinions=[f for f in flow if f["opinion"]],
                             changes=field_changes)

    # -- print ----------------------------------------------------------------------------
    def _pdf(self, records, filename):
        data = printing.render(self.meta.print.template, records, title=self.meta.print.title,
                               model=self.model, present=present, session=self._session())
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition":
                f"inline; filename*=UTF-8''{urllib.parse.quote(filename)}"})

    @expose("/<int:pk>/print", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def print_one(self, pk):
        """The record's print form as PDF.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: PDF, content: {application/pdf: {}}}
        """
        if self.meta.print is None:
            return _error(404, _("该单证没有打印格式"))
        try:
            rec = self._load(pk, self._actor())
        except policy.Refused as e:
            return _refusal(e)
        return self._pdf([rec], f"{self.meta.print.title}-{rec.caption()}.pdf")

    @expose("/print", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def print_many(self):
        """批量打印: several records in one PDF (?ids=1,2,3).
        ---
        get:
          parameters:
          - {in: query, name: ids, schema: {type: string}}
          responses:
            200: {description: PDF, content: {application/pdf: {}}}
        """
        if self.meta.print is None:
            return _error(404, _("该单证没有打印格式"))
        ids = [i for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids:
            return _error(400, _("请提供要打印的记录 ids"))
        try:
            records = load_many(self._session(), self.model, ids, self._actor())
        except policy.Refused as e:
            return _refusal(e)
        return self._pdf(records, f"{self.meta.print.title}.pdf")

    # -- attachments ----------------------------------------------------------------------
    @expose("/<int:pk>/attachments", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def attachment_list(self, pk):
        """Attachments of a record.
        ---
        get:
          responses:
            200: {description: list}
        """
        try:
            rec = self._load(pk, self._actor())
        except policy.Refused as e:
            return _refusal(e)
        return self.response(200, result=[{
            "id": a.id, "slot": a.slot, "filename": a.filename, "kind": a.kind, "size": a.size,
            "uploaded_by": a.uploaded_by_name, "uploaded_at": a.uploaded_at.isoformat(),
        } for a in attachments.list_for(self._session(), rec)])

    @expose("/<int:pk>/attachments", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def attachment_upload(self, pk):
        """Upload a file (multipart: slot, file).
        ---
        post:
          responses:
            201: {description: stored}
            422: {description: refused (size, type)}
        """
        actor = self._actor()
        session = self._session()
        f = request.files.get("file")
        if f is None:
            return _error(400, _("请选择要上传的文件"))
        try:
            rec = self._load(pk, actor)
            slot = request.form.get("slot") or (self.meta.attachments[0].name
                                                if self.meta.attachments else "")
            att = attachments.add(session, rec, slot, f.filename, f.read(), actor)
            session.commit()
        except ValueError as e:
            session.rollback()
            return _error(422, str(e))
        except policy.Refused as e:
            return _refusal(e)
        return self.response(201, id=att.id, filename=att.filename, kind=att.kind,
                             size=att.size)

    @expose("/<int:pk>/attachments/<int:aid>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def attachment_download(self, pk, aid):
        """Download one attachment.
        ---
        get:
          responses:
            200: {description: the file}
        """
        session = self._session()
        try:
            rec = self._load(pk, self._actor())
            att = attachments.get_for(session, rec, aid)
        except policy.Refused as e:
            return _refusal(e)
        return send_file(io.BytesIO(att.data), mimetype=att.mimetype, as_attachment=True,
                         download_name=att.filename)

    @expose("/<int:pk>/attachments/<int:aid>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("put")
    def attachment_delete(self, pk, aid):
        """Delete one attachment.
        ---
        delete:
          responses:
            200: {description: deleted}
        """
        session = self._session()
        try:
            rec = self._load(pk, self._actor())
            attachments.remove(session, rec, aid, self._actor())
            session.commit()
        except policy.Refused as e:
            return _refusal(e)
        return self.response(200, message=_("附件已删除"))


def api_for(model) -> type[RecordApi]:
    meta = model.meta()
    cols = list(meta.fields)
    attrs = {
        "model": model,
        "datamodel": SQLAInterface(model),
        "resource_name": meta.resource,
        "openapi_spec_tag": meta.resource,
        "list_columns": cols,
        "show_columns": cols,
        "add_columns": [c for c in cols if not meta.fields[c].readonly],
        "edit_columns": [c for c in cols if not meta.fields[c].readonly],
        "search_columns": [],
        "order_columns": cols,
        "list_model_schema": schema_class(model, "List")(),
        "show_model_schema": schema_class(model, "Show")(),
        "add_model_schema": schema_class(model, "Post")(),
        "edit_model_schema": schema_class(model, "Put")(),
        "label_columns": {n: s.label for n, s in meta.fields.items()},
    }
    return type(f"{meta.resource}_api", (RecordApi,), attrs)

