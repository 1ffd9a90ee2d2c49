"""The REST API of every record type, following Flask-AppBuilder's ModelRestApi conventions.

    POST /api/v1/security/login                      → JWT (FAB)
    GET  /api/v1/<resource>/?q=(filters:!(…),page:0,page_size:20)   {"count","ids","result"}
    GET  /api/v1/<resource>/<pk>                     {"id","result"}  (child lines nested)
    POST /api/v1/<resource>/                         201 {"id","result"}  (= 暂存 of a new one;
                     a record type without 暂存 made by its one step — 数据同步's 确定 — answers
                     as that step: {"id","result","status","status_label","message"[,"job"]})
    PUT  /api/v1/<resource>/<pk>                     200 {"result"}       (= 暂存)
    DELETE /api/v1/<resource>/<pk>                   200 {"message"}      (= 删除)
    POST /api/v1/<resource>/<pk>/action/<name>       {"opinion": …} → 200 {"id","status",…}
    POST /api/v1/<resource>/action/<name>            {"ids": […]}   → 200 {"results": […]}
    GET  /api/v1/<resource>/<pk>/history             flow entries, opinions, field changes
    GET  /api/v1/<resource>/<pk>/print               PDF
    GET  /api/v1/<resource>/print?ids=1,2,3          one PDF (202 + a job above PRINT_INLINE_RECORDS)
    GET  /api/v1/job/<id>[/result]                   a job's progress / its file
    GET|POST /api/v1/<resource>/<pk>/attachments     list / upload;  GET|DELETE …/<aid>

List filters: ``eq``, ``sw`` (starts with), ``ct`` (contains) and the strict ``gt`` / ``lt``, one
of each per column.  A PUT or a step's ``data`` names the record's ``version`` (or If-Match: the
version): a save made from an older one is refused with 409, one without any with 428.  A POST
of a new record or of a step that makes one (复制) with an ``Idempotency-Key`` header (8–64
letters, digits, - or _) makes it once: sent again by the same user, it answers the record
already made (``Idempotent-Replayed: true``).  A field the form hides by another field's value
(项目类型 unless 商品类型 is 项目) takes no value: what is sent for it is left aside.

Every endpoint loads rows through the actor's scope and writes through workflow.fire(), so
the API obeys exactly the rules the screens obey.  Refusals answer 4xx with the reason in the
user's language (``?_l_=en`` or Accept-Language selects English).
"""

from __future__ import annotations

import io
import urllib.parse

import flask_appbuilder.api as fab_api
import jsonschema
from flask import Response, current_app, request, send_file
from flask_appbuilder.api import ModelRestApi, expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String

from . import (
    attachments,
    change_requests,
    changes,
    history,
    job_views,
    jobs,
    listing,
    policy,
    present,
    printing,
    service,
    submissions,
    workflow,
)
from . import transitions as wf_mod
from .fields import Search
from .i18n import gettext as _
from .policy import ROLE_LABELS
from .rest_refusals import LocalRefusals


class _CheckedSchemas:
    """What FAB's ``@rison`` calls as ``jsonschema``: the same validation, with each schema
    checked against the meta-schema once instead of on every request (jsonschema.validate()
    re-checks the schema each time: 14 ms of a 25 ms REST list page)."""

    ValidationError = jsonschema.ValidationError
    _validators: dict[int, tuple] = {}

    @classmethod
    def validate(cls, instance, schema) -> None:
        held = cls._validators.get(id(schema))
        if held is None or held[0] is not schema:
            kind = jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            held = cls._validators[id(schema)] = (schema, kind(schema))
        error = jsonschema.exceptions.best_match(held[1].iter_errors(instance))
        if error is not None:
            raise error


fab_api.jsonschema = _CheckedSchemas

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


MAX_BATCH = 5000


def _json_body(required: bool = True) -> tuple[dict, Response | None]:
    """The request's JSON object, or the 400 answer saying why there is none."""
    body = request.get_json(silent=True)
    if body is None and not required and not request.get_data(cache=True):
        return {}, None
    if not isinstance(body, dict):
        return {}, _error(400, _("请求内容必须是 JSON 对象"))
    return dict(body), None


