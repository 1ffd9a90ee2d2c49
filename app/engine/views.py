"""The generated screens of every record type: list + search, detail form, workflow buttons,
batch actions, history, print, attachments, export / import, type-ahead pickers.

There is one view class; ``view_for(model)`` makes a subclass bound to a model.  Every route
loads rows through ``policy.get_scoped`` / ``listing`` and writes through ``workflow.fire`` /
``changes.apply`` / ``attachments`` — the same functions the REST API calls.
"""

from __future__ import annotations

import functools
import io
import os
import urllib.parse
from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_appbuilder import BaseView, expose
from sqlalchemy import select

from . import (
    attachments,
    change_requests,
    changes,
    codelists,
    exporting,
    features,
    forms,
    history,
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
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .record import REGISTRY


def db_session():
    return current_app.appbuilder.session


def engine_route(f):
    """Login required; the record type must be visible to the actor's roles."""

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        actor = policy.current_actor()
        if actor is None:
            return redirect(url_for(current_app.appbuilder.sm.auth_view.__class__.__name__
                                    + ".login", next=request.url))
        screen = self._screen_of(f.__name__, kwargs)
        if not policy.can_open_screen(actor, self.model, screen):
            abort(403)
        try:
            return f(self, actor, *args, **kwargs)
        except policy.Refused as e:  # not found (404), a request it cannot serve (400) …
            db_session().rollback()
            return render_template("engine/error.html", message=str(e.message),
                                   appbuilder=current_app.appbuilder), e.status

    return wrapper


_CURSOR_ARGS = ("_after", "_before", "_last")


@functools.lru_cache(maxsize=4096)
def _quote_short(text: str) -> str:
    return urllib.parse.quote_plus(text)


def _quote(text: str) -> str:
    """quote_plus, remembered for the short texts a list's links repeat (argument names, sort
    directions, column names, page numbers): a page builds ~60 of them."""
    return _quote_short(text) if len(text) <= 40 else urllib.parse.quote_plus(text)


def _url_maker(path: str, args) -> Callable[..., str]:
    """``url_with(**changes)``: this list's address with some arguments changed (None drops
    one) and the page cursor dropped — the pager and each column's sort link.  Each argument
    of the request is encoded once, not once per link."""
    quote = _quote
    encoded = {k: f"{quote(k)}={quote(v)}" for k, v in args.items() if k not in _CURSOR_ARGS}

    def url_with(**changes) -> str:
        parts = dict(encoded)
        for k, v in changes.items():
            if v is None:
                parts.pop(k, None)
            else:
                parts[k] = f"{quote(k)}={quote(str(v))}"
        return path + "?" + "&".join(parts.values())

    return url_with


class RecordView(BaseView):
    model = None
    default_view = "list"
    route_base = None

    # -- helpers ------------------------------------------------------------------------
    @property
    def meta(self):
        return self.model.meta()

    def _screen_of(self, route: str, kwargs):
        name = kwargs.get("name") if route == "screen" else (
            request.args.get("_screen") if route == "export" else None)
        return next((s for s in self.meta.screens if s.name == name), None) if name else None

    def _render(self, template, **ctx):
        return render_template(template, appbuilder=current_app.appbuilder, view=self,
                               meta=self.meta, model=self.model, present=present,
                               db=db_session(), **ctx)

    def _searches(self, screen=None):
        return screen.search if screen is not None else self.meta.search

    def _presets(self, filters) -> dict:
        """Values of preset fields (报关单类型 …) a list is filtered by: its 新增 starts with
        them."""
        return {n: str(v) for n, v in filters.items()
                if v and n in self.meta.fields and self.meta.fields[n].preset}

    # -- list ---------------------------------------------------------------------------
    @expose("/")
    @engine_route
    def list(self, actor):
        if policy.owns_one(actor, self.model):
            own = db_session().scalar(
                select(self.model.id).where(policy.scope(self.model, actor)).limit(1))
            if own:
                return redirect(url_for(f"{self.endpoint}.show", pk=own))
            if policy.can_create(actor, self.model):
                return redirect(url_for(f"{self.endpoint}.new"))
        return self._list(actor, None)

    @expose("/screen/<name>/")
    @engine_route
    def screen(self, actor, name):
        screen = next((s for s in self.meta.screens if s.name == name), None)
        if screen is None:
            abort(404)
        return self._list(actor, screen)

    def _query(self, searches, screen=None):
        args = request.args
        filters = {k: v for k, v in args.items() if not k.startswith("_")}
        default = screen.list_default if screen is not None else self.meta.list_default
        if not any(v for v in filters.values()) and default is not None \
                and "_searched" not in args:
            filters = dict(default())
        sort = args.get("_sort") or self.meta.order_by
        desc = sort.startswith("-")
        sort = sort.lstrip("-")
        if "_dir" in args:
            desc = args.get("_dir") != "asc"
        try:
            page_no = int(args.get("_page", "1"))
        except ValueError:
            page_no = 1
        return listing.Query(filters=filters, sort=sort, desc=desc, after=args.get("_after"),
                             before=args.get("_before"), last=args.get("_last") == "1",
                             page=page_no, size=current_app.config.get("LIST_PAGE_SIZE", 20))

    def _list(self, actor, screen):
        session = db_session()
        searches = self._searches(screen)
        q = self._query(searches, screen)
        columns = screen.columns if screen else self.meta.list_columns
        page, errors = listing.page(session, self.model, actor, q, searches,
                                    where=screen.where if screen else None,
                                    rules=screen.scope if screen else None, columns=columns,
                                    options=listing.shown_columns_only(self.model, columns))
        for e in errors:
            flash(e, "warning")
        detail = screen.detail if screen else True
        numeric = {c for c in columns if present.shows_number(self.meta, c)}
        rows = present.list_rows(
            session, self.model, page.rows, columns,
            first_no=((page.number - 1) * page.size + 1) if page.number else None,
            link_base=url_for(f"{self.endpoint}.list") if detail else None, numeric=numeric)
        return self._render(
            "engine/list.html", page=page, query=q, columns=columns, searches=searches,
            rows=rows, labels=[str(present.column_label(self.model, c)) for c in columns],
            screen=screen, actor=actor,
            transitions=policy.list_actions(actor, self.model, screen),
            buttons=policy.list_buttons(actor, screen.buttons if screen
                                        else self.meta.list_buttons),
            presets=self._presets(q.filters),
            detail=detail,
            can_create=screen is None and wf_mod.creation_refusal(
                session, self.model, actor) is None,
            url_with=_url_maker(request.path, request.args),
        )

    # -- detail form ----------------------------------------------------------------------
    def _form_page(self, actor, record, *, posted=None, errors=None, status=200,
                   open_dialog=None, dialog_errors=None, dialog_values=None):
        session = db_session()
        from . import review_marks

        form = forms.build(session, record, actor, posted=posted, errors=errors,
                           marks=review_marks.form_marks(session, record, actor))
        buttons = [t for t in policy.allowed_transitions(actor, record) if t.on_form]
        if record.id is None:
            buttons = [t for t in buttons if t.saves_form]
        files = attachments.list_for(session, record)
        slots = policy.visible_slots(actor, record,
                                     lambda name: any(f.slot == name for f in files))
        related = []
        for rel in self.meta.related:
            rmodel = REGISTRY.get(rel.resource)
            if rmodel is None or record.id is None or not policy.can_access_type(actor, rmodel):
                continue
            rows = session.scalars(select(rmodel).where(
                getattr(rmodel, rel.fk) == record.id, policy.scope(rmodel, actor))
                .order_by(rmodel.id)).all()
            related.append((rel, rmodel, rows))
        flow = history.flow_of(session, record) if record.id is not None else []
        submitted = record.id is not None and self.meta.workflow is not None and \
            record.status != self.meta.workflow.initial or \
            any(e.transition != "create" for e in flow)
        pending = change_requests.pending(session, record)
        change_rows = change_requests.rows(session, record, pending) if pending else []
        record_jobs = [jobs.snapshot(current_app, j) for j in jobs.latest_for(
            session, actor, jobs.record_origin(record), limit=1)] if record.id else []
        # The page's submission key: a record its forms make (暂存 of a new one, 复制) is made
        # once however often they are sent (submissions.py); a refused form keeps its key, as
        # nothing was made.
        posted_key = request.form.get("_once") if request.method == "POST" else None
        once_key = posted_key if submissions.valid(posted_key) else submissions.new_key()
        page_url = None
        if request.method == "POST":
            # The answer to a refused step: the workspace files it under the form's own
            # address (…/do/save is no page to open again).
            page_url = url_for(f"{self.endpoint}.show", pk=record.id) if record.id else \
                url_for(f"{self.endpoint}.new", **self._presets(posted or {}))
        return self._render(
            "engine/form.html", record=record, form=form, buttons=buttons, actor=actor,
            record_jobs=record_jobs, page_url=page_url, once_key=once_key,
            files=files, slots=slots, related=related, submitted=submitted,
            pending_change=pending, change_rows=change_rows, open_dialog=open_dialog,
            dialog_errors=dialog_errors or {}, dialog_values=dialog_values or {},
            can_create=wf_mod.creation_refusal(session, self.model, actor) is None,
            has_opinions=any(e.opinion_text for e in flow),
        ), status

    @expose("/new")
    @engine_route
    def new(self, actor):
        session = db_session()
        try:
            record = wf_mod.new_record(session, self.model, actor)
        except policy.Refused as e:
            flash(str(e.message), "danger")
            return redirect(url_for(f"{self.endpoint}.list"))
        for name, spec in self.meta.fields.items():
            # /new?kind=E_DEC: a preset field starts with a value the address names
            raw = request.args.get(name) if spec.preset else None
            if raw:
                try:
                    value = changes.coerce(session, spec, self.meta.column_type(name), raw)
                except ValueError:
                    continue
                if not callable(spec.choices) or str(value) in {
                        str(c) for c, _l in spec.options(record)}:
                    setattr(record, name, value)
        page = self._form_page(actor, record)
        db_session().rollback()
        return page

    @expose("/<int:pk>")
    @engine_route
    def show(self, actor, pk):
        record = service.load(db_session(), self.model, pk, actor, lines=True)
        return self._form_page(actor, record)

    @expose("/new/computed", methods=["POST"])
    @expose("/<int:pk>/computed", methods=["POST"])
    @engine_route
    def computed(self, actor, pk=None):
        """The grey computed fields for what has been typed so far, saving nothing: the form
        asks after each change, so 进口商名称 and the totals follow the typing.  The values
        pass through the same ``changes.apply`` as a 暂存 (a field the user may not change is
        ignored here, refused there) and the same compute functions as the flush."""
        session = db_session()
        limited = _count_lookup(session, actor)
        if limited is not None:
            return limited
        errors: dict[str, list[str]] = {}
        try:
            if pk is not None:
                record = service.load(session, self.model, pk, actor, lines=True)
            else:
                record = wf_mod.new_record(session, self.model, actor)
                session.add(record)  # compute functions read through its session
            try:
                posted = forms.parse(request.form)
            except forms.MalformedForm:
                return jsonify({"message": _("表单内容格式错误")}), 400
            posted.pop("version", None)
            with session.no_autoflush:
                try:
                    changes.apply(session, record, posted, actor)
                except changes.ValidationErrors as e:
                    errors = e.errors  # format errors shown under the field while typing
                except policy.Refused:
                    pass  # what could be applied is shown; 暂存 reports the rest

                def reveal(obj, spec, key_path):
                    # a malformed code looks nothing up (the one typed before is not shown)
                    return key_path not in errors and policy.may_reveal(
                        session, actor, type(obj), spec.reveals, getattr(obj, spec.reveals, None))

                values = forms.computed_values(session, record, posted, reveal=reveal)
        except policy.NotFound:
            raise
        except policy.Refused as e:
            return jsonify({"message": str(e.message)}), e.status
        finally:
            session.rollback()
        return jsonify({"values": values, "errors": errors})

    @expose("/new/do/<name>", methods=["POST"])
    @engine_route
    def do_new(self, actor, name):
        return self._do(actor, None, name)

    @expose("/<int:pk>/do/<name>", methods=["POST"])
    @engine_route
    def do(self, actor, pk, name):
        return self._do(actor, pk, name)

    def _do(self, actor, pk, name):
        session = db_session()
        t = workflow.find_transition(self.model, name)
        try:
            posted = forms.parse(request.form) if t is not None and t.saves_form else None
        except forms.MalformedForm:
            return self._bad_form()
        if posted is not None and "version" in request.form:
            posted["version"] = request.form.get("version")
        files = {}
        for inp in (t.inputs if t else []):
            upload = request.files.get(f"input-{inp.name}")
            if inp.widget == "file" and upload is not None and upload.filename:
                files[inp.name] = (upload.filename, upload.read())
        once = request.form.get("_once")
        answer = service.fire(session, self.model, actor, name, pk=pk, data=posted,
                              opinion=request.form.get("opinion"),
                              inputs=forms.inputs_from(request.form, t) if t else None,
                              files=files, require_version=posted is not None,
                              once=once if submissions.valid(once) else None)
        if answer.ok:
            flash(answer.message, "info" if answer.value == service.REPLAYED else "success")
            if answer.new_record is not None:
                # a copy, or a record of another type a step made (生成报关单)
                return redirect(url_for(f"{answer.new_record.meta().resource}_view.show",
                                        pk=answer.new_record.id))
            if answer.deleted:
                return redirect(url_for(f"{self.endpoint}.list"))
            return redirect(url_for(f"{self.endpoint}.show", pk=answer.record.id))
        if answer.status == 404:
            raise policy.NotFound(answer.message)
        if answer.status == 422 and answer.errors:
            return self._refused_form(actor, pk, t, posted, answer)
        flash(answer.message, "danger")
        if pk is None or posted is not None:
            # A step refused by a rule (备案尚未审批通过), by a newer version or by the
            # state: the form again with what the user typed, and why — not the stored values.
            return self._refused_form(actor, pk, t, posted, answer)
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    def _bad_form(self):
        return render_template("engine/error.html", message=_("表单内容格式错误，请刷新页面后重新填写"),
                               appbuilder=current_app.appbuilder), 400

    def _refused_form(self, actor, pk, t, posted, answer):
        """The form again, as the user filled it, with what to correct."""
        session = db_session()
        if pk is not None:
            record = service.load(session, self.model, pk, actor, lines=True)
        else:
            try:
                record = wf_mod.new_record(session, self.model, actor)
            except policy.Refused as e:
                session.rollback()
                flash(str(e.message), "danger")
                return redirect(url_for(f"{self.endpoint}.list"))
        dialog = {}
        if t is not None and (t.opinion or t.inputs):
            # Errors of the transition's own dialog are shown in it, reopened.
            names = {i.name for i in t.inputs} | {"opinion"}
            dialog = {k: v for k, v in answer.errors.items() if k in names}
        if answer.errors and not dialog and set(answer.errors) != {"_record"}:
            flash(answer.message, "danger")  # (a record-wide error shows above the form)
        page = self._form_page(
            actor, record, posted=posted,
            errors={k: v for k, v in answer.errors.items() if k not in dialog},
            status=answer.status, open_dialog=t.name if dialog else None, dialog_errors=dialog,
            dialog_values=request.form)
        session.rollback()
        return page

    # -- batch ----------------------------------------------------------------------------
    @expose("/batch/<name>", methods=["POST"])
    @engine_route
    def batch(self, actor, name):
        session = db_session()
        ids = request.form.getlist("ids")
        back = safe_next(request.form.get("_next")) or url_for(f"{self.endpoint}.list")
        if not ids:
            flash(_("请先勾选记录"), "warning")
            return redirect(back)
        t = workflow.find_transition(self.model, name)
        if t is None:
            abort(404)
        if not t.batch:
            if len(ids) != 1:
                flash(_("「%(action)s」只能选择一条记录", action=t.label), "warning")
                return redirect(back)
            pk = policy.parse_id(ids[0])
            if pk is None:
                raise policy.NotFound(_("记录不存在或无权访问"))
            return self._do(actor, pk, name)
        answer = service.batch(session, self.model, actor, name, ids,
                               opinion=request.form.get("opinion"))
        if not answer.ok:
            flash(answer.message, "danger")
            return redirect(back)
        flash(answer.message, "success" if answer.value else "warning")
        return redirect(back)

    # -- history --------------------------------------------------------------------------
    @expose("/<int:pk>/history")
    @engine_route
    def history(self, actor, pk):
        session = db_session()
        record = policy.get_scoped(session, self.model, pk, actor)
        flow = history.flow_of(session, record)
        tab = request.args.get("tab", "flow")
        return self._render("engine/history.html", record=record, flow=flow,
                            opinions=[e for e in flow if e.opinion_text],
                            changes=history.changes_of(session, record), tab=tab,
                            state_label=self._state_label,
                            transition_label=self._transition_label,
                            change_label=lambda c: history.change_label(self.model, c),
                            change_values=lambda c: history.change_values(session, self.model,
                                                                          c))

    def _state_label(self, code):
        wf = self.meta.workflow
        return wf.state_label(code) if wf and code else ""

    def _transition_label(self, name):
        if name == "create":
            return _("新增")
        t = workflow.find_transition(self.model, name)
        return t.label if t else name

    # -- print ----------------------------------------------------------------------------
    def _pdf_response(self, records, filename):
        from app import headers

        data = printing.render(self.meta.print.template, records, title=self.meta.print.title,
                               model=self.model, present=present, session=db_session())
        quoted = urllib.parse.quote(filename)
        return headers.framed_by_the_app(Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quoted}"}))

    @expose("/<int:pk>/print")
    @engine_route
    def print_one(self, actor, pk):
        if self.meta.print is None:
            abort(404)
        record = service.load(db_session(), self.model, pk, actor, lines=True)
        return self._pdf_response([record], f"{self.meta.print.title}-{record.caption()}.pdf")

    @expose("/print")
    @engine_route
    def print_many(self, actor):
        if self.meta.print is None:
            abort(404)
        ids = [i for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids:
            flash(_("请先勾选记录"), "warning")
            return redirect(url_for(f"{self.endpoint}.list"))
        inline = current_app.config.get("PRINT_INLINE_RECORDS", 50)
        if len(ids) > inline:  # a long PDF: a background job
            service.load_many(db_session(), self.model, ids, actor)  # refused here, not later
            job = jobs.start(db_session(), "batch_print", actor,
                             label=_("%(title)s 批量打印", title=self.meta.print.title),
                             resource=self.meta.resource, ids=ids)
            flash(_("打印超过 %(n)s 份，已转为后台任务，完成后在本页下载", n=inline), "info")
            return redirect(url_for("JobView.show", job_id=job.id))
        records = service.load_many(db_session(), self.model, ids, actor)
        return self._pdf_response(records, f"{self.meta.print.title}.pdf")

    # -- the print in the workspace: the PDF in a page of the shell, with its tab ------------
    @expose("/<int:pk>/print/view")
    @engine_route
    def print_view(self, actor, pk):
        """One record's print (``?print=<name>``: an ExtraPrint of it) in the work area."""
        record = policy.get_scoped(db_session(), self.model, pk, actor)
        name = request.args.get("print", "")
        if name:
            extra = next((f for f in self.meta.features
                          if isinstance(f, features.ExtraPrint) and f.name == name), None)
            if extra is None:
                abort(404)
            title, pdf = extra.title, f"/{self.meta.resource}/{pk}/print/{name}"
        elif self.meta.print is not None:
            title, pdf = self.meta.print.title, url_for(f"{self.endpoint}.print_one", pk=pk)
        else:
            abort(404)
        return self._render("engine/print_view.html", title=title, pdf=pdf,
                            caption=record.caption(), record=record,
                            filename=f"{title}-{record.caption()}.pdf")

    @expose("/print/view")
    @engine_route
    def print_many_view(self, actor):
        """The checked records' print in the work area; a long one goes to a background job
        (print_many says so)."""
        if self.meta.print is None:
            abort(404)
        ids = [i for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids or len(ids) > current_app.config.get("PRINT_INLINE_RECORDS", 50):
            return redirect(url_for(f"{self.endpoint}.print_many", ids=",".join(ids)))
        records = service.load_many(db_session(), self.model, ids, actor)  # 404 outside scope
        title = self.meta.print.title
        return self._render("engine/print_view.html", title=title,
                            pdf=url_for(f"{self.endpoint}.print_many", ids=",".join(ids)),
                            caption=_("共 %(n)s 份", n=len(records)), record=None,
                            filename=f"{title}.pdf")

    # -- attachments ----------------------------------------------------------------------
    @expose("/<int:pk>/attachments", methods=["POST"])
    @engine_route
    def upload(self, actor, pk):
        service.load(db_session(), self.model, pk, actor)  # outside the scope: 404 first
        slot = request.form.get("slot") or (self.meta.attachments[0].name
                                            if self.meta.attachments else "")
        files = request.files.getlist("file")
        if not files or not files[0].filename:
            flash(_("请选择要上传的文件"), "warning")
            return redirect(url_for(f"{self.endpoint}.show", pk=pk) + "#attachments")
        answer = service.attach(db_session(), self.model, actor, pk, slot,
                                [(f.filename, f.read()) for f in files])
        if answer.status == 404:
            raise policy.NotFound(answer.message)
        flash(answer.message, "success" if answer.ok else "danger")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk) + "#attachments")

    @expose("/<int:pk>/attachments/<int:aid>")
    @engine_route
    def download(self, actor, pk, aid):
        session = db_session()
        record = policy.get_scoped(session, self.model, pk, actor)
        att = attachments.get_for(session, record, aid)
        return send_file(io.BytesIO(att.data), mimetype=att.mimetype, as_attachment=True,
                         download_name=att.filename)

    @expose("/<int:pk>/attachments/<int:aid>/delete", methods=["POST"])
    @engine_route
    def delete_attachment(self, actor, pk, aid):
        answer = service.detach(db_session(), self.model, actor, pk, aid)
        if answer.status == 404:
            raise policy.NotFound(answer.message)
        flash(answer.message, "success" if answer.ok else "danger")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk) + "#attachments")

    # -- export / import ------------------------------------------------------------------
    @expose("/export")
    @engine_route
    def export(self, actor):
        params = dict(request.args)
        session = db_session()
        q, columns = export_query(session, self.model, actor, params)
        inline = current_app.config.get("EXPORT_INLINE_ROWS", 10000)
        count = listing.bounded_count(session, q, inline)
        if count > inline:  # more than a request should carry: a background job
            job = jobs.start(session, "list_export", actor,
                             label=_("%(label)s 导出", label=self.meta.label),
                             resource=self.meta.resource, params=params)
            flash(_("导出超过 %(n)s 条，已转为后台任务，完成后在本页下载", n=inline), "info")
            return redirect(url_for("JobView.show", job_id=job.id))
        path = exporting.export_file(session, self.model, q, columns,
                                     current_app.config.get("EXPORT_MAX_ROWS", 100000))
        filename = urllib.parse.quote(f"{self.meta.label}.xlsx")
        return exporting.file_response(path, filename)

    @expose("/import/template")
    @engine_route
    def import_template(self, actor):
        if not self.meta.importable or not policy.can_create(actor, self.model):
            abort(403)
        filename = urllib.parse.quote(_("%(label)s-导入模板.xlsx", label=self.meta.label))
        return Response(exporting.template_xlsx(self.model), mimetype=exporting.XLSX_MIME,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})

    @expose("/import", methods=["GET", "POST"])
    @engine_route
    def import_(self, actor):
        if not self.meta.importable or not policy.can_create(actor, self.model):
            abort(403)
        report = None
        if request.method == "POST":
            f = request.files.get("file")
            session = db_session()
            if f is None or not f.filename:
                flash(_("请选择要导入的文件"), "warning")
            else:
                data = f.read()
                inline = current_app.config.get("IMPORT_INLINE_BYTES", 1024 * 1024)
                if len(data) > inline:  # a large file: a background job
                    job = jobs.start(session, "list_import", actor,
                                     label=_("%(label)s 导入：%(file)s", label=self.meta.label,
                                             file=f.filename),
                                     input_=(f.filename, data), resource=self.meta.resource)
                    flash(_("文件较大，已转为后台任务，进度和结果见本页"), "info")
                    return redirect(url_for("JobView.show", job_id=job.id))
                report = exporting.import_file(session, self.model, f.filename, data, actor)
                if report.ok:
                    session.commit()
                    flash(_("导入成功：%(n)s 条", n=report.created), "success")
                else:
                    session.rollback()
                    flash(_("导入失败，没有导入任何数据，请按行修改后重新导入"), "danger")
        accept = ",".join([".xlsx"] + [getattr(f, "accept", "") for f in self.meta.features
                                        if getattr(f, "accept", "")])
        return self._render("engine/import.html", report=report, import_accept=accept)

    # -- pickers ----------------------------------------------------------------------------
    @expose("/pick/<path:field>")
    @engine_route
    def pick(self, actor, field):
        spec = field_spec(self.model, field)
        if spec is None or spec.picker is None:
            abort(404)
        p = spec.picker
        q = (request.args.get("q") or "").strip()
        limited = _count_lookup(db_session(), actor)
        if limited is not None:
            return limited
        if len(q) < p.min_chars:
            return jsonify({"results": [], "message": _("请至少输入 %(n)s 位", n=p.min_chars)})
        target = REGISTRY.get(p.resource)
        if target is None or not policy.can_access_type(actor, target):
            return jsonify({"results": []})
        session = db_session()
        key_col, label_col = getattr(target, p.key), getattr(target, p.label)
        stmt = select(target).where(policy.scope(target, actor))
        if p.where is not None:
            context = _context_record(self.model, request.args, session, actor)
            stmt = stmt.where(p.where(target, context))
        stmt = stmt.where((key_col >= q) & (key_col < q + "\uffff") | label_col.contains(q))
        rows = session.scalars(stmt.order_by(key_col).limit(30)).all()
        out = []
        for r in rows:
            out.append({
                "value": present.input_value(getattr(r, p.key)),
                "label": str(getattr(r, p.label) or ""),
                "fills": {k: present.input_value(getattr(r, v)) for k, v in p.fills.items()},
            })
        return jsonify({"results": out})


def export_query(session, model, actor, params: dict):
    """The records and columns of a list's 导出 with the list's own search ``params`` (its
    screen, filters, checked rows), within the actor's scope: the same for the request and
    for the background job.  A filter the search cannot read is refused (400)."""
    meta = model.meta()
    screen = next((s for s in meta.screens if s.name == params.get("_screen")), None)
    if params.get("_screen") and screen is None or not policy.can_open_screen(actor, model,
                                                                              screen):
        raise policy.NotFound(_("记录不存在或无权访问"))
    searches = screen.search if screen is not None else meta.search
    filters = {k: v for k, v in params.items() if not k.startswith("_")}
    columns = screen.columns if screen else meta.list_columns
    q, errors = listing.select_all(model, actor, searches, filters,
                                   where=screen.where if screen else None, session=session,
                                   rules=screen.scope if screen else None, columns=columns)
    if errors:  # the list tells them and leaves them out; a file cannot tell
        raise policy.Refused(_("；").join(errors), 400)
    if params.get("_ids"):  # 列表导出 of the checked rows (within the same scope)
        ids = [policy.parse_id(i) for i in params["_ids"].split(",") if i.strip()]
        q = q.where(model.id.in_([i for i in ids if i is not None]))
    return q, columns


@jobs.task("list_export", _l("列表导出"))
def export_job(ctx, resource: str, params: dict) -> str:
    model = REGISTRY.get(resource)
    if model is None or not policy.can_access_type(ctx.actor, model):
        raise jobs.JobFailed(_("您无权访问此页面"))
    q, columns = export_query(ctx.session, model, ctx.actor, params)
    total = listing.count(ctx.session, q)
    limit = current_app.config.get("EXPORT_MAX_ROWS", 100000)
    total = min(total, limit)
    path = exporting.export_file(ctx.session, model, q, columns, limit,
                                 progress=lambda n: ctx.progress(n, total))
    try:
        with open(path, "rb") as f:
            ctx.result(f.read(), f"{model.meta().label}.xlsx", exporting.XLSX_MIME)
    finally:
        os.remove(path)
    return _("导出 %(n)s 条", n=total)