def _idempotency_key():
    """(the request's Idempotency-Key or None, an error answer or None)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not submissions.valid(key):
        return None, _error(400, _("Idempotency-Key 应为 8 至 64 位字母、数字、- 或 _"))
    return key, None


def _replayed(answer, resp: Response) -> Response:
    if answer.value == service.REPLAYED:  # the record the first request with the key made
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def creating_step(model) -> str:
    """What POST of a new record fires: its 暂存 ("save") — or, for a record type that has none
    and is made by running it (数据同步: the run is made by 确定), the one step its new form
    offers, as the screen's new form does (…/new/do/<step>)."""
    wf = model.meta().workflow
    if wf is None or workflow.find_transition(model, "save") is not None:
        return "save"
    steps = [t for t in wf.transitions
             if t.saves_form and t.on_form and t.allowed_from(wf.initial)]
    return steps[0].name if len(steps) == 1 else "save"


def _refusal(e) -> Response:
    current_app.appbuilder.session.rollback()
    if isinstance(e, changes.ValidationErrors):
        return _error(422, e.message, e.errors)
    return _error(getattr(e, "status", 403), e.message)


class RecordApi(LocalRefusals, ModelRestApi):
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

    def response_400(self, message=None):
        """FAB's own refusals of the ``q`` argument (its ``@rison``) in the caller's language;
        the schema's reason stays as jsonschema words it."""
        if isinstance(message, str) and message.startswith("Not a valid rison"):
            reason = message.removeprefix("Not a valid rison schema").strip() \
                if message.startswith("Not a valid rison schema") else ""
            message = (_("查询参数 q 不符合格式：%(reason)s", reason=reason) if reason
                       else _("查询参数格式错误"))
        return super().response_400(message=message)

    def _load(self, pk, actor):
        return policy.get_scoped(self._session(), self.model, pk, actor,
                                 options=wf_mod.eager_children(self.model))

    # -- read -----------------------------------------------------------------------------
    def get_headless(self, pk, **kwargs):
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
        """The list: filtered by the declared search fields and list columns only, sorted by a
        list column.  Keyset paging by default — ``next`` in the answer, ``after`` in the query
        (``q=(after:'…')`` or ``?after=…``), flat however deep — with ``count`` on request
        (``count:!t``); FAB's ``page``/``page_size`` still page by offset, with the count."""
        args = kwargs.get("rison", {})
        if not isinstance(args, dict):
            return _error(400, _("查询参数格式错误"))
        actor = self._actor()
        session = self._session()
        meta = self.meta
        columns = meta.list_columns
        allowed = listing.filterable(self.model, columns, meta.search)
        if meta.workflow is not None:
            allowed.add("status")
        searches, filters, ranged = [], {}, set()
        for f in args.get("filters", []) or []:
            if not isinstance(f, dict):
                return _error(400, _("查询参数格式错误"))
            col, opr, value = f.get("col"), f.get("opr", "eq"), f.get("value")
            if col not in allowed:
                return _error(400, _("不能按「%(col)s」查询", col=str(col)[:60]))
            if isinstance(value, (dict, list)):
                return _error(400, _("查询参数格式错误"))
            if opr in ("gt", "lt"):  # strict, as Flask-AppBuilder's own filters
                key = f"{col}__after" if opr == "gt" else f"{col}__before"
            elif opr in OPERATORS:
                key = col
            else:
                return _error(400, _("不支持的查询运算符：%(opr)s", opr=str(opr)[:20]))
            if key in filters or col in (ranged if key == col else filters):
                # one value each: a second would silently replace the first
                return _error(400, _("「%(col)s」的查询条件重复：同一字段只能给一个 eq/sw/ct 条件，"
                                     "或 gt、lt 各一个", col=present.column_label(self.model, col)))
            if key != col:
                if col not in ranged:
                    ranged.add(col)
                    searches.append(Search(col, "range"))
                filters[key] = str(value)
                continue
            mode = OPERATORS[opr]
            if mode != "exact" and not isinstance(meta.column_type(col), String):
                return _error(400, _("「%(col)s」只能按 eq、gt、lt 查询",
                                     col=present.column_label(self.model, col)))
            indexed = any(s.field == col and s.indexed for s in meta.search)
            searches.append(Search(col, mode, indexed=indexed))
            filters[col] = "" if value is None else str(value)
        order_col = args.get("order_column") or meta.order_by.lstrip("-")
        if order_col not in listing.sortable(self.model, columns):
            return _error(400, _("不能按「%(col)s」排序", col=str(order_col)[:60]))
        desc = args.get("order_direction", "desc" if meta.order_by.startswith("-")
                        else "asc") == "desc"
        size = args.get("page_size", self.page_size)
        if type(size) is not int or not 1 <= size <= self.max_page_size:
            return _error(400, _("page_size 应为 1 至 %(n)s 的整数", n=self.max_page_size))
        if "page" in args:
            return self._offset_page(args, actor, searches, filters, order_col, desc, size)
        after = args.get("after") or request.args.get("after")
        query = listing.Query(filters=filters, sort=order_col, desc=desc,
                              after=str(after) if after else None, page=None, size=size)
        page, errors = listing.page(session, self.model, actor, query, searches,
                                    columns=columns, counted=False)
        if errors:
            return _error(400, "; ".join(errors))
        body = {"ids": [r.id for r in page.rows],
                "result": [present.to_json(r, children=False) for r in page.rows],
                "next": page.next_cursor}
        if args.get("count") is True or request.args.get("count") in ("1", "true"):
            q, _errs = listing.select_all(self.model, actor, searches, filters,
                                          session=session, columns=columns)
            body["count"] = listing.count(session, q)
        return self.response(200, **body)

    def _offset_page(self, args, actor, searches, filters, order_col, desc, size):
        page_no = args.get("page")
        if type(page_no) is not int or not 0 <= page_no <= 10**7:
            return _error(400, _("page 应为非负整数"))
        session = self._session()
        q, errors = listing.select_all(self.model, actor, searches, filters, sort=order_col,
                                       desc=desc, session=session, columns=self.meta.list_columns)
        if errors:
            return _error(400, "; ".join(errors))
        total = listing.count(session, q)
        rows = session.scalars(q.offset(page_no * size).limit(size)).all()
        return self.response(200, count=total, ids=[r.id for r in rows],
                             result=[present.to_json(r, children=False) for r in rows])

    # -- write ----------------------------------------------------------------------------
    def _answer(self, answer, status: int = 200):
        """The JSON of a write: the record as stored now, or the refusal."""
        if not answer.ok:
            return _error(answer.status, answer.message, answer.errors or None)
        if answer.deleted:
            return self.response(status, message=answer.message)
        rec = answer.record
        return self.response(status, id=rec.id, result=present.to_json(rec))

    def post_headless(self):
        body, err = _json_body()
        if err is not None:
            return err
        key, err = _idempotency_key()
        if err is not None:
            return err
        name = creating_step(self.model)
        actor = self._actor()
        answer = service.fire(self._session(), self.model, actor, name, data=body, once=key)
        if name == "save" or not answer.ok:
            return _replayed(answer, self._answer(answer, 201))
        # a record made by a step (数据同步's 确定): answered as the step's action is
        rec = answer.record
        payload = {"id": rec.id, "message": answer.message, "result": present.to_json(rec),
                   "status": rec.status, "status_label": rec.status_label}
        started = jobs.latest_for(self._session(), actor, jobs.record_origin(rec), limit=1)
        if started:  # the step went on in the background: the job to follow
            payload["job"] = job_views.api_status(started[0])
        return _replayed(answer, self.response(201, **payload))

    def put_headless(self, pk):
        body, err = _json_body()
        if err is not None:
            return err
        tag = (request.headers.get("If-Match") or "").strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if "version" not in body and tag and tag != "*":  # "*" (any version) names none
            body["version"] = tag
        answer = service.update(self._session(), self.model, self._actor(), pk, body)
        return self._answer(answer)

    def delete_headless(self, pk):
        answer = service.fire(self._session(), self.model, self._actor(), "delete", pk=pk)
        return self._answer(answer)

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
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: name, required: true, schema: {type: string}}
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
        files = {}
        if request.files or request.form:
            # multipart/form-data: inputs as form fields, files for file inputs
            body = request.form.to_dict()
            files = {k: (f.filename, f.read()) for k, f in request.files.items() if f.filename}
        else:
            body, err = _json_body(required=False)
            if err is not None:
                return err
        t = workflow.find_transition(self.model, name)
        inputs = {i.name: body.get(i.name) for i in t.inputs} if t else None
        data = body.get("data") if t is not None and t.saves_form else None
        if data is not None and not isinstance(data, dict):
            return _error(400, _("data 应为记录字段的 JSON 对象"))
        key, err = _idempotency_key()
        if err is not None:
            return err
        answer = service.fire(self._session(), self.model, actor, name, pk=pk,
                              opinion=body.get("opinion"), inputs=inputs, files=files,
                              data=data if isinstance(data, dict) else None,
                              require_version=isinstance(data, dict), once=key)
        if not answer.ok:
            return _error(answer.status, answer.message, answer.errors or None)
        if answer.deleted:
            return self.response(200, id=pk, deleted=True, message=answer.message)
        target = answer.new_record or answer.record
        payload = {"id": target.id, "message": answer.message,
                   "result": present.to_json(target)}
        if self.meta.workflow is not None:
            payload["status"] = target.status
            payload["status_label"] = target.status_label
        if answer.new_record is not None:
            payload["source_id"] = pk
        return _replayed(answer, self.response(200, **payload))

    @expose("/action/<name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def batch_action(self, name):
        """Fire a batch transition on several records; one result per id.
        ---
        post:
          parameters:
          - {in: path, name: name, required: true, schema: {type: string}}
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
        body, err = _json_body(required=False)
        if err is not None:
            return err
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            return _error(400, _("请提供要操作的记录 ids"))
        if len(ids) > MAX_BATCH:
            return _error(400, _("一次最多操作 %(n)s 条记录", n=MAX_BATCH))
        wrong = [i for i in ids if type(i) is not int]
        if wrong:  # (not echoed back as Python's repr of them in a result each)
            return _error(400, _("ids 应为记录 id（整数）的列表，不是：%(wrong)s",
                                 wrong=current_app.json.dumps(wrong[:5])[:200]))
        answer = service.batch(self._session(), self.model, self._actor(), name, ids,
                               opinion=body.get("opinion"))
        if not answer.ok:
            return _error(answer.status, answer.message)
        return self.response(200, message=answer.message, results=[
            {"id": r.id, "ok": r.ok, "message": r.message, "status": r.status,
             "status_label": r.status_label, "new_id": r.new_id} for r in answer.results])

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
            t = workflow.find_transition(self.model, name)
            return str(t.label) if t else (_("新增") if name == "create" else name)

        flow = [{
            "transition": e.transition, "transition_label": tlabel(e.transition),
            "from": e.from_state, "from_label": label(e.from_state),
            "to": e.to_state, "to_label": label(e.to_state),
            "who": e.actor_name, "role": e.role,
            "role_label": str(ROLE_LABELS.get(e.role, e.role)), "org": e.org_name,
            "when": e.at.isoformat(), "opinion": e.opinion_text or None,
        } for e in history.flow_of(session, rec)]
        field_changes = []
        for c in history.changes_of(session, rec):
            old, new = history.change_values(session, self.model, c)
            field_changes.append({
                "field": c.field, "label": history.change_label(self.model, c),
                "old": old, "new": new, "who": c.actor_name, "when": c.at.isoformat()})
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
            202: {description: "more than PRINT_INLINE_RECORDS records: a background job,
              {job_id, status_url}; its PDF at /api/v1/job/<job_id>/result when done"}
        """
        if self.meta.print is None:
            return _error(404, _("该单证没有打印格式"))
        ids = [i for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids:
            return _error(400, _("请提供要打印的记录 ids"))
        actor = self._actor()
        try:
            records = service.load_many(self._session(), self.model, ids, actor)
        except policy.Refused as e:
            return _refusal(e)
        inline = current_app.config.get("PRINT_INLINE_RECORDS", 50)
        if len(records) > inline:  # a long PDF: a background job, as on the screen
            job = jobs.start(self._session(), "batch_print", actor,
                             label=_("%(title)s 批量打印", title=self.meta.print.title),
                             resource=self.meta.resource, ids=ids)
            status = job_views.api_status(job)
            resp = self.response(202, job_id=job.id, status_url=status["status_url"],
                                 message=_("打印超过 %(n)s 份，已转为后台任务", n=inline))
            resp.headers["Location"] = status["status_url"]
            return resp
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
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
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
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    slot: {type: string}
                    file: {type: string, format: binary}
          responses:
            201: {description: stored}
            422: {description: refused (size, type)}
        """
        f = request.files.get("file")
        if f is None:
            return _error(400, _("请选择要上传的文件"))
        slot = request.form.get("slot") or (self.meta.attachments[0].name
                                            if self.meta.attachments else "")
        answer = service.attach(self._session(), self.model, self._actor(), pk, slot,
                                [(f.filename, f.read())])
        if not answer.ok:
            return _error(answer.status, answer.message)
        att = answer.value[0]
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
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: aid, required: true, schema: {type: integer}}
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
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: aid, required: true, schema: {type: integer}}
          responses:
            200: {description: deleted}
        """
        answer = service.detach(self._session(), self.model, self._actor(), pk, aid)
        if not answer.ok:
            return _error(answer.status, answer.message)
        return self.response(200, message=answer.message)


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