@jobs.task("batch_print", _l("批量打印"))
def print_job(ctx, resource: str, ids: list) -> str:
    model = REGISTRY.get(resource)
    if model is None or model.meta().print is None or not policy.can_access_type(ctx.actor,
                                                                                   model):
        raise jobs.JobFailed(_("您无权访问此页面"))
    records = service.load_many(ctx.session, model, ids, ctx.actor)
    meta = model.meta()
    pdfs = []
    for start in range(0, len(records), 25):  # one document, made 25 records at a time
        pdfs.append(printing.render(meta.print.template, records[start:start + 25],
                                    title=meta.print.title, model=model, present=present,
                                    session=ctx.session))
        ctx.progress(min(start + 25, len(records)), len(records))
    ctx.result(printing.merge(pdfs), f"{meta.print.title}.pdf", "application/pdf")
    return _("打印 %(n)s 份", n=len(records))


@jobs.task("list_import", _l("导入"))
def import_job(ctx, resource: str) -> str:
    model = REGISTRY.get(resource)
    if model is None or not model.meta().importable or not policy.can_create(ctx.actor, model):
        raise jobs.JobFailed(_("您无权访问此页面"))
    filename, data = ctx.input
    report = exporting.import_file(ctx.session, model, filename, data, ctx.actor,
                                   progress=ctx.progress)
    if not report.ok:
        lines = [_("第 %(row)s 行%(sheet)s：%(errors)s", row=p.row,
                   sheet=_("（%(sheet)s）", sheet=p.sheet) if p.sheet else "",
                   errors=_("；").join(p.errors))
                 for p in report.rows[:200]]
        raise jobs.JobFailed("\n".join([_("导入失败，没有导入任何数据，请按行修改后重新导入"),
                                        *lines]))
    return _("导入成功：%(n)s 条", n=report.created)


def _count_lookup(session, actor):
    """The 429 answer when this user looks codes up faster than a person types
    (app.throttle.count_lookup), else None."""
    from app import throttle

    if actor.user_id is None:
        return None
    try:
        throttle.count_lookup(session, actor.user_id)
    except throttle.LoginRefused as refused:
        resp = jsonify({"message": str(refused.message)})
        resp.status_code = 429
        resp.headers["Retry-After"] = str(refused.retry_after)
        return resp
    return None


def _context_record(model, args, session, actor):
    """The record a picker works for (its year etc.), built from the page's hints."""
    rec = model()
    for k, v in args.items():
        if k.startswith("ctx_") and k[4:] in model.meta().fields:
            try:
                setattr(rec, k[4:], changes.coerce(session, model.meta().fields[k[4:]],
                                                   model.meta().column_type(k[4:]), v))
            except ValueError:
                pass
    return rec


def field_spec(model, dotted: str):
    meta = model.meta()
    parts = dotted.split(".")
    for p in parts[:-1]:
        if p not in meta.children:
            return None
        meta = meta.child_model(p).meta()
    return meta.fields.get(parts[-1])


def safe_next(target: str | None) -> str | None:
    """A ``_next`` address only when it stays on this site (a path, not another host)."""
    if not target:
        return None
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def view_for(model) -> type[RecordView]:
    return type(f"{model.meta().resource}_view", (RecordView,), {
        "model": model,
        "route_base": f"/{model.meta().resource}",
    })


class EngineUtilView(BaseView):
    """Shared endpoints of the generated screens (code-list type-ahead)."""

    route_base = "/engine"
    default_view = "codelist"

    @expose("/codelist/<name>")
    def codelist(self, name):
        if policy.current_actor() is None:
            return jsonify({"results": []}), 401
        if name not in codelists.LISTS:
            abort(404)
        q = request.args.get("q", "")
        session = db_session()
        english = codelists._english()
        out = [{"code": it["code"],
                "label": (it.get("name_en") if english and it.get("name_en") else it["name"])}
               for it in codelists.search(session, name, q, limit=30)]
        return jsonify({"results": out})
